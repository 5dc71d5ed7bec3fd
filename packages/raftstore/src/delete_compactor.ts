// DeleteCompactor: gives deleted space back. LevelDB drops a deleted key only when a compaction
// rewrites the files holding it, and nothing makes that happen soon after a large deletion (MVCC
// GC, a range of raw deletes): the tombstones and the old values stay on disk and every scan
// steps over them. So each store counts the keys its applied commands deleted per region and,
// past compactDeletesThreshold, compacts that region's ranges in every data CF, off the raft
// worker's path, one region at a time. Every replica applies the same deletes, so every replica
// compacts (the idea of RocksDB's compact-on-deletion collector that TiKV enables).
import { DATA_CFS, type Engine } from '@tskv/engine';
import type { metapb } from '@tskv/proto';
import PQueue from 'p-queue';
import type { Logger } from './logger.js';
import { regionCfRange } from './region_ranges.js';

export class DeleteCompactor {
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly counts = new Map<number, number>();
  private readonly queued = new Set<number>();
  private stopped = false;
  compactions = 0;

  constructor(
    private readonly kv: Engine,
    private readonly threshold: number,
    /** The region as this store knows it now (null: gone). */
    private readonly regionOf: (regionId: number) => metapb.IRegion | null,
    private readonly logger: Logger,
  ) {}

  /** Deletes applied (and written) in one round, per region. */
  note(deletes: ReadonlyMap<number, number>): void {
    if (this.stopped || this.threshold <= 0) return;
    for (const [id, n] of deletes) {
      const total = (this.counts.get(id) ?? 0) + n;
      this.counts.set(id, total);
      if (total >= this.threshold && !this.queued.has(id)) this.schedule(id);
    }
  }

  private schedule(regionId: number): void {
    this.queued.add(regionId);
    this.counts.delete(regionId);
    void this.queue.add(async () => {
      this.queued.delete(regionId);
      const region = this.regionOf(regionId);
      if (this.stopped || !region) return;
      const t0 = performance.now();
      try {
        for (const cf of DATA_CFS) {
          const { start, end } = regionCfRange(cf, region);
          await this.kv.compactRange(cf, start, end);
        }
        this.compactions++;
        this.logger.info('region compacted after deletions', { regionId, ms: Math.round(performance.now() - t0) });
      } catch (e) {
        if (!this.stopped) this.logger.warn('compacting a region after deletions failed', { regionId, err: String(e) });
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    await this.queue.onIdle();
  }
}
