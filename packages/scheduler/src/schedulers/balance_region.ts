// balance-region (TinyKV 3C): moves one replica from the fullest live store to the emptiest store
// that may receive it and holds no replica of that region.
//
// A store's score is the sum of its regions' scores (size in MiB, at least 1 each, so with no
// sizes measured it is the region count), operators in flight included. Within the source, a
// region whose peer there is pending goes first (moving it helps the most), then one it follows,
// then one it leads (as TinyKV). The move happens only if the source's score exceeds the
// target's by at least twice the region's: the move narrows the gap by exactly that, so the gap
// never changes sign and the reverse move is never warranted: no oscillation.
//
// Moving = add a learner on the target, promote it, remove the source's peer (the controller moves
// the leadership off it first if it leads). Regions the replica checker has work on (wrong voter
// count, learners, voters on stores to evacuate) are left to it.
import { findPeer } from '@tskv/util';
import { type RegionInfo, regionScore } from '../cluster_state.js';
import { isLearner, isVoter } from '../meta.js';
import { newOperator, type Operator } from '../operator.js';
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

function healthy(ctx: SchedulingContext, info: RegionInfo): boolean {
  const peers = info.region.peers ?? [];
  if (peers.some(isLearner)) return false;
  const voters = peers.filter(isVoter);
  return voters.length === ctx.cfg.maxReplicas && voters.every((v) => !mustEvacuate(ctx, Number(v.storeId)));
}

/** Candidate regions on the source in TinyKV's order: pending there, followed there, led there. */
function candidates(ctx: SchedulingContext, source: number): RegionInfo[] {
  const pending: RegionInfo[] = [];
  const follower: RegionInfo[] = [];
  const leader: RegionInfo[] = [];
  for (const info of ctx.state.regions.values()) {
    const peer = findPeer(info.region, source);
    if (!peer || !schedulable(ctx, info) || !healthy(ctx, info)) continue;
    if (isPending(info, peer.id)) pending.push(info);
    else if (Number(info.leader?.id) !== Number(peer.id)) follower.push(info);
    else leader.push(info);
  }
  return [...pending, ...follower, ...leader];
}

export function balanceRegion(ctx: SchedulingContext): Operator | null {
  if (!ctx.cfg.enableBalanceRegion || ctx.ops.count('region') >= ctx.cfg.regionScheduleLimit) return null;
  const live = [...ctx.state.stores.keys()].filter((id) => isLive(ctx, id));
  if (live.length < 2) return null;
  const score = (id: number): number => loadOf(ctx, id).score;
  const receivers = live.filter((id) => canReceive(ctx, id)).sort((a, b) => score(a) - score(b) || a - b);
  if (receivers.length === 0) return null;
  const sources = [...live].sort((a, b) => score(b) - score(a) || a - b);
  for (const source of sources) {
    // Every region scores at least 1: a gap under 2 cannot justify any move.
    if (score(source) - score(receivers[0]!) < 2) break;
    for (const info of candidates(ctx, source)) {
      const taken = storesOf(info);
      const target = receivers.find((t) => !taken.has(t));
      if (target === undefined) continue;
      if (score(source) - score(target) < 2 * regionScore(info)) continue;
      const voters = (info.region.peers ?? []).filter(isVoter);
      const from = voters.find((p) => Number(p.storeId) === source)!;
      const peer = { id: 0, storeId: target };
      if (!keepsQuorum(ctx, voters, null, target) || !keepsQuorum(ctx, [...voters, peer], Number(from.id))) continue;
      peer.id = ctx.allocId();
      return newOperator(
        info,
        'balance-region',
        [
          { type: 'add-learner', peer },
          { type: 'promote-learner', peer },
          { type: 'remove-peer', peer: { ...from } },
        ],
        ctx.now,
      );
    }
  }
  return null;
}
