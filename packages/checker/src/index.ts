// @tskv/checker: a linearizability checker for recorded histories. See README.md.

export { checkHistory } from './check.js';
export { formatHistory } from './format.js';
export { partitionBy } from './history.js';
export { minimizeHistory } from './minimize.js';
export {
  type RegisterInput,
  type RegisterOp,
  type RegisterOutput,
  type RegisterState,
  registerModel,
} from './models/register.js';
export { type SetInput, type SetOp, type SetOutput, type SetState, setModel } from './models/set.js';
export { type SearchOutcome, searchPartition } from './search.js';
export type { CheckFailure, CheckOptions, CheckResult, Model, Operation, OpStatus } from './types.js';
