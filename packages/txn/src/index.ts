// Public API of @tskv/txn: Percolator transactions after TinyKV project 4. The MVCC encodings,
// MvccTxn and the Scanner over any snapshot reader, latches, the seven commands as functions of
// (reader, request), TxnExecutor, which runs them over a TxnStorage the way a store does, and
// the MVCC garbage collection planner.
export {
  checkU64,
  decodeKey,
  decodeTs,
  decodeUserKey,
  encodedPrefix,
  encodeKey,
  isVersionOf,
  KeyDecodeError,
  notU64,
  physicalTime,
  TS_MAX,
  versionsEnd,
} from './codec.js';
export type { CommandResult } from './commands.js';
export {
  batchRollbackKeys,
  checkTxnStatusKeys,
  commitKeys,
  findTxnLocks,
  invalidRequest,
  isLockExpired,
  kvBatchRollback,
  kvCheckTxnStatus,
  kvCommit,
  kvGet,
  kvPrewrite,
  kvResolveLock,
  kvScan,
  prewriteKeys,
  validateBatchRollback,
  validateCheckTxnStatus,
  validateCommit,
  validateGet,
  validatePrewrite,
  validateResolveLock,
  validateScan,
} from './commands.js';
export type { TxnExecutorOptions, ValidationHook } from './executor.js';
export { TxnExecutor } from './executor.js';
export type { GcBatch, GcBatchResult, GcOptions, GcRange, GcStats } from './gc.js';
export { GC_DEFAULTS, gcBatch, gcRange, gcRegion, newGcStats } from './gc.js';
export { Latches } from './latches.js';
export { MemReader, MemStorage } from './mem_storage.js';
export type { CommittedWrite } from './mvcc_txn.js';
export { MvccTxn, writesOf } from './mvcc_txn.js';
export type { Lock, Write } from './records.js';
export {
  lockInfo,
  parseLock,
  parseWrite,
  RecordError,
  serializeLock,
  serializeWrite,
  WriteKind,
  writeKindFromOp,
  writeKindToOp,
} from './records.js';
export { isLockedFor, Scanner, SEEK_BOUND } from './scanner.js';
export type { CfName, ClosableReader, Entry, Modify, MvccReader, TxnStorage } from './storage.js';
export { CFS } from './storage.js';
export type {
  BatchRollbackRequest,
  BatchRollbackResponse,
  CheckTxnStatusRequest,
  CheckTxnStatusResponse,
  CommitRequest,
  CommitResponse,
  GetRequest,
  GetResponse,
  KeyError,
  KvPair,
  LockInfo,
  Mutation,
  PrewriteRequest,
  PrewriteResponse,
  ResolveLockRequest,
  ResolveLockResponse,
  ScanRequest,
  ScanResponse,
  WriteConflict,
} from './types.js';
export { Action, Op } from './types.js';
