// Public API of @tskv/scheduler: the scheduler (placement driver) server, its configuration, and
// the pure parts (state, operators, schedulers) for tools and tests.
export { SchedulerServer } from './server.js';
export type { SchedulerServerOptions } from './server.js';
export { DEFAULT_CONFIG, CONFIG_KEYS, ConfigError, resolveConfig } from './config.js';
export type { SchedulerConfig } from './config.js';
export { createLogger, closeLogger } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { SchedulerCore } from './core.js';
export { ClusterState, regionScore } from './cluster_state.js';
export type { RegionInfo, StoreInfo, StoreLoad, RegionReport, RegionUpdate } from './cluster_state.js';
export { RegionIndex } from './region_index.js';
export { OperatorController } from './operator_controller.js';
export type { OperatorEnd, OperatorEvents } from './operator_controller.js';
export { newOperator, stepDone, stepRequest, describe as describeOperator } from './operator.js';
export type { Operator, OperatorKind, Step, StepRequest } from './operator.js';
export { schedule, buildContext, checkReplicas, balanceLeader, balanceRegion } from './schedulers/index.js';
export type { SchedulingContext } from './schedulers/index.js';
export { statusJson } from './status_server.js';
