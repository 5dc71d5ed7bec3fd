// A checker for list-append transaction histories in the manner of Elle (Kingsbury and Alvaro,
// VLDB 2020). Appending unique elements to lists makes every read reveal the whole version
// history of its key up to its snapshot, so the version order of each key can be recovered from
// the reads alone, and with it the write-write, write-read and read-write dependencies between
// transactions. Cycles in that graph are the isolation anomalies of Adya's taxonomy. Everything is
// keyed by key and element: no pass over the whole history per transaction.
import {
  ALL,
  type Budget,
  type Csr,
  DEP,
  EdgeSet,
  type EdgeType,
  edgeTypeOf,
  labelsOf,
  RT,
  RW,
  STEP,
  shortestPath,
  splitGraph,
  stronglyConnected,
  WR,
  WW,
} from './graph.js';
import { type TxnStatus, validateTxnBasics } from './types.js';

export type TxnKey = string | number;

/** A read (the list seen; null: the key was absent, or nothing is known for a txn that is not 'ok') or an append. */
export type ListAppendMop = readonly ['r', TxnKey, readonly number[] | null] | readonly ['append', TxnKey, number];

export interface ListAppendTxn {
  /** Unique in the history. */
  id: number;
  clientId: number;
  /** Invocation and completion time (ms, monotonic); return is ignored unless status is 'ok'. Used only with `realtime`. */
  call: number;
  return: number;
  status: TxnStatus;
  /** The micro-ops in program order; reads carry the lists seen when status is 'ok'. */
  ops: readonly ListAppendMop[];
}

export type CycleClass = 'G0' | 'G1c' | 'G-single' | 'G-nonadjacent' | 'G2-item';
export type CycleAnomalyType = CycleClass | `${CycleClass}-realtime`;
export type ListAppendAnomalyType =
  | 'duplicate-elements'
  | 'garbage-read'
  | 'aborted-read'
  | 'intermediate-read'
  | 'internal'
  | 'incompatible-order'
  | 'lost-append'
  | 'lost-update'
  | 'non-atomic-append'
  | CycleAnomalyType;

export interface CycleStep {
  /** Transaction ids. */
  from: number;
  to: number;
  type: EdgeType;
  key?: TxnKey;
  explanation: string;
}

export interface ListAppendAnomaly {
  type: ListAppendAnomalyType;
  /** Ids of the transactions involved; for a cycle, in cycle order. */
  txns: number[];
  key?: TxnKey;
  element?: number;
  cycle?: CycleStep[];
  explanation: string;
}

export interface ListAppendOptions {
  /** The isolation level to judge by (default 'snapshot-isolation': G2-item is then allowed and reported as info). */
  consistency?: 'snapshot-isolation' | 'serializable';
  /**
   * Add real-time edges (T1 returned before T2 was called: T2's snapshot must include T1), which
   * makes the check strong snapshot isolation or strict serializability. Default false.
   */
  realtime?: boolean;
  /** Anomalies kept per type in the report (all are counted); default 10. */
  maxReportsPerType?: number;
  /** Node expansions allowed for finding single-anti-dependency cycles (default 1 000 000); past it a cycle may be named G-nonadjacent instead. */
  cycleSearchBudget?: number;
}

export interface ListAppendResult {
  /** No anomaly forbidden by the chosen consistency. */
  valid: boolean;
  consistency: 'snapshot-isolation' | 'serializable';
  realtime: boolean;
  /** Forbidden anomalies, up to maxReportsPerType per type, in the order found. */
  anomalies: ListAppendAnomaly[];
  /** Anomalies the consistency allows (G2-item under snapshot isolation), for information. */
  allowed: ListAppendAnomaly[];
  /** How many of each type were found, reported or not. */
  counts: Partial<Record<ListAppendAnomalyType, number>>;
  stats: {
    txns: number;
    ok: number;
    fail: number;
    unknown: number;
    /** Unknown transactions taken as committed because some read saw one of their appends. */
    unknownCommitted: number;
    keys: number;
    edges: number;
    /** Strongly connected components with a cycle. */
    cyclicComponents: number;
  };
  elapsedMs: number;
}

const SI_ALLOWED: ReadonlySet<string> = new Set(['G2-item', 'G2-item-realtime']);

interface Read {
  txn: number;
  list: readonly number[];
}

interface KeyState {
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

const CLASS_TEXT: Record<CycleClass, string> = {
  G0: 'write cycle: the appends of these transactions are ordered one way on one key and the opposite way on another',
  G1c: 'circular information flow: each transaction saw or followed the writes of the one before it, around a loop',
  'G-single': 'read skew: a cycle with exactly one anti-dependency; a snapshot saw some effects of a transaction but missed others',
  'G-nonadjacent':
    'a cycle whose anti-dependencies are never adjacent (e.g. a long fork: two snapshots saw two writes in opposite orders); no order of snapshots explains it',
  'G2-item': 'write skew: anti-dependencies in a row; allowed under snapshot isolation, forbidden under serializability',
};

function fmtList(l: readonly number[]): string {
  if (l.length <= 8) return `[${l.join(' ')}]`;
  return `[${l.slice(0, 3).join(' ')} … ${l.slice(-3).join(' ')}] (${l.length} elements)`;
}

function fmtKey(k: TxnKey): string {
  return typeof k === 'string' ? JSON.stringify(k) : String(k);
}

/** A transaction in a few words: id, status and micro-ops. */
export function describeListAppendTxn(txn: ListAppendTxn): string {
  const mops = txn.ops.map((m) =>
    m[0] === 'append' ? `append ${fmtKey(m[1])} ${m[2]}` : `r ${fmtKey(m[1])} ${m[2] === null ? '?' : fmtList(m[2])}`,
  );
  return `T${txn.id} (${txn.status}, client ${txn.clientId}) [${mops.join(', ')}]`;
}

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function endsWith(list: readonly number[], suffix: readonly number[]): boolean {
  const off = list.length - suffix.length;
  if (off < 0) return false;
  for (let i = 0; i < suffix.length; i++) if (list[off + i] !== suffix[i]) return false;
  return true;
}

function validate(txns: readonly ListAppendTxn[]): void {
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

class Reporter {
  readonly list: ListAppendAnomaly[] = [];
  readonly counts: Partial<Record<ListAppendAnomalyType, number>> = {};

  constructor(private readonly maxPerType: number) {}

  add(a: ListAppendAnomaly): void {
    const c = (this.counts[a.type] ?? 0) + 1;
    this.counts[a.type] = c;
    if (c <= this.maxPerType) this.list.push(a);
  }
}

/**
 * Checks a list-append history. Throws on malformed input (duplicate ids, unknown status, a
 * malformed micro-op, an element appended twice to a key): those are harness bugs.
 */
export function checkListAppend(txns: readonly ListAppendTxn[], opts: ListAppendOptions = {}): ListAppendResult {
  const start = performance.now();
  validate(txns);
  const consistency = opts.consistency ?? 'snapshot-isolation';
  const realtime = opts.realtime ?? false;
  const rep = new Reporter(opts.maxReportsPerType ?? 10);
  const n = txns.length;
  const T = (t: number): string => `T${txns[t]!.id}`;
  const idOf = (t: number): number => txns[t]!.id;

  const keys = new Map<TxnKey, KeyState>();
  const keyState = (k: TxnKey): KeyState => {
    let ks = keys.get(k);
    if (ks === undefined) {
      ks = { appender: new Map(), intermediate: new Set(), reads: [] };
      keys.set(k, ks);
    }
    return ks;
  };

  // Appends: who wrote each element, and which appends a txn followed with another to the same key.
  const appendsOf: (Map<TxnKey, number[]> | undefined)[] = new Array(n);
  for (let t = 0; t < n; t++) {
    for (const m of txns[t]!.ops) {
      if (m[0] !== 'append') continue;
      const [, k, e] = m;
      const ks = keyState(k);
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
        keyState(k).reads.push({ txn: t, list: s.read });
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

  // Committed: 'ok', or 'unknown' and seen by some read. An unknown txn nobody saw may have
  // aborted, so it gets no edges and can raise no anomaly.
  const included = new Uint8Array(n);
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

  const readsOf: (Map<TxnKey, readonly number[]> | undefined)[] = new Array(n);
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

  // Writers of one key whose appends nobody read: their order is unknown, but if one's snapshot
  // missed the other (rw), first committer wins says the one with the snapshot committed before
  // the other started, so its append came first (ww). Serializable histories are snapshot
  // isolation too, so this holds under both levels. Each missing the other is a lost update.
  const g0 = edges.toCsr();
  const updaters = new Set<number>();
  for (let u = 0; u < n; u++) {
    for (let e = g0.offsets[u]!; e < g0.offsets[u + 1]!; e++) {
      const v = g0.targets[e]!;
      if ((g0.labels[e]! & RW) === 0) continue;
      const k = commonUnreadKey(u, v);
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
          `and neither saw the other (${explainEdge(u, v, 'rw').text}; ${explainEdge(v, u, 'rw').text}): concurrent writers of one key, and both committed`,
      });
    }
  }
  const g = edges.toCsr();

  /** A key both txns appended to, where no read saw any of those appends. */
  function commonUnreadKey(u: number, v: number): TxnKey | undefined {
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

  // Cycles. A write-skew cycle among lost updaters only restates the lost update: not reported.
  const cyc = findCycles(g, opts.cycleSearchBudget ?? 1_000_000);
  for (const c of cyc.cycles) {
    if (classify(c.types) === 'G2-item' && c.members.some((v) => updaters.has(v))) continue;
    rep.add(describeCycle(c));
  }

  function explainEdge(u: number, v: number, type: EdgeType): { key?: TxnKey; text: string } {
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
      const k = commonUnreadKey(u, v);
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

  function describeCycle(c: CyclePath): ListAppendAnomaly {
    const steps: CycleStep[] = [];
    for (let i = 0; i < c.types.length; i++) {
      const u = c.nodes[i]!;
      const v = c.nodes[i + 1]!;
      const why = explainEdge(u, v, c.types[i]!);
      steps.push({ from: idOf(u), to: idOf(v), type: c.types[i]!, key: why.key, explanation: why.text });
    }
    const cls = classify(c.types);
    const type: CycleAnomalyType = c.types.includes('rt') ? `${cls}-realtime` : cls;
    const arrows = c.nodes.map((v, i) => (i === 0 ? T(v) : `-${c.types[i - 1]}-> ${T(v)}`)).join(' ');
    return {
      type,
      txns: c.nodes.slice(0, -1).map(idOf),
      cycle: steps,
      explanation: `${type}: ${CLASS_TEXT[cls]}.\n  ${arrows}\n${steps.map((s) => `  ${s.explanation}`).join('\n')}`,
    };
  }

  const anomalies: ListAppendAnomaly[] = [];
  const allowed: ListAppendAnomaly[] = [];
  const isAllowed = (type: string): boolean => consistency === 'snapshot-isolation' && SI_ALLOWED.has(type);
  for (const a of rep.list) (isAllowed(a.type) ? allowed : anomalies).push(a);
  const forbidden = Object.entries(rep.counts).some(([type, count]) => count > 0 && !isAllowed(type));
  return {
    valid: !forbidden,
    consistency,
    realtime,
    anomalies,
    allowed,
    counts: rep.counts,
    stats: {
      txns: n,
      ok: okCount,
      fail: failCount,
      unknown: n - okCount - failCount,
      unknownCommitted,
      keys: keys.size,
      edges: g.targets.length,
      cyclicComponents: cyc.components,
    },
    elapsedMs: performance.now() - start,
  };
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

interface CyclePath {
  /** Txn indexes, first repeated last. */
  nodes: number[];
  /** The type of each edge, nodes[i] -> nodes[i + 1]. */
  types: EdgeType[];
}

interface FoundCycle extends CyclePath {
  /** The strongly connected component it was found in. */
  members: readonly number[];
}

function classify(types: readonly EdgeType[]): CycleClass {
  const rw = types.filter((t) => t === 'rw').length;
  if (rw === 0) return types.includes('wr') ? 'G1c' : 'G0';
  if (rw === 1) return 'G-single';
  for (let i = 0; i < types.length; i++) if (types[i] === 'rw' && types[(i + 1) % types.length] === 'rw') return 'G2-item';
  return 'G-nonadjacent';
}

/**
 * One cycle per strongly connected component, the most severe that can be found: a ww-only
 * cycle (G0), else one of dependencies only (G1c), else, if the split graph shows the component
 * breaks snapshot isolation, a cycle with one anti-dependency (G-single) or failing that one
 * with non-adjacent ones (G-nonadjacent), else any cycle (G2-item, adjacent anti-dependencies).
 */
function findCycles(g: Csr, budgetUnits: number): { cycles: FoundCycle[]; components: number } {
  const all = stronglyConnected(g, ALL);
  const members = new Map<number, number[]>();
  for (let v = 0; v < g.n; v++) {
    const c = all.comp[v]!;
    if (all.size[c]! < 2) continue;
    let m = members.get(c);
    if (m === undefined) {
      m = [];
      members.set(c, m);
    }
    m.push(v);
  }
  if (members.size === 0) return { cycles: [], components: 0 };
  const ww = stronglyConnected(g, WW);
  const dep = stronglyConnected(g, DEP);
  const sg = splitGraph(g);
  const split = stronglyConnected(sg, ALL | STEP);
  const budget: Budget = { left: budgetUnits };
  const pick = (labels: number): EdgeType => edgeTypeOf(labels);
  const typed = (nodes: number[], allow: number): CyclePath => {
    const types: EdgeType[] = [];
    for (let i = 0; i + 1 < nodes.length; i++) types.push(pick(labelsOf(g, nodes[i]!, nodes[i + 1]!) & allow));
    return { nodes, types };
  };

  const cycles: FoundCycle[] = [];
  const push = (cycle: CyclePath, nodes: readonly number[]): void => {
    cycles.push({ ...cycle, members: nodes });
  };
  for (const [c, nodes] of members) {
    const inC = (v: number): boolean => all.comp[v] === c;
    const g0 = nodes.find((v) => ww.size[ww.comp[v]!]! >= 2);
    if (g0 !== undefined) {
      const cw = ww.comp[g0]!;
      push(typed(shortestPath(g, g0, g0, WW, (v) => ww.comp[v] === cw)!, WW), nodes);
      continue;
    }
    const g1 = nodes.find((v) => dep.size[dep.comp[v]!]! >= 2);
    if (g1 !== undefined) {
      const cd = dep.comp[g1]!;
      push(typed(shortestPath(g, g1, g1, DEP, (v) => dep.comp[v] === cd)!, DEP), nodes);
      continue;
    }
    const s = nodes.find((v) => split.size[split.comp[2 * v]!]! >= 2);
    if (s === undefined) {
      push(typed(shortestPath(g, nodes[0]!, nodes[0]!, ALL, inC)!, ALL), nodes);
      continue;
    }
    const single = singleAntiDependencyCycle(g, nodes, inC, budget);
    if (single !== null) {
      push(single, nodes);
      continue;
    }
    // A closed walk of the split graph, projected back: A -> B steps are dependencies, B -> A
    // steps anti-dependencies, B(v) -> A(v) steps are dropped.
    const cs = split.comp[2 * s]!;
    const walk = shortestPath(sg, 2 * s, 2 * s, ALL | STEP, (x) => split.comp[x] === cs)!;
    const out: number[] = [s];
    const types: EdgeType[] = [];
    for (let i = 0; i + 1 < walk.length; i++) {
      const x = walk[i]!;
      const y = walk[i + 1]!;
      if (x >> 1 === y >> 1) continue;
      types.push(x % 2 === 0 ? pick(labelsOf(g, x >> 1, y >> 1) & DEP) : 'rw');
      out.push(y >> 1);
    }
    push({ nodes: out, types }, nodes);
  }
  return { cycles, components: members.size };
}

/** A cycle of dependencies closed by one anti-dependency u -> v: a dependency path from v back to u. */
function singleAntiDependencyCycle(g: Csr, nodes: readonly number[], inC: (v: number) => boolean, budget: Budget): CyclePath | null {
  for (const u of nodes) {
    for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
      if ((g.labels[e]! & RW) === 0) continue;
      const v = g.targets[e]!;
      if (!inC(v)) continue;
      if (budget.left <= 0) return null;
      const path = shortestPath(g, v, u, DEP, inC, budget);
      if (path === null) continue;
      const types: EdgeType[] = [];
      for (let i = 0; i + 1 < path.length; i++) types.push(edgeTypeOf(labelsOf(g, path[i]!, path[i + 1]!) & DEP));
      types.push('rw');
      return { nodes: [...path, v], types };
    }
  }
  return null;
}
