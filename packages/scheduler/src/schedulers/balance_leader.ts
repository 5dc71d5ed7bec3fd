// balance-leader: moves one leadership from a store with many leaders to a live follower's store
// with fewer, when the counts (operators in flight included) differ by more than
// leaderBalanceTolerance. A move changes the difference by 2, so with a tolerance of at least 1
// a move never makes the pair unbalanced the other way: no oscillation.
import type { metapb } from '@tskv/proto';
import { ClusterState, type RegionInfo } from '../cluster_state.js';
import { newOperator, type Operator } from '../operator.js';
import { isLive, isPending, loadOf, type SchedulingContext, schedulable } from './context.js';

export function balanceLeader(ctx: SchedulingContext): Operator | null {
  if (!ctx.cfg.enableBalanceLeader || ctx.ops.count('leader') >= ctx.cfg.leaderScheduleLimit) return null;
  const live = [...ctx.state.stores.keys()].filter((id) => isLive(ctx, id));
  if (live.length < 2) return null;
  const leaders = (id: number): number => loadOf(ctx, id).leaders;
  const minLeaders = Math.min(...live.map(leaders));
  const byLeaderStore = new Map<number, RegionInfo[]>();
  for (const info of ctx.state.regions.values()) {
    if (!info.leader || !schedulable(ctx, info)) continue;
    const s = Number(info.leader.storeId);
    let l = byLeaderStore.get(s);
    if (!l) {
      l = [];
      byLeaderStore.set(s, l);
    }
    l.push(info);
  }
  // Sources from the most leaders down, as long as one could still be out of tolerance.
  const sources = [...live].sort((a, b) => leaders(b) - leaders(a) || a - b);
  for (const source of sources) {
    if (leaders(source) - minLeaders <= ctx.cfg.leaderBalanceTolerance) break;
    let best: { info: RegionInfo; to: metapb.IPeer } | null = null;
    for (const info of byLeaderStore.get(source) ?? []) {
      for (const p of ClusterState.voters(info)) {
        const store = Number(p.storeId);
        if (store === source || !isLive(ctx, store) || isPending(info, p.id)) continue;
        if (leaders(source) - leaders(store) <= ctx.cfg.leaderBalanceTolerance) continue;
        if (!best || leaders(store) < leaders(Number(best.to.storeId))) best = { info, to: p };
      }
    }
    if (best) {
      return newOperator(best.info, 'balance-leader', [{ type: 'transfer-leader', fromStoreId: source, to: { ...best.to } }], ctx.now);
    }
  }
  return null;
}
