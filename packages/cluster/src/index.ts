// Public API of @tskv/cluster: a local cluster of real processes (one scheduler, N stores).

export type { ClusterAddresses, ProcessClusterOptions, ProcessInfo, ProcessRole, UnexpectedExit } from './process_cluster.js';
export {
  DEFAULT_SCHEDULER_BIN,
  DEFAULT_SERVER_BIN,
  freePort,
  ProcessCluster,
  ProcessStartError,
  portIsFree,
  tailFile,
} from './process_cluster.js';
