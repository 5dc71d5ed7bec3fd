// Benchmark entry point (`npm run bench` in packages/raft, after `npx tsc -b`). Prints
// human-readable tables, then one JSON line with every figure for scripts to pick up.
//
//   node dist/bench/bench.js [--duration-ms N] [--warmup-ms N] [--only proposals|tick]
//                            [--window N] [--peers N]
//
// BENCH_DURATION_MS / BENCH_WARMUP_MS in the environment set the defaults of the flags.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runProposals, ProposalResult } from './proposals.js';
import { runTicks, TickResult, TickScenario } from './ticks.js';
import { fmtFixed, fmtInt, table } from './stats.js';

function intOpt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'duration-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      only: { type: 'string' },
      window: { type: 'string' },
      peers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: node dist/bench/bench.js [--duration-ms N] [--warmup-ms N] [--only proposals|tick] [--window N] [--peers N]');
    return;
  }
  const durationMs = intOpt('duration-ms', values['duration-ms'] ?? process.env.BENCH_DURATION_MS, 5000);
  const warmupMs = intOpt('warmup-ms', values['warmup-ms'] ?? process.env.BENCH_WARMUP_MS, Math.min(1000, durationMs));
  const window = intOpt('window', values.window, 256);
  const peers = intOpt('peers', values.peers, 10_000);
  const only = values.only;
  if (only !== undefined && only !== 'proposals' && only !== 'tick') throw new Error(`--only must be proposals or tick, got ${only}`);
  if (window < 64) throw new Error('--window must be at least 64 (the largest batch)');

  // The command as typed, relative to the working directory, so it can be pasted back.
  const script = path.relative(process.cwd(), process.argv[1]!) || process.argv[1]!;
  const command = ['node', script, ...process.argv.slice(2)].join(' ');
  const env = {
    date: new Date().toISOString(),
    command,
    npmScript: process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : null,
    node: process.version,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
  console.log('@tskv/raft benchmark');
  console.log(`  command: ${command}${env.npmScript ? `   (via ${env.npmScript})` : ''}`);
  console.log(`  node ${env.node} (V8 ${env.v8}), ${env.platform}`);
  console.log(`  cpu: ${env.cpu} x ${env.cores}`);
  console.log(`  duration ${durationMs} ms per measurement after ${warmupMs} ms warm-up`);

  const proposals: ProposalResult[] = [];
  if (only === undefined || only === 'proposals') {
    console.log(`\n[a] committed proposals/s, 3 RawNodes in one process, MemoryStorage, 100-byte entries,`);
    console.log(`    window ${window} in-flight entries on the leader, latency = propose -> applied on the leader`);
    for (const batch of [1, 64]) {
      proposals.push(runProposals({ batch, window, entryBytes: 100, warmupMs, durationMs, tickIntervalMs: 100 }));
    }
    console.log(
      table([
        ['batch', 'window', 'proposals/s', 'MB/s', 'p50 µs', 'p99 µs', 'CPU µs/entry', 'msgs/entry', 'heap MiB'],
        ...proposals.map((r) => [
          String(r.batch),
          String(r.window),
          fmtInt(r.proposalsPerSec),
          fmtFixed((r.proposalsPerSec * r.entryBytes) / 1e6),
          fmtFixed(r.latencyP50Us),
          fmtFixed(r.latencyP99Us),
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
    for (const scenario of scenarios) ticks.push(runTicks({ scenario, peers, warmupMs, durationMs }));
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

  console.log(JSON.stringify({ bench: '@tskv/raft', ...env, durationMs, warmupMs, proposals, ticks }));
}

main();
