// The store's side of the scheduler (TinyKV's scheduler_task.go, TiKV's worker/pd.rs): region
// heartbeats from leaders and a store heartbeat, operators from the heartbeat answers carried out
// by proposing them (a split asks for ids first), and the liveness checks of leaders a follower
// may never hear from again (the scheduler asked about a region whose leader is missing for long;
// followers woken when their leader's store becomes unreachable).
import { type metapb, raft_cmdpb } from '@tskv/proto';
import { findPeerById } from '@tskv/util';
import type { StoreContext } from './store_context.js';
import type { SchedulerOperator } from './transport.js';

export class SchedulerTask {
  constructor(private readonly ctx: Pick<StoreContext, 'cfg' | 'router' | 'scheduler' | 'snapMgr' | 'logger' | 'call'>) {}

  /** One heartbeat period: every leader's region, the store, and the leader-missing check. */
  heartbeat(): void {
    let leaders = 0;
    for (const p of this.ctx.router.all()) {
      if (!p.isLeader()) continue;
      leaders++;
      const region = p.region;
      const leader = p.metaPeer();
      const stats = {
        pendingPeers: p.pendingPeers(),
        approximateSize: p.approximateSize,
        approximateKeys: p.approximateKeys,
        ...p.takeWritten(),
        ...p.takeRead(),
      };
      Promise.resolve(this.ctx.scheduler.regionHeartbeat(region, leader, stats))
        .then((op) => {
          if (op) void this.runOperator(region, leader, op);
        })
        .catch((e: unknown) => this.ctx.logger.debug('region heartbeat failed', { regionId: region.id, err: String(e) }));
    }
    void this.heartbeatStore(leaders);
    void this.checkLeaderMissing();
  }

  private async heartbeatStore(leaderCount: number): Promise<void> {
    const { router, scheduler } = this.ctx;
    if (!scheduler.storeHeartbeat) return;
    let applying = 0;
    let hibernating = 0;
    for (const p of router.all()) {
      if (p.applyingSnapshot) applying++;
      if (p.hibernating) hibernating++;
    }
    try {
      await scheduler.storeHeartbeat({
        storeId: this.ctx.cfg.storeId,
        regionCount: router.size,
        leaderCount,
        hibernatingCount: hibernating,
        applyingSnapshotCount: applying,
        snapshotBytes: await this.ctx.snapMgr.totalSize(),
      });
    } catch (e) {
      this.ctx.logger.debug('store heartbeat failed', { err: String(e) });
    }
  }

  /**
   * A peer cut off from its region's other members for a long time may have been removed without
   * anyone able to tell it (no member of the newer membership reaches it): it asks the scheduler.
   */
  private async checkLeaderMissing(): Promise<void> {
    const { cfg, router, scheduler, logger } = this.ctx;
    if (!scheduler.getRegionById) return;
    const now = performance.now();
    for (const p of [...router.all()]) {
      if (!p.dueForMembershipCheck(now, cfg.maxLeaderMissingMs)) continue;
      try {
        const info = await scheduler.getRegionById(p.regionId);
        if (!info) continue;
        const theirs = info.region.regionEpoch?.confVer ?? 0;
        const ours = p.region.regionEpoch?.confVer ?? 0;
        if (theirs > ours && !findPeerById(info.region, p.peerId)) {
          logger.info('the scheduler says this peer was removed: destroying', {
            regionId: p.regionId,
            peerId: p.peerId,
            theirConfVer: theirs,
            ourConfVer: ours,
          });
          router.send(p.regionId, {
            kind: 'gcPeer',
            msg: { regionId: p.regionId, toPeer: p.metaPeer(), regionEpoch: info.region.regionEpoch, isTombstone: true },
          });
        }
      } catch (e) {
        logger.debug('region lookup failed', { regionId: p.regionId, err: String(e) });
      }
    }
  }

  /** Carries out a scheduler operator by proposing its admin command on the region's leader. */
  private async runOperator(region: metapb.IRegion, leader: metapb.IPeer, op: SchedulerOperator): Promise<void> {
    const T = raft_cmdpb.AdminCmdType;
    if (op.splitRegion) return this.split(region, leader, op.splitRegion.splitKeys);
    const adminRequest: raft_cmdpb.IAdminRequest = op.transferLeader
      ? { cmdType: T.TransferLeader, transferLeader: op.transferLeader }
      : op.changePeerV2
        ? { cmdType: T.ChangePeerV2, changePeerV2: op.changePeerV2 }
        : { cmdType: T.ChangePeer, changePeer: op.changePeer };
    const resp = await this.ctx.call({ header: { regionId: region.id, peer: leader, regionEpoch: region.regionEpoch }, adminRequest });
    if (resp.header?.error) this.ctx.logger.debug('operator not carried out', { regionId: region.id, err: resp.header.error.message });
  }

  /**
   * A split the scheduler asks for, at its keys: ids from askBatchSplit, then a BatchSplit on the
   * region as heartbeated (a repeat after the split landed fails the epoch check, harmlessly).
   */
  private async split(region: metapb.IRegion, leader: metapb.IPeer, splitKeys: Uint8Array[]): Promise<void> {
    const { scheduler, logger } = this.ctx;
    if (!scheduler.askBatchSplit || splitKeys.length === 0) return;
    try {
      const ids = await scheduler.askBatchSplit(region, splitKeys.length);
      const requests = splitKeys.map((splitKey, i) => ({ splitKey, newRegionId: ids[i]!.newRegionId, newPeerIds: ids[i]!.newPeerIds }));
      const resp = await this.ctx.call({
        header: { regionId: region.id, peer: leader, regionEpoch: region.regionEpoch },
        adminRequest: { cmdType: raft_cmdpb.AdminCmdType.BatchSplit, splits: { requests } },
      });
      if (resp.header?.error) logger.debug('split operator not carried out', { regionId: region.id, err: resp.header.error.message });
    } catch (e) {
      logger.debug('split operator not carried out', { regionId: region.id, err: String(e) });
    }
  }

  /**
   * A store this one lost its connection to may be down. Followers of hibernating regions tick no
   * election timer, so nothing else would tell them that their leader died with it: those whose
   * leader is there (or who know none) wake and elect a new one without waiting
   * (Peer.onLeaderStoreUnreachable). If the leader is alive after all, their first (pre-)vote
   * request wakes it too. Leaders, and followers of leaders elsewhere, sleep on. Only peers asleep
   * now get the message: whatever wakes one later (its leader's next message) comes after it in the
   * mailbox. One pass over the peers.
   */
  storeUnreachable(storeId: number): void {
    let woken = 0;
    for (const p of this.ctx.router.all()) {
      if (!p.hibernating || p.isLeader()) continue;
      const leader = p.leaderPeer();
      if (leader && leader.storeId !== storeId) continue;
      this.ctx.router.send(p.regionId, { kind: 'leaderStoreUnreachable', storeId });
      woken++;
    }
    if (woken > 0) this.ctx.logger.info('store unreachable: woke hibernating followers of its leaders', { toStore: storeId, woken });
  }
}
