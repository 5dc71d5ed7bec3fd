// Per key: which reads can be trusted, the version order they imply, and the direct anomalies
// the reads show on their own (garbage, aborted and intermediate reads).
import { fmtKey, fmtList, isPrefix, type ListAppendContext, type Read } from './list_append_context.js';

/** Sets each key's order and trusted reads; returns, per txn index, 1 for an unknown txn some read saw. */
export function inferVersionOrders(cx: ListAppendContext): Uint8Array {
  const { txns, n, realtime, rep, T, idOf, keys, appendsOf } = cx;
  // Per key: the reads that cannot be trusted, then the version order from the rest.
  const observed = new Uint8Array(n);
  const badElements = new Set<string>();
  for (const [k, ks] of keys) {
    const reads = ks.reads.sort((a, b) => b.list.length - a.list.length || a.txn - b.txn);
    const bad = new Set<Read>();
    // A read containing the reader's own later append saw its future.
    for (const r of reads) {
      const e = appendsOf[r.txn]?.get(k)?.find((x) => r.list.includes(x));
      if (e === undefined) continue;
      bad.add(r);
      rep.add({
        type: 'internal',
        txns: [idOf(r.txn)],
        key: k,
        element: e,
        explanation: `${T(r.txn)} read ${fmtKey(k)} = ${fmtList(r.list)}, which contains ${e}, an element it appended only later`,
      });
    }
    let good = bad.size > 0 ? reads.filter((r) => !bad.has(r)) : reads;
    const longest = good.length > 0 ? good[0]!.list : [];
    const conflicting = good.find((r) => !isPrefix(r.list, longest));
    if (conflicting === undefined) {
      // Every read is a prefix of the longest; a duplicate in it is a duplicate in each read that long.
      const seen = new Set<number>();
      let cut = longest.length;
      for (let i = 0; i < longest.length && cut === longest.length; i++) {
        if (seen.has(longest[i]!)) cut = i;
        seen.add(longest[i]!);
      }
      if (cut < longest.length) {
        const dup = good.filter((r) => r.list.length > cut);
        good = good.filter((r) => r.list.length <= cut);
        rep.add({
          type: 'duplicate-elements',
          txns: dup.slice(0, 5).map((r) => idOf(r.txn)),
          key: k,
          element: longest[cut],
          explanation: `${dup.length} read(s) of ${fmtKey(k)} contain ${longest[cut]} twice (e.g. ${T(dup[0]!.txn)}: ${fmtList(longest)}); each element is appended once`,
        });
      }
      const order = good.length > 0 ? good[0]!.list : [];
      ks.order = order;
      ks.pos = new Map(order.map((e, i) => [e, i]));
    } else {
      const a = good[0]!;
      let at = 0;
      while (at < conflicting.list.length && conflicting.list[at] === a.list[at]) at++;
      rep.add({
        type: 'incompatible-order',
        txns: [idOf(a.txn), idOf(conflicting.txn)],
        key: k,
        explanation:
          `${T(a.txn)} read ${fmtKey(k)} = ${fmtList(a.list)} and ${T(conflicting.txn)} read ${fmtList(conflicting.list)}: ` +
          `they differ at index ${at} (${a.list[at]} vs ${conflicting.list[at]}), so no single order of appends explains both`,
      });
      const dup = good.filter((r) => new Set(r.list).size !== r.list.length);
      if (dup.length > 0) {
        good = good.filter((r) => !dup.includes(r));
        rep.add({
          type: 'duplicate-elements',
          txns: dup.slice(0, 5).map((r) => idOf(r.txn)),
          key: k,
          explanation: `${dup.length} read(s) of ${fmtKey(k)} contain an element twice (e.g. ${T(dup[0]!.txn)}: ${fmtList(dup[0]!.list)}); each element is appended once`,
        });
      }
    }
    ks.reads = good;

    // What was read must have been written by a txn that did not abort. Readers containing element
    // i are the reads longer than i (longest first), so finding one is short.
    const readerOf = (e: number): Read => {
      const p = ks.pos?.get(e);
      const rs = ks.reads.filter((r) => (p !== undefined ? r.list.length > p : r.list.includes(e)));
      return rs.reduce((x, y) => (txns[y.txn]!.call < txns[x.txn]!.call ? y : x));
    };
    const elements = ks.order ?? [...new Set(ks.reads.flatMap((r) => r.list))];
    if (ks.order === undefined) ks.seen = new Set(elements);
    for (const e of elements) {
      const w = ks.appender.get(e);
      if (w !== undefined && txns[w]!.status === 'unknown') observed[w] = 1;
      else if (w === undefined || txns[w]!.status === 'fail') {
        const tag = `${fmtKey(k)}\u0000${e}`;
        if (badElements.has(tag)) continue;
        badElements.add(tag);
        const r = readerOf(e);
        if (w === undefined) {
          rep.add({
            type: 'garbage-read',
            txns: [idOf(r.txn)],
            key: k,
            element: e,
            explanation: `${T(r.txn)} read ${fmtKey(k)} = ${fmtList(r.list)}, but no transaction appended ${e}`,
          });
        } else {
          rep.add({
            type: 'aborted-read',
            txns: [idOf(w), idOf(r.txn)],
            key: k,
            element: e,
            explanation: `G1a: ${T(r.txn)} read ${fmtKey(k)} = ${fmtList(r.list)}, which contains ${e}, appended by ${T(w)}, which aborted`,
          });
        }
      }
    }

    // G1b: a read ending in an append its writer followed with another to the same key saw the writer's intermediate state.
    for (const r of ks.reads) {
      const e = r.list[r.list.length - 1];
      if (e === undefined || !ks.intermediate.has(e)) continue;
      const w = ks.appender.get(e)!;
      if (w === r.txn || txns[w]!.status === 'fail') continue;
      const own = appendsOf[w]!.get(k)!;
      rep.add({
        type: 'intermediate-read',
        txns: [idOf(w), idOf(r.txn)],
        key: k,
        element: e,
        explanation: `G1b: ${T(r.txn)} read ${fmtKey(k)} = ${fmtList(r.list)}, ending in ${e}; but ${T(w)} appended ${fmtList(own)} to it, so ${e} was not its final state`,
      });
    }

    if (realtime) {
      const latest: Read[] = [];
      for (const r of ks.reads) {
        latest.push(r);
        latest.sort((x, y) => txns[y.txn]!.call - txns[x.txn]!.call);
        if (latest.length > 2) latest.pop();
      }
      ks.latest = latest;
    }
  }
  return observed;
}
