// Snapshot: reads of the committed data as of a start timestamp (KvGet, KvScan at version =
// startTs). A lock of another transaction that may commit at or before startTs hides the key's
// fate: the read resolves it (LockResolver) and reads again; a live one is waited for until the
// operation's deadline.
import type { LockInfo, KvPair as TxnKvPair } from '@tskv/rpc';
import { compareBytes, EMPTY, nextKey, showKey } from './bytes.js';
import { ProtocolError } from './errors.js';
import { describeKeyError, LockWaiter } from './lock_resolver.js';
import type { KvPair } from './raw_client.js';
import type { CachedRegion } from './region_cache.js';
import type { OpState } from './region_router.js';
import type { TxnRuntime } from './txn_runtime.js';

export class Snapshot {
  constructor(
    private readonly rt: TxnRuntime,
    readonly startTs: bigint,
  ) {}

  /** The value of key at startTs, or null. */
  async get(key: Uint8Array, st: OpState): Promise<Uint8Array | null> {
    const waiter = new LockWaiter();
    for (;;) {
      const { res } = await this.rt.router.single(
        key,
        st,
        (context) => ({ get: { context, key, version: this.startTs } }),
        (r) => r.get,
      );
      if (!res.error) return res.notFound ? null : (res.value ?? EMPTY);
      if (!res.error.locked) throw new ProtocolError(`${st.what}: KvGet refused: ${describeKeyError(res.error)}`);
      await this.rt.resolver.resolveOrWait([res.error.locked], st, waiter);
    }
  }

  /**
   * The pairs start <= key < end (end empty: to the last key) at startTs, in key order, region
   * by region in pages of pageSize. Each page has its own deadline (timeoutMs).
   */
  async *scan(start: Uint8Array, end: Uint8Array, pageSize: number, what: string): AsyncGenerator<KvPair> {
    let s = start;
    for (;;) {
      if (end.length > 0 && compareBytes(s, end) >= 0) return;
      const from = s;
      const st = this.rt.router.state(`${what}: page from ${showKey(from)}`);
      const { pairs, region } = await this.page(from, pageSize, st);
      for (const p of pairs) {
        const k = p.key;
        // Only what this region holds at or after `from` (the store clamps; this is a guard).
        if (compareBytes(k, from) < 0 || (region.endKey.length > 0 && compareBytes(k, region.endKey) >= 0)) continue;
        if (end.length > 0 && compareBytes(k, end) >= 0) return;
        yield { key: k, value: p.value ?? EMPTY };
      }
      if (pairs.length >= pageSize && pairs.length > 0) {
        // A full page: the region may hold more after the last key.
        s = nextKey(pairs[pairs.length - 1]!.key);
        if (region.endKey.length > 0 && compareBytes(s, region.endKey) >= 0) s = region.endKey;
      } else {
        if (region.endKey.length === 0) return;
        s = region.endKey;
      }
    }
  }

  /** One KvScan page from `from` with no locked key left in it (locks met are resolved, then the page is read again). */
  private async page(from: Uint8Array, limit: number, st: OpState): Promise<{ pairs: TxnKvPair[]; region: CachedRegion }> {
    const waiter = new LockWaiter();
    for (;;) {
      const { res, region } = await this.rt.router.single(
        from,
        st,
        (context) => ({ scan: { context, startKey: from, limit, version: this.startTs } }),
        (r) => r.scan,
      );
      if (res.error) throw new ProtocolError(`${st.what}: KvScan refused: ${describeKeyError(res.error)}`);
      const locks: LockInfo[] = [];
      for (const p of res.pairs) {
        if (!p.error) continue;
        if (!p.error.locked) throw new ProtocolError(`${st.what}: KvScan refused key ${showKey(p.key)}: ${describeKeyError(p.error)}`);
        locks.push(p.error.locked);
      }
      if (locks.length === 0) return { pairs: res.pairs, region };
      await this.rt.resolver.resolveOrWait(locks, st, waiter);
    }
  }
}
