// The decisions of a peer's hibernation (StoreConfig.hibernateRegions) that read its raft state:
// whether the leader's log is settled everywhere, the notices an idle leader sends as it falls
// asleep, whether a follower sleeps on such a notice, and what a sleeping follower does when its
// leader's store becomes unreachable. The sleep state itself is the peer's Hibernation.
import { eraftpb } from '@tskv/proto';
import { StateRole } from '@tskv/raft';
import type { StoreConfig } from './config.js';
import type { Peer } from './peer.js';
import { type Hibernation, pickCampaigner } from './peer_hibernate.js';
import type { RaftMessage } from './transport.js';

/** What the hibernation decisions read of the peer (and its RawNode, which they may drive). */
export type HibernatingPeer = Pick<
  Peer,
  'regionId' | 'peerId' | 'raw' | 'storage' | 'region' | 'logger' | 'applyingSnapshot' | 'isLeader' | 'leaderPeer' | 'metaPeer'
>;

/**
 * The raft half of an idle leader: everything replicated to every peer, committed and applied,
 * no leader transfer or conf change pending. The peer adds its own half (nothing proposed, read
 * or queued, no snapshot being applied, no removal pending).
 */
export function raftSettled(p: HibernatingPeer): boolean {
  const raw = p.raw;
  const last = raw.lastIndex();
  if (raw.leadTransferee !== 0) return false;
  if (raw.committed !== last || p.storage.applyState.appliedIndex !== last || raw.pendingConfIndex > last) return false;
  for (const [id, pr] of raw.progresses()) if (id !== p.peerId && pr.matched !== last) return false;
  return true;
}

/** The hibernate notices a leader falling asleep sends its followers: a heartbeat marked hibernate, with its log position. */
export function hibernateNotices(p: HibernatingPeer): RaftMessage[] {
  const out: RaftMessage[] = [];
  for (const to of p.region.peers ?? []) {
    if (to.id === p.peerId) continue;
    out.push({
      regionId: p.regionId,
      fromPeer: p.metaPeer(),
      toPeer: to,
      regionEpoch: p.region.regionEpoch,
      hibernate: true,
      message: {
        msgType: eraftpb.MessageType.MsgHeartbeat,
        from: p.peerId,
        to: to.id!,
        term: p.raw.term,
        commit: p.raw.committed,
        index: p.raw.lastIndex(),
      },
    });
  }
  return out;
}

/** The leader hibernates: so does this follower if it is exactly where the leader is. */
export function sleepsOnNotice(p: HibernatingPeer, m: RaftMessage): boolean {
  const raw = p.raw;
  const n = m.message;
  if (!n || p.isLeader() || p.applyingSnapshot || raw.leaderId !== n.from || raw.term !== n.term) return false;
  if (raw.lastIndex() !== n.index || raw.committed !== n.commit || p.storage.applyState.appliedIndex !== n.commit) return false;
  return true;
}

/**
 * The store of this sleeping follower's leader became unreachable (Store.reportStoreUnreachable;
 * the message woke it). Every such follower forgets the leader, so it grants a pre-vote at once,
 * and the one picked alike on every store (pickCampaigner) campaigns at once; the others'
 * election timers run in full first.
 * Forgetting the leader ends raft's lease early, and a leader lease (readMode 'lease') counts on
 * followers refusing votes for an election timeout after they last heard their leader: only a
 * follower asleep that long does it (its leader has confirmed nothing with it since). One that
 * fell asleep more recently is just awake, its election timer running as usual.
 */
export function onLeaderStoreUnreachable(p: HibernatingPeer, hibernation: Hibernation, cfg: StoreConfig, storeId: number): void {
  if (p.raw.role !== StateRole.Follower || p.applyingSnapshot) return;
  const leader = p.leaderPeer();
  if (leader && leader.storeId !== storeId) return; // another leader since the report
  if (!hibernation.asleepFor(cfg.raftElectionTicks * cfg.raftBaseTickMs, performance.now())) return;
  p.raw.forgetLeader();
  if (pickCampaigner(p.regionId, p.region.peers ?? [], storeId)?.id === p.peerId) {
    p.logger.debug("the leader's store is unreachable: campaigning", { leaderStore: storeId, term: p.raw.term });
    p.raw.campaign();
  }
}
