// LockResolver: what a reader (or a prewrite) does about another transaction's lock in its way.
//
// The fate of a transaction is the fate of its primary key. KvCheckTxnStatus on the primary
// (with a fresh timestamp as current_ts) tells it, and decides it if the primary lock outlived
// its TTL (or was never written): committed (commit_version > 0), rolled back, or still alive.
// A decided transaction's locks are then resolved the same way (KvResolveLock, which commits or
// rolls back every lock of the transaction in one region) in each region that holds one of the
// locks met; a live one is waited for. A secondary lock is never rolled back on its own: only
// after the primary's status says rolled back, so a transaction cannot end half committed.
import { Action, type KeyError, type LockInfo } from '@tskv/rpc';
import { showKey } from './bytes.js';
import { ProtocolError } from './errors.js';
import type { OpState, RegionRouter } from './region_router.js';
import { type Oracle, physicalMs } from './timestamp.js';
import { LockNotResolvedError } from './txn_errors.js';

export type TxnStatus =
  | { kind: 'committed'; commitTs: bigint }
  | { kind: 'rolledBack' }
  /** The primary lock is alive: it may expire in expiresInMs (>= 1). */
  | { kind: 'alive'; ttlMs: bigint; expiresInMs: number };

/** How many decided transactions are remembered (their status never changes). */
const STATUS_CACHE = 4096;

export function describeKeyError(e: KeyError): string {
  if (e.locked) return `locked by transaction ${e.locked.lockVersion} (key ${showKey(e.locked.key)})`;
  if (e.conflict) return `write conflict on ${showKey(e.conflict.key)} (committed at ${e.conflict.conflictTs})`;
  return e.abort ?? e.retryable ?? 'key error';
}

/**
 * The waits of one operation for live locks: short at first (the lock's owner is most likely
 * committing right now), doubling, jittered, never past the lock's expiry or the deadline.
 */
export class LockWaiter {
  private nextMs = 5;

  async wait(expiresInMs: number, st: OpState): Promise<void> {
    const d = Math.min(this.nextMs, expiresInMs);
    this.nextMs = Math.min(this.nextMs * 2, 500);
    const ms = Math.min(d / 2 + (d / 2) * Math.random(), Math.max(0, st.remaining()));
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
}

export class LockResolver {
  /** lock ts -> commit ts of decided transactions (0n: rolled back). */
  private readonly decided = new Map<bigint, bigint>();

  constructor(
    private readonly router: RegionRouter,
    private readonly oracle: Oracle,
  ) {}

  /**
   * Resolves what can be resolved of `locks`. Returns null if none of them is in the way any
   * more, else a live one and the time (ms, >= 1) until the first live one may expire: back off,
   * then read again.
   */
  async resolve(locks: readonly LockInfo[], st: OpState): Promise<{ live: LockInfo; waitMs: number } | null> {
    const byTxn = new Map<bigint, LockInfo[]>();
    for (const l of locks) {
      const g = byTxn.get(l.lockVersion);
      if (g) g.push(l);
      else byTxn.set(l.lockVersion, [l]);
    }
    let out: { live: LockInfo; waitMs: number } | null = null;
    await Promise.all(
      [...byTxn].map(async ([lockTs, ls]) => {
        const s = await this.status(ls[0]!.primaryLock, lockTs, st);
        if (s.kind === 'alive') {
          if (!out || s.expiresInMs < out.waitMs) out = { live: ls[0]!, waitMs: s.expiresInMs };
          return;
        }
        await this.resolveLocks(lockTs, s.kind === 'committed' ? s.commitTs : 0n, ls, st);
      }),
    );
    return out;
  }

  /**
   * Resolves `locks`; if some are alive, waits a little (the caller then tries again), or throws
   * LockNotResolvedError once the deadline has passed.
   */
  async resolveOrWait(locks: readonly LockInfo[], st: OpState, waiter: LockWaiter): Promise<void> {
    const r = await this.resolve(locks, st);
    if (!r) return;
    const stuck = (): LockNotResolvedError =>
      new LockNotResolvedError(st.what, r.live.key, r.live.lockVersion, r.live.primaryLock, r.live.lockTtl);
    if (st.expired()) throw stuck();
    await waiter.wait(r.waitMs, st);
    // No time left to read again: the lock, not the region, is what stopped the operation.
    if (st.expired()) throw stuck();
  }

  /**
   * The status of transaction lockTs at its primary key (KvCheckTxnStatus, which rolls the
   * transaction back if its primary lock expired or is missing).
   */
  async status(primary: Uint8Array, lockTs: bigint, st: OpState): Promise<TxnStatus> {
    const known = this.decided.get(lockTs);
    if (known !== undefined) return known > 0n ? { kind: 'committed', commitTs: known } : { kind: 'rolledBack' };
    const currentTs = await this.oracle.next(st);
    const { res } = await this.router.single(
      primary,
      st,
      (context) => ({ checkTxnStatus: { context, primaryKey: primary, lockTs, currentTs } }),
      (r) => r.checkTxnStatus,
    );
    if (res.error) throw new ProtocolError(`${st.what}: KvCheckTxnStatus of transaction ${lockTs} refused: ${describeKeyError(res.error)}`);
    if (res.commitVersion > 0n) {
      this.remember(lockTs, res.commitVersion);
      return { kind: 'committed', commitTs: res.commitVersion };
    }
    if (res.action === Action.NoAction) {
      const expiresInMs = Number(physicalMs(lockTs) + res.lockTtl - physicalMs(currentTs)) + 1;
      // A live lock answers its TTL. A TTL of 0 is also what a rolled-back transaction answers:
      // it can only be a live lock if it has not expired yet at current_ts (same millisecond).
      if (res.lockTtl > 0n || expiresInMs > 0) return { kind: 'alive', ttlMs: res.lockTtl, expiresInMs: Math.max(1, expiresInMs) };
    }
    this.remember(lockTs, 0n);
    return { kind: 'rolledBack' };
  }

  private remember(lockTs: bigint, commitTs: bigint): void {
    if (this.decided.size >= STATUS_CACHE) this.decided.delete(this.decided.keys().next().value!);
    this.decided.set(lockTs, commitTs);
  }

  /** KvResolveLock(lockTs, commitTs) in every region that holds one of the locks. */
  private async resolveLocks(lockTs: bigint, commitTs: bigint, locks: readonly LockInfo[], st: OpState): Promise<void> {
    await this.router.grouped(
      locks.map((l) => ({ key: l.key })),
      st,
      (context) => ({ resolveLock: { context, startVersion: lockTs, commitVersion: commitTs } }),
      (r) => r.resolveLock,
      (_, res) => {
        if (!res.error) return;
        // A transaction both committed and rolled back would be a broken store: say so.
        if (res.error.abort) throw new ProtocolError(`${st.what}: KvResolveLock of transaction ${lockTs} refused: ${res.error.abort}`);
        // Otherwise (a race with another resolver): the caller reads again and meets what is left.
        st.note(`KvResolveLock of transaction ${lockTs}: ${describeKeyError(res.error)}`);
      },
    );
  }
}
