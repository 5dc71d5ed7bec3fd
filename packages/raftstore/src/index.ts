// Public API of @tskv/raftstore.
export { Store } from './store.js';
export { storeConfig } from './config.js';
export type { StoreConfig } from './config.js';
export { bootstrapStore, bootstrapRegion } from './bootstrap.js';
export type { StoreObserver, RoundStats, RegionStatus, StoreRuntimeStats } from './observer.js';
export type { RaftWorkerStats } from './raft_worker.js';
export type { RaftLogGcStats } from './raft_log_gc.js';
export type { Transport, SchedulerClient, SchedulerOperator, RegionStats, StoreStats, RaftMessage, SnapshotChunk, SnapshotEndpoint } from './transport.js';
export { confStateFromRegion } from './peer_storage.js';
export { applyChanges, roleOf, isJoint } from './conf_change.js';
export { SnapManager, SnapshotCorruptError, SnapshotBusyError, snapKeyString } from './snap/index.js';
export type { SnapKey, SnapKind, SnapPurpose, SnapStats } from './snap/index.js';
export {
  StoreError,
  NotLeaderError,
  RegionNotFoundError,
  KeyNotInRegionError,
  EpochNotMatchError,
  StaleCommandError,
  TimeoutError,
  StoreNotMatchError,
  InvalidRequestError,
} from './errors.js';
export { RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM } from './peer_storage.js';
export { createLogger } from './logger.js';
export type { RaftDropReason } from './raft_msg_filter.js';
export type { Logger } from './logger.js';
