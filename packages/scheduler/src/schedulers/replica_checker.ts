// The replica checker: keeps every region at maxReplicas voters on healthy stores.
//
// - too few voters on healthy stores: add one on the least loaded store that may receive it (a
//   learner first, promoted once it caught up, so the newcomer never counts in the quorum before
//   it has the data); when a voter sits on a store that must be evacuated (down, offline, gone),
//   the same operator then removes that voter: replace = add, then remove, never the other way;
// - too many voters: remove one (an evacuated store's first, else the one on the most loaded
//   store), never the leader (it is moved first), never leaving fewer live voters than a quorum;
// - a learner no operator is waiting for (one whose operator timed out): promote it when a voter
//   is missing, else remove it.
import type { metapb } from '@tskv/proto';
import { ClusterState, type RegionInfo } from '../cluster_state.js';
import { isLearner, isVoter } from '../meta.js';
import { newOperator, type Operator, type Step } from '../operator.js';
import {
  canReceive,
  isLive,
  isPending,
  keepsQuorum,
  loadOf,
  mustEvacuate,
  type SchedulingContext,
  schedulable,
  storesOf,
} from './context.js';

/** The store that should receive a new replica of the region: may receive, holds none of it, fewest regions. */
export function pickTargetStore(ctx: SchedulingContext, info: RegionInfo): number | null {
  const taken = storesOf(info);
  let best: number | null = null;
  for (const id of ctx.state.stores.keys()) {
    if (taken.has(id) || !canReceive(ctx, id)) continue;
    if (best === null || better(ctx, id, best)) best = id;
  }
  return best;
}

function better(ctx: SchedulingContext, a: number, b: number): boolean {
  const la = loadOf(ctx, a);
  const lb = loadOf(ctx, b);
  if (la.regions !== lb.regions) return la.regions < lb.regions;
  if (la.score !== lb.score) return la.score < lb.score;
  return a < b;
}

/** A live voter other than `except` to take the leadership: not pending, fewest leaders. */
export function pickLeaderTarget(ctx: SchedulingContext, info: RegionInfo, except: number): metapb.IPeer | null {
  let best: metapb.IPeer | null = null;
  for (const p of ClusterState.voters(info)) {
    if (Number(p.id) === except || !isLive(ctx, Number(p.storeId)) || isPending(info, p.id)) continue;
    if (!best || loadOf(ctx, Number(p.storeId)).leaders < loadOf(ctx, Number(best.storeId)).leaders) best = p;
  }
  return best;
}

/** The steps removing `victim` (the leadership moved off it first if it leads). */
export function removalSteps(ctx: SchedulingContext, info: RegionInfo, victim: metapb.IPeer): Step[] | null {
  const steps: Step[] = [];
  if (Number(info.leader?.id) === Number(victim.id)) {
    const to = pickLeaderTarget(ctx, info, Number(victim.id));
    if (!to) return null;
    steps.push({ type: 'transfer-leader', fromStoreId: Number(victim.storeId), to: { ...to } });
  }
  steps.push({ type: 'remove-peer', peer: { ...victim } });
  return steps;
}

export function checkReplicas(ctx: SchedulingContext, info: RegionInfo): Operator | null {
  if (!schedulable(ctx, info)) return null;
  const peers = info.region.peers ?? [];
  const voters = peers.filter(isVoter);
  const max = ctx.cfg.maxReplicas;
  const bad = voters.filter((v) => mustEvacuate(ctx, Number(v.storeId)));
  const good = voters.length - bad.length;

  const learner = peers.find(isLearner);
  if (learner) return orphanLearner(ctx, info, learner, voters, good);

  if (good < max) {
    const target = pickTargetStore(ctx, info);
    if (target === null) return null;
    // The promotion must leave the live voters a quorum of the larger membership.
    if (!keepsQuorum(ctx, voters, null, target)) return null;
    const peer = { id: ctx.allocId(), storeId: target };
    const steps: Step[] = [
      { type: 'add-learner', peer },
      { type: 'promote-learner', peer },
    ];
    const victim = bad[0];
    if (victim && voters.length + 1 > max && keepsQuorum(ctx, [...voters, peer], Number(victim.id))) {
      const rm = removalSteps(ctx, info, victim);
      if (rm) steps.push(...rm);
    }
    return newOperator(info, steps.length > 2 ? 'replace-replica' : 'add-replica', steps, ctx.now);
  }

  if (voters.length > max) {
    // Evacuated stores' voters first, then the most loaded store's; followers before the leader.
    const order = [...voters].sort((a, b) => {
      const ba = bad.includes(a) ? 0 : 1;
      const bb = bad.includes(b) ? 0 : 1;
      if (ba !== bb) return ba - bb;
      const la = loadOf(ctx, Number(a.storeId)).regions;
      const lb = loadOf(ctx, Number(b.storeId)).regions;
      if (la !== lb) return lb - la;
      const lead = (p: metapb.IPeer): number => (Number(p.id) === Number(info.leader?.id) ? 1 : 0);
      return lead(a) - lead(b);
    });
    for (const victim of order) {
      if (!keepsQuorum(ctx, voters, Number(victim.id))) continue;
      const steps = removalSteps(ctx, info, victim);
      if (steps) return newOperator(info, 'remove-replica', steps, ctx.now);
    }
  }
  return null;
}

function orphanLearner(
  ctx: SchedulingContext,
  info: RegionInfo,
  learner: metapb.IPeer,
  voters: metapb.IPeer[],
  good: number,
): Operator | null {
  const store = Number(learner.storeId);
  const usable = !mustEvacuate(ctx, store) && isLive(ctx, store) && !isPending(info, learner.id);
  if (good < ctx.cfg.maxReplicas && usable) {
    if (!keepsQuorum(ctx, voters, null, store)) return null;
    return newOperator(info, 'promote-learner', [{ type: 'promote-learner', peer: { id: learner.id, storeId: learner.storeId } }], ctx.now);
  }
  // A learner waiting for a snapshot while a voter is missing may still become useful: give it time.
  if (good < ctx.cfg.maxReplicas && !mustEvacuate(ctx, store) && isPending(info, learner.id)) return null;
  return newOperator(info, 'remove-learner', [{ type: 'remove-peer', peer: { ...learner } }], ctx.now);
}
