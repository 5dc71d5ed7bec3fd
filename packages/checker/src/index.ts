// @tskv/checker: a linearizability checker for recorded histories. See README.md.
export type { CheckFailure, CheckOptions, CheckResult, Model, Operation, OpStatus } from './types.js';
export { checkHistory } from './check.js';
export { formatHistory } from './format.js';
export { minimizeHistory } from './minimize.js';
export { searchPartition, type SearchOutcome } from './search.js';
export { partitionBy } from './history.js';
export {
  registerModel,
  type RegisterInput,
  type RegisterOp,
  type RegisterOutput,
  type RegisterState,
} from './models/register.js';
export { setModel, type SetInput, type SetOp, type SetOutput, type SetState } from './models/set.js';
