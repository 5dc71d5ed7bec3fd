// The load generator: `clients` closed-loop request loops sharing `connections` connections
// (loop i uses connection i mod n), a warm-up, then a measured period. Every request completing
// inside the measured period counts, with its latency in a histogram; errors are counted (and the
// loop backs off 10 ms after one). CPU % of every process and the generator's event-loop delay are
// sampled over the measured period.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Cell } from './args.js';
import { CpuSampler, type NamedPid } from './cpu.js';
import { Histogram, type LatencySummary } from './histogram.js';
import { type IndexRange, type KeySpace, pickBatch } from './keyspace.js';

/** One connection of a system under test. */
export interface KvConn {
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** The value, or null if the key is absent. */
  get(key: Uint8Array): Promise<Uint8Array | null>;
  /** Writes the pairs in one request (tskv: RawBatchPut per region; etcd: one Txn of puts). */
  batchPut(keys: Uint8Array[], values: Uint8Array[]): Promise<void>;
  close(): void;
}

export interface SystemUnderTest {
  readonly name: 'tskv' | 'etcd';
  connect(n: number): Promise<KvConn[]>;
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

export interface RunResult {
  system: 'tskv' | 'etcd';
  workload: Cell['workload'];
  valueSize: number;
  /** Requested region count (0: attached cluster as found). */
  regions: number;
  clients: number;
  connections: number;
  batchSize: number;
  /** Length of the measured period actually observed (s). */
  measuredS: number;
  /** Requests completed in the measured period. */
  requests: number;
  requestsPerSec: number;
  /** Keys written or read per second (requests × batch size for batch-put). */
  keysPerSec: number;
  /** Latency of a request (a whole batch for batch-put), ms. */
  latency: LatencySummary;
  errors: number;
  warmupErrors: number;
  errorSample: string | null;
  /** CPU % of one core per process over the measured period ("bench": the load generator). */
  cpu: Record<string, number | null>;
  /** The generator's event-loop delay over the measured period (beyond the sampling interval), ms. */
  loopDelay: { mean: number; p50: number; p99: number; max: number };
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

export interface RunOptions {
  cell: Cell;
  connections: number;
  batchSize: number;
  timing: RunTiming;
  keys: KeySpace;
  /** Every process whose CPU is sampled (both systems' and the generator's). */
  processes: NamedPid[];
  /** Stops the run early (Ctrl-C). */
  signal?: AbortSignal;
}

export async function runCell(sys: SystemUnderTest, o: RunOptions): Promise<RunResult> {
  const { cell, keys: ks } = o;
  const conns = await sys.connect(o.connections);
  const values = ks.values(cell.valueSize);
  const ranges = sys.batchRanges();
  const hist = new Histogram();
  const cpu = new CpuSampler(o.processes);
  // The histogram holds the intervals between the ticks of a LOOP_RESOLUTION_MS timer; the delay
  // is what exceeds the interval.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
  let requests = 0;
  let errors = 0;
  let warmupErrors = 0;
  let errorSample: string | null = null;
  let vi = 0;
  const B = o.batchSize;

  const op = async (c: KvConn): Promise<void> => {
    switch (cell.workload) {
      case 'put':
        return c.put(ks.keys[ks.random()]!, values[vi++ & 15]!);
      case 'get': {
        const v = await c.get(ks.keys[ks.random()]!);
        if (v === null) throw new Error('get: a key written before the run is missing');
        return;
      }
      case 'batch-put': {
        const idx = pickBatch(ranges, B, ks.size);
        const bk = new Array<Uint8Array>(B);
        const bv = new Array<Uint8Array>(B);
        for (let i = 0; i < B; i++) {
          bk[i] = ks.keys[idx[i]!]!;
          bv[i] = values[(vi + i) & 15]!;
        }
        vi++;
        return c.batchPut(bk, bv);
      }
    }
  };

  const loop = async (i: number): Promise<void> => {
    const c = conns[i % conns.length]!;
    while (phase !== 'stop') {
      const t0 = performance.now();
      let failed = false;
      try {
        await op(c);
      } catch (e) {
        failed = true;
        if (phase === 'measure') {
          errors++;
          errorSample ??= errText(e);
        } else if (phase === 'warmup') {
          warmupErrors++;
          errorSample ??= `warm-up: ${errText(e)}`;
        }
      }
      if (phase === 'measure' && !failed) {
        requests++;
        hist.record((performance.now() - t0) * 1000);
      }
      if (failed) await sleep(10);
    }
  };

  let tStart = 0;
  let tEnd = 0;
  let cpuResult: Record<string, number | null> = {};
  const loops = Array.from({ length: cell.clients }, (_, i) => loop(i));
  let onAbort = (): void => {};
  const abort = new Promise<void>((r) => (onAbort = r));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  await Promise.race([sleep(o.timing.warmupMs), abort]);
  if (!o.signal?.aborted) {
    phase = 'measure';
    tStart = performance.now();
    cpu.start();
    loopDelay.enable();
    await Promise.race([sleep(o.timing.durationMs), abort]);
    tEnd = performance.now();
    cpuResult = cpu.stop();
    loopDelay.disable();
  }
  phase = 'stop';
  o.signal?.removeEventListener('abort', onAbort);
  await Promise.all(loops);
  for (const c of conns) c.close();
  await sys.afterRun?.();

  const measuredS = Math.max(1e-9, (tEnd - tStart) / 1000);
  const perReq = cell.workload === 'batch-put' ? B : 1;
  const ns = (x: number): number => Math.round(Math.max(0, x / 1e6 - LOOP_RESOLUTION_MS) * 100) / 100;
  return {
    system: sys.name,
    workload: cell.workload,
    valueSize: cell.valueSize,
    regions: cell.regions,
    clients: cell.clients,
    connections: conns.length,
    batchSize: perReq,
    measuredS: Math.round(measuredS * 1000) / 1000,
    requests,
    requestsPerSec: requests / measuredS,
    keysPerSec: (requests * perReq) / measuredS,
    latency: hist.summary(),
    errors,
    warmupErrors,
    errorSample,
    cpu: cpuResult,
    loopDelay: loopDelay.count > 0 ? { mean: ns(loopDelay.mean), p50: ns(loopDelay.percentile(50)), p99: ns(loopDelay.percentile(99)), max: ns(loopDelay.max) } : { mean: NaN, p50: NaN, p99: NaN, max: NaN },
    info: sys.describe(),
  };
}

/**
 * Writes every key of the key space with values of this size: batches of consecutive keys,
 * `inflight` batches at a time over the given connections. A failed batch is retried (5 times).
 */
export async function preload(conns: KvConn[], ks: KeySpace, valueSize: number, o: { batchSize: number; inflight?: number; indices?: number[] } = { batchSize: 64 }): Promise<void> {
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
          await c.batchPut(keys, vals);
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
