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
export {
  type BankAnomaly,
  type BankAnomalyType,
  type BankInput,
  type BankOp,
  type BankOptions,
  type BankOutput,
  type BankResult,
  checkBank,
} from './txn/bank.js';
export type { EdgeType } from './txn/graph.js';
export {
  type CycleAnomalyType,
  type CycleClass,
  type CycleStep,
  checkListAppend,
  describeListAppendTxn,
  type ListAppendAnomaly,
  type ListAppendAnomalyType,
  type ListAppendMop,
  type ListAppendOptions,
  type ListAppendResult,
  type ListAppendTxn,
  type TxnKey,
} from './txn/list_append.js';
export type { TxnOperation, TxnStatus } from './txn/types.js';
export type { CheckFailure, CheckOptions, CheckResult, Model, Operation, OpStatus } from './types.js';
