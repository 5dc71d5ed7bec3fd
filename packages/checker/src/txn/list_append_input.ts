// The input side of the list-append checker: validation, who appended what, and each committed
// txn's reads checked against its own earlier reads and appends.
import { fmtKey, fmtList, isPrefix, keyState, type ListAppendContext } from './list_append_context.js';
import type { ListAppendTxn, TxnKey } from './list_append_types.js';
import { validateTxnBasics } from './types.js';

function endsWith(list: readonly number[], suffix: readonly number[]): boolean {
  const off = list.length - suffix.length;
  if (off < 0) return false;
  for (let i = 0; i < suffix.length; i++) if (list[off + i] !== suffix[i]) return false;
  return true;
}

export function validate(txns: readonly ListAppendTxn[]): void {
  validateTxnBasics(txns, 'list-append');
  for (const t of txns) {
    if (!Array.isArray(t.ops)) throw new Error(`list-append: txn ${t.id} has no ops array`);
    for (const m of t.ops) {
      const ok =
        Array.isArray(m) &&
        (typeof m[1] === 'string' || typeof m[1] === 'number') &&
        ((m[0] === 'append' && typeof m[2] === 'number') || (m[0] === 'r' && (m[2] === null || Array.isArray(m[2]))));
      if (!ok) throw new Error(`list-append: txn ${t.id} has a malformed micro-op ${JSON.stringify(m)}`);
    }
  }
}

export function collectAppends(cx: ListAppendContext): void {
  const { txns, n, T, keys, appendsOf } = cx;
  // Appends: who wrote each element, and which appends a txn followed with another to the same key.
  for (let t = 0; t < n; t++) {
    for (const m of txns[t]!.ops) {
      if (m[0] !== 'append') continue;
      const [, k, e] = m;
      const ks = keyState(keys, k);
      const prior = ks.appender.get(e);
      if (prior !== undefined) {
        throw new Error(
          `list-append: element ${e} appended to key ${fmtKey(k)} twice (${T(prior)}, ${T(t)}); elements must be unique per key`,
        );
      }
      ks.appender.set(e, t);
      let mine = appendsOf[t];
      if (mine === undefined) {
        mine = new Map();
        appendsOf[t] = mine;
      }
      const own = mine.get(k);
      if (own === undefined) mine.set(k, [e]);
      else {
        ks.intermediate.add(own[own.length - 1]!);
        own.push(e);
      }
    }
  }
}

export function checkInternalReads(cx: ListAppendContext): void {
  const { txns, n, rep, T, keys } = cx;
  // Each committed txn's reads must agree with its own earlier reads and appends. The snapshot it
  // read (its external read of a key) is its first read of the key minus its own appends before it.
  for (let t = 0; t < n; t++) {
    const txn = txns[t]!;
    if (txn.status !== 'ok') continue;
    const state = new Map<TxnKey, { read?: readonly number[]; own: number[]; broken?: boolean }>();
    for (const m of txn.ops) {
      const k = m[1];
      let s = state.get(k);
      if (s === undefined) {
        s = { own: [] };
        state.set(k, s);
      }
      if (m[0] === 'append') {
        s.own.push(m[2]);
        continue;
      }
      if (s.broken) continue;
      const list = m[2] ?? [];
      if (s.read === undefined) {
        if (!endsWith(list, s.own)) {
          s.broken = true;
          rep.add({
            type: 'internal',
            txns: [txn.id],
            key: k,
            explanation: `${T(t)} read ${fmtKey(k)} = ${fmtList(list)} after appending ${fmtList(s.own)} itself, so the read must end with those`,
          });
          continue;
        }
        s.read = list.slice(0, list.length - s.own.length);
        keyState(keys, k).reads.push({ txn: t, list: s.read });
      } else {
        const expected = s.read.concat(s.own);
        if (list.length !== expected.length || !isPrefix(list, expected)) {
          s.broken = true;
          rep.add({
            type: 'internal',
            txns: [txn.id],
            key: k,
            explanation: `${T(t)} read ${fmtKey(k)} = ${fmtList(list)}, but its own earlier reads and appends make it ${fmtList(expected)}`,
          });
        }
      }
    }
  }
}
