// @tskv/bench: the cluster benchmark's parts (the command is bin/bench-cluster.ts).
export { Histogram, bucketOf, bucketRange } from './histogram.js';
export type { LatencySummary } from './histogram.js';
export { CpuSampler, cpuPercent, parseProcStat, readCpuTimes, clockTicks } from './cpu.js';
export type { CpuTimes, NamedPid } from './cpu.js';
export { parseArgs, cells, connectionsFor, ArgsError, WORKLOADS } from './args.js';
export type { BenchOptions, Cell, Workload } from './args.js';
export { KeySpace, keyOf, pickBatch, KEY_PREFIX } from './keyspace.js';
export type { IndexRange } from './keyspace.js';
export { runCell, preload } from './runner.js';
export type { KvConn, SystemUnderTest, RunResult, RunTiming } from './runner.js';
export { TskvSystem } from './tskv.js';
export { EtcdClient } from './etcd/client.js';
export { EtcdCluster, ensureEtcd, etcdVersion, findEtcd } from './etcd/cluster.js';
export { EtcdSystem } from './etcd/system.js';
export * as etcdCodec from './etcd/codec.js';
export { ETCD_PROTO } from './etcd/proto.js';
export { resultsTable, cpuTable, docsSection, replaceSection, DOCS_HEADING } from './report.js';
