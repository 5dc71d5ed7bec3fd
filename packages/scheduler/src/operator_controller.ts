// OperatorController: the pending operators, one per region at most. Every heartbeat of a region
// with an operator advances it past the steps the heartbeat shows done, and hands the leader the
// current step again (repeating is harmless: the raftstore refuses a change it already made, and a
// lost answer costs nothing). An operator ends when all its steps show done, when the region
// changed under it (stale), or when a step makes no progress for operatorTimeoutMs. The last
// operators to end are kept with how and why they ended (the admin API shows them and waits on
// them by id).
import type { RegionInfo } from './cluster_state.js';
import { isVoter } from './meta.js';
import {
  categoryOf,
  describe,
  describeStep,
  type Operator,
  type OperatorCategory,
  type StepRequest,
  staleness,
  stepDone,
  stepRequest,
} from './operator.js';

export type OperatorEnd = 'finished' | 'timeout' | 'cancelled';

export interface EndedOperator {
  op: Operator;
  how: OperatorEnd;
  why: string;
  endedMs: number;
}

/** How many ended operators are kept. */
const HISTORY = 200;

export interface OperatorEvents {
  created?(op: Operator): void;
  ended?(op: Operator, how: OperatorEnd, why: string): void;
}

/** Stores whose peers may take the leadership (up and heard from recently). */
export type LiveStore = (storeId: number) => boolean;

export class OperatorController {
  private readonly ops = new Map<number, Operator>();
  private readonly history: EndedOperator[] = [];
  private lastId = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly events: OperatorEvents = {},
  ) {}

  get(regionId: number): Operator | undefined {
    return this.ops.get(regionId);
  }

  all(): IterableIterator<Operator> {
    return this.ops.values();
  }

  get size(): number {
    return this.ops.size;
  }

  count(category: OperatorCategory): number {
    let n = 0;
    for (const op of this.ops.values()) if (categoryOf(op.kind) === category) n++;
    return n;
  }

  /** Ended operators, the most recent last. */
  recent(): readonly EndedOperator[] {
    return this.history;
  }

  /** An operator by id: in flight, or among the recently ended. */
  find(id: number): { op: Operator; ended: EndedOperator | null } | undefined {
    for (const op of this.ops.values()) if (op.id === id) return { op, ended: null };
    const e = this.history.find((h) => h.op.id === id);
    return e ? { op: e.op, ended: e } : undefined;
  }

  /** Adds an operator unless the region has one; returns whether it was added (and gives it its id). */
  add(op: Operator): boolean {
    if (this.ops.has(op.regionId) || op.steps.length === 0) return false;
    op.id = ++this.lastId;
    this.ops.set(op.regionId, op);
    this.events.created?.(op);
    return true;
  }

  /** Drops the region's operator (e.g. the region was replaced by a split). */
  cancel(regionId: number, why: string): void {
    const op = this.ops.get(regionId);
    if (op) this.end(op, 'cancelled', why);
  }

  /**
   * The region split (a split report, before its leader heartbeats again): an operator whose
   * steps the new range shows all done (its own split) finished, any other is void.
   */
  onSplit(info: RegionInfo, now: number): void {
    const op = this.ops.get(Number(info.region.id));
    if (!op) return;
    if (op.steps.slice(op.current).every((s) => stepDone(s, info))) {
      op.current = op.steps.length;
      op.progressMs = now;
      this.end(op, 'finished', describe(op));
    } else if (staleness(op, info) !== null) this.end(op, 'cancelled', 'the region split');
  }

  private end(op: Operator, how: OperatorEnd, why: string): void {
    this.ops.delete(op.regionId);
    this.history.push({ op, how, why, endedMs: Date.now() });
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    this.events.ended?.(op, how, why);
  }

  /**
   * On a heartbeat of the region (already recorded in `info`): what to ask its leader, or null.
   * `paused` regions keep their operator (it may resume) but get nothing handed out.
   */
  dispatch(info: RegionInfo, now: number, live: LiveStore, paused = false): StepRequest | null {
    const op = this.ops.get(Number(info.region.id));
    if (!op) return null;
    const stale = staleness(op, info);
    if (stale) {
      this.end(op, 'cancelled', stale);
      return null;
    }
    while (op.current < op.steps.length && stepDone(op.steps[op.current]!, info)) {
      op.current++;
      op.progressMs = now;
    }
    if (op.current >= op.steps.length) {
      this.end(op, 'finished', describe(op));
      return null;
    }
    if (now - op.progressMs > this.timeoutMs) {
      this.end(op, 'timeout', `step ${op.current} made no progress for ${now - op.progressMs} ms`);
      return null;
    }
    if (paused) return null;
    const step = op.steps[op.current]!;
    if (step.type === 'remove-peer' && Number(info.leader?.id) === Number(step.peer.id)) {
      // Never remove the leader: move the leadership to a live voter first (the removal is handed
      // out once a heartbeat from the new leader comes).
      const to = (info.region.peers ?? []).find(
        (p) =>
          Number(p.id) !== Number(step.peer.id) &&
          isVoter(p) &&
          live(Number(p.storeId)) &&
          !info.pendingPeers.some((x) => Number(x.id) === Number(p.id)),
      );
      return to ? { transferLeader: { peer: { ...to } } } : null;
    }
    return stepRequest(step);
  }

  /**
   * Drops operators with a step left that needs a store no longer live: a learner to add or
   * promote there, a leadership to move there. They cannot finish, and while pending they keep
   * every other scheduler off the region (e.g. the replacement of the replicas of a store that
   * just died) until the timeout. Removals are kept: removing a peer on a dead store is how its
   * replica gets replaced. Every operator is made with live targets only, so a store must have
   * gone silent (or been taken out) since.
   */
  cancelUnreachable(live: LiveStore): Operator[] {
    const out: Operator[] = [];
    for (const op of [...this.ops.values()]) {
      const stuck = op.steps.slice(op.current).find((s) => {
        if (s.type === 'remove-peer' || s.type === 'split-region') return false;
        return !live(Number(s.type === 'transfer-leader' ? s.to.storeId : s.peer.storeId));
      });
      if (stuck) {
        this.end(op, 'cancelled', `${describeStep(stuck)}: the store is not live`);
        out.push(op);
      }
    }
    return out;
  }

  /** Drops operators whose region has not shown progress for the timeout (regions that stopped heartbeating). */
  expire(now: number): Operator[] {
    const out: Operator[] = [];
    for (const op of [...this.ops.values()]) {
      if (now - op.progressMs > this.timeoutMs) {
        this.end(op, 'timeout', `no progress for ${now - op.progressMs} ms`);
        out.push(op);
      }
    }
    return out;
  }
}
