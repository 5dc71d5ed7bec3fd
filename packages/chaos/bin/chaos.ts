// chaos: one fault-injection run against a local cluster of real processes; prints the fault
// schedule, operation counts, latency under faults and the verdicts; exits 1 on any violation
// (a non-linearizable history, a lost acknowledged write, a crash, no recovery), 2 on bad flags.
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_FAULT_KINDS, FAULT_KINDS, type FaultKind } from '../src/faults.js';
import { lazyfsProblem } from '../src/lazyfs.js';
import { formatReport } from '../src/report.js';
import { DEFAULT_CHAOS, historyFromFile, runChaos } from '../src/run.js';
import { TXN_WORKLOADS, type TxnWorkloadKind } from '../src/txn_workload.js';
import { checkRecorded } from '../src/verdict.js';

const int =
  (name: string, min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };

/** Bytes, with an optional unit: 4096, 32KiB, 32k, 1MiB, 1m. */
const size =
  (name: string) =>
  (v: string): number => {
    const m = /^(\d+)\s*(|b|k|kb|kib|m|mb|mib)$/i.exec(v.trim());
    if (!m) throw new InvalidArgumentError(`${name} must be a size such as 32768, 32KiB or 1MiB`);
    const unit = m[2]!.toLowerCase();
    return Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1);
  };

const program = new Command('chaos')
  .description(
    'Fault-injection run: a scheduler and N stores as processes, TCP proxies between stores, ' +
      'crashes/pauses/partitions/delay/loss/full disks/power loss from a seed, a linearizability check of the recorded history',
  )
  .addOption(new Option('--duration <s>', 'seconds of workload under faults').argParser(int('--duration', 1)).default(60))
  .addOption(new Option('--seed <n>', 'seed of the schedule and the workload (default: random, printed)').argParser(int('--seed', 0)))
  .addOption(new Option('--stores <n>', 'stores (3 to 5)').argParser(int('--stores', 3)).default(3))
  .addOption(new Option('--clients <n>', 'concurrent clients').argParser(int('--clients', 1)).default(DEFAULT_CHAOS.clients))
  .addOption(new Option('--registers <n>', 'hot register keys').argParser(int('--registers', 1)).default(DEFAULT_CHAOS.registers))
  .addOption(new Option('--sets <n>', 'set keys (appends and scans)').argParser(int('--sets', 0)).default(DEFAULT_CHAOS.sets))
  .addOption(
    new Option('--faults <list>', `fault kinds, comma-separated (${FAULT_KINDS.join(', ')}; powerloss only when named)`).default(
      DEFAULT_FAULT_KINDS.join(','),
    ),
  )
  .addOption(
    new Option(
      '--region-split-size <size>',
      'stores split regions at this size (e.g. 32KiB; 0: the store default); default 32KiB with powerloss, else 0',
    ).argParser(size('--region-split-size')),
  )
  .addOption(
    new Option(
      '--raft-log-gc <mode>',
      "raft-log GC: short (every 2 s, snapshots for stores that were down) or the stores' default; default: default with " +
        'powerloss, else short',
    ).choices(['short', 'default']),
  )
  .addOption(
    new Option(
      '--new-keys-per-sec <n>',
      'register keys added per second (a growing key space); default 10 with powerloss, else 0',
    ).argParser(int('--new-keys-per-sec', 0)),
  )
  .addOption(
    new Option('--value-bytes <n>', 'register values padded to this size; default 256 with powerloss, else 0').argParser(
      int('--value-bytes', 0),
    ),
  )
  .addOption(
    new Option('--workload <name>', 'register (raw, linearizability) or a transactional workload: bank, list-append')
      .choices(['register', ...TXN_WORKLOADS])
      .default('register'),
  )
  .addOption(new Option('--txn-keys <n>', 'accounts (bank) or list keys (list-append); default 8 and 6').argParser(int('--txn-keys', 2)))
  .addOption(new Option('--read-mode <mode>', 'how the stores serve reads').choices(['readIndex', 'lease']).default('readIndex'))
  .addOption(new Option('--data-dir <dir>', 'where the cluster lives (default: a temp dir, deleted after a passing run)'))
  .addOption(new Option('--keep-data', 'keep the data dir after a passing run'))
  .addOption(new Option('--json <file>', 'also write the report as JSON'))
  .addOption(
    new Option('--runs <n>', 'runs one after another, seeds seed, seed+1, ...; a summary at the end')
      .argParser(int('--runs', 1))
      .default(1),
  )
  .addOption(
    new Option(
      '--retry-ambiguous-writes',
      "clients retry writes of unknown outcome (RawClient's default; not linearizable: a retried write can apply twice)",
    ),
  )
  .addOption(new Option('--quiet', 'no progress lines'))
  .addOption(new Option('--check-history <file>', 'only check a history.json a failed run left (no cluster)'))
  .exitOverride()
  .allowExcessArguments(false);

try {
  program.parse(process.argv);
} catch (e) {
  process.exit((e as { exitCode?: number }).exitCode === 0 ? 0 : 2);
}
const f = program.opts<{
  duration: number;
  seed?: number;
  stores: number;
  clients: number;
  registers: number;
  sets: number;
  faults: string;
  readMode: 'readIndex' | 'lease';
  dataDir?: string;
  keepData?: boolean;
  json?: string;
  quiet?: boolean;
  checkHistory?: string;
  runs: number;
  retryAmbiguousWrites?: boolean;
  regionSplitSize?: number;
  raftLogGc?: 'short' | 'default';
  newKeysPerSec?: number;
  valueBytes?: number;
  workload: 'register' | TxnWorkloadKind;
  txnKeys?: number;
}>();
if (f.checkHistory) {
  const v = checkRecorded(historyFromFile(JSON.parse(readFileSync(f.checkHistory, 'utf8'))), 120_000);
  for (const m of v.models) {
    process.stdout.write(`${m.model}: ${m.verdict} (${m.ops} ops, ${m.elapsedMs} ms)\n`);
    if (m.failure)
      process.stdout.write(`  key ${m.failure.partition} (${m.failure.ops} ops): ${m.failure.explanation}\n${m.failure.minimal}\n`);
  }
  process.exit(v.linearizable === true ? 0 : 1);
}
if (f.stores > 5) {
  process.stderr.write('chaos: --stores must be 3 to 5\n');
  process.exit(2);
}
const kinds = f.faults
  .split(',')
  .map((x) => x.trim())
  .filter((x) => x.length > 0);
const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
if (unknown.length) {
  process.stderr.write(`chaos: unknown fault kind(s) ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})\n`);
  process.exit(2);
}
if (kinds.includes('powerloss')) {
  const problem = lazyfsProblem();
  if (problem) {
    process.stderr.write(`chaos: the powerloss fault cannot run: ${problem}\n`);
    process.exit(2);
  }
}
const seed = f.seed ?? Math.floor(Math.random() * 2 ** 31);
const log = f.quiet ? () => {} : (m: string): void => void process.stderr.write(`[chaos] ${m}\n`);
log(`seed ${seed} (replay: --seed ${seed})`);
const summary: string[] = [];
let failures = 0;
const reports: unknown[] = [];
for (let run = 0; run < f.runs; run++) {
  const runSeed = seed + run;
  if (run > 0) log(`run ${run + 1} of ${f.runs}, seed ${runSeed}`);
  const report = await runChaos({
    ...DEFAULT_CHAOS,
    seed: runSeed,
    durationMs: f.duration * 1000,
    stores: f.stores,
    clients: f.clients,
    registers: f.registers,
    sets: f.sets,
    faults: kinds as FaultKind[],
    readMode: f.readMode,
    dataDir: f.dataDir && f.runs > 1 ? `${f.dataDir}/run${run + 1}` : f.dataDir,
    keepData: !!f.keepData,
    retryAmbiguousWrites: !!f.retryAmbiguousWrites,
    regionSplitSize: f.regionSplitSize,
    raftLogGc: f.raftLogGc,
    newKeysPerSec: f.newKeysPerSec,
    valueBytes: f.valueBytes,
    workload: f.workload,
    txnKeys: f.txnKeys,
    log,
  });
  process.stdout.write(`${formatReport(report)}\n\n`);
  reports.push({ ...report, opsRecorded: undefined, txnRecorded: undefined });
  if (!report.ok) failures++;
  const kindsHit = [...new Set(report.faults.map((e) => e.kind))].join(',');
  summary.push(
    `seed ${runSeed}: ${report.ok ? 'PASS' : 'FAIL'}, ${report.faults.length} faults (${kindsHit}), ${report.ops.total} ops ` +
      `(${report.ops.ok} ok, ${report.ops.unknown} unknown), ${report.regions} regions, lost ${report.lostWrites.length}, ` +
      `linearizable ${report.verdict.linearizable}`,
  );
}
if (f.runs > 1) process.stdout.write(`summary of ${f.runs} runs: ${f.runs - failures} passed, ${failures} failed\n${summary.join('\n')}\n`);
if (f.json) writeFileSync(f.json, `${JSON.stringify(f.runs > 1 ? reports : reports[0], null, 2)}\n`);
process.exit(failures === 0 ? 0 : 1);
