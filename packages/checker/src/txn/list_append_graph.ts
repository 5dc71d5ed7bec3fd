// The dependency graph of the committed txns: which txns count as committed, appends that are
// not atomic or were lost, the ww/wr/rw (and rt) edges, and the ww order of unread appends that
// first committer wins implies.
import { EdgeSet, labelsOf, RT, RW, WR, WW } from './graph.js';
import { fmtKey, fmtList, type KeyState, type ListAppendContext } from './list_append_context.js';
import { commonUnreadKey, explainEdge } from './list_append_explain.js';
import type { ListAppendTxn, TxnKey } from './list_append_types.js';

export function markCommitted(
  cx: ListAppendContext,
  observed: Uint8Array,
): { unknownCommitted: number; okCount: number; failCount: number } {
  const { txns, n, included } = cx;
  // Committed: 'ok', or 'unknown' and seen by some read. An unknown txn nobody saw may have
  // aborted, so it gets no edges and can raise no anomaly.
  let unknownCommitted = 0;
  let okCount = 0;
  let failCount = 0;
  for (let t = 0; t < n; t++) {
    const s = txns[t]!.status;
    if (s === 'ok') okCount++;
    else if (s === 'fail') failCount++;
    if (s === 'ok' || observed[t] === 1) included[t] = 1;
    if (s === 'unknown' && observed[t] === 1) unknownCommitted++;
  }
  return { unknownCommitted, okCount, failCount };
}

export function checkNonAtomicAppends(cx: ListAppendContext): void {
  const { n, rep, T, idOf, keys, appendsOf, included } = cx;
  // A txn's appends to a key enter the order in program order, side by side. Ones split by
  // another txn's append make a ww cycle (G0 or worse), and a later one seen without an earlier
  // one is a lost append, each reported as such; misordered neighbours are caught here.
  for (let t = 0; t < n; t++) {
    if (included[t] === 0) continue;
    for (const [k, elems] of appendsOf[t] ?? []) {
      const ks = keys.get(k)!;
      if (elems.length < 2 || ks.pos === undefined) continue;
      const present = elems.map((e) => ks.pos!.get(e) ?? -1).filter((p) => p >= 0);
      if (present.length < 2 || Math.max(...present) - Math.min(...present) + 1 !== present.length) continue;
      if (present.every((p, i) => p === present[0]! + i)) continue;
      const r = ks.reads[0]!;
      rep.add({
        type: 'non-atomic-append',
        txns: [idOf(t), idOf(r.txn)],
        key: k,
        explanation: `${T(t)} appended ${fmtList(elems)} to ${fmtKey(k)} in that order, but ${T(r.txn)} read ${fmtList(r.list)}`,
      });
    }
  }
}

export function indexReads(cx: ListAppendContext): void {
  const { keys, readsOf } = cx;
  for (const [k, ks] of keys) {
    for (const r of ks.reads) {
      let m = readsOf[r.txn];
      if (m === undefined) {
        m = new Map();
        readsOf[r.txn] = m;
      }
      m.set(k, r.list);
    }
  }
}

export function findLostAppends(cx: ListAppendContext): void {
  const { txns, n, realtime, rep, T, idOf, keys, appendsOf, readsOf, included } = cx;
  // Lost appends: a committed append no read ever saw, missing from a read that must include it.
  const inAnyRead = (ks: KeyState, e: number): boolean => (ks.pos ? ks.pos.has(e) : ks.seen!.has(e));
  for (let t = 0; t < n; t++) {
    const mine = appendsOf[t];
    if (mine === undefined || included[t] === 0) continue;
    for (const [k, elems] of mine) {
      const ks = keys.get(k)!;
      const unread = elems.filter((e) => !inAnyRead(ks, e));
      const w = unread.length > 0 ? lostWitness(t, k, unread[0]!) : undefined;
      if (w === undefined) continue;
      // The witness misses every unread append of t to k; none of them gets inferred edges
      // below, which would only report the same fact again as a cycle.
      ks.lost ??= new Set();
      for (const e of unread) ks.lost.add(e);
      rep.add({ type: 'lost-append', txns: [idOf(t), idOf(w.reader)], key: k, element: unread[0], explanation: w.why });
    }
  }

  function lostWitness(t: number, k: TxnKey, e: number): { reader: number; why: string } | undefined {
    // A reader that saw any other append of t must see all of them: a commit is atomic.
    for (const [k2, elems2] of appendsOf[t]!) {
      const ks2 = keys.get(k2)!;
      for (const e2 of elems2) {
        if (!inAnyRead(ks2, e2)) continue;
        const p = ks2.pos?.get(e2);
        for (const r of ks2.reads) {
          if (p !== undefined && r.list.length <= p) break;
          if (r.txn === t || (p === undefined && !r.list.includes(e2))) continue;
          const readK = readsOf[r.txn]?.get(k);
          if (readK === undefined) continue;
          // Ending in an intermediate append of t is G1b, reported already.
          if (k2 === k && r.list[r.list.length - 1] === e2 && ks2.intermediate.has(e2)) continue;
          return {
            reader: r.txn,
            why:
              `${T(t)} committed appending ${e} to ${fmtKey(k)}, but no read ever saw it; ${T(r.txn)} saw ${T(t)}'s append of ${e2} ` +
              `to ${fmtKey(k2)}, yet read ${fmtKey(k)} = ${fmtList(readK)} without ${e} (a commit becomes visible all at once)`,
          };
        }
      }
    }
    const txn = txns[t]!;
    if (realtime && txn.status === 'ok') {
      for (const r of keys.get(k)!.latest ?? []) {
        const rt = txns[r.txn]!;
        if (r.txn === t || rt.call <= txn.return) continue;
        return {
          reader: r.txn,
          why:
            `${T(t)} committed appending ${e} to ${fmtKey(k)} (returned at ${txn.return}), but no read ever saw it; ` +
            `${T(r.txn)}, called later at ${rt.call}, read ${fmtKey(k)} = ${fmtList(r.list)} without it`,
        };
      }
    }
    return undefined;
  }
}

export function buildGraph(cx: ListAppendContext): EdgeSet {
  const { txns, n, realtime, keys, included } = cx;
  // The dependency graph over committed txns.
  const edges = new EdgeSet(n);
  const writer = (ks: KeyState, e: number | undefined): number => {
    if (e === undefined) return -1;
    const w = ks.appender.get(e);
    return w !== undefined && included[w] === 1 ? w : -1;
  };
  for (const ks of keys.values()) {
    const order = ks.order;
    if (order !== undefined) {
      for (let i = 0; i + 1 < order.length; i++) {
        const a = writer(ks, order[i]);
        const b = writer(ks, order[i + 1]);
        if (a >= 0 && b >= 0) edges.add(a, b, WW);
      }
    }
    for (const r of ks.reads) {
      const w = writer(ks, r.list[r.list.length - 1]);
      if (w >= 0) edges.add(w, r.txn, WR);
      if (order !== undefined && r.list.length < order.length) {
        const next = writer(ks, order[r.list.length]);
        if (next >= 0) edges.add(r.txn, next, RW);
      }
    }
    if (order !== undefined) inferUnread(ks, order);
  }
  if (realtime) addRealtimeEdges(txns, included, edges);

  /**
   * A committed append that no read saw still has a place in the version order: after every
   * element read (each read is a prefix of the order, and none has it). So the writer of the
   * last element read precedes its writer (ww), and each read of the whole order misses it (rw).
   * The true edge from such a reader may be rw to an earlier unread append followed by ww, or ww
   * when the reader itself appended first; either way a cycle through the inferred edge stands
   * for a real cycle with no more anti-dependencies, none newly adjacent: no false alarms.
   * Edges are capped per key (readers of the whole order times unread appends can be large).
   */
  function inferUnread(ks: KeyState, order: readonly number[]): void {
    const unread = new Set<number>();
    for (const [e, w] of ks.appender) if (included[w] === 1 && !ks.pos!.has(e) && !ks.lost?.has(e)) unread.add(w);
    if (unread.size === 0) return;
    const last = writer(ks, order[order.length - 1]);
    const full = ks.reads.filter((r) => r.list.length === order.length);
    let budget = 100_000;
    for (const w of unread) {
      if (last >= 0) edges.add(last, w, WW);
      for (const r of full) {
        if (budget-- <= 0) return;
        // A read ending in an intermediate append of w is G1b, reported already.
        const end = r.list[r.list.length - 1];
        if (end !== undefined && ks.intermediate.has(end) && ks.appender.get(end) === w) continue;
        edges.add(r.txn, w, RW);
      }
    }
  }
  return edges;
}

// Writers of one key whose appends nobody read: their order is unknown, but if one's snapshot
// missed the other (rw), first committer wins says the one with the snapshot committed before
// the other started, so its append came first (ww). Serializable histories are snapshot
// isolation too, so this holds under both levels. Each missing the other is a lost update.
export function inferLostUpdates(cx: ListAppendContext, edges: EdgeSet): Set<number> {
  const { n, rep, T, idOf, appendsOf } = cx;
  const g0 = edges.toCsr();
  const updaters = new Set<number>();
  for (let u = 0; u < n; u++) {
    for (let e = g0.offsets[u]!; e < g0.offsets[u + 1]!; e++) {
      const v = g0.targets[e]!;
      if ((g0.labels[e]! & RW) === 0) continue;
      const k = commonUnreadKey(cx, u, v);
      if (k === undefined) continue;
      if ((labelsOf(g0, v, u) & RW) === 0) {
        edges.add(u, v, WW);
        continue;
      }
      if (v < u) continue;
      updaters.add(u);
      updaters.add(v);
      rep.add({
        type: 'lost-update',
        txns: [idOf(u), idOf(v)],
        key: k,
        explanation:
          `${T(u)} and ${T(v)} both appended to ${fmtKey(k)} (${fmtList(appendsOf[u]!.get(k)!)}, ${fmtList(appendsOf[v]!.get(k)!)}; never read) ` +
          `and neither saw the other (${explainEdge(cx, u, v, 'rw').text}; ${explainEdge(cx, v, u, 'rw').text}): concurrent writers of one key, and both committed`,
      });
    }
  }
  return updaters;
}

/**
 * T1 -> T2 whenever T1 (committed, 'ok') returned strictly before T2 was called, as a transitive
 * reduction: a frontier holds the txns that returned and are not yet known to precede another
 * that returned; a call links the whole frontier to the new txn, and a return replaces the new
 * txn's predecessors in the frontier by the txn itself. Edges: about txns × concurrency.
 */
function addRealtimeEdges(txns: readonly ListAppendTxn[], included: Uint8Array, edges: EdgeSet): void {
  const events: [time: number, isReturn: number, txn: number][] = [];
  for (let t = 0; t < txns.length; t++) {
    if (included[t] === 0) continue;
    events.push([txns[t]!.call, 0, t]);
    if (txns[t]!.status === 'ok') events.push([txns[t]!.return, 1, t]);
  }
  // At equal times calls come first: intervals that only touch are concurrent, as in the linearizability checker.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const frontier = new Set<number>();
  const preds: (number[] | undefined)[] = new Array(txns.length);
  for (const [, isReturn, t] of events) {
    if (isReturn === 0) {
      const p = [...frontier];
      preds[t] = p;
      for (const u of p) edges.add(u, t, RT);
    } else {
      for (const u of preds[t]!) frontier.delete(u);
      frontier.add(t);
    }
  }
}
