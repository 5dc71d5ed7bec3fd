// Public API of @tskv/test-raftstore: the mock cluster used by the scenario tests.
export { Cluster, ClusterRequestError, FIRST_REGION_ID, TEST_STORE_CONFIG, bytesToString, toBytes } from './cluster.js';
export type { ClusterOptions, Key, RequestOptions, SnapActivity } from './cluster.js';
export {
  MockTransport,
  MessageType,
  PartitionFilter,
  DropFilter,
  DelayFilter,
  OneWayDropFilter,
  MessageTypeFilter,
  PredicateFilter,
  CorruptSnapshotFilter,
} from './mock_transport.js';
export { AsyncQueue } from './async_queue.js';
export type { Filter, RaftReceiver, TransportStats, TypeFilterOptions } from './mock_transport.js';
export { MockScheduler } from './mock_scheduler.js';
export type { RegionInfo, HeartbeatRecord } from './mock_scheduler.js';
export { runGeneric, appendKey, appendValue, clientRange, checkAppends, ELECTION_TIMEOUT_MS, CRASH_MODES } from './generic.js';
export type { GenericOptions, GenericReport, RoundReport, CrashMode, ReadMode } from './generic.js';
export { RegisterHistory, registerKey } from './register_workload.js';
export { PowerLossJournal } from './power_loss.js';
