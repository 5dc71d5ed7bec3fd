// Starting elections: whether a node may campaign (MsgHup), and the campaign itself, a
// pre-election or an election, with the vote requests it sends. Raft keeps thin methods over
// these; votes are counted in Raft.poll and granted in Raft.step.

import { CompactedError } from './errors.js';
import { VoteResult } from './quorum/majority.js';
import type { Raft } from './raft.js';
import { StateRole } from './state_role.js';
import { EMPTY_BYTES, MessageType, newMessage } from './types.js';
import { voteRespMsgType } from './util.js';

/** Why a node campaigns; carried in the vote request context. */
export type CampaignType = 'preElection' | 'election' | 'transfer';
const CAMPAIGN_TRANSFER_CTX = new TextEncoder().encode('CampaignTransfer');

/** Whether a vote request's context marks a leader transfer's campaign (granted even inside a lease). */
export function isTransferCtx(ctx: Uint8Array): boolean {
  if (ctx.length !== CAMPAIGN_TRANSFER_CTX.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER_CTX[i]) return false;
  return true;
}

/** Starts an election (or pre-election) unless leader, not promotable, or conf changes are pending. */
export function hup(r: Raft, transfer: boolean): void {
  if (r.state === StateRole.Leader) {
    r.logger.debug('raft: ignoring MsgHup because already leader', { raftId: r.id });
    return;
  }
  if (!r.promotable()) {
    r.logger.warn('raft: is unpromotable and can not campaign', { raftId: r.id });
    return;
  }
  let pendingConf: boolean;
  try {
    pendingConf = r.hasUnappliedConfChange();
  } catch (e) {
    // A tail that cannot be read cannot be shown free of conf changes: refuse (etcd panics
    // here); the next election timeout checks again.
    if (!(e instanceof CompactedError)) throw e;
    r.logger.warn('raft: cannot campaign since the unapplied log tail was compacted', {
      raftId: r.id,
      term: r.term,
      log: r.raftLog.toString(),
    });
    return;
  }
  if (pendingConf) {
    r.logger.warn('raft: cannot campaign since there are still pending configuration changes to apply', {
      raftId: r.id,
      term: r.term,
      applied: r.raftLog.applied,
      committed: r.raftLog.committed,
    });
    return;
  }
  r.logger.info('raft: starting a new election', { raftId: r.id, term: r.term });
  r.campaign(transfer ? 'transfer' : r.preVote ? 'preElection' : 'election');
}

export function campaign(r: Raft, t: CampaignType): void {
  let voteMsg: MessageType;
  let term: number;
  if (t === 'preElection') {
    r.becomePreCandidate();
    voteMsg = MessageType.MsgRequestPreVote;
    // A pre-vote asks "would you vote for me at the next term?" without incrementing ours.
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    voteMsg = MessageType.MsgRequestVote;
    term = r.term;
  }
  if (r.poll(r.id, voteRespMsgType(voteMsg), true) === VoteResult.Won) {
    // A single-voter group wins immediately.
    if (t === 'preElection') r.campaign('election');
    else r.becomeLeader();
    return;
  }
  const index = r.raftLog.lastIndex();
  const logTerm = r.raftLog.lastTerm();
  const context = t === 'transfer' ? CAMPAIGN_TRANSFER_CTX : EMPTY_BYTES;
  for (const id of r.prs.config.voters.ids()) {
    if (id === r.id) continue;
    r.send(newMessage({ msgType: voteMsg, to: id, term, index, logTerm, context }));
  }
}
