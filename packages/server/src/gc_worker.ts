// MVCC garbage collection on this store: every gcIntervalMs it reads the scheduler's GC safe
// point and, region by region for the regions this store leads, deletes the versions no reader
// at or after it can see (@tskv/txn's gcBatch), one raft write per batch (so every replica
// deletes the same), at most gcBatchesPerSecond batches. Every replica then compacts a region
// that lost many keys (the raftstore's DeleteCompactor), so the disk space comes back.
//
// A region is done for a safe point once all its batches applied; a failure (leadership moved,
// a split) leaves it for the next round, which plans again from a fresh snapshot: any prefix of
// the batches is safe (see gc.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type { metapb } from '@tskv/proto';
import type { Logger, RegionStatus } from '@tskv/raftstore';
import { gcBatch, newGcStats } from '@tskv/txn';
import { RegionTxnStorage, type TxnStore } from './txn_storage.js';

export interface GcWorkerOptions {
  store: TxnStore & { regionStatus(): RegionStatus[]; readonly storeId: number };
  safePoint: () => Promise<bigint>;
  logger: Logger;
  intervalMs: number;
  /** Deletions per batch (one raft write). */
  batchKeys: number;
  /** Batches per second, over all regions (0: no limit). */
  batchesPerSecond: number;
}

/** What GC did since the store started (metrics, tests, the demo script). */
export interface GcWorkerStats {
  safePoint: bigint;
  rounds: number;
  regionsDone: number;
  batches: number;
  versionsDeleted: number;
  valuesDeleted: number;
  failures: number;
}

export class GcWorker {
  readonly stats: GcWorkerStats = {
    safePoint: 0n,
    rounds: 0,
    regionsDone: 0,
    batches: 0,
    versionsDeleted: 0,
    valuesDeleted: 0,
    failures: 0,
  };
  /** Per region: the safe point it was collected at, and the region version then. */
  private readonly done = new Map<number, { safePoint: bigint; version: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: GcWorkerOptions) {}

  start(): void {
    if (this.opts.intervalMs <= 0) return;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.runOnce().finally(() => {
          if (!this.stopped) tick();
        });
      }, this.opts.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One round over the regions this store leads (a round already running is joined). */
  runOnce(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    let sp: bigint;
    try {
      sp = await this.opts.safePoint();
    } catch (e) {
      this.opts.logger.debug('gc: no safe point from the scheduler', { err: String(e) });
      return;
    }
    this.stats.rounds++;
    this.stats.safePoint = sp;
    if (sp === 0n) return;
    for (const r of this.opts.store.regionStatus()) {
      if (this.stopped) return;
      if (!r.isLeader) continue;
      const version = r.region.regionEpoch?.version ?? 0;
      const prev = this.done.get(r.regionId);
      // A split changes the range: the new version is collected again.
      if (prev && prev.safePoint >= sp && prev.version === version) continue;
      try {
        await this.collect(r.region, sp);
        this.done.set(r.regionId, { safePoint: sp, version });
        this.stats.regionsDone++;
      } catch (e) {
        this.stats.failures++;
        this.opts.logger.info('gc of a region stopped; retried next round', { regionId: r.regionId, err: String(e) });
      }
    }
  }

  /** Deletes the region's versions that no reader at or after `sp` sees. */
  private async collect(region: metapb.IRegion, sp: bigint): Promise<void> {
    const peer = (region.peers ?? []).find((p) => p.storeId === this.opts.store.storeId);
    const header = { regionId: region.id!, regionEpoch: region.regionEpoch, peer };
    const storage = new RegionTxnStorage(this.opts.store, header, [], true);
    const range = { start: region.startKey ?? new Uint8Array(0), end: region.endKey ?? new Uint8Array(0) };
    const stats = newGcStats();
    let from = range.start;
    const gap = this.opts.batchesPerSecond > 0 ? 1000 / this.opts.batchesPerSecond : 0;
    for (;;) {
      if (this.stopped) throw new Error('stopped');
      const reader = await storage.reader();
      let batch: Awaited<ReturnType<typeof gcBatch>>;
      try {
        batch = await gcBatch(reader, { start: from, end: range.end }, sp, { maxModifies: this.opts.batchKeys, stats });
      } finally {
        await reader.close();
      }
      if (batch.modifies.length > 0) {
        const t0 = performance.now();
        await storage.write(batch.modifies);
        this.stats.batches++;
        const wait = gap - (performance.now() - t0);
        if (wait > 0) await sleep(wait);
      }
      if (batch.next === undefined) break;
      from = batch.next;
    }
    this.stats.versionsDeleted += stats.versionsDeleted;
    this.stats.valuesDeleted += stats.valuesDeleted;
    if (stats.versionsDeleted > 0)
      this.opts.logger.info('gc of a region done', { regionId: region.id, safePoint: String(sp), versionsDeleted: stats.versionsDeleted });
  }
}
