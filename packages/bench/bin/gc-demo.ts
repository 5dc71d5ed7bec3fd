// npm run bench:gc [-- --keys N --versions N --value-bytes N]: MVCC garbage collection shown on
// a real cluster (a scheduler and 3 stores as processes). Writes `versions` versions of each of
// `keys` keys in transactions, reads every key at the latest timestamp, advances the scheduler's
// GC safe point to it, waits for the stores' GC workers (one raft write per batch) and their
// compactions, reads again, and prints: write and GC time, versions deleted, the kv engines'
// size before and after, and whether the reads at and after the safe point are unchanged.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TxnClient } from '@tskv/client';
import { ProcessCluster } from '@tskv/cluster';
import { Command, InvalidArgumentError, Option } from 'commander';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};
const f = new Command('bench:gc')
  .addOption(new Option('--keys <n>', 'user keys').argParser(int('--keys')).default(1000))
  .addOption(new Option('--versions <n>', 'versions written per key').argParser(int('--versions')).default(200))
  .addOption(new Option('--value-bytes <n>', 'bytes per value').argParser(int('--value-bytes')).default(64))
  .addOption(new Option('--writers <n>', 'concurrent writers (each owns a slice of the keys)').argParser(int('--writers')).default(10))
  .parse()
  .opts<{ keys: number; versions: number; valueBytes: number; writers: number }>();

const log = (m: string): void => void process.stderr.write(`[gc-demo] ${m}\n`);
const mb = (b: number): string => (b / (1024 * 1024)).toFixed(1);
const key = (i: number): string => `gc/${String(i).padStart(6, '0')}`;

/** Bytes on disk of every store's kv engine. */
function kvBytes(c: ProcessCluster): number {
  let n = 0;
  for (const p of c.processes())
    if (p.role === 'store')
      n += Number(
        execFileSync('du', ['-sb', join(p.dataDir, 'kv')])
          .toString()
          .split('\t')[0],
      );
  return n;
}

async function metric(c: ProcessCluster, name: string): Promise<number> {
  let n = 0;
  for (const s of c.addresses.stores) {
    const text = await fetch(`http://${s.statusAddr}/metrics`).then((r) => r.text());
    n += Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  }
  return n;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'tskv-gc-demo-'));
const config = join(dir, 'store.json');
// GC rounds every second; a region is compacted after 10,000 deleted keys (the default).
writeFileSync(config, JSON.stringify({ gcIntervalMs: 1000 }));
const c = new ProcessCluster({ dataDir: dir, schedulerPort: 0, basePort: 0, stopTimeoutMs: 15_000, serverArgs: ['--config', config] });
let client: TxnClient | null = null;
try {
  await c.start();
  await c.waitUntilReady({ timeoutMs: 60_000 });
  client = await TxnClient.connect({ schedulerAddr: c.schedulerAddr, timeoutMs: 60_000 });
  const txc = client;
  const pad = 'v'.repeat(Math.max(0, f.valueBytes - 16));

  // ---- write: `versions` transactions per writer, each over the writer's slice of keys ----
  const t0 = performance.now();
  const per = Math.ceil(f.keys / f.writers);
  await Promise.all(
    Array.from({ length: f.writers }, async (_, w) => {
      const lo = w * per;
      const hi = Math.min(f.keys, lo + per);
      for (let v = 0; v < f.versions; v++) {
        await txc.runTxn(async (t) => {
          for (let i = lo; i < hi; i++) t.put(key(i), `${v}:${i}:${pad}`.slice(0, f.valueBytes));
        });
        if (w === 0 && (v + 1) % 20 === 0) log(`version ${v + 1} of ${f.versions} written`);
      }
    }),
  );
  const writeS = (performance.now() - t0) / 1000;
  await txc.whenIdle();
  const written = f.keys * f.versions;
  log(`${written} versions written in ${writeS.toFixed(1)} s`);

  const readAll = async (): Promise<string[]> => {
    const t = await txc.begin();
    const pairs = await t.scan('gc/', 'gc0');
    await t.rollback();
    return pairs.map((p) => `${Buffer.from(p.key)}=${Buffer.from(p.value)}`);
  };
  await sleep(3000); // let the stores settle (raft-log GC, flushes) before measuring
  const before = await readAll();
  const sizeBefore = kvBytes(c);
  const sp = await txc.currentTs();

  // ---- GC: advance the safe point, wait for the deletions and the compactions ----
  const pd = await c.pd();
  await pd.updateGCSafePoint(sp);
  pd.close();
  const tg = performance.now();
  const want = f.keys * (f.versions - 1);
  for (;;) {
    const deleted = await metric(c, 'tskv_gc_versions_deleted');
    if (deleted >= want) break;
    if (performance.now() - tg > 600_000) throw new Error(`GC deleted ${deleted} of ${want} versions in 10 minutes`);
    await sleep(500);
  }
  const gcS = (performance.now() - tg) / 1000;
  // Compactions run on every replica after the deletions; wait until the size stops falling.
  let sizeAfter = kvBytes(c);
  for (let i = 0; i < 60; i++) {
    await sleep(2000);
    const s = kvBytes(c);
    if (s >= sizeAfter) break;
    sizeAfter = s;
  }
  const after = await readAll();
  const same = JSON.stringify(before) === JSON.stringify(after);
  const deleted = await metric(c, 'tskv_gc_versions_deleted');

  process.stdout.write(
    [
      `| keys | versions per key | value bytes | versions written | write time | kv engines before | GC (leaders) | versions deleted | kv engines after | reads at the safe point |`,
      `|---|---|---|---|---|---|---|---|---|---|`,
      `| ${f.keys} | ${f.versions} | ${f.valueBytes} | ${written} | ${writeS.toFixed(1)} s | ${mb(sizeBefore)} MB | ${gcS.toFixed(1)} s | ${deleted} | ${mb(sizeAfter)} MB | ${same ? 'unchanged' : 'CHANGED'} (${after.length} keys) |`,
      '',
    ].join('\n'),
  );
  if (!same) process.exitCode = 1;
} finally {
  client?.close();
  await c.stop().catch(() => c.killAllNow());
  rmSync(dir, { recursive: true, force: true });
}
