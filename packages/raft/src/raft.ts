// The Raft state machine: terms, elections, replication bookkeeping and membership. It performs no
// I/O: outgoing messages accumulate in `msgs`, new entries in the RaftLog's unstable part, and the
// RawNode hands both to the application through Ready. Raft holds the state and the entry points;
// their logic is in companions taking the Raft: role-specific message handling (raft_step.ts), the
// follower's handling of the leader's messages (raft_follower.ts), replication to one follower
// (raft_replication.ts), campaigns (raft_election.ts), appends and applies (raft_commit.ts),
// membership and snapshot restore (raft_membership.ts), and ticks (raft_ticks.ts).

import { changeConfig } from './confchange/apply.js';
import { confStateEquivalent, restore as restoreConf } from './confchange/restore.js';
import type { Config } from './config.js';
import { ProposalDroppedError, StoreError } from './errors.js';
import type { VoteResult } from './quorum/majority.js';
import { appendEntry, commitApply, hasUnappliedConfChange } from './raft_commit.js';
import { type CampaignType, campaign, hup, isTransferCtx } from './raft_election.js';
import { handleAppendEntries, handleHeartbeat, handleSnapshot } from './raft_follower.js';
import { RaftLog } from './raft_log.js';
import { maybeStepDownAfterRemoval, postConfChange, restore } from './raft_membership.js';
import { maybeSendAppend } from './raft_replication.js';
import { stepCandidate, stepFollower, stepLeader } from './raft_step.js';
import { tickElection, tickHeartbeat } from './raft_ticks.js';
import { ReadOnly, type ReadState } from './read_only.js';
import { INVALID_ID, type SoftState, StateRole } from './state_role.js';
import type { Storage } from './storage.js';
import { ProgressState } from './tracker/progress.js';
import { ProgressTracker } from './tracker/tracker.js';
import {
  type ConfChangeV2,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  type HardState,
  isEmptyHardState,
  type Message,
  MessageType,
  newMessage,
  type Snapshot,
} from './types.js';
import { type Logger, payloadsSize, voteRespMsgType } from './util.js';

export class Raft {
  readonly id: number;
  term = 0;
  vote = INVALID_ID;
  readStates: ReadState[] = [];
  raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxCommittedSizePerReady: number;
  readonly maxUncommittedSize: number;
  prs: ProgressTracker;
  state: StateRole = StateRole.Follower;
  /** True when this node is a learner in the current configuration. */
  isLearner = false;
  /** Outgoing messages, drained by the RawNode into Ready. */
  msgs: Message[] = [];
  leaderId = INVALID_ID;
  /** Target of an in-progress leadership transfer, or INVALID_ID. */
  leadTransferee = INVALID_ID;
  /**
   * Only one conf change may be pending (in the log but not yet applied) at a time. This is the
   * log index of the latest one; a new conf change is refused while it exceeds the applied index.
   */
  pendingConfIndex = 0;
  /**
   * A leader removed (or demoted) by a committed conf change keeps leading until a quorum of the
   * new configuration has acknowledged this commit index; stepping down earlier can leave the
   * remaining voters unaware that the change committed (still joint, needing the old leader's
   * vote, which its longer log then refuses). 0 when no step-down is pending.
   */
  stepDownAfterCommit = 0;
  readOnly: ReadOnly;
  /** ReadIndex requests received before this leader committed an entry of its own term. */
  pendingReadIndexMessages: Message[] = [];
  /** Ticks since the last election timeout reset (for a leader: since the last check-quorum round). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly skipBcastCommit: boolean;
  readonly skipRedundantHeartbeats: boolean;
  readonly disableProposalForwarding: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly minElectionTimeout: number;
  readonly maxElectionTimeout: number;
  /** Payload bytes of entries appended by this leader but not yet committed (back pressure). */
  uncommittedSize = 0;
  readonly logger: Logger;
  private readonly random: () => number;

  constructor(c: Config, store: Storage) {
    c.validate();
    this.id = c.id;
    this.logger = c.logger;
    this.random = c.random;
    this.raftLog = new RaftLog(store, c.logger);
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxCommittedSizePerReady = c.maxCommittedSizePerReady;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize;
    this.prs = new ProgressTracker(c.maxInflightMsgs);
    this.readOnly = new ReadOnly(c.readOnlyOption);
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.skipBcastCommit = c.skipBcastCommit;
    this.skipRedundantHeartbeats = c.skipRedundantHeartbeats;
    this.disableProposalForwarding = c.disableProposalForwarding;
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;
    this.minElectionTimeout = c.minElection();
    this.maxElectionTimeout = c.maxElection();

    const rs = store.initialState();
    restoreConf(this.prs, this.raftLog.lastIndex(), rs.confState);
    const cs = this.postConfChange();
    if (!confStateEquivalent(cs, rs.confState)) {
      throw new StoreError(`conf state ${JSON.stringify(cs)} restored differs from storage ${JSON.stringify(rs.confState)}`);
    }
    if (!isEmptyHardState(rs.hardState)) this.loadState(rs.hardState);
    if (c.applied > 0) this.commitApply(c.applied);
    this.becomeFollower(this.term, INVALID_ID);
    this.logger.info('raft: newRaft', {
      raftId: this.id,
      peers: [...this.prs.voterIds()],
      term: this.term,
      commit: this.raftLog.committed,
      applied: this.raftLog.applied,
      lastIndex: this.raftLog.lastIndex(),
      lastTerm: this.raftLog.lastTerm(),
    });
  }

  // ---- state accessors ----

  softState(): SoftState {
    return { leaderId: this.leaderId, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** A node may campaign only if it is a voter of the current configuration. */
  promotable(): boolean {
    const pr = this.prs.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.unstableSnapshot();
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  resetRandomizedElectionTimeout(): void {
    const span = this.maxElectionTimeout - this.minElectionTimeout;
    this.randomizedElectionTimeout = this.minElectionTimeout + Math.floor(this.random() * span);
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new StoreError(`hard state commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending ----

  /** Queues a message; stamps `from` and, except for votes and forwarded requests, the current term. */
  send(m: Message): void {
    // Like raft-rs, keep a `from` that is already set: a forwarded MsgTransferLeader names the
    // transferee there, not the forwarding follower.
    if (m.from === INVALID_ID) m.from = this.id;
    const t = m.msgType;
    if (
      t === MessageType.MsgRequestVote ||
      t === MessageType.MsgRequestPreVote ||
      t === MessageType.MsgRequestVoteResponse ||
      t === MessageType.MsgRequestPreVoteResponse
    ) {
      // Vote messages carry the term they are about (a pre-vote is for term+1), never 0.
      if (m.term === 0) throw new Error(`raft: term should be set when sending ${MessageType[t]}`);
    } else {
      if (m.term !== 0) throw new Error(`raft: term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      // Proposals and read requests forwarded to the leader keep term 0: they are local to the
      // leader and must not make it step down or be dropped as stale.
      if (t !== MessageType.MsgPropose && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends an append (or a snapshot) to `to` even when there is nothing new (a probe). */
  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends entries from the follower's next index, or a snapshot if those are compacted. Returns
   * false when nothing was sent (paused, or nothing to send and !sendIfEmpty).
   */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    return maybeSendAppend(this, to, sendIfEmpty);
  }

  sendHeartbeat(to: number, ctx: Uint8Array): void {
    // The follower may not have every committed entry yet; never tell it to commit past what it
    // is known to hold.
    const pr = this.prs.get(to)!;
    const commit = Math.min(pr.matched, this.raftLog.committed);
    this.send(newMessage({ msgType: MessageType.MsgHeartbeat, to, commit, context: ctx }));
  }

  bcastAppend(): void {
    for (const id of this.prs.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /** The periodic heartbeat (a tick or MsgBeat); see Config.skipRedundantHeartbeats. */
  bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingRequestCtx();
    if (!this.skipRedundantHeartbeats || ctx) {
      this.bcastHeartbeatWithCtx(ctx ?? EMPTY_BYTES);
      return;
    }
    for (const [id, pr] of this.prs.progress) {
      if (id === this.id) continue;
      const redundant = pr.appendSinceHeartbeat && pr.state === ProgressState.Replicate;
      pr.appendSinceHeartbeat = false;
      if (!redundant) this.sendHeartbeat(id, EMPTY_BYTES);
    }
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array): void {
    for (const id of this.prs.progress.keys()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  sendTimeoutNow(to: number): void {
    this.send(newMessage({ msgType: MessageType.MsgTimeoutNow, to }));
  }

  // ---- commit / apply ----

  /** Advances the commit index to what a quorum has persisted, if that entry is of this term. */
  maybeCommit(): boolean {
    if (!this.raftLog.maybeCommit(this.prs.committed(), this.term)) return false;
    this.releasePendingReadIndexMessages();
    return true;
  }

  shouldBcastCommit(): boolean {
    return !this.skipBcastCommit || this.hasPendingConf();
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  /** Called once entries up to (index, term) are durable locally. */
  onPersistEntries(index: number, term: number): void {
    if (!this.raftLog.maybePersist(index, term) || this.state !== StateRole.Leader) return;
    // The leader counts itself towards a quorum only for entries it has persisted.
    const pr = this.prs.get(this.id);
    if (pr?.maybeUpdate(index) && this.maybeCommit() && this.shouldBcastCommit()) this.bcastAppend();
  }

  onPersistSnap(index: number): void {
    this.raftLog.maybePersistSnap(index);
  }

  /**
   * Records that committed entries up to `applied` were applied; a leader that entered a joint
   * configuration with autoLeave proposes leaving it once that is applied (raft_commit.ts).
   */
  commitApply(applied: number): void {
    commitApply(this, applied);
  }

  /**
   * True if this leader's conf change is committed but not yet applied. Only a leader sets
   * pendingConfIndex; whether any node may campaign is decided by hasUnappliedConfChange().
   */
  hasPendingConf(): boolean {
    if (this.pendingConfIndex <= this.raftLog.applied) return false;
    return this.hasUnappliedConfChange();
  }

  /** True if a committed entry above the applied index is a conf change (raft_commit.ts). */
  hasUnappliedConfChange(): boolean {
    return hasUnappliedConfChange(this);
  }

  /** Appends proposals as a leader; false if the uncommitted-size limit refuses them. */
  appendEntry(es: Entry[]): boolean {
    return appendEntry(this, es);
  }

  /** Releases back-pressure budget for entries that were committed. */
  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.state !== StateRole.Leader || this.uncommittedSize === 0) return;
    // Entries of earlier leaders were never counted, hence the clamp.
    this.uncommittedSize = Math.max(0, this.uncommittedSize - payloadsSize(ents));
  }

  // ---- role transitions ----

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = INVALID_ID;
    }
    this.leaderId = INVALID_ID;
    this.resetRandomizedElectionTimeout();
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    this.pendingConfIndex = 0;
    this.stepDownAfterCommit = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
    const lastIndex = this.raftLog.lastIndex();
    const committed = this.raftLog.committed;
    const persisted = this.raftLog.persisted;
    for (const [id, pr] of this.prs.progress) {
      pr.reset(lastIndex + 1);
      if (id === this.id) {
        pr.matched = persisted;
        pr.committedIndex = committed;
      }
    }
  }

  becomeFollower(term: number, leaderId: number): void {
    this.reset(term);
    this.leaderId = leaderId;
    this.state = StateRole.Follower;
    this.logger.debug('raft: became follower', { raftId: this.id, term, leaderId });
  }

  becomeCandidate(): void {
    if (this.state === StateRole.Leader) throw new Error('raft: invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateRole.Candidate;
    this.logger.debug('raft: became candidate', { raftId: this.id, term: this.term });
  }

  becomePreCandidate(): void {
    if (this.state === StateRole.Leader) throw new Error('raft: invalid transition [leader -> pre-candidate]');
    // Neither the term nor the vote changes: a pre-vote must not disturb anything if it fails.
    this.state = StateRole.PreCandidate;
    this.prs.resetVotes();
    // A partitioned leader may have stepped down without telling us; forget it.
    this.leaderId = INVALID_ID;
    this.logger.debug('raft: became pre-candidate', { raftId: this.id, term: this.term });
  }

  becomeLeader(): void {
    if (this.state === StateRole.Follower) throw new Error('raft: invalid transition [follower -> leader]');
    this.reset(this.term);
    this.leaderId = this.id;
    this.state = StateRole.Leader;
    // The leader is trivially caught up with itself; reset() set its match to the persisted index.
    this.prs.get(this.id)?.becomeReplicate();
    // There may or may not be an unapplied conf change in the log tail; delaying new ones until
    // everything is applied is safe and avoids scanning the tail.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of the new term lets the leader commit (and learn the commit index of) all
    // earlier entries: only entries of the current term commit by counting replicas.
    const empty: Entry = { entryType: EntryType.EntryNormal, term: 0, index: 0, data: EMPTY_BYTES, context: EMPTY_BYTES };
    if (!this.appendEntry([empty])) throw new Error('raft: appending an empty entry must not be dropped');
    this.logger.info('raft: became leader', { raftId: this.id, term: this.term });
  }

  // ---- elections ----

  /** Starts an election (or pre-election) unless leader, not promotable, or conf changes are pending. */
  hup(transfer: boolean): void {
    hup(this, transfer);
  }

  campaign(t: CampaignType): void {
    campaign(this, t);
  }

  poll(id: number, t: MessageType, granted: boolean): VoteResult {
    this.logger.debug(granted ? 'raft: received vote' : 'raft: received rejection', {
      raftId: this.id,
      from: id,
      type: MessageType[t],
      term: this.term,
    });
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  // ---- step ----

  /** Processes one message. Throws ProposalDroppedError for proposals that cannot be accepted. */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message (or a proposal / read request forwarded from a follower).
    } else if (m.term > this.term) {
      if (m.msgType === MessageType.MsgRequestVote || m.msgType === MessageType.MsgRequestPreVote) {
        const force = isTransferCtx(m.context);
        const inLease = this.checkQuorum && this.leaderId !== INVALID_ID && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a live leader within the minimum election timeout: do not let a
          // partitioned or removed node depose it (the leader-stickiness of §6 / 9.6).
          this.logger.debug('raft: ignored vote request within lease', { raftId: this.id, from: m.from, term: this.term, msgTerm: m.term });
          return;
        }
      }
      if (m.msgType === MessageType.MsgRequestPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.msgType === MessageType.MsgRequestPreVoteResponse && !m.reject) {
        // A granted pre-vote carries term+1 of the pre-candidate; the term rises if we win.
      } else {
        this.logger.debug('raft: received a message with higher term', {
          raftId: this.id,
          term: this.term,
          msgTerm: m.term,
          from: m.from,
          type: MessageType[m.msgType],
        });
        const fromLeader =
          m.msgType === MessageType.MsgAppend || m.msgType === MessageType.MsgHeartbeat || m.msgType === MessageType.MsgSnapshot;
        this.becomeFollower(m.term, fromLeader ? m.from : INVALID_ID);
      }
    } else if (m.term < this.term) {
      if (m.msgType === MessageType.MsgHeartbeat || m.msgType === MessageType.MsgAppend) {
        // A stale leader (e.g. healed from a partition, or one whose vote requests we ignore
        // under the lease, or whose configuration we have not applied yet) would otherwise never
        // learn the new term; this response carries it so the stale leader steps down. Removed
        // peers are destroyed by the store, so they cannot use this to disrupt the group.
        this.send(newMessage({ msgType: MessageType.MsgAppendResponse, to: m.from }));
      } else if (m.msgType === MessageType.MsgRequestPreVote || m.msgType === MessageType.MsgRequestVote) {
        // Reject with our term (Raft §5.1: a stale request is answered with the current term),
        // so the candidate catches up instead of campaigning at a term nobody will vote in.
        this.send(newMessage({ msgType: voteRespMsgType(m.msgType), to: m.from, term: this.term, reject: true }));
      } else {
        this.logger.debug('raft: ignored a message with lower term', {
          raftId: this.id,
          term: this.term,
          msgTerm: m.term,
          from: m.from,
          type: MessageType[m.msgType],
        });
      }
      return;
    }

    switch (m.msgType) {
      case MessageType.MsgHup:
        this.hup(false);
        return;
      case MessageType.MsgRequestVote:
      case MessageType.MsgRequestPreVote:
        this.handleVoteRequest(m);
        return;
      default:
        if (this.state === StateRole.Leader) stepLeader(this, m);
        else if (this.state === StateRole.Follower) stepFollower(this, m);
        else stepCandidate(this, m);
    }
  }

  private handleVoteRequest(m: Message): void {
    // We can vote for m.from if we already did this term, if we have not voted and know no
    // leader, or for a pre-vote of a future term.
    const canVote =
      this.vote === m.from ||
      (this.vote === INVALID_ID && this.leaderId === INVALID_ID) ||
      (m.msgType === MessageType.MsgRequestPreVote && m.term > this.term);
    const respType = voteRespMsgType(m.msgType);
    if (canVote && this.isCandidateLogUpToDate(m.index, m.logTerm)) {
      // The response carries the term of the request so a pre-candidate can count it.
      this.logger.debug('raft: cast vote', { raftId: this.id, for: m.from, type: MessageType[m.msgType], term: this.term });
      this.send(newMessage({ msgType: respType, to: m.from, term: m.term }));
      if (m.msgType === MessageType.MsgRequestVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.logger.debug('raft: rejected vote', { raftId: this.id, for: m.from, type: MessageType[m.msgType], term: this.term });
      this.send(newMessage({ msgType: respType, to: m.from, term: this.term, reject: true }));
    }
  }

  /** §5.4.1 election restriction; a method so tests can inject a faulty rule and see it caught. */
  protected isCandidateLogUpToDate(lastIndex: number, lastTerm: number): boolean {
    return this.raftLog.isUpToDate(lastIndex, lastTerm);
  }

  // ---- follower handlers ----

  handleAppendEntries(m: Message): void {
    handleAppendEntries(this, m);
  }

  handleHeartbeat(m: Message): void {
    handleHeartbeat(this, m);
  }

  handleSnapshot(m: Message): void {
    handleSnapshot(this, m);
  }

  /** Installs a snapshot from the leader; false if it is stale or already covered by the log. */
  restore(snap: Snapshot): boolean {
    return restore(this, snap);
  }

  // ---- membership ----

  /** Applies a committed conf change to the tracker and returns the resulting ConfState. */
  applyConfChange(cc: ConfChangeV2): ConfState {
    const [cfg, prs] = changeConfig(this.prs, this.raftLog.lastIndex(), cc);
    this.prs.applyConf(cfg, prs, this.raftLog.lastIndex());
    return this.postConfChange();
  }

  /** Reacts to a new configuration: learner status, stepping down if removed, commit with the new quorum. */
  postConfChange(): ConfState {
    return postConfChange(this);
  }

  /** Steps down a removed leader once a quorum of the new configuration knows the commit index. */
  maybeStepDownAfterRemoval(): void {
    maybeStepDownAfterRemoval(this);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = INVALID_ID;
  }

  // ---- ticks ----

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.state === StateRole.Leader) tickHeartbeat(this);
    else tickElection(this);
  }

  // ---- read index ----

  /** Answers a ReadIndex request at `readIndex`: locally as a ReadState, or to the follower that forwarded it. */
  respondToReadIndex(req: Message, readIndex: number): void {
    if (req.from === INVALID_ID || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0]!.data });
      return;
    }
    this.send(newMessage({ msgType: MessageType.MsgReadIndexResp, to: req.from, index: readIndex, entries: req.entries }));
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) stepLeader(this, m);
  }

  /** Throws the library's ProposalDropped error (a helper so step handlers read clearly). */
  dropProposal(reason: string): never {
    this.logger.debug(`raft: ${reason}; dropping proposal`, { raftId: this.id, term: this.term });
    throw new ProposalDroppedError(reason);
  }
}
