// RegionWorker: snapshot generation and application, off the raft worker's path.
//
// Generate: the raft worker captures a consistent view (an engine snapshot taken right after its
// kv write, so it holds exactly the applied state) and hands it over; the worker streams the
// region's range of every data CF into SST-like files through the SnapManager and posts the raft
// snapshot (metadata + where the files are) back to the peer's mailbox.
//
// Apply: verifies every checksum of the received files, deletes the region's old data, writes the
// new data in bounded batches, and finally flips the region state from Applying to Normal in one
// synced write. Every step is idempotent: a store that dies anywhere in between finds the region
// still Applying at restart and runs the whole task again.

import { DATA_CFS, type EngineSnapshot, type Engines, regionStateKey, snapshotRaftStateKey } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import type { Snapshot } from '@tskv/raft';
import PQueue from 'p-queue';
import type { StoreConfig } from './config.js';
import type { Logger } from './logger.js';
import { confStateFromRegion } from './peer_storage.js';
import { keyInRegionCf, regionCfRange } from './region_ranges.js';
import type { Router } from './router.js';
import { cfFilesOf, readSnapshotCf, type SnapKey, type SnapManager, snapKeyString } from './snap/index.js';

export interface GenerateTask {
  region: metapb.IRegion;
  index: number;
  term: number;
  /** A view of the kv engine at exactly `index` applied; closed by the worker. */
  kvSnap: EngineSnapshot;
}

export interface ApplyTask {
  region: metapb.IRegion;
  key: SnapKey;
}

class WorkerStopped extends Error {}

export class RegionWorker {
  private readonly genQueue: PQueue;
  private readonly applyQueue = new PQueue({ concurrency: 1 });
  private stopped = false;
  /** Told when applying fails for a reason other than stopping (the store then stops). */
  onFatal: ((e: Error) => void) | null = null;
  /** Test hook: awaited before each data batch of an apply is written (n counts from 1). */
  beforeApplyBatch: ((regionId: number, n: number) => Promise<void> | void) | null = null;

  constructor(
    private readonly cfg: StoreConfig,
    private readonly engines: Engines,
    readonly snapMgr: SnapManager,
    private readonly router: Router,
    private readonly logger: Logger,
  ) {
    this.genQueue = new PQueue({ concurrency: cfg.snapMaxConcurrentGenerating });
  }

  generate(task: GenerateTask): void {
    if (this.stopped) {
      this.release(task.kvSnap, task.region.id!);
      return;
    }
    void this.genQueue.add(() => this.runGenerate(task));
  }

  /** Registers the snapshot as 'applying' at once, so snap GC never takes its files. */
  apply(task: ApplyTask): void {
    if (this.stopped) return;
    this.snapMgr.register(task.key, 'applying');
    void this.applyQueue.add(() => this.runApply(task));
  }

  /**
   * Deletes the data of a destroyed peer's range. On the apply queue, so it runs in order with
   * snapshot applies: a peer of the same region re-created here later cannot lose its data to it.
   */
  destroy(region: metapb.IRegion): void {
    if (this.stopped) return;
    void this.applyQueue.add(async () => {
      const kv = this.engines.kv;
      try {
        let wb = kv.writeBatch();
        for (const cf of DATA_CFS) {
          const { start, end } = regionCfRange(cf, region);
          for await (const [k] of kv.scan(cf, start, end)) {
            if (this.stopped) return; // the tombstone is written: the next start cleans up
            wb.delete(cf, k);
            if (wb.count >= 4096) {
              await kv.write(wb, { sync: false });
              wb = kv.writeBatch();
            }
          }
        }
        if (wb.count > 0) await kv.write(wb, { sync: false });
        this.logger.info('destroyed peer data deleted', { regionId: region.id });
      } catch (e) {
        if (!this.stopped) this.logger.warn("deleting a destroyed peer's data failed", { regionId: region.id, err: String(e) });
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.genQueue.clear();
    this.applyQueue.clear();
    await Promise.all([this.genQueue.onIdle(), this.applyQueue.onIdle()]);
  }

  /** Resolves when no task is queued or running (tests). */
  async idle(): Promise<void> {
    await Promise.all([this.genQueue.onIdle(), this.applyQueue.onIdle()]);
  }

  /** Closes the kv snapshot a generate task pinned, in the background; a failure is only logged. */
  private release(kvSnap: EngineSnapshot, regionId: number): void {
    kvSnap.close().catch((e: unknown) => this.logger.warn('releasing the kv snapshot failed', { regionId, err: String(e) }));
  }

  private async runGenerate(task: GenerateTask): Promise<void> {
    const { region, index, term, kvSnap } = task;
    const regionId = region.id!;
    const key: SnapKey = { regionId, term, index };
    let snap: Snapshot | null = null;
    const t0 = performance.now();
    try {
      if (this.stopped) throw new WorkerStopped();
      // The same applied point was generated before (raft asked again): reuse the files, if they
      // are all still there (the snapshot GC may have been deleting them).
      let meta = await this.snapMgr.complete('gen', key);
      if (!meta) {
        meta = await this.snapMgr.build(key, region, (cf) => {
          const { start, end } = regionCfRange(cf, region);
          return this.engines.kv.scan(cf, start, end, { snapshot: kvSnap });
        });
      }
      const fileSize = (meta.cfFiles ?? []).reduce((a, f) => a + Number(f.size ?? 0), 0);
      const data = raft_serverpb.RaftSnapshotData.encode({ region, fileSize, meta, version: 1 }).finish();
      snap = { data, metadata: { index, term, confState: confStateFromRegion(region) } };
      this.logger.info('snapshot generated', { regionId, index, term, bytes: fileSize, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      if (!(e instanceof WorkerStopped)) this.logger.warn('snapshot generation failed', { regionId, index, err: String(e) });
    } finally {
      this.release(kvSnap, regionId);
    }
    if (!this.stopped) this.router.send(regionId, { kind: 'snapGenerated', snap });
  }

  private async runApply(task: ApplyTask): Promise<void> {
    const { region, key } = task;
    const regionId = region.id!;
    const t0 = performance.now();
    let done = false;
    try {
      const meta = await this.snapMgr.readMeta('rev', key);
      if (!meta) throw new Error(`snapshot ${snapKeyString(key)} of region ${regionId} to apply: its files are missing`);
      await this.snapMgr.verify('rev', key, meta);
      const kv = this.engines.kv;
      let wb = kv.writeBatch();
      let bytes = 0;
      let batches = 0;
      const flush = async (): Promise<void> => {
        if (this.stopped) throw new WorkerStopped();
        await this.beforeApplyBatch?.(regionId, ++batches);
        await kv.write(wb, { sync: false });
        wb = kv.writeBatch();
        bytes = 0;
      };
      // Old data first: whatever this peer held of the range is replaced as a whole.
      for (const cf of DATA_CFS) {
        const { start, end } = regionCfRange(cf, region);
        for await (const [k] of kv.scan(cf, start, end)) {
          wb.delete(cf, k);
          bytes += k.length + 16;
          if (bytes >= this.cfg.snapApplyBatchBytes) await flush();
        }
      }
      let records = 0;
      // A snapshot from a store without the transactional CFs has no files for them.
      for (const cf of cfFilesOf(meta).map((f) => f.cf)) {
        for await (const [k, v] of readSnapshotCf(this.snapMgr, 'rev', key, cf)) {
          if (!keyInRegionCf(cf, k, region))
            throw new Error(`snapshot ${snapKeyString(key)}: key ${Buffer.from(k).toString('hex')} in ${cf} is outside region ${regionId}`);
          wb.put(cf, k, v);
          bytes += k.length + v.length + 16;
          records++;
          if (bytes >= this.cfg.snapApplyBatchBytes) await flush();
        }
      }
      // The commit point: Normal from here on. Synced, which also makes every earlier batch durable.
      if (this.stopped) throw new WorkerStopped();
      const st = kv.getSync('raft', regionStateKey(regionId));
      if (!st || raft_serverpb.RegionLocalState.decode(st).state !== raft_serverpb.PeerState.Applying) {
        // The peer was destroyed meanwhile (the raft worker waits for applies, so this is a
        // safety net): its tombstone must stand.
        this.logger.warn('snapshot apply abandoned: the region is no longer applying', { regionId });
        throw new WorkerStopped();
      }
      wb.put(
        'raft',
        regionStateKey(regionId),
        raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Normal, region }).finish(),
      );
      wb.delete('raft', snapshotRaftStateKey(regionId));
      await this.beforeApplyBatch?.(regionId, ++batches);
      await kv.write(wb, { sync: true });
      done = true;
      this.snapMgr.stats.applied++;
      this.logger.info('snapshot applied', {
        regionId,
        index: key.index,
        term: key.term,
        records,
        batches,
        ms: Math.round(performance.now() - t0),
      });
    } catch (e) {
      if (e instanceof WorkerStopped || this.stopped) return; // redone at the next start
      this.snapMgr.stats.applyFailed++;
      const err = new Error(
        `region ${regionId}: applying snapshot ${snapKeyString(key)} failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
      this.logger.error('snapshot apply failed', { regionId, err: err.message });
      this.onFatal?.(err);
    } finally {
      this.snapMgr.deregister(key, 'applying');
    }
    if (done) {
      await this.snapMgr.delete('rev', key).catch(() => false);
      this.router.send(regionId, { kind: 'snapApplied', index: key.index });
    }
  }
}
