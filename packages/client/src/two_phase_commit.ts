// TwoPhaseCommit: Percolator's commit of one transaction's buffered mutations.
//
//   1. Prewrite: every mutated key is locked (naming the primary, the first mutated key) and
//      its value written at startTs, one KvPrewrite per region (cut in batches of about
//      commitBatchBytes), the regions in parallel. A conflict (a write committed at or after
//      startTs) aborts with WriteConflictError; a lock of another transaction is resolved and
//      the batch prewritten again.
//   2. commitTs from the oracle, after every prewrite succeeded.
//   3. The primary key is committed: from then on the transaction is committed, whatever
//      happens to the rest. Committing it is idempotent, so it is retried until the deadline.
//   4. The secondaries are committed in the background; a reader that meets one of their locks
//      first resolves it from the primary's status.
// Any failure before step 3 rolls the prewritten keys back (best effort: locks left behind are
// rolled back by readers once their TTL passes). Nothing is rolled back once the primary's
// commit may have been applied.
import type { KeyError, Mutation } from '@tskv/rpc';
import { Op } from '@tskv/rpc';
import { showKey } from './bytes.js';
import { AmbiguousResultError, ClientClosedError, ClientError, ProtocolError, RegionUnavailableError } from './errors.js';
import { describeKeyError, LockWaiter, type TxnStatus } from './lock_resolver.js';
import type { OpState } from './region_router.js';
import { TxnAbortedError, WriteConflictError } from './txn_errors.js';
import type { TxnRuntime } from './txn_runtime.js';

interface Item {
  key: Uint8Array;
  mutation: Mutation;
}

function sizeOf(m: Mutation): number {
  return m.key.length + (m.value?.length ?? 0) + 8;
}

export class TwoPhaseCommit {
  private readonly items: Item[];
  private readonly primary: Uint8Array;
  /** Set once the commit cannot succeed: the parallel prewrites still going stop at their next attempt. */
  private failure: Error | null = null;

  constructor(
    private readonly rt: TxnRuntime,
    readonly startTs: bigint,
    mutations: readonly Mutation[],
    /** Date.now() when the transaction began (its locks' TTL counts from startTs). */
    private readonly beganAt: number,
  ) {
    if (mutations.length === 0) throw new Error('TwoPhaseCommit of no mutations');
    this.items = mutations.map((m) => ({ key: m.key, mutation: m }));
    this.primary = mutations[0]!.key;
  }

  /** Runs the commit; resolves with commitTs once the primary is committed. */
  async execute(): Promise<bigint> {
    const n = this.items.length;
    const st = this.rt.router.state(`commit of transaction ${this.startTs} (${n} key${n === 1 ? '' : 's'}): prewrite`);
    let commitTs: bigint;
    try {
      await this.prewrite(this.items, st, this.lockTtl());
      commitTs = await this.rt.oracle.next(st);
    } catch (e) {
      this.failure = e as Error;
      await this.rollback();
      throw e;
    }
    try {
      await this.commitPrimary(commitTs);
    } catch (e) {
      // Rolled back by someone else, or certainly not committed (every attempt was answered with
      // a region error): clean up. An unknown outcome (AmbiguousResultError...): leave everything.
      if (e instanceof TxnAbortedError || e instanceof RegionUnavailableError) await this.rollback();
      throw e;
    }
    const secondaries = this.items.filter((it) => it.key !== this.primary);
    if (secondaries.length > 0)
      this.rt.spawn(`transaction ${this.startTs}: commit of the secondary keys`, this.commitSecondaries(secondaries, commitTs));
    return commitTs;
  }

  /**
   * The TTL of the locks (ms): lockTtlMs plus lockTtlPerKibMs per KiB, at most maxLockTtlMs,
   * plus the time since begin, since a lock's age is counted from startTs.
   */
  private lockTtl(): bigint {
    const s = this.rt.settings;
    const bytes = this.items.reduce((a, it) => a + sizeOf(it.mutation), 0);
    const ttl = Math.min(s.maxLockTtlMs, s.lockTtlMs + Math.ceil(bytes / 1024) * s.lockTtlPerKibMs);
    return BigInt(Math.ceil(ttl + Math.max(0, Date.now() - this.beganAt)));
  }

  /** A region's items in batches of about commitBatchBytes. */
  private readonly batches = (its: Item[]): Item[][] => {
    const out: Item[][] = [];
    let cur: Item[] = [];
    let bytes = 0;
    for (const it of its) {
      if (cur.length > 0 && bytes >= this.rt.settings.commitBatchBytes) {
        out.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(it);
      bytes += sizeOf(it.mutation);
    }
    if (cur.length > 0) out.push(cur);
    return out;
  };

  private checkNotFailed(): void {
    if (this.failure) throw this.failure;
    this.rt.router.checkOpen();
  }

  private async prewrite(items: Item[], st: OpState, lockTtl: bigint): Promise<void> {
    await this.rt.router.grouped(
      items,
      st,
      (context, its) => {
        this.checkNotFailed();
        return {
          prewrite: { context, mutations: its.map((it) => it.mutation), primaryLock: this.primary, startVersion: this.startTs, lockTtl },
        };
      },
      (r) => r.prewrite,
      async (its, res, _region, gst) => {
        const errors = res.errors ?? [];
        if (errors.length === 0) return;
        this.checkPrewriteErrors(errors, gst);
        // Locks of other transactions: resolve them, then prewrite this batch again (a prewrite
        // with any error wrote nothing).
        await this.rt.resolver.resolveOrWait(
          errors.map((e) => e.locked!),
          gst,
          new LockWaiter(),
        );
        this.checkNotFailed();
        await this.prewrite(its, gst, lockTtl);
      },
      this.batches,
    );
  }

  /** Throws for a prewrite error other than `locked`: a conflict aborts the transaction. */
  private checkPrewriteErrors(errors: KeyError[], st: OpState): void {
    for (const e of errors) {
      if (e.conflict) {
        const c = e.conflict;
        throw new WriteConflictError(c.key, c.conflictTs, c.startTs || this.startTs, c.primary.length > 0 ? c.primary : this.primary);
      }
    }
    for (const e of errors) if (!e.locked) throw new ProtocolError(`${st.what}: KvPrewrite refused: ${describeKeyError(e)}`);
  }

  /**
   * Commits the primary key at commitTs. Retried on region errors until the deadline (a key may
   * have moved: it is located again each time). If the deadline passes after an attempt whose
   * outcome is unknown, the transaction may or may not be committed: AmbiguousResultError.
   */
  private async commitPrimary(commitTs: bigint): Promise<void> {
    const st = this.rt.router.state(`commit of transaction ${this.startTs}: primary key ${showKey(this.primary)} at ${commitTs}`);
    let res: { error?: KeyError };
    try {
      ({ res } = await this.rt.router.single(
        this.primary,
        st,
        (context) => ({ commit: { context, startVersion: this.startTs, keys: [this.primary], commitVersion: commitTs } }),
        (r) => r.commit,
      ));
    } catch (e) {
      if (e instanceof RegionUnavailableError && st.ambiguous)
        throw new AmbiguousResultError(`${e.message}; an earlier attempt may have committed the transaction (read to learn its fate)`, 0);
      throw e;
    }
    if (!res.error) return;
    // Our lock is gone (committed by an earlier attempt, or rolled back by a reader after its TTL),
    // or the store refused: the primary's status decides.
    const why = describeKeyError(res.error);
    let s: TxnStatus;
    try {
      s = await this.rt.resolver.status(this.primary, this.startTs, st);
    } catch (e) {
      // An earlier attempt may have committed it: unknown, and nothing may be rolled back.
      if (e instanceof ClientClosedError) throw e;
      throw new AmbiguousResultError(`${st.what}: KvCommit answered ${why}, then the status is unknown: ${(e as Error).message}`, 0);
    }
    if (s.kind === 'committed') {
      if (s.commitTs !== commitTs) throw new ProtocolError(`${st.what}: committed at ${s.commitTs}, not at ${commitTs}`);
      return;
    }
    if (s.kind === 'rolledBack')
      throw new TxnAbortedError(`transaction ${this.startTs} was rolled back before its primary key was committed (${why})`, this.startTs);
    throw new ProtocolError(`${st.what}: KvCommit refused while the primary lock is still held: ${why}`);
  }

  private async commitSecondaries(items: Item[], commitTs: bigint): Promise<void> {
    const st = this.rt.router.state(`commit of transaction ${this.startTs}: ${items.length} secondary keys at ${commitTs}`);
    const failed: string[] = [];
    await this.rt.router.grouped(
      items,
      st,
      (context, its) => ({ commit: { context, startVersion: this.startTs, keys: its.map((it) => it.key), commitVersion: commitTs } }),
      (r) => r.commit,
      (its, res) => {
        if (res.error) failed.push(`${its.length} keys from ${showKey(its[0]!.key)}: ${describeKeyError(res.error)}`);
      },
      this.batches,
    );
    if (failed.length > 0) throw new ClientError(`KvCommit refused for ${failed.join('; ')}`, false);
  }

  /** KvBatchRollback of every key (best effort, failures logged): our locks go, late prewrites of ours fail. */
  private async rollback(): Promise<void> {
    const st = this.rt.router.state(`rollback of transaction ${this.startTs}`, Date.now() + Math.min(this.rt.router.opts.timeoutMs, 5_000));
    try {
      await this.rt.router.grouped(
        this.items,
        st,
        (context, its) => ({ batchRollback: { context, startVersion: this.startTs, keys: its.map((it) => it.key) } }),
        (r) => r.batchRollback,
        (its, res) => {
          if (res.error)
            this.rt.settings.log(`${st.what}: ${its.length} keys from ${showKey(its[0]!.key)}: ${describeKeyError(res.error)}`);
        },
        this.batches,
      );
    } catch (e) {
      if (!this.rt.router.isClosed) this.rt.settings.log(`${st.what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** The mutation of a buffered write: a Put, or a Del (value null). */
export function mutationOf(key: Uint8Array, value: Uint8Array | null): Mutation {
  return value === null ? { op: Op.Del, key } : { op: Op.Put, key, value };
}
