// The transactional side of the fake stores: the seven Kv* commands run by @tskv/txn's
// TxnExecutor over one MemStorage shared by every fake store (as the raw data is), through a
// reader clamped to the region the request names, as a real store's region snapshot is. So a
// KvScan stops at the region's end and a KvResolveLock resolves the locks of that region only:
// a client that forgets a region is caught.
import type {
  KvBatchRollbackRequest,
  KvCheckTxnStatusRequest,
  KvCommitRequest,
  KvGetRequest,
  KvPrewriteRequest,
  KvResolveLockRequest,
  KvScanRequest,
} from '@tskv/rpc';
import {
  type CfName,
  type ClosableReader,
  type Entry,
  encodeKey,
  type Latches,
  type MemStorage,
  type Modify,
  TS_MAX,
  TxnExecutor,
  type TxnStorage,
} from '@tskv/txn';
import { compareBytes } from '@tskv/util';

/** The transactional request kinds, named as the unary methods. */
export type TxnKind = 'kvGet' | 'kvScan' | 'kvPrewrite' | 'kvCommit' | 'kvCheckTxnStatus' | 'kvBatchRollback' | 'kvResolveLock';

/** The BatchCommands field of each kind. */
export const TXN_FIELD: Readonly<Record<TxnKind, string>> = {
  kvGet: 'get',
  kvScan: 'scan',
  kvPrewrite: 'prewrite',
  kvCommit: 'commit',
  kvCheckTxnStatus: 'checkTxnStatus',
  kvBatchRollback: 'batchRollback',
  kvResolveLock: 'resolveLock',
};

/** The kind of a BatchCommands field, if it is a transactional one. */
export const TXN_KIND_OF_FIELD: Readonly<Record<string, TxnKind>> = Object.fromEntries(
  Object.entries(TXN_FIELD).map(([k, f]) => [f, k as TxnKind]),
);

export function isTxnKind(kind: string): kind is TxnKind {
  return kind in TXN_FIELD;
}

/** A transactional sub-request of any kind: the fields of every kind, each set only where its kind has it. */
export type TxnRequest = Partial<
  KvGetRequest &
    KvScanRequest &
    KvPrewriteRequest &
    KvCommitRequest &
    KvCheckTxnStatusRequest &
    KvBatchRollbackRequest &
    KvResolveLockRequest
>;

/** The keys a request names, which must lie in its region (none for KvResolveLock: it covers the region). */
export function txnKeys(kind: TxnKind, req: TxnRequest): (Uint8Array | undefined)[] {
  switch (kind) {
    case 'kvGet':
      return [req.key];
    case 'kvScan':
      return req.startKey?.length ? [req.startKey] : [];
    case 'kvPrewrite':
      return (req.mutations ?? []).map((m) => m.key);
    case 'kvCommit':
    case 'kvBatchRollback':
      return req.keys ?? [];
    case 'kvCheckTxnStatus':
      return [req.primaryKey];
    case 'kvResolveLock':
      return [];
  }
}

/** The answer of a store refusing a request with `message` (an injected error): an abort KeyError. */
export function txnRefusal(kind: TxnKind, message: string): object {
  const error = { abort: message };
  if (kind === 'kvPrewrite') return { errors: [error] };
  if (kind === 'kvScan') return { pairs: [], error };
  if (kind === 'kvCheckTxnStatus') return { lockTtl: 0n, commitVersion: 0n, action: 0, error };
  return { error };
}

interface Range {
  startKey: Uint8Array;
  endKey: Uint8Array;
}

/** The larger of two lower bounds (empty: unbounded below). */
function maxStart(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) >= 0 ? a : b;
}

/** The smaller of two upper bounds (empty: unbounded above). */
function minEnd(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return compareBytes(a, b) <= 0 ? a : b;
}

/**
 * A region's view of the storage: scans are clamped to the region (lock keys by the raw range,
 * default/write keys to [EncodeKey(start, TsMax), EncodeKey(end, TsMax)), exactly the versions
 * of the region's user keys); writes go to the shared storage.
 */
export function regionStorage(storage: MemStorage, region: Range): TxnStorage {
  const bounds = (cf: CfName): Range =>
    cf === 'lock'
      ? region
      : {
          startKey: region.startKey.length ? encodeKey(region.startKey, TS_MAX) : region.startKey,
          endKey: region.endKey.length ? encodeKey(region.endKey, TS_MAX) : region.endKey,
        };
  return {
    reader(): ClosableReader {
      const r = storage.reader();
      return {
        get: (cf, key) => r.get(cf, key),
        scan(cf: CfName, start: Uint8Array, end?: Uint8Array): AsyncIterable<Entry> {
          const b = bounds(cf);
          const lo = maxStart(start, b.startKey);
          const hi = minEnd(end ?? new Uint8Array(0), b.endKey);
          if (hi.length > 0 && compareBytes(lo, hi) >= 0) return (async function* () {})();
          return r.scan(cf, lo, hi);
        },
        close: () => r.close(),
      };
    },
    write: (modifies: readonly Modify[]) => storage.write(modifies),
  };
}

/** Runs one transactional request over the region's view of the storage. */
export function executeTxn(storage: MemStorage, latches: Latches, region: Range, kind: TxnKind, req: TxnRequest): Promise<object> {
  const ex = new TxnExecutor(regionStorage(storage, region), { latches });
  // The executor validates each request (a malformed one is answered with an abort KeyError).
  const r = req as never;
  switch (kind) {
    case 'kvGet':
      return ex.get(r);
    case 'kvScan':
      return ex.scan(r);
    case 'kvPrewrite':
      return ex.prewrite(r);
    case 'kvCommit':
      return ex.commit(r);
    case 'kvCheckTxnStatus':
      return ex.checkTxnStatus(r);
    case 'kvBatchRollback':
      return ex.batchRollback(r);
    case 'kvResolveLock':
      return ex.resolveLock(r);
  }
}
