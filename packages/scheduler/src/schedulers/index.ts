// One scheduling round over a context: the replica checker over every region first (a region
// short of replicas matters more than any balance), then balance-leader and balance-region,
// each within its concurrency limit. Every operator made is counted into the loads right away,
// so the later choices of the same round see it.
import type { Operator } from '../operator.js';
import { balanceLeader } from './balance_leader.js';
import { balanceRegion } from './balance_region.js';
import { addInfluence, type SchedulingContext } from './context.js';
import { checkReplicas } from './replica_checker.js';

export { balanceLeader } from './balance_leader.js';
export { balanceRegion } from './balance_region.js';
export { buildContext, canReceive, isConnected, isDown, isLive, mustEvacuate, type SchedulingContext, storeIsLive } from './context.js';
export { checkReplicas, pickTargetStore } from './replica_checker.js';

/** Makes this round's operators and adds them to ctx.ops; returns them. */
export function schedule(ctx: SchedulingContext): Operator[] {
  const made: Operator[] = [];
  const add = (op: Operator | null): boolean => {
    if (!op || !ctx.ops.add(op)) return false;
    const info = ctx.state.regions.get(op.regionId);
    if (info) addInfluence(ctx, op, info);
    made.push(op);
    return true;
  };
  if (ctx.cfg.enableReplicaChecker) {
    for (const info of ctx.state.regions.inOrder()) {
      if (ctx.ops.count('replica') >= ctx.cfg.replicaScheduleLimit) break;
      add(checkReplicas(ctx, info));
    }
  }
  // Leader moves, up to their limit in one round (as PD's leader-schedule-limit): each one made
  // is counted into the loads at once, so the next is planned on the counts after it, and a
  // transfer is cheap. With a thousand regions one move per round took minutes to balance.
  while (ctx.ops.count('leader') < ctx.cfg.leaderScheduleLimit && add(balanceLeader(ctx)));
  // One region move per round: it copies a replica, and the loads it changes move only as
  // heartbeats come.
  add(balanceRegion(ctx));
  return made;
}
