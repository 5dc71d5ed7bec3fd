// The end of a run: once faults stop, the group must converge (liveness), and then every voter
// must hold every acknowledged write exactly once, in the same order (durability).
import { type ConfState, StateRole } from '../src/index.js';
import { type Checker, Violation } from './checker.js';
import type { SimNode } from './node.js';

const byId = (nodes: readonly SimNode[], id: number): SimNode => nodes[id - 1]!;

/**
 * The nodes still needed: the members of the latest committed configuration anyone applied, plus,
 * transitively, the members of any needed node's current configuration (a node that has not yet
 * applied its way out of a joint configuration still needs the outgoing voters' votes).
 */
export function neededNodes(nodes: readonly SimNode[]): Set<number> {
  let ref = nodes[0]!;
  for (const n of nodes) if (n.sm.applied > ref.sm.applied) ref = n;
  const needed = new Set<number>();
  const add = (cs: ConfState): void => {
    for (const id of [...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]) needed.add(id);
  };
  add(ref.mem.initialState().confState);
  for (let size = -1; size !== needed.size; ) {
    size = needed.size;
    for (const n of nodes) if (needed.has(n.id) && n.raw) add(n.raw.raft.prs.confState());
  }
  return needed;
}

/**
 * A leader of the highest term whose configuration is settled and whose voters are all alive, in
 * its term and caught up, if any. Learners are not waited for (durability is promised on voters):
 * a learner that reached a higher term never campaigns, and without pre-vote or check-quorum it
 * silently ignores the lower-term leader, so it can lag forever, as in etcd.
 */
export function quiescentLeader(nodes: readonly SimNode[]): SimNode | null {
  let leader: SimNode | null = null;
  for (const n of nodes) {
    const r = n.raw?.raft;
    if (r && r.state === StateRole.Leader && (!leader || r.term > leader.raw!.raft.term)) leader = n;
  }
  if (!leader) return null;
  const r = leader.raw!.raft;
  const cs = r.prs.confState();
  if (cs.votersOutgoing.length > 0) return null;
  const last = r.raftLog.lastIndex();
  if (r.raftLog.committed !== last || leader.sm.applied !== last) return null;
  for (const id of cs.voters) {
    const v = byId(nodes, id);
    const vr = v.raw?.raft;
    if (!vr || vr.term !== r.term || vr.raftLog.lastIndex() !== last || v.sm.applied !== last) return null;
  }
  return leader;
}

/** No acknowledged write lost; every voter holds the same writes, each once, in the same order. */
export function checkFinalState(nodes: readonly SimNode[], leader: SimNode, checker: Checker): void {
  const ref = leader.sm;
  for (const id of leader.raw!.raft.prs.confState().voters) {
    const sm = byId(nodes, id).sm;
    if (sm.applied !== ref.applied || sm.hash !== ref.hash || sm.ids.length !== ref.ids.length || sm.ids.some((x, i) => x !== ref.ids[i])) {
      throw new Violation(
        'state-machine-safety',
        `voter ${id}'s final state (applied ${sm.applied}, ${sm.ids.length} writes) ` +
          `differs from leader ${leader.id}'s (applied ${ref.applied}, ${ref.ids.length} writes)`,
      );
    }
  }
  const seen = new Set<number>();
  for (const id of ref.ids) {
    if (seen.has(id)) throw new Violation('durability', `proposal ${id} was applied more than once`);
    seen.add(id);
  }
  for (const [id, index] of checker.acked) {
    if (!seen.has(id))
      throw new Violation(
        'durability',
        `acknowledged proposal ${id} (applied at index ${index}) is missing from the final state of every voter`,
      );
  }
}

export function describeNodes(nodes: readonly SimNode[]): string {
  return nodes
    .map((n) => {
      if (!n.raw) return `${n.id}:${n.retired ? 'retired' : 'down'}`;
      const r = n.raw.raft;
      const cs = r.prs.confState();
      const joint = cs.votersOutgoing.length ? `|${cs.votersOutgoing}` : '';
      return (
        `${n.id}:${StateRole[r.state]} term=${r.term} lead=${r.leaderId} last=${r.raftLog.lastIndex()} ` +
        `commit=${r.raftLog.committed} applied=${n.sm.applied} voters=${cs.voters}${joint} learners=${cs.learners}`
      );
    })
    .join('; ');
}
