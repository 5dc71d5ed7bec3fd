// A store's split flow: leaders of regions that grew by enough get measured (SplitCheckWorker); a
// region over the limit gets ids from the scheduler and its leader proposes a BatchSplit; once the
// split is applied, the range index shrinks the region and the new regions' peers start here.
import { raft_cmdpb } from '@tskv/proto';
import type { SplitDone } from './apply.js';
import type { PeerLifecycle } from './peer_lifecycle.js';
import type { SplitCheckResult, SplitCheckWorker } from './split_check.js';
import type { StoreContext } from './store_context.js';

export class SplitFlow {
  constructor(
    private readonly ctx: Pick<StoreContext, 'cfg' | 'router' | 'meta' | 'scheduler' | 'logger' | 'call'>,
    private readonly checker: SplitCheckWorker,
    private readonly lifecycle: PeerLifecycle,
  ) {}

  /** Leaders of regions that grew by enough since their last check get measured. */
  scheduleChecks(): void {
    const { cfg } = this.ctx;
    const diff = cfg.regionSplitCheckDiff || Math.max(1, Math.floor(cfg.regionSplitSize / 16));
    for (const p of this.ctx.router.all()) {
      if (!p.isLeader() || !p.isInitialized() || p.applyingSnapshot) continue;
      // A region near the limit is checked again as soon as enough was written to cross it.
      const due = p.approximateSize > 0 ? Math.min(diff, Math.max(1, cfg.regionMaxSize - p.approximateSize)) : diff;
      if (p.sizeDiffHint < due) continue;
      p.onSplitCheckScheduled();
      this.checker.schedule(structuredClone(p.region));
    }
  }

  /** A split check's answer: record the size; if the region must split, ask for ids and propose. */
  async onCheckResult(r: SplitCheckResult): Promise<void> {
    const { scheduler, logger } = this.ctx;
    const p = this.ctx.router.get(r.region.id!);
    if (!p) return;
    p.onSizeMeasured(r.size, r.keys);
    if (r.splitKeys.length === 0 || !scheduler.askBatchSplit) return;
    // Until a split lands, keep the region due for another check (no write may come to ask again).
    p.keepSplitCheckDue();
    if (!p.isLeader()) return;
    try {
      const ids = await scheduler.askBatchSplit(r.region, r.splitKeys.length);
      const requests = r.splitKeys.map((splitKey, i) => ({ splitKey, newRegionId: ids[i]!.newRegionId, newPeerIds: ids[i]!.newPeerIds }));
      const resp = await this.ctx.call({
        header: { regionId: r.region.id, peer: p.metaPeer(), regionEpoch: r.region.regionEpoch },
        adminRequest: { cmdType: raft_cmdpb.AdminCmdType.BatchSplit, splits: { requests } },
      });
      if (resp.header?.error) logger.info('split not done', { regionId: r.region.id, err: resp.header.error.message });
      else p.onSplitProposed();
    } catch (e) {
      logger.debug('split not done', { regionId: r.region.id, err: String(e) });
    }
  }

  /**
   * A split was applied and written: the region's range shrank and the new regions' peers on this
   * store start; the old region's leader reports the split.
   */
  onSplitApplied(sp: SplitDone): void {
    this.ctx.meta.setRegion(sp.derived);
    const wasLeader = sp.peer.isLeader();
    for (const r of sp.regions) this.lifecycle.createBySplit(r, wasLeader);
    if (wasLeader) this.ctx.scheduler.reportBatchSplit?.([sp.derived, ...sp.regions]);
  }
}
