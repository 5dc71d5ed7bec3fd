// npm run bench:cluster [-- flags]: the cluster benchmark (see packages/bench/README.md).
// Starts a scheduler and 3 stores as processes (or attaches to a running cluster), optionally a
// 3-member etcd, and runs every cell of the workload matrix against tskv, then the same cell
// against etcd, printing one line per run on stderr and the result tables on stdout.
//
// Exit codes: 0 done, 1 a failure (a process died, a setup step failed), 2 bad flags,
// 130 interrupted (Ctrl-C; everything started is stopped first).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessCluster, UnexpectedExit } from '@tskv/cluster';
import { ArgsError, type BenchOptions, cells, connectionsFor, parseArgs } from '../src/args.js';
import { EtcdCluster, ensureEtcd, etcdVersion } from '../src/etcd/cluster.js';
import { EtcdSystem } from '../src/etcd/system.js';
import { KeySpace } from '../src/keyspace.js';
import { DOCS_HEADING, cpuTable, docsSection, machine, replaceSection, resultsTable, runLine, saturationNotes } from '../src/report.js';
import { type RunResult, preload, runCell } from '../src/runner.js';
import { TskvSystem } from '../src/tskv.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const log = (s: string): void => void process.stderr.write(`${s}\n`);

let o: BenchOptions;
try {
  o = parseArgs(process.argv.slice(2), join(REPO, 'docs/benchmarks.md'));
} catch (e) {
  if (e instanceof ArgsError) {
    (e.exitCode === 0 ? process.stdout : process.stderr).write(e.exitCode === 0 ? e.message : `bench-cluster: ${e.message}\n(see --help)\n`);
    process.exit(e.exitCode);
  }
  throw e;
}
if (o.batchSize > o.keys) {
  log(`bench-cluster: --batch-size (${o.batchSize}) must not exceed --keys (${o.keys})`);
  process.exit(2);
}

const abort = new AbortController();
let failure: string | null = null;
let etcd: EtcdCluster | null = null;
let tskv: TskvSystem | null = null;
let root = '';
let interrupted = 0;

function onSignal(sig: NodeJS.Signals): void {
  interrupted++;
  if (interrupted > 1) {
    log(`bench-cluster: ${sig} again: killing everything now`);
    (tskv?.cluster ?? startingCluster)?.killAllNow();
    etcd?.killNow();
    process.exit(130);
  }
  log(`bench-cluster: ${sig}: stopping the run, then the clusters (again to kill at once)`);
  abort.abort();
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function onUnexpectedExit(e: UnexpectedExit): void {
  failure = `${e.info.name} exited unexpectedly (${e.signal ?? `code ${e.code}`})\n${e.logTail}`;
  log(`bench-cluster: ${failure}`);
  abort.abort();
}

function checkAbort(): void {
  if (abort.signal.aborted) throw new Error(failure ?? 'interrupted');
}

const results: RunResult[] = [];
let startingCluster: ProcessCluster | null = null;

async function main(): Promise<void> {
  const base = o.dataDir ? resolve(o.dataDir) : tmpdir();
  mkdirSync(base, { recursive: true });
  root = mkdtempSync(join(base, 'tskv-bench-'));
  const ks = new KeySpace(o.keys);
  const list = cells(o);
  const systems = o.compare ? 2 : 1;
  const estS = list.length * systems * (o.warmupS + o.durationS);
  log(`bench-cluster: ${list.length} cells × ${systems} system${systems > 1 ? 's' : ''}, ${o.warmupS} s warm-up + ${o.durationS} s each: about ${Math.ceil(estS / 60)} min of runs plus setup; data in ${root}`);

  let etcdSys: EtcdSystem | null = null;
  if (o.compare === 'etcd') {
    const bin = ensureEtcd(o.etcdBin, log);
    etcd = new EtcdCluster(join(root, 'etcd'), bin);
    await etcd.start();
    log(`  etcd ${etcdVersion(bin)}: 3 members up (${etcd.members.map((m) => m.clientAddr).join(', ')}), leader ${etcd.members[etcd.leader]!.name}`);
    etcdSys = new EtcdSystem(etcd, ks, o.etcdEndpoints);
  }

  const maxValue = Math.max(...o.values);
  for (const regions of o.regions) {
    checkAbort();
    const mine = list.filter((c) => c.regions === regions);
    if (!mine.length) continue;
    log(`regions ${regions || '(as found)'}:`);
    if (o.attach) tskv = await TskvSystem.attach(o.attach, ks, o.pids);
    else tskv = await TskvSystem.start({ dir: join(root, `tskv-r${regions}`), keys: ks, regions, maxValueSize: maxValue, batchSize: o.batchSize, log, onUnexpectedExit, onCluster: (c) => (startingCluster = c) });
    startingCluster = null;
    checkAbort();
    const values = [...new Set(mine.map((c) => c.valueSize))];
    for (const v of values) {
      // Every key gets a value of this size before the runs (gets read them).
      const t0 = Date.now();
      for (const sys of [tskv, etcdSys]) {
        if (!sys) continue;
        const conns = await sys.connect(2);
        try {
          await preload(conns, ks, v, { batchSize: o.batchSize, inflight: 16 });
        } finally {
          for (const c of conns) c.close();
        }
        await sys.afterRun?.();
      }
      log(`  wrote ${ks.size} keys of ${v} B${etcdSys ? ' to both systems' : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      for (const cell of mine.filter((c) => c.valueSize === v)) {
        for (const sys of [tskv, etcdSys]) {
          if (!sys) continue;
          checkAbort();
          const processes = [...tskv.processes(), ...(etcd?.pids() ?? []), { name: 'bench', pid: process.pid }];
          const r = await runCell(sys, { cell, connections: connectionsFor(cell.clients, o), batchSize: o.batchSize, timing: { warmupMs: o.warmupS * 1000, durationMs: o.durationS * 1000 }, keys: ks, processes, signal: abort.signal });
          checkAbort();
          results.push(r);
          log(`  ${runLine(r)}`);
        }
      }
    }
    if (!o.attach) {
      await tskv.stop(o.keepData ? undefined : join(root, `tskv-r${regions}`));
      tskv = null;
    }
  }
}

async function cleanup(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  const cluster = tskv?.cluster ?? startingCluster;
  if (cluster) waits.push(cluster.stop().catch(() => cluster.killAllNow()));
  if (etcd) waits.push(etcd.stop().catch(() => etcd?.killNow()));
  await Promise.all(waits);
  tskv = null;
  etcd = null;
}

const started = new Date();
const mach = machine(null);
let code = 0;
try {
  await main();
} catch (e) {
  code = abort.signal.aborted && !failure ? 130 : 1;
  if (code === 1) log(`bench-cluster: ${failure ?? (e as Error).stack ?? String(e)}`);
} finally {
  await cleanup();
}
mach.loadAvgEnd = loadavg().map((x) => Math.round(x * 100) / 100);
if (o.compare === 'etcd') {
  try {
    mach.etcd = etcdVersion(ensureEtcd(o.etcdBin, log));
  } catch {
    mach.etcd = 'unknown';
  }
}

const all = results;
const command = `npm run bench:cluster${o.argv.length ? ` -- ${o.argv.join(' ')}` : ''}`;
if (all.length) {
  process.stdout.write(`\n${resultsTable(all)}\n\nCPU % of one core per process over the measured period; the load generator ("bench") and its event-loop delay:\n\n${cpuTable(all)}\n`);
  const notes = saturationNotes(all, mach.cores);
  if (notes.length) process.stdout.write(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (o.json) {
    writeFileSync(o.json, `${JSON.stringify({ command, date: started.toISOString(), machine: mach, options: { ...o, argv: undefined }, complete: code === 0, results: all }, null, 2)}\n`);
    log(`bench-cluster: results in ${o.json}`);
  }
  if (o.writeDocs && code === 0) {
    const description = [
      `Each row: a warm-up of ${o.warmupS} s, then ${o.durationS} s measured; "clients" closed-loop request loops in the benchmark process, sharing "conns" connections (one RawClient, or one etcd gRPC channel, per ${o.connections ? `run: ${o.connections} fixed` : `${o.clientsPerConnection} loops`}). tskv: a scheduler and 3 stores as processes, sync raft writes (fsync), default config, linearizable gets (ReadIndex); keys pre-split into the given number of regions (actual count in parentheses when it differs) and leaders balanced before measuring. ${o.compare ? `etcd: 3 members on loopback with default settings (fsync), the same loops through its gRPC KV API (Put, linearizable Range, Txn of ${o.batchSize} puts for batch-put), connections to the ${o.etcdEndpoints === 'leader' ? 'leader' : 'members round-robin'}; each cell runs tskv then etcd, one after the other. ` : ''}Key space: ${o.keys.toLocaleString('en-US')} keys, all written with the row's value size before the runs; puts and gets pick keys uniformly at random, a batch-put ${o.batchSize} consecutive keys inside one region. Latency is per request (a whole batch for batch-put); batch-put throughput is in keys/s.`,
      '',
      `**The machine is shared with other engineers' test runs (see the load average), so the figures are noisy: compare rows of one run, not across runs.** Everything (3 stores, scheduler${o.compare ? ', 3 etcd members' : ''} and the load generator) shares the same ${mach.cores} cores.`,
    ];
    const file = o.writeDocs;
    const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
    writeFileSync(file, replaceSection(doc, docsSection({ command, date: started.toISOString().slice(0, 10), machine: mach, results: all, description, notes })));
    log(`bench-cluster: "${DOCS_HEADING.slice(3)}" written to ${file}`);
  }
}
if (root && !o.keepData && code === 0) rmSync(root, { recursive: true, force: true });
else if (root && code !== 0) log(`bench-cluster: data and logs kept in ${root}`);
process.exit(code);
