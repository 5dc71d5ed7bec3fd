// Raft log compaction seen from the leader: when it proposes CompactLog and up to which index, and
// which followers the compacted log left behind (they need a snapshot).
import { type metapb, raft_cmdpb } from '@tskv/proto';
import { EMPTY_BYTES, ProgressState, RaftError } from '@tskv/raft';
import type { StoreConfig } from './config.js';
import type { Peer } from './peer.js';

/** What the compaction decisions read of the peer (and its RawNode, which proposes). */
export type CompactingPeer = Pick<
  Peer,
  'regionId' | 'peerId' | 'raw' | 'storage' | 'region' | 'logger' | 'applyingSnapshot' | 'isLeader' | 'metaPeer' | 'findPeer'
>;

/**
 * Leader only: proposes CompactLog when the log past the truncated index is over the count or
 * size limit, or when healthy followers have made enough of it redundant. The index is the
 * lowest match among recently active followers (a follower that is down or cut off does not
 * hold the log back; it catches up by snapshot), but when over a limit a healthy follower may
 * not hold it back below applied - countLimit either: the limit bounds the log.
 */
export function maybeCompactLog(p: CompactingPeer, cfg: StoreConfig): void {
  if (!p.isLeader() || p.applyingSnapshot) return;
  const { appliedIndex: applied, truncatedIndex: truncated } = p.storage.applyState;
  if (applied <= truncated) return;
  let replicated = applied;
  for (const [id, pr] of p.raw.progresses()) {
    if (id !== p.peerId && pr.recentActive) replicated = Math.min(replicated, pr.matched);
  }
  const threshold = Math.min(cfg.raftLogGcThreshold, cfg.raftLogGcCountLimit);
  const overLimit = applied - truncated > cfg.raftLogGcCountLimit || p.storage.logSizeHint > cfg.raftLogGcSizeLimit;
  let idx = replicated;
  if (overLimit) idx = Math.max(idx, applied - cfg.raftLogGcCountLimit);
  else if (idx - truncated < threshold) return;
  if (idx <= truncated) return;
  const term = p.raw.logTerm(idx);
  const req: raft_cmdpb.IRaftCmdRequest = {
    header: { regionId: p.regionId, peer: p.metaPeer(), regionEpoch: p.region.regionEpoch },
    adminRequest: { cmdType: raft_cmdpb.AdminCmdType.CompactLog, compactLog: { compactIndex: idx, compactTerm: term } },
  };
  try {
    p.raw.propose(EMPTY_BYTES, raft_cmdpb.RaftCmdRequest.encode(req).finish());
    p.logger.debug('proposed compact log', { index: idx, term, applied, truncated });
  } catch (e) {
    if (!(e instanceof RaftError)) throw e; // dropped (e.g. leadership transfer): next tick
  }
}

/** Followers far behind: they need a snapshot or are being sent one. */
export function pendingPeers(p: CompactingPeer): metapb.IPeer[] {
  const out: metapb.IPeer[] = [];
  const truncated = p.storage.applyState.truncatedIndex;
  for (const [id, pr] of p.raw.progresses()) {
    if (id === p.peerId) continue;
    if (pr.state === ProgressState.Snapshot || pr.matched < truncated) {
      const q = p.findPeer(id);
      if (q) out.push(q);
    }
  }
  return out;
}
