// A checker for list-append transaction histories in the manner of Elle (Kingsbury and Alvaro,
// VLDB 2020). Appending unique elements to lists makes every read reveal the whole version
// history of its key up to its snapshot, so the version order of each key can be recovered from
// the reads alone, and with it the write-write, write-read and read-write dependencies between
// transactions. Cycles in that graph are the isolation anomalies of Adya's taxonomy. Everything is
// keyed by key and element: no pass over the whole history per transaction.

import { type ListAppendContext, Reporter } from './list_append_context.js';
import { classify, describeCycle, findCycles } from './list_append_cycles.js';
import { buildGraph, checkNonAtomicAppends, findLostAppends, indexReads, inferLostUpdates, markCommitted } from './list_append_graph.js';
import { checkInternalReads, collectAppends, validate } from './list_append_input.js';
import { inferVersionOrders } from './list_append_order.js';
import type { ListAppendAnomaly, ListAppendOptions, ListAppendResult, ListAppendTxn } from './list_append_types.js';

export { describeListAppendTxn } from './list_append_context.js';
export type {
  CycleAnomalyType,
  CycleClass,
  CycleStep,
  ListAppendAnomaly,
  ListAppendAnomalyType,
  ListAppendMop,
  ListAppendOptions,
  ListAppendResult,
  ListAppendTxn,
  TxnKey,
} from './list_append_types.js';

const SI_ALLOWED: ReadonlySet<string> = new Set(['G2-item', 'G2-item-realtime']);

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
  const cx: ListAppendContext = {
    txns,
    n,
    realtime,
    rep,
    T: (t: number): string => `T${txns[t]!.id}`,
    idOf: (t: number): number => txns[t]!.id,
    keys: new Map(),
    appendsOf: new Array(n),
    readsOf: new Array(n),
    included: new Uint8Array(n),
  };
  const { keys } = cx;

  collectAppends(cx);
  checkInternalReads(cx);
  const observed = inferVersionOrders(cx);
  const { unknownCommitted, okCount, failCount } = markCommitted(cx, observed);
  checkNonAtomicAppends(cx);
  indexReads(cx);
  findLostAppends(cx);
  const edges = buildGraph(cx);
  const updaters = inferLostUpdates(cx, edges);
  const g = edges.toCsr();

  // Cycles. A write-skew cycle among lost updaters only restates the lost update: not reported.
  const cyc = findCycles(g, opts.cycleSearchBudget ?? 1_000_000);
  for (const c of cyc.cycles) {
    if (classify(c.types) === 'G2-item' && c.members.some((v) => updaters.has(v))) continue;
    rep.add(describeCycle(cx, c));
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
