// Public API of @tskv/client: the raw and the transactional clients of a tskv cluster, the region cache and
// store streams, and cluster overview helpers for tools.

export type { ClusterOverview, OverviewOptions, PeerInfo, RegionInfo, StoreInfo } from './admin.js';
export { allRegions, allStores, clusterOverview, readiness, regionInfo, storeInfo } from './admin.js';
export type { BackoffOptions } from './backoff.js';
export { RetryState } from './backoff.js';
export * from './backup/index.js';
export type { Bytes } from './bytes.js';
export { bytesEqual, compareBytes, nextKey, showKey, toBytes, utf8 } from './bytes.js';
export {
  AmbiguousResultError,
  AttemptTimeoutError,
  ClientClosedError,
  ClientError,
  InvalidArgumentError,
  ProtocolError,
  RegionUnavailableError,
  RequestError,
  SchedulerUnavailableError,
  StoreUnavailableError,
} from './errors.js';
export type { TxnStatus } from './lock_resolver.js';
export type { KvPair, PairInput, RawClientOptions, SchedulerLike } from './raw_client.js';
export { RawClient, waitForScheduler } from './raw_client.js';
export type { CachedRegion, RegionCacheOptions, RegionEpoch, RegionSource } from './region_cache.js';
export { RegionCache, StoreNotFoundError } from './region_cache.js';
export type { BatchRequest, BatchResponse, StoreConnectionOptions, StoreConnectionStats } from './store_connection.js';
export { StoreConnection } from './store_connection.js';
export type { TsoSource } from './timestamp.js';
export { composeTs, LOGICAL_BITS, physicalMs } from './timestamp.js';
export { Transaction } from './transaction.js';
export type { RunTxnOptions, TxnClientOptions, TxnSchedulerLike } from './txn_client.js';
export { TxnClient } from './txn_client.js';
export { isTxnRetryable, LockNotResolvedError, TxnAbortedError, TxnFinishedError, WriteConflictError } from './txn_errors.js';
