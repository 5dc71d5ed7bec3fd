// Hibernation of an idle region's peer (StoreConfig.hibernateRegions): whether it sleeps, how long
// its leader has been idle, when a follower fell asleep, and which follower campaigns when a
// sleeping region's leader store becomes unreachable.
import { metapb } from '@tskv/proto';
import { fmix32 } from '@tskv/util';
import { roleOf } from './conf_change.js';

/**
 * A sleeping peer does not tick: the router skips it, and anything but a hibernate notice, an
 * unreachable report or a heartbeat response wakes it (Router.send). A leader falls asleep after
 * `hibernateIdleTicks` idle ticks and tells its followers; a follower sleeps on that notice when
 * it is exactly where the leader is.
 */
export class Hibernation {
  private asleep = false;
  private idleTicks = 0;
  /** performance.now() when this follower last fell asleep on its leader's notice. */
  private fellAsleepAt = 0;

  get hibernating(): boolean {
    return this.asleep;
  }

  wake(): void {
    if (!this.asleep) return;
    this.asleep = false;
    this.idleTicks = 0;
  }

  /**
   * An awake peer's tick: `idle` when it is a leader with nothing to do. Returns true when it
   * falls asleep now, after `idleTicksToSleep` idle ticks in a row (it then tells its followers).
   */
  onTick(idle: boolean, idleTicksToSleep: number): boolean {
    if (!idle) {
      this.idleTicks = 0;
      return false;
    }
    if (++this.idleTicks < idleTicksToSleep) return false;
    this.asleep = true;
    return true;
  }

  /** A follower falls asleep on its leader's notice at `now`. */
  sleepOnNotice(now: number): void {
    this.asleep = true;
    this.fellAsleepAt = now;
  }

  /**
   * Whether `ms` have passed at `now` since this follower last fell asleep on a notice (true if it
   * never did): its leader has confirmed nothing with it since, so no lease counts on it.
   */
  asleepFor(ms: number, now: number): boolean {
    return now - this.fellAsleepAt >= ms;
  }
}

/**
 * The one follower of a region that campaigns at once when its leader's store `downStoreId` is
 * unreachable, picked alike on every store: a hash of the region id among the voters on the other
 * stores ordered by peer id, so that the new leaders spread over the remaining stores. With a
 * replica down, a 3-replica region elects from exactly two followers: woken together and timing
 * out together, each would pre-vote, grant the other's pre-vote and split the vote, round after
 * round while the stores are busy electing every such region at once.
 */
export function pickCampaigner(regionId: number, peers: readonly metapb.IPeer[], downStoreId: number): metapb.IPeer | undefined {
  const voters = peers.filter((p) => p.storeId !== downStoreId && roleOf(p) === metapb.PeerRole.Voter).sort((a, b) => a.id! - b.id!);
  return voters[fmix32(regionId) % Math.max(1, voters.length)];
}
