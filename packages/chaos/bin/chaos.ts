// chaos: one fault-injection run against a local cluster of real processes; prints the fault
// schedule, operation counts, latency under faults and the verdicts; exits 1 on any violation
// (a non-linearizable history, a lost acknowledged write, a crash, no recovery), 2 on bad flags.
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CHAOS, historyFromFile, runChaos } from '../src/run.js';
import { checkRecorded } from '../src/verdict.js';
import { FAULT_KINDS, type FaultKind } from '../src/faults.js';
import { formatReport } from '../src/report.js';

const int = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};

const program = new Command('chaos')
  .description('Fault-injection run: a scheduler and N stores as processes, TCP proxies between stores, crashes/pauses/partitions/delay/loss from a seed, a linearizability check of the recorded history')
  .addOption(new Option('--duration <s>', 'seconds of workload under faults').argParser(int('--duration', 1)).default(60))
  .addOption(new Option('--seed <n>', 'seed of the schedule and the workload (default: random, printed)').argParser(int('--seed', 0)))
  .addOption(new Option('--stores <n>', 'stores (3 to 5)').argParser(int('--stores', 3)).default(3))
  .addOption(new Option('--clients <n>', 'concurrent clients').argParser(int('--clients', 1)).default(DEFAULT_CHAOS.clients))
  .addOption(new Option('--registers <n>', 'hot register keys').argParser(int('--registers', 1)).default(DEFAULT_CHAOS.registers))
  .addOption(new Option('--sets <n>', 'set keys (appends and scans)').argParser(int('--sets', 0)).default(DEFAULT_CHAOS.sets))
  .addOption(new Option('--faults <list>', `fault kinds, comma-separated (${FAULT_KINDS.join(', ')})`).default(FAULT_KINDS.join(',')))
  .addOption(new Option('--read-mode <mode>', 'how the stores serve reads').choices(['readIndex', 'lease']).default('readIndex'))
  .addOption(new Option('--data-dir <dir>', 'where the cluster lives (default: a temp dir, deleted after a passing run)'))
  .addOption(new Option('--keep-data', 'keep the data dir after a passing run'))
  .addOption(new Option('--json <file>', 'also write the report as JSON'))
  .addOption(new Option('--runs <n>', 'runs one after another, seeds seed, seed+1, ...; a summary at the end').argParser(int('--runs', 1)).default(1))
  .addOption(new Option('--retry-ambiguous-writes', "clients retry writes of unknown outcome (RawClient's default; not linearizable: a retried write can apply twice)"))
  .addOption(new Option('--quiet', 'no progress lines'))
  .addOption(new Option('--check-history <file>', 'only check a history.json a failed run left (no cluster)'))
  .exitOverride()
  .allowExcessArguments(false);

try {
  program.parse(process.argv);
} catch (e) {
  process.exit((e as { exitCode?: number }).exitCode === 0 ? 0 : 2);
}
const f = program.opts<{ duration: number; seed?: number; stores: number; clients: number; registers: number; sets: number; faults: string; readMode: 'readIndex' | 'lease'; dataDir?: string; keepData?: boolean; json?: string; quiet?: boolean; checkHistory?: string; runs: number; retryAmbiguousWrites?: boolean }>();
if (f.checkHistory) {
  const v = checkRecorded(historyFromFile(JSON.parse(readFileSync(f.checkHistory, 'utf8'))), 120_000);
  for (const m of v.models) {
    process.stdout.write(`${m.model}: ${m.verdict} (${m.ops} ops, ${m.elapsedMs} ms)\n`);
    if (m.failure) process.stdout.write(`  key ${m.failure.partition} (${m.failure.ops} ops): ${m.failure.explanation}\n${m.failure.minimal}\n`);
  }
  process.exit(v.linearizable === true ? 0 : 1);
}
if (f.stores > 5) {
  process.stderr.write('chaos: --stores must be 3 to 5\n');
  process.exit(2);
}
const kinds = f.faults.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
if (unknown.length) {
  process.stderr.write(`chaos: unknown fault kind(s) ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})\n`);
  process.exit(2);
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
    log,
  });
  process.stdout.write(formatReport(report) + '\n\n');
  reports.push({ ...report, opsRecorded: undefined });
  if (!report.ok) failures++;
  const kindsHit = [...new Set(report.faults.map((e) => e.kind))].join(',');
  summary.push(`seed ${runSeed}: ${report.ok ? 'PASS' : 'FAIL'}, ${report.faults.length} faults (${kindsHit}), ${report.ops.total} ops (${report.ops.ok} ok, ${report.ops.unknown} unknown), lost ${report.lostWrites.length}, linearizable ${report.verdict.linearizable}`);
}
if (f.runs > 1) process.stdout.write(`summary of ${f.runs} runs: ${f.runs - failures} passed, ${failures} failed\n${summary.join('\n')}\n`);
if (f.json) writeFileSync(f.json, JSON.stringify(f.runs > 1 ? reports : reports[0], null, 2) + '\n');
process.exit(failures === 0 ? 0 : 1);
