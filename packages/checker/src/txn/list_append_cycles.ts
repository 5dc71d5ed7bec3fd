// Cycles of the dependency graph: one per strongly connected component, the most severe that can
// be found, classified in Adya's taxonomy and explained edge by edge.
import {
  ALL,
  type Budget,
  type Csr,
  DEP,
  type EdgeType,
  edgeTypeOf,
  labelsOf,
  RW,
  STEP,
  shortestPath,
  splitGraph,
  stronglyConnected,
  WW,
} from './graph.js';
import type { ListAppendContext } from './list_append_context.js';
import { explainEdge } from './list_append_explain.js';
import type { CycleAnomalyType, CycleClass, CycleStep, ListAppendAnomaly } from './list_append_types.js';

const CLASS_TEXT: Record<CycleClass, string> = {
  G0: 'write cycle: the appends of these transactions are ordered one way on one key and the opposite way on another',
  G1c: 'circular information flow: each transaction saw or followed the writes of the one before it, around a loop',
  'G-single': 'read skew: a cycle with exactly one anti-dependency; a snapshot saw some effects of a transaction but missed others',
  'G-nonadjacent':
    'a cycle whose anti-dependencies are never adjacent (e.g. a long fork: two snapshots saw two writes in opposite orders); no order of snapshots explains it',
  'G2-item': 'write skew: anti-dependencies in a row; allowed under snapshot isolation, forbidden under serializability',
};

export interface CyclePath {
  /** Txn indexes, first repeated last. */
  nodes: number[];
  /** The type of each edge, nodes[i] -> nodes[i + 1]. */
  types: EdgeType[];
}

export interface FoundCycle extends CyclePath {
  /** The strongly connected component it was found in. */
  members: readonly number[];
}

export function classify(types: readonly EdgeType[]): CycleClass {
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
export function findCycles(g: Csr, budgetUnits: number): { cycles: FoundCycle[]; components: number } {
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

export function describeCycle(cx: ListAppendContext, c: CyclePath): ListAppendAnomaly {
  const { T, idOf } = cx;
  const steps: CycleStep[] = [];
  for (let i = 0; i < c.types.length; i++) {
    const u = c.nodes[i]!;
    const v = c.nodes[i + 1]!;
    const why = explainEdge(cx, u, v, c.types[i]!);
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
