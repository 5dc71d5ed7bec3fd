// The requests and responses of the seven transactional commands: kvrpcpb's messages as plain
// objects, field names in camelCase (as protobufjs names them), u64 fields as bigint. The
// `context` and `region_error` fields are the store's business and are left out.

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
  /** The primary's lock had expired: it was rolled back. */
  TTLExpireRollback = 1,
  /** No lock and no write for the transaction: a rollback record was written. */
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
  /** The key is locked by another transaction: resolve the lock (or back off) and retry. */
  locked?: LockInfo;
  /** The command may succeed if the transaction restarts (e.g. another transaction's lock at commit). */
  retryable?: string;
  /** The transaction must abort (e.g. committing a rolled back transaction); also a malformed request. */
  abort?: string;
  /** A newer write (or a rollback record) exists: restart with a new start ts. */
  conflict?: WriteConflict;
}

export interface Mutation {
  op: Op;
  key: Uint8Array;
  /** The value of a Put; ignored for a Del. */
  value?: Uint8Array;
}

export interface KvPair {
  error?: KeyError;
  key: Uint8Array;
  value?: Uint8Array;
}

export interface GetRequest {
  key: Uint8Array;
  version: bigint;
}
export interface GetResponse {
  error?: KeyError;
  value?: Uint8Array;
  notFound?: boolean;
}

export interface ScanRequest {
  startKey: Uint8Array;
  /** At most this many pairs (a uint32; 0 returns none). */
  limit: number;
  version: bigint;
}
export interface ScanResponse {
  pairs: KvPair[];
  /** Set only for a malformed request (TinyKV's ScanResponse has no such field; TiKV's has). */
  error?: KeyError;
}

export interface PrewriteRequest {
  mutations: Mutation[];
  primaryLock: Uint8Array;
  startVersion: bigint;
  lockTtl: bigint;
}
export interface PrewriteResponse {
  /** Empty on success; otherwise nothing was written. */
  errors: KeyError[];
}

export interface CommitRequest {
  startVersion: bigint;
  keys: Uint8Array[];
  /** Must be greater than startVersion. */
  commitVersion: bigint;
}
export interface CommitResponse {
  error?: KeyError;
}

export interface BatchRollbackRequest {
  startVersion: bigint;
  keys: Uint8Array[];
}
export interface BatchRollbackResponse {
  error?: KeyError;
}

export interface CheckTxnStatusRequest {
  primaryKey: Uint8Array;
  lockTs: bigint;
  currentTs: bigint;
}
/** Locked: lockTtl > 0. Committed: commitVersion > 0. Rolled back: both 0. */
export interface CheckTxnStatusResponse {
  lockTtl: bigint;
  commitVersion: bigint;
  action: Action;
  /** Set only for a malformed request (TinyKV's response has no such field; TiKV's has). */
  error?: KeyError;
}

export interface ResolveLockRequest {
  startVersion: bigint;
  /** 0 rolls the transaction's locks back; otherwise commits them at this ts (> startVersion). */
  commitVersion: bigint;
}
export interface ResolveLockResponse {
  error?: KeyError;
}
