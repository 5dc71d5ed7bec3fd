// The load generator: `clients` closed-loop request loops sharing `connections` connections
// (loop i uses connection i mod n), a warm-up, then a measured period. Every request completing
// inside the measured period counts, with its latency in a histogram; errors are counted (and the
// loop backs off 10 ms after one). A transaction workload makes one attempt per request: a commit
// counts as a request, an abort (a conflict) is counted apart and not retried. CPU % of every
// process and the generator's event-loop delay are sampled over the measured period. With
// threads > 1 the loops are spread over worker threads (src/worker.ts), each with its own
// connections and event loop; their histograms are merged.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { type Cell, isTxnWorkload, txnKeyCount } from './args.js';
import { CpuSampler, type NamedPid } from './cpu.js';
import { Histogram, type HistogramData, type LatencySummary } from './histogram.js';
import { type IndexRange, KeySpace, pickBatch, pickDistinct } from './keyspace.js';
import type { TargetSpec } from './targets.js';

/** How one transaction attempt ended (anything else is thrown). */
export type TxnOutcome = 'committed' | 'aborted';

/** One connection of a system under test. */
export interface KvConn {
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** The value, or null if the key is absent. */
  get(key: Uint8Array): Promise<Uint8Array | null>;
  /** Writes the pairs in one request (tskv: RawBatchPut per region; etcd: one Txn of puts). */
  batchPut(keys: Uint8Array[], values: Uint8Array[]): Promise<void>;
  /**
   * One attempt of a transaction writing values[i] to keys[i], reading the keys first when
   * `read` is set; 'aborted' when a concurrent transaction got in the way (tskv:
   * WriteConflictError or TxnAbortedError; etcd: a failed compare).
   */
  txn(keys: Uint8Array[], values: Uint8Array[], read: boolean): Promise<TxnOutcome>;
  /** Waits for work left in the background (tskv: commits of secondary keys); before close. */
  drain?(): Promise<void>;
  close(): void;
}

/** Waits for every connection's background work (at most timeoutMs), then closes them. */
export async function closeConns(conns: KvConn[], timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
  await Promise.race([Promise.all(conns.map((c) => c.drain?.().catch(() => {}))), limit]);
  clearTimeout(timer);
  for (const c of conns) c.close();
}

export interface SystemUnderTest {
  readonly name: 'tskv' | 'etcd';
  /** n connections; `txn`: able to run transactions (tskv: a TxnClient besides the RawClient). */
  connect(n: number, txn?: boolean): Promise<KvConn[]>;
  /**
   * Whether transactions see other keys than raw requests (tskv: MVCC keys apart from the raw
   * ones), so the key space is written transactionally too before transaction runs.
   */
  readonly separateTxnKeys: boolean;
  /** How a generator thread makes its own connections. */
  target(): TargetSpec;
  /** Key index ranges a batch should stay within (tskv: the regions; etcd: everything). */
  batchRanges(): IndexRange[];
  /** Its processes, for CPU %. */
  processes(): NamedPid[];
  /** Facts to record with each run (regions, leaders per store...). */
  describe(): Record<string, unknown>;
  /** After each run (etcd: compact the history; tskv: refresh the region map). */
  afterRun?(): Promise<void>;
}

export interface RunTiming {
  warmupMs: number;
  durationMs: number;
}

export interface LoopDelay {
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export interface RunResult {
  system: 'tskv' | 'etcd';
  /** What generated the load: the Node loops (runCell) or etcd's own Go benchmark tool (etcd/go_driver.ts); absent in older JSON: node. */
  driver?: 'node' | 'go';
  workload: Cell['workload'];
  valueSize: number;
  /** Requested region count (0: attached cluster as found). */
  regions: number;
  clients: number;
  connections: number;
  /** Load generator threads. */
  threads: number;
  batchSize: number;
  /** Length of the measured period actually observed (s). */
  measuredS: number;
  /** Requests completed in the measured period (transactions: committed ones). */
  requests: number;
  /** Transactions only: attempts that ended in an abort in the measured period (not retried). */
  aborts?: number;
  warmupAborts?: number;
  requestsPerSec: number;
  /** Keys written or read per second (requests × batch size for batch-put). */
  keysPerSec: number;
  /** Latency of a request (a whole batch for batch-put), ms. */
  latency: LatencySummary;
  errors: number;
  warmupErrors: number;
  errorSample: string | null;
  /** CPU % of one core per process over the measured period ("bench": the load generator, all its threads). */
  cpu: Record<string, number | null>;
  /** The generator's event-loop delay over the measured period (beyond the sampling interval), ms; the worst thread's. */
  loopDelay: LoopDelay;
  info: Record<string, unknown>;
}

/** Sampling interval of the event-loop delay monitor. */
export const LOOP_RESOLUTION_MS = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function errText(e: unknown): string {
  const x = e as { details?: string; message?: string; code?: number };
  const s = x?.details || x?.message || String(e);
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

/** What one thread's loops produced. */
export interface LoopsResult {
  hist: HistogramData;
  requests: number;
  aborts: number;
  errors: number;
  warmupAborts: number;
  warmupErrors: number;
  errorSample: string | null;
  loopDelay: LoopDelay;
}

/**
 * The request loops of one thread: start() runs them (warm-up: nothing recorded), measure()
 * starts recording, endMeasure() stops recording, stop() ends the loops once their requests in
 * flight are answered.
 */
export class LoadLoops {
  private phase: 'warmup' | 'measure' | 'after' | 'stop' = 'warmup';
  private readonly hist = new Histogram();
  // The histogram holds the intervals between the ticks of a LOOP_RESOLUTION_MS timer; the delay
  // is what exceeds the interval.
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private requests = 0;
  private aborts = 0;
  private warmupAborts = 0;
  private errors = 0;
  private warmupErrors = 0;
  private errorSample: string | null = null;
  private vi = 0;
  private loops: Promise<void>[] = [];
  private readonly values: Uint8Array[];

  constructor(
    private readonly conns: KvConn[],
    private readonly workload: Cell['workload'],
    valueSize: number,
    private readonly batchSize: number,
    private readonly ks: KeySpace,
    private readonly ranges: IndexRange[],
    private readonly count: number,
  ) {
    this.values = ks.values(valueSize);
  }

  private op(c: KvConn): Promise<unknown> {
    const ks = this.ks;
    switch (this.workload) {
      case 'put':
        return c.put(ks.keys[ks.random()]!, this.values[this.vi++ & 15]!);
      case 'get':
        return c.get(ks.keys[ks.random()]!).then((v) => {
          if (v === null) throw new Error('get: a key written before the run is missing');
        });
      case 'batch-put': {
        const B = this.batchSize;
        const idx = pickBatch(this.ranges, B, ks.size);
        const bk = new Array<Uint8Array>(B);
        const bv = new Array<Uint8Array>(B);
        for (let i = 0; i < B; i++) {
          bk[i] = ks.keys[idx[i]!]!;
          bv[i] = this.values[(this.vi + i) & 15]!;
        }
        this.vi++;
        return c.batchPut(bk, bv);
      }
      case 'txn1':
      case 'txn4rmw': {
        const idx = pickDistinct(txnKeyCount(this.workload), ks.size);
        const tk = idx.map((i) => ks.keys[i]!);
        const tv = idx.map((_, i) => this.values[(this.vi + i) & 15]!);
        this.vi++;
        return c.txn(tk, tv, this.workload === 'txn4rmw');
      }
    }
  }

  private async loop(i: number): Promise<void> {
    const c = this.conns[i % this.conns.length]!;
    while (this.phase !== 'stop') {
      const t0 = performance.now();
      let failed = false;
      let aborted = false;
      try {
        aborted = (await this.op(c)) === 'aborted';
      } catch (e) {
        failed = true;
        if (this.phase === 'measure') {
          this.errors++;
          this.errorSample ??= errText(e);
        } else if (this.phase === 'warmup') {
          this.warmupErrors++;
          this.errorSample ??= `warm-up: ${errText(e)}`;
        }
      }
      if (aborted) {
        if (this.phase === 'measure') this.aborts++;
        else if (this.phase === 'warmup') this.warmupAborts++;
      } else if (this.phase === 'measure' && !failed) {
        this.requests++;
        this.hist.record((performance.now() - t0) * 1000);
      }
      if (failed) await sleep(10);
    }
  }

  start(): void {
    this.loops = Array.from({ length: this.count }, (_, i) => this.loop(i));
  }

  measure(): void {
    this.phase = 'measure';
    this.loopDelay.enable();
  }

  endMeasure(): void {
    this.phase = 'after';
    this.loopDelay.disable();
  }

  async stop(): Promise<LoopsResult> {
    this.phase = 'stop';
    await Promise.all(this.loops);
    const d = this.loopDelay;
    const ms = (x: number): number => Math.round(Math.max(0, x / 1e6 - LOOP_RESOLUTION_MS) * 100) / 100;
    return {
      hist: this.hist.data(),
      requests: this.requests,
      aborts: this.aborts,
      errors: this.errors,
      warmupAborts: this.warmupAborts,
      warmupErrors: this.warmupErrors,
      errorSample: this.errorSample,
      loopDelay:
        d.count > 0
          ? { mean: ms(d.mean), p50: ms(d.percentile(50)), p99: ms(d.percentile(99)), max: ms(d.max) }
          : { mean: NaN, p50: NaN, p99: NaN, max: NaN },
    };
  }
}

export interface RunOptions {
  cell: Cell;
  connections: number;
  /** Load generator threads (1: the loops run in this thread). */
  threads?: number;
  batchSize: number;
  timing: RunTiming;
  keys: KeySpace;
  /** Every process whose CPU is sampled (both systems' and the generator's). */
  processes: NamedPid[];
  /** Stops the run early (Ctrl-C). */
  signal?: AbortSignal;
}

/** The job of one generator thread (the worker's workerData). */
export interface ThreadJob {
  target: TargetSpec;
  workload: Cell['workload'];
  valueSize: number;
  batchSize: number;
  keys: number;
  ranges: IndexRange[];
  loops: number;
  connections: number;
  /** Index of its first connection among the run's. */
  firstConnection: number;
}

/** One generator thread's share: its loops and connections (at least one each), for threads t = 0..T-1. */
export function threadShares(clients: number, connections: number, threads: number): { loops: number; connections: number }[] {
  const T = Math.max(1, Math.min(threads, clients));
  return Array.from({ length: T }, (_, t) => {
    const loops = Math.floor(clients / T) + (t < clients % T ? 1 : 0);
    const conns = Math.floor(connections / T) + (t < connections % T ? 1 : 0);
    return { loops, connections: Math.max(1, Math.min(loops, conns)) };
  });
}

interface Threads {
  measure(): void;
  endMeasure(): void;
  stop(): Promise<LoopsResult[]>;
  connections: number;
}

async function startThreads(sys: SystemUnderTest, o: RunOptions, threads: number): Promise<Threads> {
  const shares = threadShares(o.cell.clients, o.connections, threads);
  let first = 0;
  const workers = shares.map((s) => {
    const job: ThreadJob = {
      target: sys.target(),
      workload: o.cell.workload,
      valueSize: o.cell.valueSize,
      batchSize: o.batchSize,
      keys: o.keys.size,
      ranges: sys.batchRanges(),
      loops: s.loops,
      connections: s.connections,
      firstConnection: first,
    };
    first += s.connections;
    return new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
  });
  const next = (w: Worker): Promise<{ type: string; result?: LoopsResult; error?: string }> =>
    new Promise((res, rej) => {
      const onMsg = (m: { type: string }): void => {
        w.off('error', onErr);
        res(m);
      };
      const onErr = (e: Error): void => {
        w.off('message', onMsg);
        rej(e);
      };
      w.once('message', onMsg);
      w.once('error', onErr);
    });
  const ready = await Promise.allSettled(
    workers.map(async (w) => {
      const m = await next(w);
      if (m.type !== 'ready') throw new Error(`generator thread: ${m.error ?? m.type}`);
    }),
  );
  const bad = ready.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (bad) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw bad.reason;
  }
  for (const w of workers) w.postMessage('start');
  return {
    connections: first,
    measure: () => {
      for (const w of workers) w.postMessage('measure');
    },
    endMeasure: () => {
      for (const w of workers) w.postMessage('endMeasure');
    },
    stop: async () => {
      const results = await Promise.all(
        workers.map(async (w) => {
          const p = next(w);
          w.postMessage('stop');
          const m = await p;
          if (m.type !== 'result' || !m.result) throw new Error(`generator thread: ${m.error ?? m.type}`);
          return m.result;
        }),
      );
      await Promise.all(workers.map((w) => w.terminate()));
      return results;
    },
  };
}

export async function runCell(sys: SystemUnderTest, o: RunOptions): Promise<RunResult> {
  const { cell } = o;
  const threads = Math.max(1, Math.min(o.threads ?? 1, cell.clients));
  let gen: Threads;
  if (threads === 1) {
    const conns = await sys.connect(o.connections, isTxnWorkload(cell.workload));
    const loops = new LoadLoops(conns, cell.workload, cell.valueSize, o.batchSize, o.keys, sys.batchRanges(), cell.clients);
    loops.start();
    gen = {
      connections: conns.length,
      measure: () => loops.measure(),
      endMeasure: () => loops.endMeasure(),
      stop: async () => {
        const r = await loops.stop();
        await closeConns(conns);
        return [r];
      },
    };
  } else {
    gen = await startThreads(sys, o, threads);
  }
  const cpu = new CpuSampler(o.processes);
  let tStart = 0;
  let tEnd = 0;
  let cpuResult: Record<string, number | null> = {};
  let onAbort = (): void => {};
  const abort = new Promise<void>((r) => (onAbort = r));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  await Promise.race([sleep(o.timing.warmupMs), abort]);
  if (!o.signal?.aborted) {
    gen.measure();
    tStart = performance.now();
    cpu.start();
    await Promise.race([sleep(o.timing.durationMs), abort]);
    tEnd = performance.now();
    cpuResult = cpu.stop();
    gen.endMeasure();
  }
  o.signal?.removeEventListener('abort', onAbort);
  const parts = await gen.stop();
  await sys.afterRun?.();

  const hist = new Histogram();
  for (const p of parts) hist.merge(Histogram.fromData(p.hist));
  const requests = parts.reduce((a, p) => a + p.requests, 0);
  const worst = (k: keyof LoopDelay): number => Math.max(...parts.map((p) => p.loopDelay[k]).filter((x) => Number.isFinite(x)), -Infinity);
  const measuredS = Math.max(1e-9, (tEnd - tStart) / 1000);
  const perReq = cell.workload === 'batch-put' ? o.batchSize : 1;
  const txn = isTxnWorkload(cell.workload);
  const fin = (x: number): number => (Number.isFinite(x) ? x : NaN);
  return {
    system: sys.name,
    driver: 'node',
    workload: cell.workload,
    valueSize: cell.valueSize,
    regions: cell.regions,
    clients: cell.clients,
    connections: gen.connections,
    threads,
    batchSize: perReq,
    measuredS: Math.round(measuredS * 1000) / 1000,
    requests,
    ...(txn ? { aborts: parts.reduce((a, p) => a + p.aborts, 0), warmupAborts: parts.reduce((a, p) => a + p.warmupAborts, 0) } : {}),
    requestsPerSec: requests / measuredS,
    keysPerSec: (requests * perReq) / measuredS,
    latency: hist.summary(),
    errors: parts.reduce((a, p) => a + p.errors, 0),
    warmupErrors: parts.reduce((a, p) => a + p.warmupErrors, 0),
    errorSample: parts.find((p) => p.errorSample)?.errorSample ?? null,
    cpu: cpuResult,
    loopDelay: { mean: fin(worst('mean')), p50: fin(worst('p50')), p99: fin(worst('p99')), max: fin(worst('max')) },
    info: sys.describe(),
  };
}

/**
 * Writes every key of the key space with values of this size: batches of consecutive keys,
 * `inflight` batches at a time over the given connections, a batch per request (`txn`: a batch
 * per transaction). A failed batch is retried (5 times).
 */
export async function preload(
  conns: KvConn[],
  ks: KeySpace,
  valueSize: number,
  o: { batchSize: number; inflight?: number; indices?: number[]; txn?: boolean } = { batchSize: 64 },
): Promise<void> {
  const values = ks.values(valueSize);
  const idx = o.indices ?? Array.from({ length: ks.size }, (_, i) => i);
  let next = 0;
  let w = 0;
  const worker = async (): Promise<void> => {
    const c = conns[w++ % conns.length]!;
    while (next < idx.length) {
      const batch = idx.slice(next, next + o.batchSize);
      next += o.batchSize;
      const keys = batch.map((i) => ks.keys[i]!);
      const vals = batch.map((i) => values[i & 15]!);
      for (let attempt = 1; ; attempt++) {
        try {
          if (!o.txn) await c.batchPut(keys, vals);
          else if ((await c.txn(keys, vals, false)) === 'aborted') throw new Error('transaction aborted');
          break;
        } catch (e) {
          if (attempt >= 5) throw new Error(`preload failed: ${errText(e)}`);
          await sleep(200 * attempt);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: o.inflight ?? 16 }, () => worker()));
}

/** A thread's loops from its job (used by worker.ts). */
export function loopsOf(job: ThreadJob, conns: KvConn[]): LoadLoops {
  return new LoadLoops(conns, job.workload, job.valueSize, job.batchSize, new KeySpace(job.keys), job.ranges, job.loops);
}
