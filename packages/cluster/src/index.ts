// Public API of @tskv/cluster: a local cluster of real processes (one scheduler, N stores).
export { ProcessCluster, ProcessStartError, freePort, portIsFree, tailFile, DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN } from './process_cluster.js';
export type { ProcessClusterOptions, ProcessInfo, ProcessRole, ClusterAddresses, UnexpectedExit } from './process_cluster.js';
