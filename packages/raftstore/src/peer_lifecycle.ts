// Peer lifecycle on a store: a peer is created uninitialized for a region first heard of by a
// message, or initialized for a region a split created; it is destroyed after its removal (a
// tombstone on disk, its raft state and log deleted, its data deleted in the background).
import { applyStateKey, prefixEnd, regionRaftPrefix, regionStateKey, snapshotRaftStateKey } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import { findPeer } from '@tskv/util';
import { RegionNotFoundError } from './errors.js';
import { Peer } from './peer.js';
import { PeerStorage, RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM } from './peer_storage.js';
import type { StoreContext } from './store_context.js';

export class PeerLifecycle {
  constructor(private readonly ctx: Pick<StoreContext, 'cfg' | 'engines' | 'router' | 'meta' | 'regionWorker' | 'logger'>) {}

  /** A peer of a region this store has no peer of: no range, empty log, until its first snapshot. */
  createUninitialized(regionId: number, peerId: number): Peer {
    const ps = PeerStorage.uninitialized(this.ctx.engines, regionId);
    const peer = new Peer(this.ctx.cfg, ps, peerId, this.ctx.logger);
    this.ctx.router.register(peer);
    return peer;
  }

  /**
   * The peer of a new region a split applied here created (initialized, log at the bootstrap
   * position), campaigning at once if the split region's leader was here. A new region's peer that
   * already exists uninitialized (its region elected a leader elsewhere first) keeps its hard
   * state; one destroyed here already (tombstone) is not re-created and its data goes.
   */
  createBySplit(r: metapb.IRegion, campaign: boolean): void {
    const { cfg, router, meta, logger } = this.ctx;
    const id = r.id!;
    const me = findPeer(r, cfg.storeId);
    if (!me) return;
    const existing = router.get(id);
    if (existing?.isInitialized()) {
      logger.warn('split: new region already initialized here', { regionId: id });
      return;
    }
    const t = meta.tombstones.get(id);
    if (t) {
      logger.info('split: new region was destroyed here already', { regionId: id });
      this.ctx.regionWorker.destroy(r);
      return;
    }
    const hs = existing ? existing.storage.raftState.hardState : { term: 0, vote: 0, commit: 0 };
    const raftState = {
      hardState:
        hs.term > RAFT_INIT_LOG_TERM
          ? { ...hs, commit: Math.max(hs.commit, RAFT_INIT_LOG_INDEX) }
          : { term: RAFT_INIT_LOG_TERM, vote: 0, commit: RAFT_INIT_LOG_INDEX },
      lastIndex: RAFT_INIT_LOG_INDEX,
      lastTerm: RAFT_INIT_LOG_TERM,
    };
    const ps = new PeerStorage(this.ctx.engines, r, raftState, {
      appliedIndex: RAFT_INIT_LOG_INDEX,
      truncatedIndex: RAFT_INIT_LOG_INDEX,
      truncatedTerm: RAFT_INIT_LOG_TERM,
    });
    if (existing) {
      router.unregister(id);
      existing.failAll(new RegionNotFoundError(id));
    }
    const peer = new Peer(cfg, ps, me.id!, logger);
    router.register(peer);
    meta.setRegion(r);
    // The old region's leader store elects the new regions at once instead of after a timeout.
    if (campaign) peer.raw.campaign();
    router.send(id, { kind: 'tick' });
  }

  /**
   * Destroys a removed peer: no more mail, a tombstone on disk (stale messages are dropped), its
   * raft state and log deleted, its data deleted in the background.
   */
  async destroy(p: Peer): Promise<void> {
    const { router, meta } = this.ctx;
    if (router.get(p.regionId) !== p) return;
    router.unregister(p.regionId);
    p.failAll(new RegionNotFoundError(p.regionId));
    const region = p.region;
    if (p.isInitialized()) meta.removeRegion(p.regionId);
    meta.tombstones.set(p.regionId, { epoch: region.regionEpoch ?? {}, peerId: p.peerId });
    await this.writeTombstone(region);
    if (p.isInitialized()) this.ctx.regionWorker.destroy(region);
    this.ctx.logger.info('peer destroyed', { regionId: p.regionId, peerId: p.peerId, confVer: region.regionEpoch?.confVer });
  }

  /**
   * The region's state becomes Tombstone (synced first: a lost delete then leaves an orphan raft
   * state under a tombstone, which stale messages cannot revive), then its raft state and log go.
   */
  async writeTombstone(region: metapb.IRegion): Promise<void> {
    const { engines } = this.ctx;
    const id = region.id!;
    const kvWb = engines.kv.writeBatch();
    kvWb.put(
      'raft',
      regionStateKey(id),
      raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Tombstone, region }).finish(),
    );
    kvWb.delete('raft', applyStateKey(id));
    kvWb.delete('raft', snapshotRaftStateKey(id));
    await engines.kv.write(kvWb, { sync: true });
    const prefix = regionRaftPrefix(id);
    await engines.raft.deleteRange('raft', prefix, prefixEnd(prefix));
  }
}
