// Public API of @tskv/test-raftstore: the mock cluster used by the scenario tests.

export { AsyncQueue } from './async_queue.js';
export type { ClusterOptions, Key, RequestOptions, SnapActivity } from './cluster.js';
export { bytesToString, Cluster, ClusterRequestError, FIRST_REGION_ID, TEST_STORE_CONFIG, toBytes } from './cluster.js';
export type { CrashMode, GenericOptions, GenericReport, ReadMode, RoundReport } from './generic.js';
export { appendKey, appendValue, CRASH_MODES, checkAppends, clientRange, ELECTION_TIMEOUT_MS, runGeneric } from './generic.js';
export type { HeartbeatRecord, RegionInfo } from './mock_scheduler.js';
export { MockScheduler } from './mock_scheduler.js';
export type { Filter, RaftReceiver, TransportStats, TypeFilterOptions } from './mock_transport.js';
export {
  CorruptSnapshotFilter,
  DelayFilter,
  DropFilter,
  MessageType,
  MessageTypeFilter,
  MockTransport,
  OneWayDropFilter,
  PartitionFilter,
  PredicateFilter,
} from './mock_transport.js';
export { PowerLossJournal } from './power_loss.js';
export { RegisterHistory, registerKey } from './register_workload.js';
