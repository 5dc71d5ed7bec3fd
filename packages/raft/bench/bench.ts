// Benchmark entry point (`npm run bench` in packages/raft, after `npx tsc -b`). Prints
// human-readable tables, then one JSON line with every figure for scripts to pick up.
//
//   node dist/bench/bench.js [--duration-ms N] [--warmup-ms N] [--only proposals|tick]
//                            [--window N] [--batch 1,64] [--peers N] [--in-process]
//
// BENCH_DURATION_MS / BENCH_WARMUP_MS in the environment set the defaults of the flags.
//
// Each measurement runs in a fresh Node process: V8 specialises the raft code for whatever ran
// first, and a batch-64 run measured after a batch-1 run in the same process came out 15-30%
// slower than the same run alone. --in-process runs everything here (handy under --cpu-prof).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ProposalOptions, type ProposalResult, runProposals } from './proposals.js';
import { fmtFixed, fmtInt, table } from './stats.js';
import { runTicks, type TickOptions, type TickResult, type TickScenario } from './ticks.js';

type Job = { kind: 'proposals'; opts: ProposalOptions } | { kind: 'tick'; opts: TickOptions };

function runJob(job: Job): ProposalResult | TickResult {
  return job.kind === 'proposals' ? runProposals(job.opts) : runTicks(job.opts);
}

/** Runs one job in a child process (same node binary and flags) and returns its result. */
function runIsolated(job: Job): ProposalResult | TickResult {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--child', JSON.stringify(job)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`benchmark child failed (status ${child.status}, signal ${child.signal})`);
  const line = child.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as ProposalResult | TickResult;
}

function intOpt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

const USAGE =
  'usage: node dist/bench/bench.js [--duration-ms N] [--warmup-ms N] [--only proposals|tick] [--window N] [--batch 1,64] ' +
  '[--peers N] [--in-process]';

function main(): void {
  const { values } = parseArgs({
    options: {
      'duration-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      only: { type: 'string' },
      window: { type: 'string' },
      peers: { type: 'string' },
      batch: { type: 'string' },
      'in-process': { type: 'boolean' },
      child: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.child !== undefined) {
    // Internal: one measurement, its result as the last stdout line.
    console.log(JSON.stringify(runJob(JSON.parse(values.child) as Job)));
    return;
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const durationMs = intOpt('duration-ms', values['duration-ms'] ?? process.env.BENCH_DURATION_MS, 5000);
  const warmupMs = intOpt('warmup-ms', values['warmup-ms'] ?? process.env.BENCH_WARMUP_MS, Math.min(1000, durationMs));
  const window = intOpt('window', values.window, 256);
  const peers = intOpt('peers', values.peers, 10_000);
  const only = values.only;
  if (only !== undefined && only !== 'proposals' && only !== 'tick') throw new Error(`--only must be proposals or tick, got ${only}`);
  const batches = (values.batch ?? '1,64').split(',').map((b) => intOpt('batch', b, 1));
  if (batches.some((b) => b < 1 || b > window)) throw new Error('--batch sizes must be in [1, window]');
  const isolate = !values['in-process'];
  const run = <T extends ProposalResult | TickResult>(job: Job): T => (isolate ? runIsolated(job) : runJob(job)) as T;

  // The command as typed, relative to the working directory, so it can be pasted back.
  const script = path.relative(process.cwd(), process.argv[1]!) || process.argv[1]!;
  const command = ['node', ...process.execArgv, script, ...process.argv.slice(2)].join(' ');
  const env = {
    date: new Date().toISOString(),
    command,
    npmScript: process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : null,
    node: process.version,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    isolated: isolate,
    // Other processes on the machine skew every figure; the load average shows whether there were any.
    loadAvgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  console.log('@tskv/raft benchmark');
  console.log(`  command: ${command}${env.npmScript ? `   (via ${env.npmScript})` : ''}`);
  console.log(`  node ${env.node} (V8 ${env.v8}), ${env.platform}`);
  console.log(`  cpu: ${env.cpu} x ${env.cores}, load average ${env.loadAvgStart.join(' ')}`);
  console.log(
    `  ${durationMs} ms per measurement after ${warmupMs} ms warm-up, ${isolate ? 'each in a fresh process' : 'all in this process'}`,
  );

  const proposals: ProposalResult[] = [];
  if (only === undefined || only === 'proposals') {
    console.log(`\n[a] committed proposals/s, 3 RawNodes in one process, MemoryStorage, 100-byte entries,`);
    console.log(`    at most ${window} proposed-but-unapplied entries on the leader; latency = propose -> applied on the leader`);
    for (const batch of batches) {
      proposals.push(
        run<ProposalResult>({ kind: 'proposals', opts: { batch, window, entryBytes: 100, warmupMs, durationMs, tickIntervalMs: 100 } }),
      );
    }
    console.log(
      table([
        ['batch', 'window', 'proposals/s', 'MB/s', 'p50 µs', 'p99 µs', 'max µs', 'CPU µs/entry', 'msgs/entry', 'heap MiB'],
        ...proposals.map((r) => [
          String(r.batch),
          String(r.window),
          fmtInt(r.proposalsPerSec),
          fmtFixed((r.proposalsPerSec * r.entryBytes) / 1e6),
          fmtFixed(r.latencyP50Us),
          fmtFixed(r.latencyP99Us),
          fmtInt(r.latencyMaxUs),
          fmtFixed(r.cpuPerEntryUs, 2),
          fmtFixed(r.messagesPerEntry, 2),
          fmtFixed(r.heapUsedMiB),
        ]),
      ]),
    );
  }

  const ticks: TickResult[] = [];
  if (only === undefined || only === 'tick') {
    console.log(`\n[b] one tick() + hasReady() on each of ${fmtInt(peers)} idle peers, per round`);
    const scenarios: TickScenario[] = ['followers', 'leaders-1voter', 'leaders-3voter'];
    for (const scenario of scenarios) ticks.push(run<TickResult>({ kind: 'tick', opts: { scenario, peers, warmupMs, durationMs } }));
    const label: Record<TickScenario, string> = {
      followers: 'followers (3-voter groups)',
      'leaders-1voter': 'leaders (1-voter groups)',
      'leaders-3voter': 'leaders (3-voter, heartbeats via Ready)',
    };
    console.log(
      table([
        ['peers', 'rounds', 'wall µs/round', 'CPU µs/round', 'wall ns/peer', 'CPU ns/peer', 'readies/round'],
        ...ticks.map((r) => [
          `${fmtInt(r.peers)} ${label[r.scenario]}`,
          fmtInt(r.rounds),
          fmtInt(r.wallUsPerRound),
          fmtInt(r.cpuUsPerRound),
          fmtFixed(r.wallNsPerPeerTick),
          fmtFixed(r.cpuNsPerPeerTick),
          fmtInt(r.readiesPerRound),
        ]),
      ]),
    );
    console.log('    (CPU time is process-wide: parallel GC threads can push it above wall time)');
  }

  const loadAvgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  console.log(
    `\nload average at the end: ${loadAvgEnd.join(' ')}${loadAvgEnd[0]! > 1.5 ? '  (other work was running: figures are suspect)' : ''}`,
  );
  console.log(JSON.stringify({ bench: '@tskv/raft', ...env, loadAvgEnd, durationMs, warmupMs, proposals, ticks }));
}

try {
  main();
} catch (e) {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  process.exitCode = 2;
}
