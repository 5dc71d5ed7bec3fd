// Public API of @tskv/client: the raw key-value client of a tskv cluster, its region cache and
// store streams, and cluster overview helpers for tools.
export { RawClient, waitForScheduler } from './raw_client.js';
export type { RawClientOptions, KvPair, PairInput, SchedulerLike } from './raw_client.js';
export { RegionCache, StoreNotFoundError } from './region_cache.js';
export type { CachedRegion, RegionSource, RegionCacheOptions, RegionEpoch } from './region_cache.js';
export { StoreConnection } from './store_connection.js';
export type { StoreConnectionOptions, StoreConnectionStats, BatchRequest, BatchResponse } from './store_connection.js';
export { RetryState } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export {
  ClientError,
  InvalidArgumentError,
  RequestError,
  RegionUnavailableError,
  StoreUnavailableError,
  AttemptTimeoutError,
  SchedulerUnavailableError,
  ClientClosedError,
  ProtocolError,
  AmbiguousResultError,
} from './errors.js';
export { toBytes, compareBytes, bytesEqual, utf8, showKey, nextKey } from './bytes.js';
export type { Bytes } from './bytes.js';
export { clusterOverview, readiness, allRegions, allStores, regionInfo, storeInfo } from './admin.js';
export type { ClusterOverview, StoreInfo, RegionInfo, PeerInfo, OverviewOptions } from './admin.js';
