// Public API of @tskv/raftstore.

export { bootstrapRegion, bootstrapStore } from './bootstrap.js';
export { applyChanges, isJoint, roleOf } from './conf_change.js';
export type { StoreConfig } from './config.js';
export { storeConfig } from './config.js';
export {
  EpochNotMatchError,
  InvalidRequestError,
  KeyNotInRegionError,
  NotLeaderError,
  RegionNotFoundError,
  StaleCommandError,
  StoreError,
  StoreNotMatchError,
  TimeoutError,
} from './errors.js';
export type { Logger } from './logger.js';
export { createLogger } from './logger.js';
export type { RegionSnapshot } from './msg.js';
export type { RegionStatus, RoundStats, StoreObserver, StoreRuntimeStats } from './observer.js';
export { confStateFromRegion, RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM } from './peer_storage.js';
export type { RaftLogGcStats } from './raft_log_gc.js';
export type { RaftDropReason } from './raft_msg_filter.js';
export type { RaftWorkerStats } from './raft_worker.js';
export { isEncodedCf, keyInRegionCf, regionCfRange } from './region_ranges.js';
export type { SnapKey, SnapKind, SnapPurpose, SnapStats } from './snap/index.js';
export { SnapManager, SnapshotBusyError, SnapshotCorruptError, snapKeyString } from './snap/index.js';
export { Store } from './store.js';
export type {
  RaftMessage,
  RegionStats,
  SchedulerClient,
  SchedulerOperator,
  SnapshotChunk,
  SnapshotEndpoint,
  StoreStats,
  Transport,
} from './transport.js';
