// node packages/bench/dist/bin/backup-bench.js [--keys N --value-bytes N --txn-keys N --region-mb N
//   --concurrency N --rate-limit MB/s]: backup and restore throughput on real clusters (a scheduler
// and 3 stores as processes each). Writes raw keys and transactional keys into one cluster, takes
// a backup of it (what `tinykv backup` runs), stops it, restores the backup into a fresh cluster
// (what `tinykv restore` runs), checks the key counts, and prints MB/s (MB = 10^6 bytes of keys
// plus values) and keys/s of both.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allRegions, backup, ProgressBar, RawClient, restore, TxnClient } from '@tskv/client';
import { ProcessCluster } from '@tskv/cluster';
import { Command, InvalidArgumentError, Option } from 'commander';

const num = (name: string, integer: boolean) => (v: string) => {
  const n = Number(v);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
  return n;
};
const f = new Command('backup-bench')
  .addOption(new Option('--keys <n>', 'raw keys').argParser(num('--keys', true)).default(100_000))
  .addOption(new Option('--value-bytes <n>', 'bytes per value').argParser(num('--value-bytes', true)).default(1000))
  .addOption(new Option('--txn-keys <n>', 'transactional keys').argParser(num('--txn-keys', true)).default(10_000))
  .addOption(new Option('--region-mb <n>', 'regionSplitSize of the stores, MiB').argParser(num('--region-mb', true)).default(8))
  .addOption(new Option('--concurrency <n>', 'regions read at once by the backup').argParser(num('--concurrency', true)).default(4))
  .addOption(new Option('--rate-limit <MB/s>', "the backup's rate limit").argParser(num('--rate-limit', false)))
  .parse()
  .opts<{ keys: number; valueBytes: number; txnKeys: number; regionMb: number; concurrency: number; rateLimit?: number }>();

const log = (m: string): void => void process.stderr.write(`[backup-bench] ${m}\n`);
const MiB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'tskv-backup-bench-'));
const config = join(dir, 'store.json');
writeFileSync(config, JSON.stringify({ regionSplitSize: f.regionMb * MiB, regionMaxSize: Math.ceil(f.regionMb * 1.5) * MiB }));
const cluster = (name: string): ProcessCluster =>
  new ProcessCluster({ dataDir: join(dir, name), schedulerPort: 0, basePort: 0, stopTimeoutMs: 15_000, serverArgs: ['--config', config] });
const a = cluster('a');
const b = cluster('b');
const bk = join(dir, 'backup');
try {
  await a.start();
  await a.waitUntilReady({ timeoutMs: 60_000 });
  const raw = await RawClient.connect({ schedulerAddr: a.schedulerAddr, timeoutMs: 60_000 });
  const txc = await TxnClient.connect({ schedulerAddr: a.schedulerAddr, timeoutMs: 60_000 });
  const value = (i: number): string => `${i}:`.padEnd(f.valueBytes, 'v');
  const t0 = performance.now();
  const per = 500;
  const batches = Math.ceil(f.keys / per);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let j = next++; j < batches; j = next++) {
        const pairs: [string, string][] = [];
        for (let i = j * per; i < Math.min(f.keys, (j + 1) * per); i++) pairs.push([`raw/${String(i).padStart(8, '0')}`, value(i)]);
        await raw.batchPut(pairs);
      }
    }),
  );
  let tn = 0;
  const tper = 100;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let j = tn++; j * tper < f.txnKeys; j = tn++)
        await txc.runTxn(async (t) => {
          for (let i = j * tper; i < Math.min(f.txnKeys, (j + 1) * tper); i++) t.put(`txn/${String(i).padStart(8, '0')}`, value(i));
        });
    }),
  );
  await txc.whenIdle();
  raw.close();
  txc.close();
  log(`written in ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for the splits to settle`);
  await new Promise((r) => setTimeout(r, 5000));
  const pd = await a.pd();
  const regions = (await allRegions(pd)).length;
  pd.close();

  const s = await backup({
    schedulerAddr: a.schedulerAddr,
    timeoutMs: 60_000,
    dir: bk,
    concurrency: f.concurrency,
    rateLimitMBps: f.rateLimit,
    progress: new ProgressBar(),
  });
  const t = s.manifest.totals;
  log(
    `backup: ${t.regions} regions, ${t.rawKeys} raw + ${t.txnKeys} txn keys, ${(t.bytes / 1e6).toFixed(1)} MB in ${s.seconds} s; ${s.multiReadRanges} region/CF ranges in more than one read`,
  );
  await a.stop();

  await b.start();
  await b.waitUntilReady({ timeoutMs: 60_000 });
  const r = await restore({ schedulerAddr: b.schedulerAddr, timeoutMs: 60_000, dir: bk, progress: new ProgressBar() });
  const check = await RawClient.connect({ schedulerAddr: b.schedulerAddr, timeoutMs: 60_000 });
  const restoredRaw = (await check.scan('', '', 0)).length;
  check.close();
  if (restoredRaw !== f.keys) throw new Error(`restored ${restoredRaw} raw keys, wrote ${f.keys}`);
  const keys = t.rawKeys + t.txnKeys;
  process.stdout.write(
    [
      '| raw keys | txn keys | value bytes | regions | data (keys + values) | backup | backup MB/s | backup keys/s | files | verify | restore | restore MB/s | restore keys/s |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      `| ${t.rawKeys} | ${t.txnKeys} | ${f.valueBytes} | ${regions} (backup: ${t.regions}) | ${(t.bytes / 1e6).toFixed(1)} MB | ` +
        `${s.seconds.toFixed(1)} s | ${s.mbPerSec.toFixed(1)} | ${Math.round(keys / s.seconds)} | ${(t.size / 1e6).toFixed(1)} MB | ` +
        `${r.verifySeconds.toFixed(1)} s | ${r.seconds.toFixed(1)} s | ${r.mbPerSec.toFixed(1)} | ${Math.round(keys / r.seconds)} |`,
      '',
    ].join('\n'),
  );
} finally {
  await a.stop().catch(() => a.killAllNow());
  await b.stop().catch(() => b.killAllNow());
  rmSync(dir, { recursive: true, force: true });
}
