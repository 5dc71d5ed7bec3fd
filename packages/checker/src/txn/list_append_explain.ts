// One edge of the dependency graph in words: the reads and appends that put it there.
import type { EdgeType } from './graph.js';
import { fmtKey, fmtList, type KeyState, type ListAppendContext } from './list_append_context.js';
import type { TxnKey } from './list_append_types.js';

/** A key both txns appended to, where no read saw any of those appends. */
export function commonUnreadKey(cx: ListAppendContext, u: number, v: number): TxnKey | undefined {
  const { keys, appendsOf } = cx;
  const mineU = appendsOf[u];
  const mineV = appendsOf[v];
  if (mineU === undefined || mineV === undefined) return undefined;
  for (const [k, eu] of mineU) {
    const ev = mineV.get(k);
    const pos = keys.get(k)!.pos;
    if (ev !== undefined && pos !== undefined && !eu.some((x) => pos.has(x)) && !ev.some((x) => pos.has(x))) return k;
  }
  return undefined;
}

export function explainEdge(cx: ListAppendContext, u: number, v: number, type: EdgeType): { key?: TxnKey; text: string } {
  const { txns, T, keys, appendsOf, readsOf } = cx;
  if (type === 'rt') {
    return { text: `${T(u)} returned at ${txns[u]!.return} before ${T(v)} was called at ${txns[v]!.call}` };
  }
  if (type === 'ww') {
    for (const [k, elems] of appendsOf[u] ?? []) {
      const ks = keys.get(k)!;
      for (const e of elems) {
        const p = ks.pos?.get(e);
        if (p === undefined || p + 1 >= ks.order!.length) continue;
        const next = ks.order![p + 1]!;
        if (ks.appender.get(next) === v)
          return { key: k, text: `${T(u)} appended ${e} to ${fmtKey(k)}, and ${T(v)} appended ${next} right after it` };
      }
    }
  }
  if (type === 'ww') {
    for (const [k, elems] of appendsOf[v] ?? []) {
      const ks = keys.get(k)!;
      const f = unreadOf(ks, elems);
      const last = ks.order?.[ks.order.length - 1];
      if (f !== undefined && last !== undefined && ks.appender.get(last) === u) {
        return {
          key: k,
          text: `${T(u)} appended ${last}, the last element any read of ${fmtKey(k)} saw; ${T(v)}'s ${f}, committed but never read, came later`,
        };
      }
    }
  }
  if (type === 'ww') {
    const k = commonUnreadKey(cx, u, v);
    if (k !== undefined) {
      return {
        key: k,
        text: `${T(u)} and ${T(v)} both appended to ${fmtKey(k)} (never read), and ${T(u)}'s snapshot missed ${T(v)}: first committer wins puts ${T(u)} first`,
      };
    }
  }
  if (type === 'wr') {
    for (const [k, list] of readsOf[v] ?? []) {
      const e = list[list.length - 1];
      if (e !== undefined && keys.get(k)!.appender.get(e) === u) {
        return { key: k, text: `${T(v)} read ${fmtKey(k)} = ${fmtList(list)}, whose last element ${e} ${T(u)} appended` };
      }
    }
  }
  if (type === 'rw') {
    for (const [k, list] of readsOf[u] ?? []) {
      const ks = keys.get(k)!;
      const next = ks.order?.[list.length];
      if (next !== undefined && ks.appender.get(next) === v) {
        return { key: k, text: `${T(u)} read ${fmtKey(k)} = ${fmtList(list)}, missing ${next}, which ${T(v)} appended next` };
      }
    }
  }
  if (type === 'rw') {
    for (const [k, elems] of appendsOf[v] ?? []) {
      const ks = keys.get(k)!;
      const f = unreadOf(ks, elems);
      const list = readsOf[u]?.get(k);
      if (f !== undefined && list !== undefined && list.length === ks.order?.length) {
        return {
          key: k,
          text: `${T(u)} read ${fmtKey(k)} = ${fmtList(list)}, the longest list read, missing ${f}, which ${T(v)} appended (committed, never read)`,
        };
      }
    }
  }
  return { text: `${T(u)} -> ${T(v)} (${type})` };
}

function unreadOf(ks: KeyState, elems: readonly number[]): number | undefined {
  return ks.order === undefined ? undefined : elems.find((e) => !ks.pos!.has(e) && !ks.lost?.has(e));
}
