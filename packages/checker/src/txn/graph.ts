// Dependency graphs over transactions: labelled edges in compressed sparse rows, Tarjan's strongly
// connected components and breadth-first paths. Iterative throughout: histories of 50 000+
// transactions would overflow the call stack with recursion.

/** Edge labels, one bit each. The order is a preference: a lower bit names a cycle more severely (ww before wr before rt). */
export const WW = 1;
export const WR = 2;
export const RT = 4;
export const RW = 8;
/** Dependencies that need not be anti-dependencies: every one of them orders commit before start or commit before commit. */
export const DEP = WW | WR | RT;
export const ALL = DEP | RW;

export type EdgeType = 'ww' | 'wr' | 'rt' | 'rw';

/** The name of the preferred (lowest) label among `labels`. */
export function edgeTypeOf(labels: number): EdgeType {
  if (labels & WW) return 'ww';
  if (labels & WR) return 'wr';
  if (labels & RT) return 'rt';
  return 'rw';
}

/** The out-edges of node u are targets[offsets[u] .. offsets[u + 1]), each with a label mask. */
export interface Csr {
  n: number;
  offsets: Int32Array;
  targets: Int32Array;
  labels: Uint8Array;
}

/** Collects edges, merging the labels of parallel edges; self-loops are dropped (a txn does not depend on itself). */
export class EdgeSet {
  private readonly adj: (Map<number, number> | undefined)[];
  size = 0;

  constructor(readonly n: number) {
    this.adj = new Array<Map<number, number> | undefined>(n);
  }

  add(u: number, v: number, label: number): void {
    if (u === v) return;
    let m = this.adj[u];
    if (m === undefined) {
      m = new Map();
      this.adj[u] = m;
    }
    const old = m.get(v);
    if (old === undefined) this.size++;
    m.set(v, (old ?? 0) | label);
  }

  toCsr(): Csr {
    const offsets = new Int32Array(this.n + 1);
    const targets = new Int32Array(this.size);
    const labels = new Uint8Array(this.size);
    let e = 0;
    for (let u = 0; u < this.n; u++) {
      offsets[u] = e;
      const m = this.adj[u];
      if (m === undefined) continue;
      for (const [v, l] of m) {
        targets[e] = v;
        labels[e] = l;
        e++;
      }
    }
    offsets[this.n] = e;
    return { n: this.n, offsets, targets, labels };
  }
}

/** The labels of edge u -> v, 0 if none. Degrees are small, so a scan is fine (used for reports only). */
export function labelsOf(g: Csr, u: number, v: number): number {
  for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) if (g.targets[e] === v) return g.labels[e]!;
  return 0;
}

export interface Components {
  /** Component index of each node. */
  comp: Int32Array;
  /** Number of nodes of each component. */
  size: Int32Array;
}

/** Tarjan's strongly connected components of the subgraph of edges with a label in `allow`. */
export function stronglyConnected(g: Csr, allow: number): Components {
  const { n, offsets, targets, labels } = g;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const comp = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n);
  const frames = new Int32Array(n);
  const framePos = new Int32Array(n);
  const sizes: number[] = [];
  let sp = 0;
  let fp = 0;
  let next = 0;
  const visit = (v: number): void => {
    index[v] = next;
    low[v] = next;
    next++;
    stack[sp++] = v;
    onStack[v] = 1;
    frames[fp] = v;
    framePos[fp] = offsets[v]!;
    fp++;
  };
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    visit(root);
    while (fp > 0) {
      const v = frames[fp - 1]!;
      const end = offsets[v + 1]!;
      let e = framePos[fp - 1]!;
      let descended = false;
      while (e < end) {
        const w = targets[e]!;
        const l = labels[e]!;
        e++;
        if ((l & allow) === 0) continue;
        if (index[w] === -1) {
          framePos[fp - 1] = e;
          visit(w);
          descended = true;
          break;
        }
        if (onStack[w] === 1 && index[w]! < low[v]!) low[v] = index[w]!;
      }
      if (descended) continue;
      if (low[v] === index[v]) {
        const c = sizes.length;
        let count = 0;
        let w: number;
        do {
          w = stack[--sp]!;
          onStack[w] = 0;
          comp[w] = c;
          count++;
        } while (w !== v);
        sizes.push(count);
      }
      fp--;
      if (fp > 0) {
        const u = frames[fp - 1]!;
        if (low[v]! < low[u]!) low[u] = low[v]!;
      }
    }
  }
  return { comp, size: Int32Array.from(sizes) };
}

/** A work budget shared by several searches: each node expanded costs one unit. */
export interface Budget {
  left: number;
}

/**
 * A shortest path from `from` to `to` (a cycle when they are equal: at least one edge) over edges
 * with a label in `allow` and nodes accepted by `within`: the nodes from first to last, or null
 * if there is none or the budget ran out.
 */
export function shortestPath(
  g: Csr,
  from: number,
  to: number,
  allow: number,
  within: (v: number) => boolean,
  budget?: Budget,
): number[] | null {
  const { offsets, targets, labels } = g;
  // A Map, not an n-sized array: many small searches over a large graph must not each cost O(n).
  const parent = new Map<number, number>();
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    if (budget !== undefined && --budget.left < 0) return null;
    const u = queue[head]!;
    for (let e = offsets[u]!; e < offsets[u + 1]!; e++) {
      if ((labels[e]! & allow) === 0) continue;
      const w = targets[e]!;
      if (!within(w)) continue;
      if (w === to) {
        const path = [to];
        for (let x = u; x !== from; x = parent.get(x)!) path.push(x);
        path.push(from);
        return path.reverse();
      }
      if (w === from || parent.has(w)) continue;
      parent.set(w, u);
      queue.push(w);
    }
  }
  return null;
}

/** A graph from parallel edge arrays (no merging), by counting sort on the source. */
export function csrFromEdges(n: number, src: readonly number[], dst: readonly number[], lab: readonly number[]): Csr {
  const offsets = new Int32Array(n + 1);
  for (const u of src) offsets[u + 1]!++;
  for (let u = 0; u < n; u++) offsets[u + 1]! += offsets[u]!;
  const fill = offsets.slice(0, n);
  const targets = new Int32Array(src.length);
  const labels = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const at = fill[src[i]!]!++;
    targets[at] = dst[i]!;
    labels[at] = lab[i]!;
  }
  return { n, offsets, targets, labels };
}

/** The label of the epsilon edges of the split graph below. */
export const STEP = 16;

/**
 * The split graph that decides snapshot isolation. Each transaction v becomes A(v) = 2v ("may
 * take a dependency next") and B(v) = 2v + 1 ("just took one"): a dependency u -> v (ww, wr, rt)
 * becomes A(u) -> B(v), an anti-dependency u -> v becomes B(u) -> A(v), and B(v) -> A(v) lets a
 * dependency be followed by another. A cycle here is a cycle of the original graph in which every
 * rw edge follows a dependency edge: no two rw edges adjacent. A history is snapshot isolation
 * iff its dependency graph has no such cycle, i.e. the relation (ww | wr | rt) ; rw? is acyclic
 * (Cerone and Gotsman's characterization; Elle's G-single and G-nonadjacent).
 */
export function splitGraph(g: Csr): Csr {
  const src: number[] = [];
  const dst: number[] = [];
  const lab: number[] = [];
  for (let u = 0; u < g.n; u++) {
    for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
      const v = g.targets[e]!;
      const l = g.labels[e]!;
      if (l & DEP) {
        src.push(2 * u);
        dst.push(2 * v + 1);
        lab.push(l & DEP);
      }
      if (l & RW) {
        src.push(2 * u + 1);
        dst.push(2 * v);
        lab.push(RW);
      }
    }
    src.push(2 * u + 1);
    dst.push(2 * u);
    lab.push(STEP);
  }
  return csrFromEdges(2 * g.n, src, dst, lab);
}
