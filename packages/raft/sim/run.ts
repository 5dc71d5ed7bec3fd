// CLI for the simulation.
//   node dist/sim/run.js --seeds 100000 [--from N] [--nodes 3|5] [--steps K] [--workers W]
//   node dist/sim/run.js --seed 1234 [--nodes N] [--steps K] --verbose [--raft-log]
// Also: --profile default|chaos, --bug figure8|noElectionRestriction (run a broken Raft),
// --stop-on-failure. Exits 1 if any seed fails.
import { cpus } from 'node:os';
import { BUGS, isBugName } from './bugs.js';
import { DEFAULT_STEPS, simulate } from './cluster.js';
import type { Profile } from './params.js';
import { type RangeOptions, replayCommand, runRange, runRangeParallel } from './runner.js';

function parse(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      m.set(a.slice(2), next);
      i++;
    } else m.set(a.slice(2), 'true');
  }
  return m;
}

function int(args: Map<string, string>, k: string): number | undefined {
  const v = args.get(k);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${k} needs a non-negative integer, got ${v}`);
  return n;
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const nodes = int(args, 'nodes');
  if (nodes !== undefined && nodes !== 3 && nodes !== 5) throw new Error('--nodes must be 3 or 5');
  const profile = (args.get('profile') ?? 'default') as Profile;
  if (profile !== 'default' && profile !== 'chaos') throw new Error('--profile must be default or chaos');
  const bug = args.get('bug');
  if (bug !== undefined && !isBugName(bug)) throw new Error(`--bug must be one of ${Object.keys(BUGS).join(', ')}`);
  const common: Omit<RangeOptions, 'from' | 'count'> = {
    steps: int(args, 'steps') ?? DEFAULT_STEPS,
    profile,
    ...(nodes ? { nodes } : {}),
    ...(bug ? { bug } : {}),
  };

  const one = int(args, 'seed');
  if (one !== undefined) {
    const verbose = args.has('verbose');
    const r = simulate({
      seed: one,
      steps: common.steps,
      profile,
      verbose,
      raftLog: args.has('raft-log'),
      ...(nodes ? { nodes } : {}),
      ...(bug ? { factory: BUGS[bug] } : {}),
    });
    console.log(r.ok ? `seed ${one}: ok ${JSON.stringify(r.stats)}` : `FAIL ${r.error}\n  replay: ${replayCommand(r, common)}`);
    return r.ok ? 0 : 1;
  }

  const count = int(args, 'seeds') ?? 1000;
  const from = int(args, 'from') ?? 0;
  const workers = int(args, 'workers') ?? cpus().length;
  const o: RangeOptions = { ...common, from, count, stopOnFailure: args.has('stop-on-failure') };
  console.log(
    `simulating seeds [${from}, ${from + count}) with ${workers} worker(s), ${o.steps} steps each, ` +
      `nodes=${nodes ?? '3/5 by seed'} profile=${profile}${bug ? ` bug=${bug}` : ''}`,
  );
  const t0 = performance.now();
  let lastPrint = t0;
  const progress = (done: number, failures: number): void => {
    const now = performance.now();
    if (now - lastPrint < 2000 && done !== count) return;
    lastPrint = now;
    const rate = done / ((now - t0) / 1000);
    console.log(`  ${done}/${count} seeds, ${failures} failure(s), ${rate.toFixed(0)} seeds/s`);
  };
  const res = workers > 1 ? await runRangeParallel(o, workers, progress) : runRange(o, progress);
  for (const f of res.failures) console.log(`FAIL ${f.error}\n  replay: ${replayCommand(f, common)}`);
  console.log(`${res.runs} seeds in ${(res.elapsedMs / 1000).toFixed(1)}s: ${res.failures.length} failure(s)`);
  return res.failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
