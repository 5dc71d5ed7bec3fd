// Public API of @tskv/chaos: the fault-injection harness (runChaos) and its parts.
export { runChaos, DEFAULT_CHAOS } from './run.js';
export type { ChaosOptions, ChaosReport } from './run.js';
export { formatReport } from './report.js';
export { FaultProxy, NO_FAULTS } from './proxy.js';
export type { LinkFaults, ProxyStats } from './proxy.js';
export { ProxyMesh } from './mesh.js';
export { FAULT_KINDS } from './faults.js';
export type { FaultKind, FaultEvent } from './faults.js';
export { checkRecorded } from './verdict.js';
export type { Verdict, ModelVerdict } from './verdict.js';
export type { RecordedOp, OpInput, OpOutput } from './workload.js';
export { LazyFs, lazyfsProblem, LAZYFS_BIN } from './lazyfs.js';
export type { DiscardResult } from './lazyfs.js';
