// What the passes of the list-append checker share: the per-key state built from the history,
// the report being filled, and the text helpers every explanation uses.
import type { ListAppendAnomaly, ListAppendAnomalyType, ListAppendTxn, TxnKey } from './list_append_types.js';

export interface Read {
  txn: number;
  list: readonly number[];
}

export interface KeyState {
  /** Element -> index of the txn that appended it. */
  appender: Map<number, number>;
  /** Elements after which the same txn appended another element to this key. */
  intermediate: Set<number>;
  /** External reads by committed txns, longest first once ordered. */
  reads: Read[];
  /** The version order: the longest read, when every read is a prefix of it. */
  order?: readonly number[];
  pos?: Map<number, number>;
  /** Every element of every read, for keys without an order (built on demand). */
  seen?: Set<number>;
  /** Unread appends reported as lost. */
  lost?: Set<number>;
  /** The two reads with the latest call times (realtime lost appends). */
  latest?: Read[];
}

/** The history and what the passes have learnt of it so far; each pass fills in its part. */
export interface ListAppendContext {
  readonly txns: readonly ListAppendTxn[];
  readonly n: number;
  readonly realtime: boolean;
  readonly rep: Reporter;
  /** A txn index as text (`T<id>`). */
  readonly T: (t: number) => string;
  readonly idOf: (t: number) => number;
  readonly keys: Map<TxnKey, KeyState>;
  /** Per txn index: its appends by key, in program order. */
  readonly appendsOf: (Map<TxnKey, number[]> | undefined)[];
  /** Per txn index: its external read of each key, once the untrusted reads are dropped. */
  readonly readsOf: (Map<TxnKey, readonly number[]> | undefined)[];
  /** Per txn index: 1 when taken as committed. */
  readonly included: Uint8Array;
}

export function keyState(keys: Map<TxnKey, KeyState>, k: TxnKey): KeyState {
  let ks = keys.get(k);
  if (ks === undefined) {
    ks = { appender: new Map(), intermediate: new Set(), reads: [] };
    keys.set(k, ks);
  }
  return ks;
}

export class Reporter {
  readonly list: ListAppendAnomaly[] = [];
  readonly counts: Partial<Record<ListAppendAnomalyType, number>> = {};

  constructor(private readonly maxPerType: number) {}

  add(a: ListAppendAnomaly): void {
    const c = (this.counts[a.type] ?? 0) + 1;
    this.counts[a.type] = c;
    if (c <= this.maxPerType) this.list.push(a);
  }
}

export function fmtList(l: readonly number[]): string {
  if (l.length <= 8) return `[${l.join(' ')}]`;
  return `[${l.slice(0, 3).join(' ')} … ${l.slice(-3).join(' ')}] (${l.length} elements)`;
}

export function fmtKey(k: TxnKey): string {
  return typeof k === 'string' ? JSON.stringify(k) : String(k);
}

/** A transaction in a few words: id, status and micro-ops. */
export function describeListAppendTxn(txn: ListAppendTxn): string {
  const mops = txn.ops.map((m) =>
    m[0] === 'append' ? `append ${fmtKey(m[1])} ${m[2]}` : `r ${fmtKey(m[1])} ${m[2] === null ? '?' : fmtList(m[2])}`,
  );
  return `T${txn.id} (${txn.status}, client ${txn.clientId}) [${mops.join(', ')}]`;
}

export function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
