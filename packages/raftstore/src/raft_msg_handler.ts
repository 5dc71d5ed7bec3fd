// Store-level handling of an inbound raft message, before any peer sees it: malformed and stale
// messages are dropped (raft_msg_filter.ts), a sender that missed its removal is told, a peer that
// missed its own removal goes, a snapshot that would overlap another region is refused, and a
// message for a region with no peer here may create one (TinyKV's store worker: onRaftMessage,
// checkMsg, maybeCreatePeer).
import { eraftpb, type metapb, raft_serverpb } from '@tskv/proto';
import type { PeerLifecycle } from './peer_lifecycle.js';
import { isForNewerPeer, isFromNonMember, isFromRemovedPeer, isStaleForTombstone, malformedReason, startsPeer } from './raft_msg_filter.js';
import type { StoreContext } from './store_context.js';
import type { RaftMessage } from './transport.js';

export class RaftMessageHandler {
  constructor(
    private readonly ctx: Pick<StoreContext, 'cfg' | 'router' | 'meta' | 'transport' | 'raftDrops' | 'logger'>,
    private readonly lifecycle: PeerLifecycle,
  ) {}

  /** A raft message from another store, for a running store. */
  handle(msg: RaftMessage): void {
    const { router, raftDrops } = this.ctx;
    const bad = malformedReason(msg, this.ctx.cfg.storeId);
    if (bad) {
      raftDrops.drop(bad.reason, msg, bad.detail);
      return;
    }
    const regionId = msg.regionId!;
    if (msg.isTombstone) {
      router.send(regionId, { kind: 'gcPeer', msg });
      return;
    }
    if (msg.hibernate) {
      router.send(regionId, { kind: 'hibernate', msg });
      return;
    }
    const peer = router.get(regionId);
    if (!peer) {
      this.maybeCreatePeer(msg);
      return;
    }
    if (isFromRemovedPeer(peer, msg)) {
      this.ctx.transport.send({
        regionId,
        fromPeer: peer.metaPeer(),
        toPeer: msg.fromPeer,
        regionEpoch: peer.region.regionEpoch,
        isTombstone: true,
      });
      return;
    }
    if (isFromNonMember(peer, msg)) {
      const confVer = peer.region.regionEpoch?.confVer ?? 0;
      raftDrops.drop('not_member', msg, `peer ${msg.fromPeer?.id} is not in conf version ${confVer}`);
      return;
    }
    const to = msg.toPeer?.id ?? 0;
    if (to !== peer.peerId) {
      // The peer removed without knowing it is often one removed before its first snapshot:
      // uninitialized, it never campaigns and nobody tells it. It goes, and the sender's next
      // message creates the new peer; until then the new peer's messages would all be dropped.
      // A message for an older peer is stale.
      if (isForNewerPeer(peer, msg)) {
        if (!peer.pendingRemove)
          this.ctx.logger.info('a message for a newer peer of the region: this one was removed', {
            regionId,
            peerId: peer.peerId,
            newPeerId: to,
          });
        router.send(regionId, {
          kind: 'gcPeer',
          msg: { regionId, toPeer: peer.metaPeer(), regionEpoch: msg.regionEpoch, isTombstone: true },
        });
      } else {
        raftDrops.drop('stale_peer', msg, `for peer ${to}, this store's peer is ${peer.peerId}`);
      }
      return;
    }
    if (msg.message?.msgType === eraftpb.MessageType.MsgSnapshot && !this.snapshotFits(regionId, msg)) return;
    router.send(regionId, { kind: 'raft', msg });
  }

  /** A snapshot whose range overlaps another region on this store would corrupt both: drop it. */
  private snapshotFits(regionId: number, msg: RaftMessage): boolean {
    let region: metapb.IRegion | null | undefined;
    try {
      region = raft_serverpb.RaftSnapshotData.decode(msg.message?.snapshot?.data ?? new Uint8Array(0)).region;
    } catch {
      region = null;
    }
    if (!region) {
      this.ctx.logger.warn('snapshot message without a region dropped', { regionId });
      return false;
    }
    const clash = this.ctx.meta
      .overlapping(region.startKey ?? new Uint8Array(0), region.endKey ?? new Uint8Array(0))
      .filter((id) => id !== regionId);
    if (clash.length > 0) {
      this.ctx.logger.info('snapshot overlapping other regions dropped', { regionId, overlaps: clash.join(',') });
      return false;
    }
    return true;
  }

  /**
   * A message for a region this store has no peer of: a peer added by a membership change (or a
   * split elsewhere) being contacted. It is created, uninitialized until its first snapshot,
   * unless the message is stale (this store's peer of the region was destroyed under a newer
   * membership), is not one that starts a peer, or the region's range overlaps one here.
   */
  private maybeCreatePeer(msg: RaftMessage): void {
    const { meta, raftDrops } = this.ctx;
    const regionId = msg.regionId!;
    const to = msg.toPeer;
    const type = msg.message?.msgType;
    if (!to?.id || to.storeId !== this.ctx.cfg.storeId) {
      raftDrops.drop('store_mismatch', msg, 'no target peer on this store');
      return;
    }
    if (!startsPeer(type)) {
      raftDrops.drop('no_peer', msg, `message type ${String(type)} does not start a peer`);
      return;
    }
    const t = meta.tombstones.get(regionId);
    if (t && isStaleForTombstone(msg, t)) {
      raftDrops.drop('stale_peer', msg, `region destroyed here (peer ${t.peerId}, conf version ${t.epoch.confVer ?? 0})`);
      return;
    }
    const start = msg.startKey ?? new Uint8Array(0);
    const end = msg.endKey ?? new Uint8Array(0);
    if (meta.overlapping(start, end).length > 0) {
      raftDrops.drop('no_peer', msg, 'the new region overlaps a region here');
      return;
    }
    this.lifecycle.createUninitialized(regionId, to.id);
    this.ctx.logger.info('peer created by a message', { regionId, peerId: to.id, from: msg.fromPeer?.id });
    this.ctx.router.send(regionId, { kind: 'raft', msg });
  }
}
