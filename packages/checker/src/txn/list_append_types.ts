// The public shapes of the list-append checker: the history it reads, its options and its report.
import type { EdgeType } from './graph.js';
import type { TxnStatus } from './types.js';

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
