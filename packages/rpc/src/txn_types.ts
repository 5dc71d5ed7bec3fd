// The transactional messages of kvrpcpb as the lossless codec (txn_codec.ts) reads and writes
// them: plain objects, camelCase, every u64 (timestamp, version, TTL) a bigint. The shapes are
// exactly @tskv/txn's request and response types (declared again here, structurally identical,
// so the wire does not depend on the transaction layer), plus `context` on requests and
// `regionError` on responses, which the store handles itself.
import type { errorpb, kvrpcpb } from '@tskv/proto';

/** kvrpcpb.Op. Only Put and Del can be prewritten. */
export enum Op {
  Put = 0,
  Del = 1,
  Rollback = 2,
  Lock = 3,
}

/** kvrpcpb.Action: what CheckTxnStatus did. */
export enum Action {
  NoAction = 0,
  TTLExpireRollback = 1,
  LockNotExistRollback = 2,
}

export interface LockInfo {
  primaryLock: Uint8Array;
  lockVersion: bigint;
  key: Uint8Array;
  lockTtl: bigint;
}

export interface WriteConflict {
  startTs: bigint;
  conflictTs: bigint;
  key: Uint8Array;
  primary: Uint8Array;
}

/** One of the fields is set. */
export interface KeyError {
  locked?: LockInfo;
  retryable?: string;
  abort?: string;
  conflict?: WriteConflict;
}

export interface Mutation {
  op: Op;
  key: Uint8Array;
  value?: Uint8Array;
}

/** kvrpcpb.TxnKvPair (TinyKV's KvPair). */
export interface KvPair {
  error?: KeyError;
  key: Uint8Array;
  value?: Uint8Array;
}

/** Where a request goes (decoded by the generated code: its ids are numbers). */
export interface WithContext {
  context?: kvrpcpb.Context.$Properties | null;
}

/** A region error (decoded by the generated code). */
export interface WithRegionError {
  regionError?: errorpb.Error.$Properties | null;
}

export interface KvGetRequest extends WithContext {
  key: Uint8Array;
  version: bigint;
}
export interface KvGetResponse extends WithRegionError {
  error?: KeyError;
  value?: Uint8Array;
  notFound?: boolean;
}

export interface KvScanRequest extends WithContext {
  startKey: Uint8Array;
  /** A uint32. */
  limit: number;
  version: bigint;
}
export interface KvScanResponse extends WithRegionError {
  pairs: KvPair[];
  /** Not in TinyKV: set only for a malformed request. */
  error?: KeyError;
}

export interface KvPrewriteRequest extends WithContext {
  mutations: Mutation[];
  primaryLock: Uint8Array;
  startVersion: bigint;
  lockTtl: bigint;
}
export interface KvPrewriteResponse extends WithRegionError {
  errors: KeyError[];
}

export interface KvCommitRequest extends WithContext {
  startVersion: bigint;
  keys: Uint8Array[];
  commitVersion: bigint;
}
export interface KvCommitResponse extends WithRegionError {
  error?: KeyError;
}

export interface KvBatchRollbackRequest extends WithContext {
  startVersion: bigint;
  keys: Uint8Array[];
}
export interface KvBatchRollbackResponse extends WithRegionError {
  error?: KeyError;
}

export interface KvCheckTxnStatusRequest extends WithContext {
  primaryKey: Uint8Array;
  lockTs: bigint;
  currentTs: bigint;
}
export interface KvCheckTxnStatusResponse extends WithRegionError {
  lockTtl: bigint;
  commitVersion: bigint;
  action: Action;
  /** Not in TinyKV: set only for a malformed request. */
  error?: KeyError;
}

export interface KvResolveLockRequest extends WithContext {
  startVersion: bigint;
  commitVersion: bigint;
}
export interface KvResolveLockResponse extends WithRegionError {
  error?: KeyError;
}
