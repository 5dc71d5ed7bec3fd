// Follower-side handling of the leader's MsgAppend, MsgHeartbeat and MsgSnapshot. Raft keeps
// thin methods over these so tests can override them to inject faults.

import { StoreError } from './errors.js';
import type { Raft } from './raft.js';
import { type Message, MessageType, newMessage } from './types.js';

export function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.raftLog.committed) {
    // Already committed here: tell the leader where we are so it skips ahead.
    r.send(newMessage({ msgType: MessageType.MsgAppendResponse, to: m.from, index: r.raftLog.committed, commit: r.raftLog.committed }));
    return;
  }
  const res = r.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (res) {
    r.send(newMessage({ msgType: MessageType.MsgAppendResponse, to: m.from, index: res.lastNewIndex, commit: r.raftLog.committed }));
    return;
  }
  // Reject with a hint: the largest index <= m.index whose term <= m.logTerm, so the leader can
  // skip a whole term of mismatching entries per round trip instead of one entry.
  const hintIndex = Math.min(m.index, r.raftLog.lastIndex());
  const hint = r.raftLog.findConflictByTerm(hintIndex, m.logTerm);
  if (hint.term === undefined) throw new StoreError(`term(${hint.index}) must be valid`);
  r.logger.debug('raft: rejected MsgAppend', {
    raftId: r.id,
    logTerm: m.logTerm,
    index: m.index,
    hintIndex: hint.index,
    hintTerm: hint.term,
  });
  r.send(
    newMessage({
      msgType: MessageType.MsgAppendResponse,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
      commit: r.raftLog.committed,
    }),
  );
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  r.send(newMessage({ msgType: MessageType.MsgHeartbeatResponse, to: m.from, context: m.context, commit: r.raftLog.committed }));
}

export function handleSnapshot(r: Raft, m: Message): void {
  const snap = m.snapshot!;
  const { index, term } = snap.metadata;
  if (r.restore(snap)) {
    r.logger.info('raft: restored snapshot', { raftId: r.id, commit: r.raftLog.committed, index, term });
    r.send(newMessage({ msgType: MessageType.MsgAppendResponse, to: m.from, index: r.raftLog.lastIndex() }));
  } else {
    r.logger.info('raft: ignored snapshot', { raftId: r.id, commit: r.raftLog.committed, index, term });
    r.send(newMessage({ msgType: MessageType.MsgAppendResponse, to: m.from, index: r.raftLog.committed }));
  }
}
