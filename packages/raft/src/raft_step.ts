// Role-specific message handling. Raft.step deals with terms and votes, then dispatches here.

import { VoteResult } from './quorum/majority.js';
import type { Raft } from './raft.js';
import { INVALID_ID, StateRole } from './state_role.js';
import { ProgressState } from './tracker/progress.js';
import { ConfChangeTransition, decodeConfChange, EMPTY_BYTES, EntryType, isConfChangeV2, type Message, MessageType } from './types.js';

export function stepLeader(r: Raft, m: Message): void {
  switch (m.msgType) {
    case MessageType.MsgBeat:
      r.bcastHeartbeat();
      return;
    case MessageType.MsgCheckQuorum:
      if (!r.prs.quorumRecentlyActive(r.id)) {
        r.logger.warn('raft: stepped down to follower since quorum is not active', { raftId: r.id, term: r.term });
        r.becomeFollower(r.term, INVALID_ID);
      }
      return;
    case MessageType.MsgPropose:
      leaderPropose(r, m);
      return;
    case MessageType.MsgReadIndex:
      leaderReadIndex(r, m);
      return;
    default:
      break;
  }

  // Everything else comes from a specific peer.
  const pr = r.prs.get(m.from);
  if (!pr) {
    r.logger.debug('raft: no progress available for peer', { raftId: r.id, from: m.from, type: MessageType[m.msgType] });
    return;
  }
  switch (m.msgType) {
    case MessageType.MsgAppendResponse:
      handleAppendResponse(r, m);
      return;
    case MessageType.MsgHeartbeatResponse:
      handleHeartbeatResponse(r, m);
      return;
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) {
        pr.snapshotFailure();
        r.logger.debug('raft: snapshot failed, resumed sending replication messages', { raftId: r.id, to: m.from });
      } else {
        r.logger.debug('raft: snapshot succeeded, resumed sending replication messages', { raftId: r.id, to: m.from });
      }
      pr.becomeProbe();
      // Wait for the follower's response (MsgAppendResponse / MsgHeartbeatResponse) before the
      // next append: the snapshot may still be in flight.
      pr.pause();
      return;
    case MessageType.MsgUnreachable:
      // Optimistic Replicate sending is pointless if the peer is unreachable; probe instead.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      r.logger.debug('raft: failed to send message to peer because it is unreachable', { raftId: r.id, to: m.from });
      return;
    case MessageType.MsgTransferLeader:
      handleTransferLeader(r, m);
      return;
    default:
      return;
  }
}

function leaderPropose(r: Raft, m: Message): void {
  if (m.entries.length === 0) throw new Error('raft: stepped empty MsgPropose');
  if (!r.prs.get(r.id) || r.isLearner) {
    // Removed or demoted but still leader (the step-down is pending).
    r.dropProposal('leader is not a voter of the configuration');
  }
  if (r.leadTransferee !== INVALID_ID) r.dropProposal(`leadership is being transferred to ${r.leadTransferee}`);

  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (e.entryType === EntryType.EntryNormal) continue;
    const cc = decodeConfChange(e);
    const leaveJoint = isConfChangeV2(cc) && cc.transition === ConfChangeTransition.Auto && cc.changes.length === 0;
    const alreadyJoint = r.prs.config.voters.isJoint();
    let refused = '';
    if (r.pendingConfIndex > r.raftLog.applied) {
      refused = `possible unapplied conf change at index ${r.pendingConfIndex} (applied to ${r.raftLog.applied})`;
    } else if (alreadyJoint && !leaveJoint) {
      refused = 'must transition out of joint config first';
    } else if (!alreadyJoint && leaveJoint) {
      refused = 'not in joint state; refusing empty conf change';
    }
    if (refused) {
      // The entry still goes into the log (so the proposer sees it committed), as a no-op.
      r.logger.info(`raft: ignoring conf change: ${refused}`, { raftId: r.id });
      m.entries[i] = { entryType: EntryType.EntryNormal, term: 0, index: 0, data: EMPTY_BYTES, context: e.context };
    } else {
      r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
    }
  }
  if (!r.appendEntry(m.entries)) r.dropProposal('uncommitted entry size limit exceeded');
  r.bcastAppend();
}

function leaderReadIndex(r: Raft, m: Message): void {
  // A lone voter is trivially the leader of every quorum.
  if (r.prs.isSingleton()) {
    r.respondToReadIndex(m, r.raftLog.committed);
    return;
  }
  // Until the leader commits an entry of its own term it does not know the latest commit index
  // (§6.4): postpone the request.
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  const readIndex = r.raftLog.committed;
  if (r.readOnly.option === 'safe') {
    // Confirm leadership with a heartbeat round carrying the request context.
    const ctx = m.entries[0]!.data;
    r.readOnly.addRequest(readIndex, m, r.id);
    r.readOnly.recvAck(r.id, ctx);
    r.bcastHeartbeatWithCtx(ctx);
  } else {
    // Lease-based: with checkQuorum the leader steps down before another can be elected.
    r.respondToReadIndex(m, readIndex);
  }
}

function handleAppendResponse(r: Raft, m: Message): void {
  const pr = r.prs.get(m.from)!;
  pr.recentActive = true;
  pr.updateCommitted(m.commit);
  r.maybeStepDownAfterRemoval();
  if (r.state !== StateRole.Leader) return;
  if (m.reject) {
    r.logger.debug('raft: received MsgAppendResponse rejection', {
      raftId: r.id,
      from: m.from,
      index: m.index,
      hint: m.rejectHint,
      logTerm: m.logTerm,
    });
    // The follower told us the last index whose term is <= the term we sent; jump to the last
    // index in our log with a term <= the follower's term there (fast backtracking, §5.3).
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, nextProbe, m.requestSnapshot)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      r.sendAppend(m.from);
    }
    return;
  }

  const oldPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index)) return;
  switch (pr.state) {
    case ProgressState.Probe:
      pr.becomeReplicate();
      break;
    case ProgressState.Snapshot:
      if (pr.isSnapshotCaughtUp()) {
        r.logger.debug('raft: snapshot caught up, resumed sending replication messages', { raftId: r.id, to: m.from, matched: pr.matched });
        pr.becomeProbe();
      }
      break;
    case ProgressState.Replicate:
      pr.ins.freeTo(m.index);
      break;
  }

  if (r.maybeCommit()) {
    if (r.shouldBcastCommit()) r.bcastAppend();
  } else if (oldPaused) {
    // maybeUpdate lifted a pause: send what was held back.
    r.sendAppend(m.from);
  }
  // The window may allow several size-limited appends at once.
  while (r.maybeSendAppend(m.from, false)) {
    // keep sending
  }
  if (m.from === r.leadTransferee && pr.matched === r.raftLog.lastIndex()) {
    r.logger.info('raft: sent MsgTimeoutNow after the transferee caught up', { raftId: r.id, to: m.from });
    r.sendTimeoutNow(m.from);
  }
}

function handleHeartbeatResponse(r: Raft, m: Message): void {
  const pr = r.prs.get(m.from)!;
  pr.recentActive = true;
  pr.resume();
  pr.updateCommitted(m.commit);
  r.maybeStepDownAfterRemoval();
  if (r.state !== StateRole.Leader) return;
  // Free one slot so a full window cannot stall a follower whose acks were lost.
  if (pr.state === ProgressState.Replicate && pr.ins.full()) pr.ins.freeFirstOne();
  if (pr.matched < r.raftLog.lastIndex() || pr.pendingRequestSnapshot !== 0) r.sendAppend(m.from);

  if (r.readOnly.option !== 'safe' || m.context.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (!acks || !r.prs.hasQuorum(acks)) return;
  for (const rs of r.readOnly.advance(m.context)) r.respondToReadIndex(rs.req, rs.index);
}

function handleTransferLeader(r: Raft, m: Message): void {
  const pr = r.prs.get(m.from)!;
  if (pr.isLearner) {
    r.logger.debug('raft: ignored transferring leadership to a learner', { raftId: r.id, to: m.from });
    return;
  }
  const transferee = m.from;
  if (r.leadTransferee !== INVALID_ID) {
    if (r.leadTransferee === transferee) {
      r.logger.info('raft: transfer leadership already in progress to the same node', { raftId: r.id, to: transferee });
      return;
    }
    r.abortLeaderTransfer();
    r.logger.info('raft: aborted previous leadership transfer', { raftId: r.id });
  }
  if (transferee === r.id) {
    r.logger.debug('raft: already leader; ignored transferring leadership to self', { raftId: r.id });
    return;
  }
  r.logger.info('raft: starting leadership transfer', { raftId: r.id, to: transferee, term: r.term });
  // The transfer must finish within one election timeout.
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.matched === r.raftLog.lastIndex()) {
    r.sendTimeoutNow(transferee);
  } else {
    // Catch the transferee up first; MsgTimeoutNow follows its append response.
    r.sendAppend(transferee);
  }
}

/** PreCandidate and Candidate. */
export function stepCandidate(r: Raft, m: Message): void {
  // Only count responses to the kind of vote we asked for: a stale MsgRequestVoteResponse must
  // not count towards a pre-vote, nor the reverse.
  const myVoteResp = r.state === StateRole.PreCandidate ? MessageType.MsgRequestPreVoteResponse : MessageType.MsgRequestVoteResponse;
  switch (m.msgType) {
    case MessageType.MsgPropose:
      r.dropProposal('no leader at this term');
      return;
    case MessageType.MsgAppend:
      r.becomeFollower(m.term, m.from);
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnapshot:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case MessageType.MsgTimeoutNow:
      r.logger.debug('raft: ignored MsgTimeoutNow as a candidate', { raftId: r.id, term: r.term });
      return;
    default:
      break;
  }
  if (m.msgType !== myVoteResp) return;
  const res = r.poll(m.from, m.msgType, !m.reject);
  if (res === VoteResult.Won) {
    if (r.state === StateRole.PreCandidate) {
      r.campaign('election');
    } else {
      r.becomeLeader();
      r.bcastAppend();
    }
  } else if (res === VoteResult.Lost) {
    // A pre-vote rejection carries a higher term only if the voter's term is higher; stepping
    // down at our own term keeps the pre-vote harmless.
    r.becomeFollower(r.term, INVALID_ID);
  }
}

export function stepFollower(r: Raft, m: Message): void {
  switch (m.msgType) {
    case MessageType.MsgPropose:
      if (r.leaderId === INVALID_ID) r.dropProposal('no leader at this term');
      if (r.disableProposalForwarding) r.dropProposal('proposal forwarding is disabled');
      m.to = r.leaderId;
      r.send(m);
      return;
    case MessageType.MsgAppend:
      r.electionElapsed = 0;
      r.leaderId = m.from;
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.leaderId = m.from;
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnapshot:
      r.electionElapsed = 0;
      r.leaderId = m.from;
      r.handleSnapshot(m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.leaderId === INVALID_ID) {
        r.logger.info('raft: no leader; dropping leader transfer message', { raftId: r.id, term: r.term });
        return;
      }
      m.to = r.leaderId;
      r.send(m);
      return;
    case MessageType.MsgTimeoutNow:
      if (r.promotable()) {
        r.logger.info('raft: received MsgTimeoutNow; starting an election to take over leadership', {
          raftId: r.id,
          term: r.term,
          from: m.from,
        });
        // A transfer skips pre-vote: the leader asked for it, there is no partition to guard against.
        r.hup(true);
      } else {
        r.logger.info('raft: received MsgTimeoutNow but is not promotable', { raftId: r.id, from: m.from });
      }
      return;
    case MessageType.MsgReadIndex:
      if (r.leaderId === INVALID_ID) {
        r.logger.info('raft: no leader; dropping read index request', { raftId: r.id, term: r.term });
        return;
      }
      m.to = r.leaderId;
      r.send(m);
      return;
    case MessageType.MsgReadIndexResp:
      if (m.entries.length !== 1) {
        r.logger.error('raft: invalid MsgReadIndexResp, entries count must be 1', { raftId: r.id, from: m.from, count: m.entries.length });
        return;
      }
      r.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
      return;
    default:
      return;
  }
}
