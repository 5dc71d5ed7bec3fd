// Shared shapes of recorded transactions: like Operation (id, client, call/return, status), plus
// the outcome 'fail' (definitely aborted), which a transactional checker must see, not have dropped.

/** 'ok': committed. 'fail': definitely aborted. 'unknown': timed out or lost; it may or may not have committed. */
export type TxnStatus = 'ok' | 'fail' | 'unknown';

export interface TxnOperation<I = unknown, O = unknown> {
  /** Unique in the history. */
  id: number;
  clientId: number;
  input: I;
  /** The result; undefined unless status is 'ok'. */
  output?: O;
  /** Invocation time (ms, monotonic). */
  call: number;
  /** Completion time; Infinity (or ignored) when status is 'unknown'. */
  return: number;
  status: TxnStatus;
}

export const TXN_STATUSES: readonly TxnStatus[] = ['ok', 'fail', 'unknown'];

/** Throws on a duplicate id or an unknown status: a harness bug, not a store anomaly. */
export function validateTxnBasics(ops: readonly { id: number; status: string }[], what: string): void {
  const ids = new Set<number>();
  for (const op of ops) {
    if (ids.has(op.id)) throw new Error(`${what}: duplicate operation id ${op.id}`);
    ids.add(op.id);
    if (!TXN_STATUSES.includes(op.status as TxnStatus)) throw new Error(`${what}: operation ${op.id} has status '${op.status}'`);
  }
}
