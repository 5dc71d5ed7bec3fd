// The transactional messages of kvrpcpb as the lossless codec (txn_codec.ts) reads and writes
// them: plain objects, camelCase, every u64 (timestamp, version, TTL) a bigint. They are
// @tskv/txn's request and response types, plus `context` on requests and `regionError` on
// responses, which the store handles itself.
import type { errorpb, kvrpcpb } from '@tskv/proto';
import type {
  BatchRollbackRequest,
  BatchRollbackResponse,
  CheckTxnStatusRequest,
  CheckTxnStatusResponse,
  CommitRequest,
  CommitResponse,
  GetRequest,
  GetResponse,
  PrewriteRequest,
  PrewriteResponse,
  ResolveLockRequest,
  ResolveLockResponse,
  ScanRequest,
  ScanResponse,
} from '@tskv/txn';

export type { KeyError, KvPair, LockInfo, Mutation, WriteConflict } from '@tskv/txn';
export { Action, Op } from '@tskv/txn';

/** Where a request goes (decoded by the generated code: its ids are numbers). */
export interface WithContext {
  context?: kvrpcpb.Context.$Properties | null;
}

/** A region error (decoded by the generated code). */
export interface WithRegionError {
  regionError?: errorpb.Error.$Properties | null;
}

export interface KvGetRequest extends GetRequest, WithContext {}
export interface KvGetResponse extends GetResponse, WithRegionError {}
export interface KvScanRequest extends ScanRequest, WithContext {}
export interface KvScanResponse extends ScanResponse, WithRegionError {}
export interface KvPrewriteRequest extends PrewriteRequest, WithContext {}
export interface KvPrewriteResponse extends PrewriteResponse, WithRegionError {}
export interface KvCommitRequest extends CommitRequest, WithContext {}
export interface KvCommitResponse extends CommitResponse, WithRegionError {}
export interface KvBatchRollbackRequest extends BatchRollbackRequest, WithContext {}
export interface KvBatchRollbackResponse extends BatchRollbackResponse, WithRegionError {}
export interface KvCheckTxnStatusRequest extends CheckTxnStatusRequest, WithContext {}
export interface KvCheckTxnStatusResponse extends CheckTxnStatusResponse, WithRegionError {}
export interface KvResolveLockRequest extends ResolveLockRequest, WithContext {}
export interface KvResolveLockResponse extends ResolveLockResponse, WithRegionError {}
