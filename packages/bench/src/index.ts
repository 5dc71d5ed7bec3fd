// @tskv/bench: the cluster benchmark's parts (the command is bin/bench-cluster.ts).

export type { BenchOptions, Cell, Workload } from './args.js';
export { ArgsError, cells, connectionsFor, DEFAULT_WORKLOADS, isTxnWorkload, parseArgs, TXN_WORKLOADS, WORKLOADS } from './args.js';
export type { CpuTimes, NamedPid } from './cpu.js';
export { CpuSampler, clockTicks, cpuPercent, parseProcStat, readCpuTimes } from './cpu.js';
export { EtcdClient } from './etcd/client.js';
export { EtcdCluster, ensureEtcd, etcdVersion, findEtcd } from './etcd/cluster.js';
export * as etcdCodec from './etcd/codec.js';
export { goArgs, runGoCell } from './etcd/go_driver.js';
export type { GoBenchSummary } from './etcd/go_output.js';
export { parseGoBenchmark } from './etcd/go_output.js';
export { buildGoTool, ensureGoTool, findGoTool } from './etcd/go_tool.js';
export { ensureTxnTool, parseTxnToolOutput, runGoTxnCell, txnToolArgs } from './etcd/go_txn.js';
export { ETCD_PROTO } from './etcd/proto.js';
export { EtcdSystem } from './etcd/system.js';
export type { LatencySummary } from './histogram.js';
export { bucketOf, bucketRange, Histogram } from './histogram.js';
export type { IndexRange } from './keyspace.js';
export { KEY_PREFIX, KeySpace, keyOf, pickBatch, pickDistinct } from './keyspace.js';
export { abortRate, cpuTable, DOCS_HEADING, docsSection, replaceSection, resultsTable, txnTable } from './report.js';
export type { KvConn, RunResult, RunTiming, SystemUnderTest, TxnOutcome } from './runner.js';
export { preload, runCell } from './runner.js';
export { TskvSystem } from './tskv.js';
