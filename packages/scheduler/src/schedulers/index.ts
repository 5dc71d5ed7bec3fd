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
  // One balance operator of each kind per round (up to the limits over rounds): the loads move
  // only as heartbeats come, so a burst of moves would be planned on stale numbers.
  add(balanceLeader(ctx));
  add(balanceRegion(ctx));
  return made;
}
