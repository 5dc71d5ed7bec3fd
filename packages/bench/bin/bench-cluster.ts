// npm run bench:cluster [-- flags]: the cluster benchmark (see packages/bench/README.md).
// Starts a scheduler and 3 stores as processes (or attaches to a running cluster), optionally a
// 3-member etcd, and runs every cell of the workload matrix against tskv, then the same cell
// against etcd, printing one line per run on stderr and the result tables on stdout.
//
// Exit codes: 0 done, 1 a failure (a process died, a setup step failed), 2 bad flags,
// 130 interrupted (Ctrl-C; everything started is stopped first).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessCluster, UnexpectedExit } from '@tskv/cluster';
import { ArgsError, type BenchOptions, cells, connectionsFor, isTxnWorkload, parseArgs } from '../src/args.js';
import { EtcdCluster, ensureEtcd, etcdVersion } from '../src/etcd/cluster.js';
import { runGoCell } from '../src/etcd/go_driver.js';
import { ensureGoTool, type GoTool } from '../src/etcd/go_tool.js';
import { ensureTxnTool, runGoTxnCell, type TxnTool } from '../src/etcd/go_txn.js';
import { EtcdSystem } from '../src/etcd/system.js';
import { KeySpace } from '../src/keyspace.js';
import {
  cpuTable,
  DOCS_HEADING,
  describeRun,
  docsSection,
  machine,
  replaceSection,
  resultsTable,
  runLine,
  saturationNotes,
  txnTable,
} from '../src/report.js';
import { closeConns, preload, type RunResult, runCell } from '../src/runner.js';
import { TskvSystem } from '../src/tskv.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const log = (s: string): void => void process.stderr.write(`${s}\n`);

let o: BenchOptions;
try {
  o = parseArgs(process.argv.slice(2), join(REPO, 'docs/benchmarks.md'));
} catch (e) {
  if (e instanceof ArgsError) {
    (e.exitCode === 0 ? process.stdout : process.stderr).write(
      e.exitCode === 0 ? e.message : `bench-cluster: ${e.message}\n(see --help)\n`,
    );
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
const mach = machine(null);
let startingCluster: ProcessCluster | null = null;

async function main(): Promise<void> {
  const base = o.dataDir ? resolve(o.dataDir) : tmpdir();
  mkdirSync(base, { recursive: true });
  root = mkdtempSync(join(base, 'tskv-bench-'));
  const ks = new KeySpace(o.keys);
  const list = cells(o);
  const systems = o.compare ? 2 : 1;
  const estS = list.length * systems * (o.warmupS + o.durationS);
  log(
    `bench-cluster: ${list.length} cells × ${systems} system${systems > 1 ? 's' : ''}, ` +
      `${o.warmupS} s warm-up + ${o.durationS} s each: about ${Math.ceil(estS / 60)} min of runs plus setup; data in ${root}`,
  );

  let etcdSys: EtcdSystem | null = null;
  let goTool: GoTool | null = null;
  let txnTool: TxnTool | null = null;
  const hasRaw = list.some((c) => !isTxnWorkload(c.workload));
  const hasTxn = list.some((c) => isTxnWorkload(c.workload));
  if (o.compare === 'etcd') {
    if (o.etcdDriver !== 'node' && hasRaw) {
      goTool = ensureGoTool(log);
      if (!goTool && o.etcdDriver === 'go') throw new Error("--etcd-driver go: etcd's benchmark tool could not be built (see above)");
      if (!goTool)
        log(
          "bench-cluster: note: etcd's own benchmark tool is not available: etcd is driven by the Node loops (grpc-js), which " +
            'limit its figures at 64+ clients',
        );
    }
    if (o.etcdDriver !== 'node' && hasTxn) {
      txnTool = ensureTxnTool(log);
      if (!txnTool && o.etcdDriver === 'go') throw new Error('--etcd-driver go: the etcd-txn driver could not be built (see above)');
      if (!txnTool)
        log(
          'bench-cluster: note: the etcd-txn driver is not available: etcd transactions are driven by the Node loops (grpc-js), ' +
            'which limit its figures at 64+ clients',
        );
    }
    const drivers = [
      ...(hasRaw ? [goTool ? `etcd's tools/benchmark ${goTool.version} (Go)` : 'the Node loops (grpc-js)'] : []),
      ...(hasTxn ? [`${txnTool ? "the bench's etcd-txn (Go, clientv3)" : 'the Node loops (grpc-js)'} for transactions`] : []),
    ];
    mach.etcdDriver = drivers.join(', ');
    log(`  etcd driver: ${goTool ? `${goTool.bin} (etcd ${goTool.version}'s tools/benchmark)` : 'the Node loops'}`);
    if (hasTxn) log(`  etcd transactions driver: ${txnTool ? txnTool.bin : 'the Node loops'}`);
    const bin = ensureEtcd(o.etcdBin, log);
    etcd = new EtcdCluster(join(root, 'etcd'), bin);
    await etcd.start();
    log(
      `  etcd ${etcdVersion(bin)}: 3 members up (${etcd.members.map((m) => m.clientAddr).join(', ')}), leader ` +
        `${etcd.members[etcd.leader]!.name}`,
    );
    etcdSys = new EtcdSystem(etcd, ks, o.etcdEndpoints);
  }

  const maxValue = Math.max(...o.values);
  for (const regions of o.regions) {
    checkAbort();
    const mine = list.filter((c) => c.regions === regions);
    if (!mine.length) continue;
    log(`regions ${regions || '(as found)'}:`);
    if (o.attach) tskv = await TskvSystem.attach(o.attach, ks, o.pids);
    else
      tskv = await TskvSystem.start({
        dir: join(root, `tskv-r${regions}`),
        keys: ks,
        regions,
        maxValueSize: maxValue,
        batchSize: o.batchSize,
        nodeArgs: o.nodeArgs,
        log,
        onUnexpectedExit,
        onCluster: (c) => (startingCluster = c),
      });
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
        if (hasTxn && sys.separateTxnKeys) {
          // Transactions read MVCC keys, not the raw ones just written: the key space again, transactionally.
          const tc = await sys.connect(2, true);
          try {
            await preload(tc, ks, v, { batchSize: 64, inflight: 16, txn: true });
          } finally {
            await closeConns(tc);
          }
        }
        await sys.afterRun?.();
      }
      log(
        `  wrote ${ks.size} keys of ${v} B${etcdSys ? ' to both systems' : ''}${hasTxn ? ' (tskv: raw and transactional)' : ''} in ` +
          `${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      for (const cell of mine.filter((c) => c.valueSize === v)) {
        for (const sys of [tskv, etcdSys]) {
          if (!sys) continue;
          checkAbort();
          const processes = [...tskv.processes(), ...(etcd?.pids() ?? []), { name: 'bench', pid: process.pid }];
          const timing = { warmupMs: o.warmupS * 1000, durationMs: o.durationS * 1000 };
          const txnCell = isTxnWorkload(cell.workload);
          const r =
            sys === etcdSys && txnCell && txnTool
              ? await runGoTxnCell(etcdSys, {
                  bin: txnTool.bin,
                  cell,
                  connections: connectionsFor(cell.clients, o),
                  timing,
                  keys: ks,
                  signal: abort.signal,
                })
              : sys === etcdSys && !txnCell && goTool
                ? await runGoCell(etcdSys, {
                    bin: goTool.bin,
                    cell,
                    connections: connectionsFor(cell.clients, o),
                    batchSize: o.batchSize,
                    timing,
                    keys: ks,
                    signal: abort.signal,
                  })
                : await runCell(sys, {
                    cell,
                    connections: connectionsFor(cell.clients, o),
                    threads: o.threads,
                    batchSize: o.batchSize,
                    timing,
                    keys: ks,
                    processes,
                    signal: abort.signal,
                  });
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
let code = 0;
let command = `npm run bench:cluster${o.argv.length ? ` -- ${o.argv.join(' ')}` : ''}`;
let runOpts: BenchOptions = o;
let date = started.toISOString();
if (o.fromJson) {
  // Only render a saved run: tables, and the docs section with --write-docs.
  const saved = JSON.parse(readFileSync(o.fromJson, 'utf8')) as {
    command: string;
    date: string;
    machine: typeof mach;
    options: BenchOptions;
    complete: boolean;
    results: RunResult[];
  };
  results.push(...saved.results);
  Object.assign(mach, saved.machine);
  command = saved.command;
  date = saved.date;
  runOpts = { ...o, ...saved.options, writeDocs: o.writeDocs, json: null };
  if (!saved.complete) code = 1;
} else {
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
}

if (results.length) {
  const raw = resultsTable(results);
  const txn = txnTable(results);
  process.stdout.write(
    `${raw ? `\n${raw}\n` : ''}${txn ? `\nTransactions (one attempt each; abort % = aborted / attempted):\n\n${txn}\n` : ''}` +
      `\nCPU % of one core per process over the measured period; the load generator ("bench") and its event-loop delay:\n\n` +
      `${cpuTable(results)}\n`,
  );
  const notes = saturationNotes(results, mach.cores);
  if (notes.length) process.stdout.write(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (runOpts.json) {
    writeFileSync(
      runOpts.json,
      `${JSON.stringify({ command, date, machine: mach, options: { ...o, argv: undefined }, complete: code === 0, results }, null, 2)}\n`,
    );
    log(`bench-cluster: results in ${runOpts.json}`);
  }
  if (runOpts.writeDocs && code === 0) {
    const file = runOpts.writeDocs;
    const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
    writeFileSync(
      file,
      replaceSection(
        doc,
        docsSection({
          command,
          date: date.slice(0, 10),
          machine: mach,
          results,
          description: describeRun(
            runOpts,
            mach.cores,
            results.filter((r) => r.system === 'etcd' && !isTxnWorkload(r.workload)).map((r) => r.driver ?? 'node'),
            results.some((r) => isTxnWorkload(r.workload))
              ? results.filter((r) => r.system === 'etcd' && isTxnWorkload(r.workload)).map((r) => r.driver ?? 'node')
              : null,
          ),
          notes,
        }),
      ),
    );
    log(`bench-cluster: "${DOCS_HEADING.slice(3)}" written to ${file}`);
  } else if (runOpts.writeDocs) log('bench-cluster: the run did not complete: docs not written');
}
// A failure keeps the data and logs for a look; a finished or interrupted run removes them.
if (root && !o.keepData && code !== 1) rmSync(root, { recursive: true, force: true });
else if (root) log(`bench-cluster: data and logs kept in ${root}`);
process.exit(code);
