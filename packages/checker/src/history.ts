// History preparation: validation and the time-ordered entry list the search walks.
import type { Model, Operation } from './types.js';

/**
 * The effective completion time: an op with an unknown outcome may take effect at any point after
 * its call, however long after (a timed-out request can still be applied by the leader later), so
 * it is open-ended whatever `return` the harness recorded.
 */
export function effectiveReturn(op: Operation<unknown, unknown>): number {
  return op.status === 'unknown' ? Infinity : op.return;
}

/** Throws on malformed histories: they would otherwise give a silently wrong verdict. */
export function validateHistory<I, O>(ops: readonly Operation<I, O>[], model?: Model<unknown, I, O>): void {
  const ids = new Set<number>();
  for (const op of ops) {
    if (ids.has(op.id)) throw new Error(`checker: duplicate operation id ${op.id}`);
    ids.add(op.id);
    if (op.status !== 'ok' && op.status !== 'unknown') {
      throw new Error(`checker: op ${op.id} has status ${String(op.status)} (expected 'ok' or 'unknown')`);
    }
    if (typeof op.call !== 'number' || !Number.isFinite(op.call)) {
      throw new Error(`checker: op ${op.id} has a non-finite call time ${String(op.call)}`);
    }
    if (op.status === 'ok' && !(op.return >= op.call)) {
      throw new Error(`checker: op ${op.id} returns (${op.return}) before it is called (${op.call})`);
    }
    const why = model?.validate?.(op);
    if (why !== undefined) throw new Error(`checker: op ${op.id} (${model!.name}): ${why}`);
  }
}

/**
 * A node of the doubly-linked entry list. Each op has a call entry and a return entry; `match`
 * links a call to its return. `op` is the index into the partition's op array.
 */
export interface Entry {
  op: number;
  isCall: boolean;
  time: number;
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/**
 * Builds the list of call and return events in time order, behind a sentinel head (returned).
 *
 * Tie rule: at equal times calls sort BEFORE returns, so two ops whose intervals merely touch
 * (one returns at t, the other is called at t) are concurrent and may linearize in either order.
 * Clocks have finite resolution and the harness stamps `return` after the reply arrived and `call`
 * before the request left, so equal stamps do not prove real-time order; treating them as
 * concurrent can only hide a violation, never invent one (the checker reports no false
 * 'illegal'). Remaining ties are broken by op index, for a deterministic search.
 */
export function buildEntries(ops: readonly Operation<unknown, unknown>[]): Entry {
  const entries: Entry[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const ret: Entry = { op: i, isCall: false, time: effectiveReturn(op), match: null, prev: null, next: null };
    const call: Entry = { op: i, isCall: true, time: op.call, match: ret, prev: null, next: null };
    entries.push(call, ret);
  }
  entries.sort((a, b) => {
    if (a.time !== b.time) return a.time < b.time ? -1 : 1;
    if (a.isCall !== b.isCall) return a.isCall ? -1 : 1;
    return a.op - b.op;
  });
  const head: Entry = { op: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let prev = head;
  for (const e of entries) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

/**
 * Removes a call entry and its return entry from the list (the op is now linearized). The
 * removed nodes keep their prev/next pointers, which is what lets unlift() put them back: undo
 * happens in exact reverse (LIFO) order, so those neighbours are the current ones again.
 */
export function lift(entry: Entry): void {
  entry.prev!.next = entry.next;
  entry.next!.prev = entry.prev; // a call always has a successor: at least its own return
  const match = entry.match!;
  match.prev!.next = match.next;
  if (match.next !== null) match.next.prev = match.prev;
}

export function unlift(entry: Entry): void {
  const match = entry.match!;
  match.prev!.next = match;
  if (match.next !== null) match.next.prev = match;
  entry.prev!.next = entry;
  entry.next!.prev = entry;
}

/** Groups ops by a string key, keeping their order (a helper for Model.partition). */
export function partitionBy<T>(ops: readonly T[], keyOf: (op: T) => string): Map<string, T[]> {
  const parts = new Map<string, T[]>();
  for (const op of ops) {
    const k = keyOf(op);
    let list = parts.get(k);
    if (list === undefined) {
      list = [];
      parts.set(k, list);
    }
    list.push(op);
  }
  return parts;
}
