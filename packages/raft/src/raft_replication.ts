// Leader-side replication to one follower: entries from its next index, or a snapshot when those
// were compacted, with the flow control of its Progress (Probe: one probe in flight; Replicate:
// an optimistic window bounded by Inflights).

import { CompactedError, SnapshotTemporarilyUnavailableError, StoreError } from './errors.js';
import type { Raft } from './raft.js';
import { ProgressState } from './tracker/progress.js';
import { type Entry, MessageType, newMessage, type Snapshot } from './types.js';

/**
 * Sends entries from the follower's next index, or a snapshot if those are compacted. Returns
 * false when nothing was sent (paused, or nothing to send and !sendIfEmpty).
 */
export function maybeSendAppend(r: Raft, to: number, sendIfEmpty: boolean): boolean {
  const pr = r.prs.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.nextIdx - 1;
  let prevTerm: number;
  let ents: Entry[];
  try {
    prevTerm = r.raftLog.term(prevIndex);
    ents = r.raftLog.entries(pr.nextIdx, r.maxMsgSize);
  } catch (e) {
    if (e instanceof CompactedError) return sendSnapshot(r, to);
    throw e;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  if (ents.length > 0) {
    const last = ents[ents.length - 1]!.index;
    if (pr.state === ProgressState.Replicate) {
      // Optimistically move next past what we just sent and track it in the inflight window.
      pr.optimisticUpdate(last);
      pr.ins.add(last);
    } else if (pr.state === ProgressState.Probe) {
      pr.pause();
    }
  }
  pr.appendSinceHeartbeat = true;
  r.send(
    newMessage({ msgType: MessageType.MsgAppend, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.raftLog.committed }),
  );
  return true;
}

function sendSnapshot(r: Raft, to: number): boolean {
  const pr = r.prs.get(to)!;
  if (!pr.recentActive) {
    r.logger.debug('raft: ignore sending snapshot since not recently active', { raftId: r.id, to });
    return false;
  }
  let snap: Snapshot;
  try {
    snap = r.raftLog.snapshot(pr.pendingRequestSnapshot, to);
  } catch (e) {
    if (e instanceof SnapshotTemporarilyUnavailableError) {
      r.logger.debug('raft: failed to send snapshot because snapshot is temporarily unavailable', { raftId: r.id, to });
      return false;
    }
    throw e;
  }
  if (snap.metadata.index === 0) throw new StoreError('need non-empty snapshot');
  pr.becomeSnapshot(snap.metadata.index);
  r.logger.debug('raft: sent snapshot', { raftId: r.id, to, index: snap.metadata.index, term: snap.metadata.term });
  r.send(newMessage({ msgType: MessageType.MsgSnapshot, to, snapshot: snap }));
  return true;
}
