// Coordinator: runs a scheduling round every scheduleIntervalMs: drops operators that timed out
// or need a store that is no longer live, turns emptied Offline stores into tombstones, then lets
// the schedulers plan (see schedulers/index.ts). Rounds never overlap; a failing round is logged
// and the next one runs.
import type { SchedulerCore } from './core.js';
import type { Operator } from './operator.js';
import { buildContext, schedule, storeIsLive } from './schedulers/index.js';

export class Coordinator {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly core: SchedulerCore) {}

  /** One round now; returns the operators it made. */
  async tick(): Promise<Operator[]> {
    const { core } = this;
    if (!core.bootstrapped) return [];
    const now = Date.now();
    core.ops.expire(now);
    core.ops.cancelUnreachable((s) => storeIsLive(core.state, core.cfg, now, s));
    const buried = await core.buryEmptyStores();
    for (const id of buried) core.logger.info('offline store emptied: now a tombstone', { storeId: id });
    // Each replica operator takes at most one new peer id, each balance-region one too.
    const need = core.cfg.replicaScheduleLimit + 2;
    const made = await core.ids.withReserved(need, (take) => {
      let n = 0;
      const ctx = buildContext(core.state, core.ops, core.cfg, Date.now(), () => {
        n++;
        return take();
      });
      const ops = schedule(ctx);
      if (n > 0) core.metrics.allocatedIds.inc(n);
      return ops;
    });
    return made;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running !== null) return;
      this.running = this.tick()
        .then(() => {})
        .catch((e: unknown) => {
          this.core.logger.error('scheduling round failed', { err: String(e) });
        })
        .finally(() => {
          this.running = null;
        });
    }, this.core.cfg.scheduleIntervalMs);
    this.timer.unref();
  }

  /** Stops the rounds and waits for one in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
