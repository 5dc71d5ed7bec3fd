// Timestamps of transactions: u64 values from the scheduler's oracle, always bigint (they pass
// 2^53 from the first one: physical ms << 18 is about 2^58 today).
import { SchedulerUnavailableError } from './errors.js';
import type { OpState, RegionRouter } from './region_router.js';
import { errMsg } from './region_router.js';

/**
 * Logical bits of a timestamp: the scheduler's Tso counts MAX_LOGICAL = 1 << 18 logical values
 * per millisecond (as PD and TiKV), and @tskv/txn's physicalTime(ts) is ts >> 18.
 */
export const LOGICAL_BITS = 18n;

/** What the client needs of the scheduler's oracle (PdClient provides it). */
export interface TsoSource {
  tso(): Promise<{ physical: number; logical: number }>;
}

/** physical << 18 | logical, without going through a JS number. */
export function composeTs(physical: number, logical: number): bigint {
  if (!Number.isSafeInteger(physical) || physical < 0) throw new RangeError(`bad physical time ${physical}`);
  if (!Number.isInteger(logical) || logical < 0 || logical >= 1 << Number(LOGICAL_BITS))
    throw new RangeError(`bad logical time ${logical}`);
  return (BigInt(physical) << LOGICAL_BITS) | BigInt(logical);
}

/** The wall-clock part of a timestamp (ms). */
export function physicalMs(ts: bigint): bigint {
  return ts >> LOGICAL_BITS;
}

/** Timestamps from the scheduler, retried (with backoff) until the operation's deadline. */
export class Oracle {
  constructor(
    private readonly source: TsoSource,
    private readonly router: RegionRouter,
  ) {}

  async next(st: OpState): Promise<bigint> {
    for (;;) {
      this.router.checkOpen();
      try {
        const t = await this.router.within(this.source.tso(), st);
        return composeTs(t.physical, t.logical);
      } catch (e) {
        this.router.checkOpen();
        if (e instanceof RangeError)
          throw new SchedulerUnavailableError(`${st.what}: the scheduler's oracle answered ${e.message}`, this.router.schedulerAddr);
        st.note(`timestamp from the scheduler at ${this.router.schedulerAddr}: ${errMsg(e)}`);
      }
      if (st.expired())
        throw new SchedulerUnavailableError(
          `${st.what}: no timestamp before the deadline; last: ${st.lastError}`,
          this.router.schedulerAddr,
        );
      await st.backoff();
    }
  }
}
