// TxnClient: the transactional API of the cluster (Percolator, as TinyKV and TiKV's clients do
// it): snapshot reads at a start timestamp from the scheduler's oracle, buffered writes, and an
// atomic two-phase commit across regions.
//
//   const c = await TxnClient.connect({ schedulerAddr: '127.0.0.1:2379' });
//   await c.runTxn(async (txn) => {
//     const v = await txn.get('counter');
//     txn.put('counter', String(Number(v ? utf8(v) : '0') + 1));
//   });                                       // retried on write conflicts
//   c.close();
//
// It routes and retries requests exactly as RawClient (a RegionRouter of its own: region cache,
// one BatchCommands stream per store), with its own deadlines per operation (timeoutMs).
import { loadTls, PdClient } from '@tskv/rpc';
import { InvalidArgumentError } from './errors.js';
import { type RawClientOptions, routerOptions, type SchedulerLike, waitForScheduler } from './raw_client.js';
import type { RegionCache } from './region_cache.js';
import { RegionRouter } from './region_router.js';
import type { StoreConnection } from './store_connection.js';
import type { TsoSource } from './timestamp.js';
import { Transaction } from './transaction.js';
import { isTxnRetryable } from './txn_errors.js';
import { TxnRuntime, type TxnSettings } from './txn_runtime.js';

export interface TxnClientOptions extends RawClientOptions {
  /** Lock TTL of a small transaction, ms (default 3 000); a reader may roll back a lock older than its TTL. */
  lockTtlMs?: number;
  /** Added to the TTL per KiB of mutations, ms (default 20). */
  lockTtlPerKibMs?: number;
  /** Cap of the size-based TTL, ms (default 20 000); the time since begin is added on top. */
  maxLockTtlMs?: number;
  /** Prewrite/commit/rollback requests carry about this many bytes of mutations at most (default 16 KiB). */
  commitBatchBytes?: number;
  /** runTxn's default number of retries after the first attempt (default 10). */
  retries?: number;
  /** Where background failures go (secondary commits, best-effort rollbacks); default console.warn. */
  logger?: (message: string) => void;
}

export interface RunTxnOptions {
  /** Attempts after the first one (default: the client's `retries`). */
  retries?: number;
}

/** The scheduler as the transactional client uses it: lookups and timestamps. */
export type TxnSchedulerLike = SchedulerLike & TsoSource;

function positive(name: string, v: number | undefined, dflt: number, min = 1): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`TxnClient: ${name} must be an integer >= ${min}, got ${v}`);
  return x;
}

export class TxnClient {
  readonly cache: RegionCache;
  private readonly router: RegionRouter;
  private readonly rt: TxnRuntime;
  private readonly maxBackoffMs: number;

  /** Use TxnClient.connect, or pass any scheduler with an oracle (tests). */
  constructor(
    readonly scheduler: TxnSchedulerLike,
    readonly schedulerAddr: string,
    opts: TxnClientOptions = {},
  ) {
    const settings: TxnSettings = {
      lockTtlMs: positive('lockTtlMs', opts.lockTtlMs, 3_000),
      lockTtlPerKibMs: positive('lockTtlPerKibMs', opts.lockTtlPerKibMs, 20, 0),
      maxLockTtlMs: positive('maxLockTtlMs', opts.maxLockTtlMs, 20_000),
      commitBatchBytes: positive('commitBatchBytes', opts.commitBatchBytes, 16 * 1024),
      scanBatchSize: positive('scanBatchSize', opts.scanBatchSize, 1024),
      retries: positive('retries', opts.retries, 10, 0),
      log: opts.logger ?? ((m) => console.warn(`tskv txn: ${m}`)),
    };
    this.router = new RegionRouter(scheduler, schedulerAddr, routerOptions(opts, 'TxnClient tls'));
    this.cache = this.router.cache;
    this.maxBackoffMs = this.router.opts.maxBackoffMs;
    this.rt = new TxnRuntime(this.router, scheduler, settings);
  }

  /**
   * Connects to the scheduler (waits until it answers, at most connectTimeoutMs) and returns a
   * client; SchedulerUnavailableError if the scheduler cannot be reached.
   */
  static async connect(opts: TxnClientOptions = {}): Promise<TxnClient> {
    const addr = opts.schedulerAddr ?? '127.0.0.1:2379';
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const tls = loadTls(opts.tls, 'TxnClient tls');
    const pd = new PdClient(addr, { timeoutMs, tls });
    await waitForScheduler(pd, addr, opts.connectTimeoutMs ?? Math.min(timeoutMs, 5_000), tls);
    return new TxnClient(pd, addr, opts);
  }

  /** The PdClient when connected with connect(). */
  get pd(): PdClient {
    if (!(this.scheduler instanceof PdClient)) throw new Error('this client was not connected with TxnClient.connect');
    return this.scheduler;
  }

  /** A new transaction reading as of a fresh timestamp from the oracle. */
  async begin(): Promise<Transaction> {
    const beganAt = Date.now();
    const startTs = await this.rt.guard(this.rt.oracle.next(this.router.state('begin: start timestamp')));
    return new Transaction(this.rt, startTs, beganAt);
  }

  /** A fresh timestamp from the oracle (greater than every one handed out before). */
  currentTs(): Promise<bigint> {
    return this.rt.guard(this.rt.oracle.next(this.router.state('current timestamp')));
  }

  /**
   * Runs fn in a new transaction and commits it; returns fn's result. On WriteConflictError,
   * TxnAbortedError or LockNotResolvedError (from fn's reads or from the commit) the whole
   * transaction runs again from a new start timestamp, after a jittered backoff, at most
   * `retries` more times. If fn throws, the transaction is rolled back and the error passed on.
   * fn must not commit or roll back itself.
   */
  async runTxn<T>(fn: (txn: Transaction) => Promise<T>, opts: RunTxnOptions = {}): Promise<T> {
    const retries = opts.retries ?? this.rt.settings.retries;
    let backoffMs = 10;
    for (let attempt = 0; ; attempt++) {
      const txn = await this.begin();
      try {
        const result = await fn(txn);
        if (!txn.finished) await txn.commit();
        return result;
      } catch (e) {
        await txn.rollback().catch(() => {});
        if (!isTxnRetryable(e) || attempt >= retries) throw e;
      }
      // Contenders spread out: a jittered, doubling backoff.
      const d = backoffMs;
      backoffMs = Math.min(backoffMs * 2, this.maxBackoffMs);
      await this.rt.guard(new Promise((r) => setTimeout(r, d / 2 + (d / 2) * Math.random())));
    }
  }

  /** Resolves once the background work started so far (commits of secondary keys) is done. */
  whenIdle(): Promise<void> {
    return this.rt.idle();
  }

  /** The stream to a store (created on first use), for diagnostics. */
  connections(): ReadonlyMap<number, StoreConnection> {
    return this.router.connections();
  }

  /** Closes the streams and the scheduler client; pending operations fail with ClientClosedError. */
  close(): void {
    if (this.router.isClosed) return;
    this.router.close();
    this.rt.failPending();
    this.scheduler.close();
  }
}
