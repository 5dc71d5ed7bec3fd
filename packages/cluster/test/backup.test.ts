// Backup and restore end to end with real processes and the tinykv command: 100,000 raw keys (and
// keys in the raw lock and write CFs, and transactional keys) over many small regions, a backup
// taken by `tinykv backup` while writers keep writing raw and transactional keys, then into a
// fresh cluster: a damaged copy of the backup is refused naming the file with nothing written,
// and `tinykv restore` of the backup leaves the cluster holding exactly the backup.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { allRegions, backupRecords, MANIFEST, type Manifest, RawClient, TxnClient, verifyBackup } from '@tskv/client';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const CLI = fileURLToPath(new URL('../../../client/cli/tinykv.mjs', import.meta.url));
const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, CLI].filter((f) => !existsSync(f));
const skip = missing.length ? `not built yet: ${missing.join(', ')}` : false;

const CFS = ['default', 'lock', 'write'] as const;
type Contents = Record<'default' | 'lock' | 'write' | 'txn', Map<string, string>>;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tinykv(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.TINYKV_SCHEDULER;
    execFile(process.execPath, [CLI, ...args], { env, timeout: 120_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Every key of the cluster: the raw CFs, and the transactional keys at a fresh ts (hex maps). */
async function contents(addr: string): Promise<Contents> {
  const raw = await RawClient.connect({ schedulerAddr: addr, timeoutMs: 20_000 });
  const txc = await TxnClient.connect({ schedulerAddr: addr, timeoutMs: 20_000 });
  try {
    const out = { txn: new Map() } as Contents;
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

function cluster(dir: string, config: string): ProcessCluster {
  return new ProcessCluster({ dataDir: dir, schedulerPort: 0, basePort: 0, stopTimeoutMs: 10_000, serverArgs: ['--config', config] });
}

test('real cluster: tinykv backup while writers write, a damaged backup refused, tinykv restore byte for byte', {
  skip,
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-e2e-backup-'));
  const config = join(dir, 'store.json');
  // Small regions: the 100,000 keys (about 3 MB) make dozens of them.
  writeFileSync(config, JSON.stringify({ regionSplitSize: 64 * 1024, regionMaxSize: 96 * 1024, splitCheckTickMs: 500 }));
  const a = cluster(join(dir, 'a'), config);
  const b = cluster(join(dir, 'b'), config);
  const unexpected: UnexpectedExit[] = [];
  a.on('unexpected-exit', (e) => unexpected.push(e));
  b.on('unexpected-exit', (e) => unexpected.push(e));
  const bk = join(dir, 'backup');
  const t0 = Date.now();
  const log = (m: string): void => void process.stderr.write(`[backup e2e ${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}\n`);
  try {
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.waitUntilReady({ timeoutMs: 60_000 }), b.waitUntilReady({ timeoutMs: 60_000 })]);
    const raw = await RawClient.connect({ schedulerAddr: a.schedulerAddr, timeoutMs: 20_000 });
    const txc = await TxnClient.connect({ schedulerAddr: a.schedulerAddr, timeoutMs: 20_000, logger: () => {} });
    try {
      // ---- the data: 100,000 raw keys, the raw lock and write CFs, transactional keys ----
      const N = 100_000;
      const key = (i: number): string => `k/${String(i).padStart(6, '0')}`;
      const batches = Array.from({ length: N / 1000 }, (_, j) =>
        Array.from({ length: 1000 }, (_, i) => [key(j * 1000 + i), `v${j * 1000 + i}.${(j * 7919 + i) % 1000}`] as const),
      );
      for (let j = 0; j < batches.length; j += 8) await Promise.all(batches.slice(j, j + 8).map((bt) => raw.batchPut(bt)));
      const binary = Array.from({ length: 200 }, (_, i) => [Buffer.from([0xfe, i, 0, 255 - i]), Buffer.from([i, 0, 0xff, 7])] as const);
      await raw.batchPut(binary, 'lock');
      await raw.batchPut(
        binary.map(([k, v]) => [k, Buffer.concat([v, v])]),
        'write',
      );
      for (let j = 0; j < 10; j++)
        await txc.runTxn(async (t) => {
          for (let i = 0; i < 50; i++) t.put(`t/${String(j * 50 + i).padStart(4, '0')}`, `txn value ${j}.${i}`);
        });
      log('data written');
      const pd = await a.pd();
      let regions = 0;
      try {
        for (let i = 0; i < 60; i++) {
          regions = (await allRegions(pd)).length;
          if (regions >= 8) break;
          await sleep(500);
        }
      } finally {
        pd.close();
      }
      assert.ok(regions >= 8, `the data split into several regions (${regions})`);
      log(`${regions} regions`);

      // ---- writers that keep going through the backup; what they had acknowledged before it ----
      let stop = false;
      const rawAcked: [string, string][] = [];
      const txnAcked: [string, string][] = [];
      const rawWriter = async (): Promise<void> => {
        for (let n = 0; !stop; n++) {
          const pairs = Array.from({ length: 20 }, (_, i) => [`w/${String(n).padStart(5, '0')}/${i}`, `w${n}.${i}`] as const);
          await raw.batchPut(pairs);
          for (const p of pairs) rawAcked.push([p[0], p[1]]);
        }
      };
      const txnWriter = async (): Promise<void> => {
        for (let n = 0; !stop; n++) {
          const pairs = Array.from({ length: 5 }, (_, i) => [`tw/${String(n).padStart(5, '0')}/${i}`, `tw${n}.${i}`] as const);
          await txc.runTxn(async (t) => {
            for (const [k, v] of pairs) t.put(k, v);
          });
          for (const p of pairs) txnAcked.push([p[0], p[1]]);
        }
      };
      const writers = [rawWriter(), txnWriter()];
      await sleep(1500);
      const rawBefore = rawAcked.slice();
      const txnBefore = txnAcked.slice();
      const rawAckedBefore = rawBefore.length;
      const b1 = await tinykv(['--scheduler', a.schedulerAddr, '--json', 'backup', '--to', bk, '--concurrency', '4']);
      const rawDuring = rawAcked.length - rawAckedBefore;
      stop = true;
      await Promise.all(writers);
      assert.equal(b1.code, 0, b1.stderr);
      const j = JSON.parse(b1.stdout) as { regions: number; rawKeys: number; txnKeys: number; bytes: number; mbPerSec: number };
      log(`backup: ${b1.stdout.trim()} (${b1.ms} ms; ${rawBefore.length} raw and ${txnBefore.length} txn keys acked before it)`);
      assert.ok(rawBefore.length > 0 && txnBefore.length > 0, 'the writers had written before the backup');
      assert.ok(rawDuring > 0, `the writers kept writing during the backup (${rawDuring} raw keys)`);

      // ---- the backup holds everything acknowledged before it started ----
      const m = await verifyBackup(bk);
      assert.equal(m.totals.regions, j.regions);
      assert.ok(m.totals.regions >= 8);
      const copy: Contents = { default: new Map(), lock: new Map(), write: new Map(), txn: new Map() };
      for await (const r of backupRecords(bk, m)) copy[r.column].set(hex(r.key), hex(r.value));
      for (const bt of batches) for (const [k, v] of bt) assert.equal(copy.default.get(hex(Buffer.from(k))), hex(Buffer.from(v)), k);
      for (const [k, v] of rawBefore) assert.equal(copy.default.get(hex(Buffer.from(k))), hex(Buffer.from(v)), k);
      assert.equal(copy.lock.size, 200);
      for (const [k, v] of binary) assert.equal(copy.write.get(hex(k)), hex(Buffer.concat([v, v])));
      for (let i = 0; i < 500; i++) assert.ok(copy.txn.has(hex(Buffer.from(`t/${String(i).padStart(4, '0')}`))));
      for (const [k, v] of txnBefore) assert.equal(copy.txn.get(hex(Buffer.from(k))), hex(Buffer.from(v)), k);
      // One snapshot of the transactional data: whole transactions of the writer, never a part of one.
      const perTxn = new Map<string, number>();
      for (const k of copy.txn.keys()) {
        const s = Buffer.from(k, 'hex').toString();
        if (s.startsWith('tw/')) perTxn.set(s.slice(0, 8), (perTxn.get(s.slice(0, 8)) ?? 0) + 1);
      }
      for (const [t, n] of perTxn) assert.equal(n, 5, `transaction ${t}: ${n} of its 5 keys in the backup`);
      assert.equal(copy.default.size + copy.lock.size + copy.write.size, j.rawKeys);
      assert.equal(copy.txn.size, j.txnKeys);
    } finally {
      raw.close();
      txc.close();
    }
    await a.stop();

    // ---- a damaged copy of the backup is refused, naming the file, and nothing is written ----
    const m = JSON.parse(readFileSync(join(bk, MANIFEST), 'utf8')) as Manifest;
    const bad = join(dir, 'damaged');
    cpSync(bk, bad, { recursive: true });
    const victim = [...m.regions].sort((x, y) => y.raw.size - x.raw.size)[0]!.raw.file;
    const buf = readFileSync(join(bad, victim));
    buf[Math.floor(buf.length / 3)]! ^= 0x04;
    writeFileSync(join(bad, victim), buf);
    const r1 = await tinykv(['--scheduler', b.schedulerAddr, 'restore', '--from', bad]);
    assert.equal(r1.code, 1, r1.stdout);
    assert.match(
      r1.stderr,
      new RegExp(`^tinykv: backup .* is damaged: ${victim.replace('.', '\\.')}: SHA-256 .*; nothing was restored$`, 'm'),
    );
    const empty = await contents(b.schedulerAddr);
    for (const [col, mp] of Object.entries(empty)) assert.equal(mp.size, 0, `nothing written to the target (${col})`);

    // ---- restore into the fresh cluster: exactly the backup ----
    const r2 = await tinykv(['--scheduler', b.schedulerAddr, '--json', 'restore', '--from', bk]);
    assert.equal(r2.code, 0, r2.stderr);
    log(`restore: ${r2.stdout.trim()} (${r2.ms} ms)`);
    assert.match(r2.stderr, /^restore: 100%/m);
    const copy: Contents = { default: new Map(), lock: new Map(), write: new Map(), txn: new Map() };
    for await (const r of backupRecords(bk, m)) copy[r.column].set(hex(r.key), hex(r.value));
    const restored = await contents(b.schedulerAddr);
    for (const col of ['default', 'lock', 'write', 'txn'] as const) {
      assert.equal(restored[col].size, copy[col].size, `${col}: key count`);
      for (const [k, v] of copy[col])
        if (restored[col].get(k) !== v) assert.fail(`${col}: key ${k} is ${restored[col].get(k)}, backup ${v}`);
    }
    const r3 = await tinykv(['--scheduler', b.schedulerAddr, 'restore', '--from', bk, '--no-progress']);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /is not empty: raw CF default holds key/);
    assert.deepEqual(
      unexpected.map((e) => `${e.info.name} exited: ${e.code ?? e.signal}`),
      [],
    );
    log('done');
  } finally {
    await a.stop().catch(() => a.killAllNow());
    await b.stop().catch(() => b.killAllNow());
    rmSync(dir, { recursive: true, force: true });
  }
});
