// Backup and restore against the in-process fake cluster: the files and the manifest, region reads
// (one RawScan per region, regions split since the listing, regions too big for one read),
// verification refusing damaged backups before any write, the emptiness check of the target, the
// rate limiter and the progress line, and the tinykv backup/restore commands.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BackupDamagedError,
  BackupError,
  backup,
  backupRecords,
  MANIFEST,
  type Manifest,
  ProgressBar,
  type ProgressSink,
  progressLine,
  RateLimiter,
  RawClient,
  restore,
  TargetNotEmptyError,
  TxnClient,
  verifyBackup,
} from '../src/index.js';
import { FakeCluster } from '../src/testing/index.js';

const CLI = fileURLToPath(new URL('../../cli/tinykv.mjs', import.meta.url));
const CFS = ['default', 'lock', 'write'] as const;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'tskv-backup-unit-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Everything a cluster holds: raw CFs and transactional keys at a fresh ts, as hex maps. */
async function contents(addr: string): Promise<Record<string, Map<string, string>>> {
  const raw = await RawClient.connect({ schedulerAddr: addr });
  const txc = await TxnClient.connect({ schedulerAddr: addr });
  try {
    const out: Record<string, Map<string, string>> = {};
    for (const cf of CFS) out[cf] = new Map((await raw.scan('', '', 0, cf)).map((p) => [hex(p.key), hex(p.value)]));
    const t = await txc.begin();
    out.txn = new Map((await t.scan(Buffer.from([0]), '', 0)).map((p) => [hex(p.key), hex(p.value)]));
    await t.rollback();
    return out;
  } finally {
    raw.close();
    txc.close();
  }
}

async function backupContents(dir: string, m: Manifest): Promise<Record<string, Map<string, string>>> {
  const out: Record<string, Map<string, string>> = { default: new Map(), lock: new Map(), write: new Map(), txn: new Map() };
  for await (const r of backupRecords(dir, m)) out[r.column]!.set(hex(r.key), hex(r.value));
  return out;
}

async function seed(addr: string, n: number): Promise<void> {
  const raw = await RawClient.connect({ schedulerAddr: addr });
  const txc = await TxnClient.connect({ schedulerAddr: addr, logger: () => {} });
  try {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const pairs = Array.from({ length: n }, (_, i) => [`${letters[i % 26]}/${String(i).padStart(5, '0')}`, `value-${i}`] as const);
    await raw.batchPut(pairs);
    await raw.batchPut(pairs.slice(0, 20), 'lock');
    await raw.batchPut([[Buffer.from([0xff, 0x00, 0x7f]), Buffer.from([0, 1, 2, 255])]], 'write');
    for (let b = 0; b < 4; b++)
      await txc.runTxn(async (t) => {
        for (let i = 0; i < 25; i++) t.put(`t/${letters[(b * 25 + i) % 26]}${b}${i}`, `txn-${b}-${i}`);
      });
    await txc.whenIdle();
  } finally {
    raw.close();
    txc.close();
  }
}

class Recorder implements ProgressSink {
  phases: string[] = [];
  keys = 0;
  bytes = 0;
  units = 0;
  phase(label: string): void {
    this.phases.push(label);
  }
  add(k: number, b: number): void {
    this.keys += k;
    this.bytes += b;
  }
  unitDone(): void {
    this.units++;
  }
  end(): void {}
}

test('backup of a fake cluster, verify, restore into another: the same contents, byte for byte', async () => {
  const src = await FakeCluster.start({ splitKeys: ['g', 'p'] });
  const dst = await FakeCluster.start({ splitKeys: ['m'] });
  try {
    await seed(src.schedulerAddr, 2000);
    // A split the scheduler has not heard of: the listed region [p, "") is two regions now.
    src.split('t');
    let rawScans = 0;
    src.inject = (c) => {
      if (c.kind === 'rawScan') rawScans++;
      return undefined;
    };
    const dir = join(tmp, 'b1');
    const rec = new Recorder();
    const s = await backup({ schedulerAddr: src.schedulerAddr, dir, progress: rec, concurrency: 2 });
    const m = s.manifest;
    assert.equal(m.regions.length, 3);
    assert.deepEqual(
      m.regions.map((r) => [Buffer.from(r.startKey, 'hex').toString(), Buffer.from(r.endKey, 'hex').toString()]),
      [
        ['', 'g'],
        ['g', 'p'],
        ['p', ''],
      ],
    );
    assert.equal(m.totals.rawKeys, 2000 + 20 + 1);
    assert.equal(m.totals.txnKeys, 100);
    assert.equal(m.totals.files, 6);
    assert.ok(BigInt(m.backupTs) > 0n);
    assert.deepEqual(readdirSync(dir).sort(), [MANIFEST, ...m.regions.flatMap((r) => [r.raw.file, r.txn.file])].sort());
    // One RawScan per region and CF, but two for the default CF of the region that split since it was listed.
    const last = m.regions[2]!.raw.cfs!;
    assert.equal(last.default.reads, 2);
    assert.equal(m.regions[0]!.raw.cfs!.default.reads, 1);
    assert.equal(s.multiReadRanges, 3);
    assert.ok(rawScans >= 9, `${rawScans} RawScans`);
    assert.equal(rec.units, 3);
    assert.equal(rec.keys, 2121);

    assert.deepEqual(await verifyBackup(dir), m);
    const before = await contents(src.schedulerAddr);
    const copy = await backupContents(dir, m);
    assert.deepEqual(copy, before);

    const r = await restore({ schedulerAddr: dst.schedulerAddr, dir, logger: () => {}, batchKeys: 300, txnBatchKeys: 30 });
    assert.equal(r.rawKeys, 2021);
    assert.equal(r.txnKeys, 100);
    assert.deepEqual(await contents(dst.schedulerAddr), copy);

    // A second restore into the now non-empty cluster is refused.
    await assert.rejects(restore({ schedulerAddr: dst.schedulerAddr, dir }), (e: unknown) => {
      assert.ok(e instanceof TargetNotEmptyError);
      assert.match(e.message, /is not empty: raw CF default holds key "a\/00000"/);
      return true;
    });
    // A backup into a directory that holds one is refused.
    await assert.rejects(backup({ schedulerAddr: src.schedulerAddr, dir }), (e: unknown) => {
      assert.ok(e instanceof BackupError);
      assert.match(e.message, /is not empty \(it holds a backup already\)/);
      return true;
    });
  } finally {
    await src.close();
    await dst.close();
  }
});

test('a region holding more than one read carries is read in several RawScans, and the copy is whole', async () => {
  const src = await FakeCluster.start();
  try {
    await seed(src.schedulerAddr, 3000);
    const dir = join(tmp, 'paged');
    // ~20 bytes a pair: a 16 KiB read carries about 800 of the 3000.
    const s = await backup({ schedulerAddr: src.schedulerAddr, dir, readBytes: 16 * 1024 });
    const d = s.manifest.regions[0]!.raw.cfs!.default;
    assert.equal(d.keys, 3000);
    assert.ok(d.reads >= 3, `${d.reads} reads`);
    assert.deepEqual(await backupContents(dir, s.manifest), await contents(src.schedulerAddr));
  } finally {
    await src.close();
  }
});

test('a damaged backup is refused naming the file, and nothing is written', async () => {
  const src = await FakeCluster.start({ splitKeys: ['m'] });
  const dst = await FakeCluster.start();
  try {
    await seed(src.schedulerAddr, 500);
    const dir = join(tmp, 'good');
    const { manifest: m } = await backup({ schedulerAddr: src.schedulerAddr, dir });
    const copyOf = (name: string): string => {
      const d = join(tmp, name);
      mkdirSync(d);
      for (const f of readdirSync(dir)) writeFileSync(join(d, f), readFileSync(join(dir, f)));
      return d;
    };
    const refused = async (d: string, file: string, why: RegExp): Promise<void> => {
      await assert.rejects(restore({ schedulerAddr: dst.schedulerAddr, dir: d }), (e: unknown) => {
        assert.ok(e instanceof BackupDamagedError, String(e));
        assert.equal(e.file, file);
        assert.match(e.message, why);
        assert.match(e.message, /nothing was restored$/);
        return true;
      });
    };
    // A flipped byte in the middle of a data file.
    const flip = copyOf('flip');
    const victim = m.regions[1]!.raw.file;
    const buf = readFileSync(join(flip, victim));
    buf[Math.floor(buf.length / 2)]! ^= 0x01;
    writeFileSync(join(flip, victim), buf);
    await refused(flip, victim, new RegExp(`${victim.replace('.', '\\.')}: SHA-256 [0-9a-f]{64} where the manifest says`));

    // A truncated file.
    const trunc = copyOf('trunc');
    const t = m.regions[1]!.txn.file;
    writeFileSync(join(trunc, t), readFileSync(join(trunc, t)).subarray(0, 20));
    await refused(trunc, t, /20 bytes where the manifest says \d+ \(truncated or damaged\)/);

    // An edited manifest (a key count changed): its own checksum catches it.
    const edit = copyOf('edit');
    writeFileSync(join(edit, MANIFEST), readFileSync(join(edit, MANIFEST), 'utf8').replace(/"rawKeys": (\d+)/, '"rawKeys": 1$1'));
    await refused(edit, MANIFEST, /its checksum does not match its content/);

    // No manifest: an interrupted backup.
    const nm = copyOf('nomanifest');
    rmSync(join(nm, MANIFEST));
    await refused(nm, MANIFEST, /missing: the backup is incomplete/);

    // Nothing reached the target.
    assert.deepEqual(
      await contents(dst.schedulerAddr),
      { default: new Map(), lock: new Map(), write: new Map(), txn: new Map() },
      'the target is still empty',
    );
    for (const cf of CFS) assert.equal(dst.data.get(cf)?.size ?? 0, 0);
  } finally {
    await src.close();
    await dst.close();
  }
});

test('a failed backup leaves no files behind; --rate-limit paces the reads', async () => {
  const src = await FakeCluster.start({ splitKeys: ['m'] });
  try {
    await seed(src.schedulerAddr, 2000);
    const dir = join(tmp, 'failed');
    // The transactional scan of the second region fails: the first region's files were written by then.
    src.inject = (c) => (c.kind === 'kvScan' && Buffer.from(c.req.startKey ?? []).toString() >= 'm' ? { error: 'injected' } : undefined);
    await assert.rejects(backup({ schedulerAddr: src.schedulerAddr, dir, concurrency: 1, timeoutMs: 2000 }), /injected/);
    assert.deepEqual(readdirSync(dir), [], 'no data file, temporary file or manifest is left');
    src.inject = null;

    // About 40 KB at 10 KB/s, of which one second's worth may go at once.
    const t0 = Date.now();
    const s = await backup({ schedulerAddr: src.schedulerAddr, dir, rateLimitMBps: 0.01 });
    const ms = Date.now() - t0;
    const expected = (s.manifest.totals.bytes / 10_000 - 1) * 1000;
    assert.ok(expected > 2000, `${s.manifest.totals.bytes} bytes`);
    assert.ok(ms >= expected - 100, `${ms} ms for ${s.manifest.totals.bytes} bytes at 10 KB/s`);
  } finally {
    await src.close();
  }
});

test('the rate limiter: the average rate holds, with a bounded burst', () => {
  let now = 0;
  const l = new RateLimiter(1_000_000, 1000, () => now);
  assert.equal(l.take(500_000), 0, 'within the burst allowance of an idle second');
  assert.equal(l.take(1_000_000), 500, '1.5 MB moved at once: half a second over');
  now = 10_000;
  // An idle 10 s does not buy 10 s of burst: only 1 s of it.
  assert.equal(l.take(3_000_000), 2000);
});

test('the progress line: bar, share, counts, rate, ETA', () => {
  const s = {
    label: 'restore',
    startedAt: 0,
    keys: 25_000,
    bytes: 2_500_000,
    units: 10,
    totalUnits: 40,
    unitName: 'files',
    totalKeys: 100_000,
    totalBytes: 10_000_000,
  };
  assert.equal(progressLine(s, 5000), 'restore: 25%, 10/40 files, 25,000/100,000 keys, 2.5 MB/10.0 MB, 0.5 MB/s, ETA 0:15');
  const bar = progressLine(s, 5000, 8);
  assert.match(bar, /^restore \[██░░░░░░\] {2}25% {2}10\/40 files/);
  const open = { ...s, totalBytes: undefined, totalKeys: undefined, units: 0 };
  assert.match(progressLine(open, 1000), /^restore: 0%, 0\/40 files, 25,000 keys, 2\.5 MB, 2\.5 MB\/s, ETA -$/);
});

test('the bar on a terminal: redrawn in place, shrunk to the width, then a newline', () => {
  const writes: string[] = [];
  let now = 0;
  const stream = {
    isTTY: true,
    columns: 72,
    write: (s: string) => {
      writes.push(s);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  const bar = new ProgressBar({ stream, now: () => now, redrawMs: 0 });
  bar.phase('restore', { units: 4, unitName: 'files', keys: 1000, bytes: 1_000_000 });
  now = 1000;
  bar.add(500, 500_000);
  bar.end();
  assert.equal(writes.pop(), '\n');
  assert.ok(writes.length >= 2);
  for (const w of writes) {
    assert.ok(w.startsWith('\r') && w.endsWith('\u001b[K'), JSON.stringify(w));
    assert.ok(w.length - 4 <= 71, `${JSON.stringify(w)} fits in 72 columns`);
  }
  const last = writes[writes.length - 1]!;
  assert.match(last.slice(1, -3), /^restore \[█+░+\] {2}50% {2}500 keys {2}0\.5 MB\/1\.0 MB {2}0\.5 MB\/s {2}ETA 0:01$/);
  assert.ok((last.match(/[█░]/g) ?? []).length < 24, 'the bar is shorter than on a wide terminal');
  const n = writes.length;
  bar.end();
  assert.equal(writes.length, n, 'a second end() writes nothing');
});

function tinykv(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.TINYKV_SCHEDULER;
    execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('tinykv backup / restore: --json, progress lines on a pipe, --verify-only, refusals with exit 1', async () => {
  const src = await FakeCluster.start({ splitKeys: ['m'] });
  const dst = await FakeCluster.start();
  try {
    await seed(src.schedulerAddr, 300);
    const dir = join(tmp, 'cli');
    const b = await tinykv(['--scheduler', src.schedulerAddr, '--json', 'backup', '--to', dir, '--rate-limit', '100']);
    assert.equal(b.code, 0, b.stderr);
    const j = JSON.parse(b.stdout) as { ok: boolean; regions: number; rawKeys: number; txnKeys: number; files: number };
    assert.deepEqual([j.ok, j.regions, j.rawKeys, j.txnKeys, j.files], [true, 2, 321, 100, 4]);
    // stderr is a pipe here: plain progress lines, no terminal escapes.
    assert.match(b.stderr, /^backup: 100%, 2\/2 regions, 421 keys, /m);
    assert.ok(!b.stderr.includes('\u001b'), 'no terminal escapes');

    const v = await tinykv(['restore', '--from', dir, '--verify-only', '--no-progress']);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /is intact: 4 files/);
    assert.equal(v.stderr, '');

    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
    const victim = join(dir, manifest.regions[0]!.raw.file);
    const buf = readFileSync(victim);
    buf[buf.length - 10]! ^= 0x80;
    writeFileSync(victim, buf);
    const bad = await tinykv(['--scheduler', dst.schedulerAddr, 'restore', '--from', dir, '--no-progress']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`^tinykv: backup .* is damaged: ${manifest.regions[0]!.raw.file.replace('.', '\\.')}: SHA-256`));
    assert.equal(bad.stdout, '');
    buf[buf.length - 10]! ^= 0x80;
    writeFileSync(victim, buf);

    const ok = await tinykv(['--scheduler', dst.schedulerAddr, 'restore', '--from', dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^restored .*\n {2}321 raw keys, 100 transactional keys/);
    assert.match(ok.stderr, /^verify: 100%/m);
    assert.match(ok.stderr, /^restore: 100%, 4\/4 files, 421\/421 keys/m);
    const again = await tinykv(['--scheduler', dst.schedulerAddr, 'restore', '--from', dir, '--no-progress']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^tinykv: the target cluster at .* is not empty: raw CF default holds key/);
    const usage = await tinykv(['backup', '--to', join(tmp, 'x'), '--rate-limit', '0']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /--rate-limit must be a number > 0, got "0"/);
  } finally {
    await src.close();
    await dst.close();
  }
});
