// Public API of @tskv/scheduler: the scheduler (placement driver) server, its configuration, and
// the pure parts (state, operators, schedulers) for tools and tests.

export type { RegionInfo, RegionReport, RegionUpdate, StoreInfo, StoreLoad } from './cluster_state.js';
export { ClusterState, regionScore } from './cluster_state.js';
export type { SchedulerConfig } from './config.js';
export { CONFIG_KEYS, ConfigError, DEFAULT_CONFIG, resolveConfig } from './config.js';
export { SchedulerCore } from './core.js';
export type { Logger, LoggerOptions } from './logger.js';
export { closeLogger, createLogger } from './logger.js';
export type { Operator, OperatorKind, Step, StepRequest } from './operator.js';
export { describe as describeOperator, newOperator, stepDone, stepRequest } from './operator.js';
export type { OperatorEnd, OperatorEvents } from './operator_controller.js';
export { OperatorController } from './operator_controller.js';
export { RegionIndex } from './region_index.js';
export type { SchedulingContext } from './schedulers/index.js';
export { balanceLeader, balanceRegion, buildContext, checkReplicas, schedule } from './schedulers/index.js';
export type { SchedulerServerOptions } from './server.js';
export { SchedulerServer } from './server.js';
export { statusJson } from './status_server.js';
