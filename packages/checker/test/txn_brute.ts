// A brute-force reference for tiny list-append histories (no tests here): is there an execution
// of snapshot isolation (or a serial one) that produces exactly the recorded reads?
import type { ListAppendTxn, TxnKey } from '../src/index.js';

/**
 * Snapshot isolation, operationally: each committed txn starts (takes a snapshot of everything
 * committed so far) and later commits (appends its elements to the current lists), and may not
 * commit if another txn committed a key it appends to since it started (first committer wins).
 * Every 'ok' txn commits, no 'fail' txn does, each 'unknown' txn commits or not; an 'ok' txn's
 * reads must equal its snapshot plus its own earlier appends. `serial`: every commit immediately
 * follows its start. `realtime`: a txn starts only after every 'ok' txn that returned before it
 * was called has committed. Exponential: a handful of txns only.
 */
export function bruteForceListAppend(txns: readonly ListAppendTxn[], opts: { serial?: boolean; realtime?: boolean } = {}): boolean {
  const n = txns.length;
  const unknown = txns.map((t, i) => (t.status === 'unknown' ? i : -1)).filter((i) => i >= 0);
  for (let mask = 0; mask < 1 << unknown.length; mask++) {
    const included = txns.map((t) => t.status === 'ok');
    unknown.forEach((i, b) => {
      if (mask & (1 << b)) included[i] = true;
    });
    const startSeq = new Array<number>(n).fill(-1);
    const committed = new Array<boolean>(n).fill(false);
    const lastCommit = new Map<TxnKey, number>();
    let commits = 0;
    let open = -1;
    const state = new Map<TxnKey, number[]>();

    const readsMatch = (t: ListAppendTxn): boolean => {
      if (t.status !== 'ok') return true;
      const view = new Map(state);
      for (const m of t.ops) {
        const cur = view.get(m[1]) ?? [];
        if (m[0] === 'append') view.set(m[1], [...cur, m[2]]);
        else {
          const read = m[2] ?? [];
          if (read.length !== cur.length || read.some((x, i) => x !== cur[i])) return false;
        }
      }
      return true;
    };

    const dfs = (): boolean => {
      if (txns.every((_, i) => !included[i] || committed[i])) return true;
      for (let i = 0; i < n; i++) {
        if (!included[i]) continue;
        const t = txns[i]!;
        if (startSeq[i] === -1) {
          if (opts.serial && open !== -1) continue;
          if (opts.realtime && txns.some((u, j) => u.status === 'ok' && u.return < t.call && !committed[j])) continue;
          if (!readsMatch(t)) continue;
          startSeq[i] = commits;
          const wasOpen = open;
          open = i;
          if (dfs()) return true;
          open = wasOpen;
          startSeq[i] = -1;
        } else if (!committed[i]) {
          if (opts.serial && open !== i) continue;
          const keys = new Set(t.ops.filter((m) => m[0] === 'append').map((m) => m[1]));
          if ([...keys].some((k) => (lastCommit.get(k) ?? -1) >= startSeq[i]!)) continue;
          const saved = new Map([...keys].map((k) => [k, [state.get(k), lastCommit.get(k)] as const]));
          for (const m of t.ops) if (m[0] === 'append') state.set(m[1], [...(state.get(m[1]) ?? []), m[2]]);
          for (const k of keys) lastCommit.set(k, commits);
          commits++;
          committed[i] = true;
          const wasOpen = open;
          open = -1;
          if (dfs()) return true;
          open = wasOpen;
          committed[i] = false;
          commits--;
          for (const [k, [l, c]] of saved) {
            if (l === undefined) state.delete(k);
            else state.set(k, l);
            if (c === undefined) lastCommit.delete(k);
            else lastCommit.set(k, c);
          }
        }
      }
      return false;
    };
    if (dfs()) return true;
  }
  return false;
}
