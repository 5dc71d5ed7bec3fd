// TxnRuntime: what the transactions of one TxnClient share: the router (region cache, store
// streams, retries), the oracle, the lock resolver, the settings, and the bookkeeping of work in
// flight, so that close() fails pending operations at once and background commits can be awaited.
import { ClientClosedError } from './errors.js';
import { LockResolver } from './lock_resolver.js';
import type { RegionRouter } from './region_router.js';
import { Oracle, type TsoSource } from './timestamp.js';

export interface TxnSettings {
  /** Lock TTL of a small transaction (ms). */
  lockTtlMs: number;
  /** Added per KiB of mutations (ms). */
  lockTtlPerKibMs: number;
  /** Cap of the size-based TTL (ms); the time since begin is added on top. */
  maxLockTtlMs: number;
  /** Mutations per prewrite/commit/rollback request are cut at about this many bytes. */
  commitBatchBytes: number;
  /** Pairs per KvScan page. */
  scanBatchSize: number;
  /** runTxn's attempts after the first. */
  retries: number;
  /** Where background failures go (secondary commits, best-effort rollbacks). */
  log: (message: string) => void;
}

export class TxnRuntime {
  readonly oracle: Oracle;
  readonly resolver: LockResolver;
  private readonly pending = new Set<(e: Error) => void>();
  private readonly background = new Set<Promise<void>>();

  constructor(
    readonly router: RegionRouter,
    tso: TsoSource,
    readonly settings: TxnSettings,
  ) {
    this.oracle = new Oracle(tso, router);
    this.resolver = new LockResolver(router, this.oracle);
  }

  /** p, failed with ClientClosedError as soon as the client closes (p's own outcome is then dropped). */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.router.isClosed) {
      p.catch(() => {});
      return Promise.reject(new ClientClosedError());
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      p.then(
        (v) => {
          this.pending.delete(reject);
          resolve(v);
        },
        (e) => {
          this.pending.delete(reject);
          reject(e);
        },
      );
    });
  }

  /** Runs work that nobody awaits (secondary commits): its failure is logged, never thrown. */
  spawn(what: string, work: Promise<void>): void {
    const p = work.catch((e: unknown) => {
      if (!(e instanceof ClientClosedError)) this.settings.log(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    });
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Resolves once the background work started so far is done. */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Fails every guarded operation with ClientClosedError (the router is closed by the caller). */
  failPending(): void {
    const err = new ClientClosedError();
    for (const reject of [...this.pending]) reject(err);
    this.pending.clear();
  }
}
