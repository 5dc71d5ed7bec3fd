// Simulated transactional stores for randomized tests of the list-append checker (no tests
// here): a serial store (valid under any isolation level), a multi-version store with snapshot
// isolation (first committer wins), and faults injected into recorded histories.
import type { Prng } from '@tskv/util';
import type { ListAppendMop, ListAppendTxn, TxnKey, TxnStatus } from '../src/index.js';

export interface ListAppendSimOptions {
  txns: number;
  /** Keys in use at a time; a key that got maxAppendsPerKey appends is retired for a fresh one (keeps lists short). */
  keys: number;
  maxAppendsPerKey: number;
  /** Micro-ops per txn: 1 .. maxOps. */
  maxOps: number;
  failRate: number;
  unknownRate: number;
  /** Probability a micro-op is a read. */
  readRate: number;
}

/** Picks keys from a pool that retires keys after enough appends. */
class KeyPool {
  private readonly active: number[] = [];
  private readonly appends = new Map<number, number>();
  private next = 0;

  constructor(
    private readonly rng: Prng,
    size: number,
    private readonly limit: number,
  ) {
    for (let i = 0; i < size; i++) this.active.push(this.next++);
  }

  pick(): number {
    return this.rng.pick(this.active);
  }

  /** Counts a planned append; retires the key when it reaches the limit. */
  appended(k: number): void {
    const c = (this.appends.get(k) ?? 0) + 1;
    this.appends.set(k, c);
    const i = this.active.indexOf(k);
    if (c >= this.limit && i >= 0) this.active[i] = this.next++;
  }
}

type Plan = ['r', number] | ['append', number, number];

function planTxn(rng: Prng, o: ListAppendSimOptions, pool: KeyPool, nextElement: () => number): Plan[] {
  const plan: Plan[] = [];
  const len = 1 + rng.int(o.maxOps);
  for (let i = 0; i < len; i++) {
    const k = pool.pick();
    if (rng.chance(o.readRate)) plan.push(['r', k]);
    else {
      plan.push(['append', k, nextElement()]);
      pool.appended(k);
    }
  }
  return plan;
}

/** The part of a state a plan touches (copying the whole state per txn would make generation quadratic). */
function viewOf(plan: Plan[], state: ReadonlyMap<TxnKey, number[]>): Map<TxnKey, number[]> {
  const view = new Map<TxnKey, number[]>();
  for (const p of plan) {
    const l = state.get(p[1]);
    if (l !== undefined) view.set(p[1], l);
  }
  return view;
}

/** Runs a plan against a view (snapshot plus own appends, mutated in place): the micro-ops with the lists read. */
function runPlan(plan: Plan[], view: Map<TxnKey, number[]>): ListAppendMop[] {
  return plan.map((p): ListAppendMop => {
    if (p[0] === 'r') return ['r', p[1], [...(view.get(p[1]) ?? [])]];
    view.set(p[1], [...(view.get(p[1]) ?? []), p[2]]);
    return ['append', p[1], p[2]];
  });
}

/** Reads of a txn that is not 'ok' carry no values. */
function blind(mops: ListAppendMop[]): ListAppendMop[] {
  return mops.map((m) => (m[0] === 'r' ? ['r', m[1], null] : m));
}

function outcome(rng: Prng, o: ListAppendSimOptions): TxnStatus {
  const x = rng.next();
  return x < o.failRate ? 'fail' : x < o.failRate + o.unknownRate ? 'unknown' : 'ok';
}

/**
 * Transactions applied one at a time, in id order: a valid history under every isolation level,
 * with real time too (txn i returns before txn i + 1 is called). A failed txn changes nothing; an
 * unknown one is applied or not, at random.
 */
export function serialListAppend(rng: Prng, o: ListAppendSimOptions): ListAppendTxn[] {
  const state = new Map<TxnKey, number[]>();
  const pool = new KeyPool(rng, o.keys, o.maxAppendsPerKey);
  let element = 0;
  const out: ListAppendTxn[] = [];
  for (let i = 0; i < o.txns; i++) {
    const plan = planTxn(rng, o, pool, () => ++element);
    const status = outcome(rng, o);
    const applied = status === 'ok' || (status === 'unknown' && rng.chance(0.5));
    const view = viewOf(plan, state);
    const mops = runPlan(plan, view);
    if (applied) for (const [k, l] of view) state.set(k, l);
    out.push({
      id: i + 1,
      clientId: i % 5,
      call: i * 10,
      return: status === 'unknown' ? Infinity : i * 10 + 5,
      status,
      ops: status === 'ok' ? mops : blind(mops),
    });
  }
  return out;
}

/**
 * Concurrent clients over a multi-version store with snapshot isolation: a txn reads the state
 * committed when it was called (plus its own appends) and commits when it returns unless another
 * txn committed a key it appends to since it was called (first committer wins; the loser fails).
 * Valid under (strong) snapshot isolation; write skew happens.
 */
export function snapshotListAppend(rng: Prng, o: ListAppendSimOptions & { clients: number }): ListAppendTxn[] {
  const pool = new KeyPool(rng, o.keys, o.maxAppendsPerKey);
  let element = 0;
  type Pending = { id: number; clientId: number; call: number; ret: number; plan: Plan[]; status: TxnStatus; commits: boolean };
  const planned: Pending[] = [];
  const perClient = Math.ceil(o.txns / o.clients);
  for (let c = 0; c < o.clients; c++) {
    let t = rng.next() * 5;
    for (let i = 0; i < perClient && planned.length < o.txns; i++) {
      const call = t;
      const ret = call + 0.5 + rng.next() * 10;
      t = ret + rng.next() * 3;
      const status = outcome(rng, o);
      planned.push({
        id: 0,
        clientId: c,
        call,
        ret,
        plan: [],
        status,
        commits: status === 'ok' || (status === 'unknown' && rng.chance(0.5)),
      });
    }
  }
  planned.sort((a, b) => a.call - b.call);
  planned.forEach((p, i) => {
    p.id = i + 1;
    p.plan = planTxn(rng, o, pool, () => ++element);
  });

  const committed = new Map<TxnKey, number[]>();
  const lastCommit = new Map<TxnKey, number>();
  const events: [number, 'call' | 'return', Pending][] = [];
  for (const p of planned) events.push([p.call, 'call', p], [p.ret, 'return', p]);
  events.sort((a, b) => a[0] - b[0]);
  const views = new Map<Pending, { mops: ListAppendMop[]; view: Map<TxnKey, number[]> }>();
  const out: ListAppendTxn[] = [];
  for (const [, kind, p] of events) {
    if (kind === 'call') {
      const view = viewOf(p.plan, committed);
      views.set(p, { mops: runPlan(p.plan, view), view });
      continue;
    }
    const { mops, view } = views.get(p)!;
    const written = new Set(p.plan.filter((x) => x[0] === 'append').map((x) => x[1]));
    const conflict = [...written].some((k) => (lastCommit.get(k) ?? -1) > p.call);
    let status = p.status;
    if (conflict && status === 'ok') status = 'fail';
    if (!conflict && p.commits) {
      for (const k of written) {
        committed.set(k, view.get(k)!);
        lastCommit.set(k, p.ret);
      }
    }
    out.push({
      id: p.id,
      clientId: p.clientId,
      call: p.call,
      return: status === 'unknown' ? Infinity : p.ret,
      status,
      ops: status === 'ok' ? mops : blind(mops),
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

// ---- Faults injected into a serial history (null when the history offers no place for one) ----

const clone = (h: ListAppendTxn[]): ListAppendTxn[] => structuredClone(h);

interface Located {
  txn: number;
  key: TxnKey;
  list: readonly number[];
}

/** The first read of each key by each ok txn that does not append to that key (so its lists are external). */
function pureReads(h: readonly ListAppendTxn[]): Located[] {
  const out: Located[] = [];
  h.forEach((t, i) => {
    if (t.status !== 'ok') return;
    const appended = new Set(t.ops.filter((m) => m[0] === 'append').map((m) => m[1]));
    const seen = new Set<TxnKey>();
    for (const m of t.ops) {
      if (m[0] !== 'r' || appended.has(m[1]) || seen.has(m[1])) continue;
      seen.add(m[1]);
      out.push({ txn: i, key: m[1], list: m[2] ?? [] });
    }
  });
  return out;
}

/** Replaces every read of `key` in txn i by f(list). */
function rewriteReads(h: ListAppendTxn[], i: number, key: TxnKey, f: (l: number[]) => number[]): void {
  const t = h[i]!;
  t.ops = t.ops.map((m) => (m[0] === 'r' && m[1] === key ? ['r', key, f([...(m[2] ?? [])])] : m));
}

function appenders(h: readonly ListAppendTxn[]): Map<string, number> {
  const m = new Map<string, number>();
  h.forEach((t, i) => {
    for (const x of t.ops) if (x[0] === 'append') m.set(`${x[1]}/${x[2]}`, i);
  });
  return m;
}

/**
 * A committed append vanishes from reads: from some read on, element e is missing from reads of
 * its key that an earlier reader saw it in, with something after it (an incompatible order).
 */
export function dropAppendFromLaterReads(h: ListAppendTxn[], rng: Prng): ListAppendTxn[] | null {
  const reads = pureReads(h);
  const by = appenders(h);
  const candidates: [Located, Located, number][] = [];
  for (let a = 0; a < reads.length; a++) {
    const r1 = reads[a]!;
    for (let b = a + 1; b < reads.length && candidates.length < 200; b++) {
      const r2 = reads[b]!;
      if (r2.key !== r1.key || r2.txn === r1.txn) continue;
      for (let p = 0; p < r1.list.length && p + 1 < r2.list.length; p++) {
        const e = r1.list[p]!;
        if (r2.list[p] === e && h[by.get(`${r1.key}/${e}`)!]!.status === 'ok') candidates.push([r1, r2, e]);
      }
    }
  }
  if (candidates.length === 0) return null;
  const [, r2, e] = rng.pick(candidates);
  const out = clone(h);
  for (const r of reads) if (r.key === r2.key && r.txn >= r2.txn) rewriteReads(out, r.txn, r.key, (l) => l.filter((x) => x !== e));
  return out;
}

/** A read sees the append of a txn that failed. */
export function readAbortedAppend(h: ListAppendTxn[], rng: Prng): ListAppendTxn[] | null {
  const reads = pureReads(h);
  const candidates: [Located, number][] = [];
  h.forEach((t, i) => {
    if (t.status !== 'fail') return;
    for (const m of t.ops) {
      if (m[0] !== 'append') continue;
      for (const r of reads) if (r.key === m[1] && r.txn > i) candidates.push([r, m[2]]);
    }
  });
  if (candidates.length === 0) return null;
  const [r, e] = rng.pick(candidates);
  const out = clone(h);
  rewriteReads(out, r.txn, r.key, (l) => [...l, e]);
  return out;
}

/** Two elements of one read trade places, where another read shows the first of them in its place. */
export function swapInRead(h: ListAppendTxn[], rng: Prng): ListAppendTxn[] | null {
  const reads = pureReads(h);
  const candidates: [Located, number, number][] = [];
  for (const r of reads) {
    if (r.list.length < 2) continue;
    for (const other of reads) {
      if (other.key !== r.key || other.txn === r.txn || other.list.length === 0) continue;
      const i = rng.int(Math.min(other.list.length, r.list.length - 1));
      candidates.push([r, i, i + 1 + rng.int(r.list.length - i - 1)]);
      break;
    }
  }
  if (candidates.length === 0) return null;
  const [r, i, j] = rng.pick(candidates);
  const out = clone(h);
  rewriteReads(out, r.txn, r.key, (l) => {
    const x = l[i]!;
    l[i] = l[j]!;
    l[j] = x;
    return l;
  });
  return out;
}

/**
 * A read misses the last append it saw, made by a txn that committed (returned) before the
 * reader was called: a stale snapshot, legal under plain snapshot isolation, caught with real time.
 */
export function staleRead(h: ListAppendTxn[], rng: Prng): ListAppendTxn[] | null {
  const by = appenders(h);
  const candidates = pureReads(h).filter((r) => {
    const e = r.list[r.list.length - 1];
    if (e === undefined) return false;
    const w = h[by.get(`${r.key}/${e}`)!]!;
    return w.status === 'ok' && w.return < h[r.txn]!.call;
  });
  if (candidates.length === 0) return null;
  const r = rng.pick(candidates);
  const out = clone(h);
  rewriteReads(out, r.txn, r.key, (l) => l.slice(0, -1));
  return out;
}

/**
 * Zero to two random edits of a history, valid or not afterwards: a read replaced by a random
 * arrangement of some of its key's elements (of any txn), shortened, or with two elements
 * swapped; or a txn's status changed (reads emptied, or refilled at random for a new 'ok').
 */
export function perturb(h: ListAppendTxn[], rng: Prng): ListAppendTxn[] {
  const out = clone(h);
  const elements = new Map<TxnKey, number[]>();
  for (const t of out) for (const m of t.ops) if (m[0] === 'append') elements.set(m[1], [...(elements.get(m[1]) ?? []), m[2]]);
  const randomList = (k: TxnKey): number[] =>
    rng.shuffle([...(elements.get(k) ?? [])]).slice(0, rng.int(1 + (elements.get(k)?.length ?? 0)));
  const edits = rng.int(3);
  for (let e = 0; e < edits; e++) {
    const t = rng.pick(out);
    const reads = t.ops.map((m, i) => (m[0] === 'r' ? i : -1)).filter((i) => i >= 0);
    const kind = rng.int(4);
    if (kind < 3 && t.status === 'ok' && reads.length > 0) {
      const i = rng.pick(reads);
      const [, k, l] = t.ops[i] as ['r', TxnKey, number[] | null];
      const list = [...(l ?? [])];
      let next: number[];
      if (kind === 0) next = randomList(k);
      else if (kind === 1) next = list.filter((_, j) => j !== rng.int(list.length));
      else {
        next = list;
        if (list.length >= 2) {
          const a = rng.int(list.length - 1);
          [next[a], next[a + 1]] = [next[a + 1]!, next[a]!];
        }
      }
      t.ops = t.ops.map((m, j) => (j === i ? ['r', k, next] : m));
    } else {
      const status = rng.pick(['ok', 'fail', 'unknown'] as const);
      t.ops = t.ops.map((m) => (m[0] === 'r' ? ['r', m[1], status === 'ok' ? randomList(m[1]) : null] : m));
      if (status !== 'ok' && t.status === 'ok') t.return = status === 'unknown' ? Infinity : t.return;
      if (status === 'ok' && !Number.isFinite(t.return)) t.return = t.call + 1;
      t.status = status;
    }
  }
  return out;
}
