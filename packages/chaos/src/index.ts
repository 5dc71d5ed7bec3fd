// Public API of @tskv/chaos: the fault-injection harness (runChaos) and its parts.

export type { FaultEvent, FaultKind } from './faults.js';
export { FAULT_KINDS } from './faults.js';
export type { DiscardResult } from './lazyfs.js';
export { LAZYFS_BIN, LazyFs, lazyfsProblem } from './lazyfs.js';
export { ProxyMesh } from './mesh.js';
export type { LinkFaults, ProxyStats } from './proxy.js';
export { FaultProxy, NO_FAULTS } from './proxy.js';
export { formatReport } from './report.js';
export type { ChaosOptions, ChaosReport } from './run.js';
export { DEFAULT_CHAOS, runChaos } from './run.js';
export type { TxnVerdict, TxnWorkloadKind } from './txn_workload.js';
export { TXN_WORKLOADS, TxnWorkload } from './txn_workload.js';
export type { ModelVerdict, Verdict } from './verdict.js';
export { checkRecorded } from './verdict.js';
export type { OpInput, OpOutput, RecordedOp } from './workload.js';
