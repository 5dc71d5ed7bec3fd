// Runs ranges of seeds, in this thread or spread over worker threads (one per core by default).
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BUGS, type BugName } from './bugs.js';
import { DEFAULT_STEPS, type SimResult, simulate } from './cluster.js';
import type { Profile } from './params.js';

export interface RangeOptions {
  from: number;
  count: number;
  nodes?: number;
  steps?: number;
  profile?: Profile;
  bug?: BugName;
  /** Stop at the first failing seed (in seed order when single-threaded). */
  stopOnFailure?: boolean;
}

export interface RangeResult {
  runs: number;
  failures: SimResult[];
  /** Seeds run, in the order they finished. */
  seeds: number[];
  elapsedMs: number;
}

export type Progress = (done: number, failures: number) => void;

/** Everything that determines one run, as CLI flags that replay it with a trace. */
export function replayCommand(r: SimResult, o: Omit<RangeOptions, 'from' | 'count'>): string {
  let cmd = `node dist/sim/run.js --seed ${r.seed} --nodes ${r.nodes} --steps ${o.steps ?? DEFAULT_STEPS}`;
  if (o.profile && o.profile !== 'default') cmd += ` --profile ${o.profile}`;
  if (o.bug) cmd += ` --bug ${o.bug}`;
  return `${cmd} --verbose`;
}

export function runOne(seed: number, o: Omit<RangeOptions, 'from' | 'count'>): SimResult {
  const opts = {
    seed,
    steps: o.steps,
    profile: o.profile,
    ...(o.nodes ? { nodes: o.nodes } : {}),
    ...(o.bug ? { factory: BUGS[o.bug] } : {}),
  };
  return simulate(opts);
}

export function runRange(o: RangeOptions, progress?: Progress): RangeResult {
  const t0 = performance.now();
  const failures: SimResult[] = [];
  const seeds: number[] = [];
  for (let s = o.from; s < o.from + o.count; s++) {
    const r = runOne(s, o);
    seeds.push(s);
    if (!r.ok) failures.push(r);
    progress?.(seeds.length, failures.length);
    if (!r.ok && o.stopOnFailure) break;
  }
  return { runs: seeds.length, failures, seeds, elapsedMs: performance.now() - t0 };
}

/** Seeds from+k, from+k+W, ... go to worker k; results stream back as they finish. */
export function runRangeParallel(o: RangeOptions, workers = Math.max(1, cpus().length), progress?: Progress): Promise<RangeResult> {
  const n = Math.max(1, Math.min(workers, o.count));
  if (n === 1) return Promise.resolve(runRange(o, progress));
  const t0 = performance.now();
  const failures: SimResult[] = [];
  const seeds: number[] = [];
  const url = new URL('./worker.js', import.meta.url);
  return new Promise((resolve, reject) => {
    let running = n;
    const pool: Worker[] = [];
    const finish = (): void => {
      failures.sort((a, b) => a.seed - b.seed);
      resolve({ runs: seeds.length, failures, seeds, elapsedMs: performance.now() - t0 });
    };
    for (let k = 0; k < n; k++) {
      const w = new Worker(url, { workerData: { ...o, start: o.from + k, end: o.from + o.count, stride: n } });
      pool.push(w);
      w.on('message', (r: SimResult) => {
        seeds.push(r.seed);
        if (!r.ok) failures.push(r);
        progress?.(seeds.length, failures.length);
        if (!r.ok && o.stopOnFailure) for (const x of pool) void x.terminate();
      });
      w.on('error', reject);
      w.on('exit', () => {
        if (--running === 0) finish();
      });
    }
  });
}
