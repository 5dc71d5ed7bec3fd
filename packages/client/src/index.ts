// Public API of @tskv/client: the raw key-value client of a tskv cluster, its region cache and
// store streams, and cluster overview helpers for tools.

export type { ClusterOverview, OverviewOptions, PeerInfo, RegionInfo, StoreInfo } from './admin.js';
export { allRegions, allStores, clusterOverview, readiness, regionInfo, storeInfo } from './admin.js';
export type { BackoffOptions } from './backoff.js';
export { RetryState } from './backoff.js';
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
export type { KvPair, PairInput, RawClientOptions, SchedulerLike } from './raw_client.js';
export { RawClient, waitForScheduler } from './raw_client.js';
export type { CachedRegion, RegionCacheOptions, RegionEpoch, RegionSource } from './region_cache.js';
export { RegionCache, StoreNotFoundError } from './region_cache.js';
export type { BatchRequest, BatchResponse, StoreConnectionOptions, StoreConnectionStats } from './store_connection.js';
export { StoreConnection } from './store_connection.js';
