// Peer: one region's replica on this store. Wraps a RawNode and its PeerStorage, turns client
// commands into proposals or read-index requests, and answers them when applied.
import { eraftpb, metapb, raft_cmdpb } from '@tskv/proto';
import {
  Config as RaftConfig,
  EMPTY_BYTES,
  Entry,
  Message,
  ProgressState,
  ProposalDroppedError,
  RaftError,
  RawNode,
  StateRole,
} from '@tskv/raft';
import { StoreConfig } from './config.js';
import { EpochNotMatchError, InvalidRequestError, KeyNotInRegionError, NotLeaderError, StaleCommandError, StoreError, StoreNotMatchError, TimeoutError } from './errors.js';
import { Logger } from './logger.js';
import { CmdCallback } from './msg.js';
import { PeerStorage, RAFT_INIT_LOG_TERM } from './peer_storage.js';
import { RaftMessage } from './transport.js';
import { checkKeyInRegion, errorResponse, isReadOnly, validateRequests } from './cmd.js';
import { applyChanges, changesOf, isJoint, roleOf, toRaftConfChange } from './conf_change.js';
import { QueuedCmd, mergeWrites } from './batch.js';

/** A write proposed at (index, term), answered when that index is applied. */
interface Proposal {
  index: number;
  term: number;
  cb: CmdCallback;
}

/** A read waiting for its ReadState (then for the applied index to reach it). */
interface PendingRead {
  req: raft_cmdpb.IRaftCmdRequest;
  cb: CmdCallback;
  readIndex: number;
  /** performance.now() when the read index was requested (start of the lease it can renew). */
  issuedAt: number;
}

let readSeq = 0;

/**
 * A well-mixed hash of an id (murmur3's finalizer). Ids allocated in runs (a split's region id,
 * then one peer id per replica) share their low bits, so `id % n` would give every region the
 * same pick.
 */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The context of the vote requests of a transferee's campaign (raft's CampaignTransfer). */
const CAMPAIGN_TRANSFER = Buffer.from('CampaignTransfer');

export class Peer {
  readonly regionId: number;
  readonly peerId: number;
  readonly storeId: number;
  readonly raw: RawNode;
  readonly storage: PeerStorage;
  readonly mailbox: import('./msg.js').PeerMsg[] = [];
  readonly logger: Logger;
  proposals: Proposal[] = [];
  /** Reads sent to raft.readIndex, keyed by their context (one per round's batch), waiting for a ReadState. */
  readonly readsAwaitingIndex = new Map<string, PendingRead[]>();
  /** Commands validated this round, proposed together by flushProposals (see batch.ts). */
  private queuedWrites: QueuedCmd[] = [];
  private queuedReads: QueuedCmd[] = [];
  /** Reads with a read index, waiting for applied >= readIndex. In index order. */
  readsAwaitingApply: PendingRead[] = [];
  /** The raft local state changed without a Ready to carry it (commit index from a LightReady). */
  raftStateDirty = false;
  /**
   * Set from accepting a snapshot until the region worker has put its data in place. Meanwhile
   * the raft worker takes no Ready from this peer (raft keeps stepping messages in memory), and
   * entries committed in the acceptance round wait in `deferredEntries`.
   */
  applyingSnapshot: { index: number; term: number } | null = null;
  deferredEntries: Entry[] = [];
  /** Bytes written to the region since its last split check (checks only regions that grew). */
  sizeDiffHint = Number.MAX_SAFE_INTEGER;
  /** The last split check's measure of the region (reported to the scheduler). */
  approximateSize = 0;
  approximateKeys = 0;
  /** This peer applied its own removal: it is destroyed once it is no longer leader. */
  pendingRemove = false;
  /** Peers learnt from messages (an uninitialized peer's region does not list them yet). */
  private readonly peerCache = new Map<number, metapb.IPeer>();
  private wasLeader = false;
  /** Length of a read lease in ms; 0 unless readMode is 'lease'. */
  private readonly leaseMs: number;

  constructor(storeCfg: StoreConfig, storage: PeerStorage, peerId: number, logger: Logger) {
    this.regionId = storage.regionId;
    this.peerId = peerId;
    this.storeId = storeCfg.storeId;
    this.storage = storage;
    this.logger = logger.child({ regionId: this.regionId, peerId });
    const raftLogger = {
      debug: (m: string, f?: Record<string, unknown>) => this.logger.debug(m, f),
      info: (m: string, f?: Record<string, unknown>) => this.logger.info(m, f),
      warn: (m: string, f?: Record<string, unknown>) => this.logger.warn(m, f),
      error: (m: string, f?: Record<string, unknown>) => this.logger.error(m, f),
    };
    const cfg = new RaftConfig({
      id: peerId,
      electionTick: storeCfg.raftElectionTicks,
      heartbeatTick: storeCfg.raftHeartbeatTicks,
      applied: storage.applyState.appliedIndex,
      maxSizePerMsg: storeCfg.raftMaxSizePerMsg,
      maxInflightMsgs: storeCfg.raftMaxInflightMsgs,
      checkQuorum: true,
      preVote: true,
      // Always confirm leadership through raft's safe ReadIndex; the store keeps its own lease
      // on top of those confirmations (see serveFromLease) instead of raft's leaseBased mode,
      // which trusts a leader until check-quorum notices, possibly after others elected anew.
      readOnlyOption: 'safe',
      // A new commit index rides on the next append or heartbeat instead of an extra round of
      // empty appends (and acks) to every follower per commit (TiKV: skip_bcast_commit). Raft
      // still broadcasts while a conf change is pending, and apply.ts after a split.
      skipBcastCommit: true,
      logger: raftLogger,
    });
    this.raw = new RawNode(cfg, storage);
    // 80% of the election timeout: followers' election timers run on the same kind of clock, but
    // the event loop can delay their ticks or ours; the margin absorbs that.
    this.leaseMs = storeCfg.readMode === 'lease' ? 0.8 * storeCfg.raftElectionTicks * storeCfg.raftBaseTickMs : 0;
    // Past the initial term it has taken part in elections: it may have confirmed a lease that
    // is still running (a restart; or a split replacing the uninitialized peer that heard the
    // new region's leader), see stepRaftMessage.
    this.voteGraceTicks = storage.raftState.hardState.term > RAFT_INIT_LOG_TERM ? storeCfg.raftElectionTicks : 0;
  }

  get region(): metapb.IRegion {
    return this.storage.region;
  }

  isLeader(): boolean {
    return this.raw.raft.state === StateRole.Leader;
  }

  leaderPeer(): metapb.IPeer | null {
    const id = this.raw.raft.leaderId;
    return id === 0 ? null : this.findPeer(id) ?? null;
  }

  findPeer(peerId: number): metapb.IPeer | undefined {
    return this.region.peers?.find((p) => p.id === peerId) ?? this.peerCache.get(peerId);
  }

  /** A peer with a region (range, members) from bootstrap, a split or a snapshot. */
  isInitialized(): boolean {
    return (this.region.peers?.length ?? 0) > 0;
  }

  metaPeer(): metapb.IPeer {
    return this.findPeer(this.peerId) ?? { id: this.peerId, storeId: this.storeId };
  }

  // ---- inbound ----

  stepRaftMessage(m: RaftMessage): void {
    if (!m.message || !m.toPeer || m.toPeer.id !== this.peerId) {
      this.logger.debug('dropping raft message for another peer', { to: m.toPeer?.id });
      return;
    }
    if (m.fromPeer?.id && !this.peerCache.has(m.fromPeer.id)) this.peerCache.set(m.fromPeer.id, { ...m.fromPeer });
    if (this.voteGraceTicks > 0 && this.isLeaseBoundVote(m.message as Message)) {
      this.logger.debug('ignored a vote request in the first election timeout after start', { from: m.message.from, term: m.message.term });
      return;
    }
    try {
      this.raw.step(m.message as Message);
    } catch (e) {
      if (e instanceof RaftError) this.logger.debug('raft rejected message', { err: e.message });
      else throw e;
    }
    this.noteTransfer(); // a follower may have forwarded a transfer request
  }

  /**
   * Followers refuse votes for an election timeout after they last heard the leader, which is
   * what a leader lease counts on (serveFromLease), but raft does so only while it knows that
   * leader. A Raft created from disk knows none and would grant a vote (or pre-vote) at once: a
   * follower restarted just after confirming a lease, with a candidate cut off from the leader
   * long enough for its own election timer to have run out, could elect another leader inside
   * the lease. So for its first election timeout such a peer ignores the vote requests raft
   * ignores inside a lease: of a higher term and not a transfer's. It started after anything
   * it confirmed, so this outlasts the lease.
   */
  private voteGraceTicks: number;

  private isLeaseBoundVote(m: Message): boolean {
    const t = m.msgType;
    if (t !== eraftpb.MessageType.MsgRequestVote && t !== eraftpb.MessageType.MsgRequestPreVote) return false;
    return m.term > this.raw.raft.term && Buffer.compare(m.context ?? EMPTY_BYTES, CAMPAIGN_TRANSFER) !== 0;
  }

  /**
   * Validates a command. Admin commands are proposed at once; writes and reads that need a read
   * index are queued and go to raft together at the end of the peer's mail (flushProposals):
   * the writes of a round as one merged entry, its reads under one ReadIndex.
   */
  propose(req: raft_cmdpb.IRaftCmdRequest, cb: CmdCallback): void {
    try {
      if (req.adminRequest) {
        this.proposeAdmin(req, cb);
        return;
      }
      this.checkCommand(req);
      if (isReadOnly(req)) {
        if (this.serveFromLease()) {
          this.leaseReads++;
          this.readsAwaitingApply.push({ req, cb, readIndex: this.raw.raft.raftLog.committed, issuedAt: 0 });
          return;
        }
        this.queuedReads.push({ req, cb });
        return;
      }
      this.queuedWrites.push({ req, cb });
    } catch (e) {
      this.answerProposeError(e, cb);
    }
  }

  /** Proposes the writes queued this round (merged, see batch.ts) and requests one read index for its reads. */
  flushProposals(): void {
    if (this.queuedWrites.length > 0) {
      const cmds = this.queuedWrites;
      this.queuedWrites = [];
      for (const c of mergeWrites(cmds)) {
        try {
          // Encoded once: the bytes are the entry's data in the log, the appends and the apply.
          this.raw.propose(EMPTY_BYTES, raft_cmdpb.RaftCmdRequest.encode(c.req).finish());
          this.trackProposal(c.cb);
        } catch (e) {
          this.answerProposeError(e, c.cb);
        }
      }
    }
    if (this.queuedReads.length > 0) {
      const reads = this.queuedReads;
      this.queuedReads = [];
      // Leadership may have gone with a message handled after the reads were queued.
      if (!this.isLeader()) {
        const err = errorResponse(new NotLeaderError(this.regionId, this.leaderPeer()));
        for (const r of reads) r.cb(err);
        return;
      }
      const ctx = new Uint8Array(12);
      const dv = new DataView(ctx.buffer);
      dv.setUint32(0, this.peerId >>> 0);
      dv.setFloat64(4, ++readSeq);
      this.raw.readIndex(ctx);
      const issuedAt = performance.now();
      this.readsAwaitingIndex.set(Buffer.from(ctx).toString('latin1'), reads.map((r) => ({ req: r.req, cb: r.cb, readIndex: 0, issuedAt })));
    }
  }

  private answerProposeError(e: unknown, cb: CmdCallback): void {
    if (e instanceof StoreError) cb(errorResponse(e));
    else if (e instanceof ProposalDroppedError) cb(errorResponse(new NotLeaderError(this.regionId, this.leaderPeer())));
    else cb(errorResponse(new InvalidRequestError(e instanceof Error ? e.message : String(e))));
  }

  /**
   * Admin commands: membership changes go through raft as conf changes (their request rides in
   * the entry's context), TransferLeader is done by the leader at once, CompactLog is an entry.
   */
  private proposeAdmin(req: raft_cmdpb.IRaftCmdRequest, cb: CmdCallback): void {
    const admin = req.adminRequest!;
    const h = req.header;
    if (!h) throw new InvalidRequestError('missing header');
    if (h.peer && h.peer.storeId && h.peer.storeId !== this.storeId) throw new StoreNotMatchError(h.peer.storeId, this.storeId);
    if (!this.isLeader()) throw new NotLeaderError(this.regionId, this.leaderPeer());
    if ((req.requests ?? []).length > 0) throw new InvalidRequestError('an admin request carries no other requests');
    const T = raft_cmdpb.AdminCmdType;
    switch (admin.cmdType) {
      case T.ChangePeer:
      case T.ChangePeerV2: {
        checkEpoch(req, this.region, { version: false });
        const changes = changesOf(admin);
        if (changes.length === 0) throw new InvalidRequestError('a membership change without changes');
        const raft = this.raw.raft;
        // One membership change at a time: raft would silently turn a second one into a no-op.
        if (raft.pendingConfIndex > raft.raftLog.applied || isJoint(this.region)) {
          throw new StaleCommandError(`region ${this.regionId} has a membership change in progress; retry`);
        }
        applyChanges(this.region, changes); // validates: raft and the region meta must agree
        const data = raft_cmdpb.RaftCmdRequest.encode(req).finish();
        this.raw.proposeConfChange(data, toRaftConfChange(changes, data));
        this.trackProposal(cb);
        return;
      }
      case T.TransferLeader: {
        checkEpoch(req, this.region);
        const to = admin.transferLeader?.peer;
        const target = to?.id ? this.region.peers?.find((p) => p.id === to.id) : undefined;
        if (!target) throw new InvalidRequestError(`transfer leader: peer ${to?.id} is not a member of region ${this.regionId}`);
        if (target.id !== this.peerId) this.raw.transferLeader(target.id!);
        this.noteTransfer();
        cb({ header: { currentTerm: this.raw.raft.term }, responses: [], adminResponse: { cmdType: T.TransferLeader, transferLeader: {} } });
        return;
      }
      case T.BatchSplit:
        checkEpoch(req, this.region, { confVer: false });
        this.raw.propose(EMPTY_BYTES, raft_cmdpb.RaftCmdRequest.encode(req).finish());
        this.trackProposal(cb);
        return;
      case T.CompactLog:
        this.raw.propose(EMPTY_BYTES, raft_cmdpb.RaftCmdRequest.encode(req).finish());
        this.trackProposal(cb);
        return;
      default:
        throw new InvalidRequestError(`unsupported admin command ${String(admin.cmdType)}`);
    }
  }

  /** Remembers the proposal just appended at the end of the log, to answer it when applied. */
  private trackProposal(cb: CmdCallback): void {
    const raft = this.raw.raft;
    const index = raft.raftLog.lastIndex();
    // Keep proposals sorted by index: a leader re-elected with a shorter log proposes at
    // indexes its old-term proposals occupied; those entries were overwritten, so answer them.
    while (this.proposals.length > 0 && this.proposals[this.proposals.length - 1]!.index >= index) {
      const old = this.proposals.pop()!;
      old.cb(errorResponse(new StaleCommandError(`proposal at ${old.index} (term ${old.term}) was overwritten before term ${raft.term}`)));
    }
    this.proposals.push({ index, term: raft.term, cb });
  }

  /**
   * Lease read (readMode 'lease'). A ReadIndex requested at time t was confirmed by a quorum whose
   * heartbeat responses were sent after t; each of those followers then refuses votes for an
   * election timeout (raft's check-quorum lease), so no other leader can exist before
   * t + electionTimeout. The lease ends earlier by a margin for timer lag, and with any term
   * change. Reads inside it are served at the commit index without a heartbeat round.
   *
   * Leader transfer: MsgTimeoutNow makes the transferee campaign with the transfer context, and
   * voters grant that vote even inside their lease. The message, and the vote requests it
   * causes, may arrive any time later, also after the transfer timed out, and the vote is granted
   * as long as the voter is still in this term. So no lease read in a term once a transfer has
   * started in it (transferTerm): reads go through ReadIndex, which needs a quorum in this term.
   *
   * Membership changes keep the lease: the confirming quorum belongs to the configuration of
   * that moment, and every quorum of the next configuration intersects it (raft changes one
   * voter at a time or goes through a joint configuration). Each later change is proposed only
   * after the previous one is applied here, so after t, and the quorum that committed it heard
   * this leader after t; the quorums of the configuration it makes intersect that one. So every
   * configuration since t needs the vote of a peer that refuses votes until after the lease.
   *
   * Splits: a lease read takes the commit index as its read index and is checked against the
   * region again when served (serveReads). If a split was committed when the read was accepted,
   * it is applied by the time the read is served, which is then refused (EpochNotMatch). If not,
   * no other store knew it was committed (commit indexes come from this leader), so no peer of a
   * new region existed elsewhere, and the new regions' writes all come after the split: the
   * moved keys read here hold the parent's state up to the split.
   */
  private serveFromLease(): boolean {
    if (this.leaseMs === 0) return false;
    this.noteTransfer();
    const raft = this.raw.raft;
    return (
      raft.term === this.leaseTerm &&
      raft.term !== this.transferTerm &&
      performance.now() < this.leaseExpiry &&
      raft.committedEntryInCurrentTerm()
    );
  }

  /**
   * Records a leader transfer under way in the current term. A transfer starts only when raft
   * steps a MsgTransferLeader, in stepRaftMessage or proposeAdmin, which call this right after.
   */
  private noteTransfer(): void {
    const raft = this.raw.raft;
    if (raft.leadTransferee !== 0) this.transferTerm = raft.term;
  }

  /** The last term in which this peer, as leader, started a leader transfer (see serveFromLease). */
  private transferTerm = 0;

  /** Reads served inside the lease, without a heartbeat round (observability and tests). */
  leaseReads = 0;
  private leaseExpiry = 0;
  private leaseTerm = 0;

  private checkCommand(req: raft_cmdpb.IRaftCmdRequest): void {
    const h = req.header;
    if (!h) throw new InvalidRequestError('missing header');
    if (h.peer && h.peer.storeId && h.peer.storeId !== this.storeId) throw new StoreNotMatchError(h.peer.storeId, this.storeId);
    if (!this.isLeader()) throw new NotLeaderError(this.regionId, this.leaderPeer());
    validateRequests(req);
    checkEpoch(req, this.region);
    for (const r of req.requests ?? []) checkKeyInRegion(r, this.region);
  }

  /** Followers far behind: they need a snapshot or are being sent one. */
  pendingPeers(): metapb.IPeer[] {
    const out: metapb.IPeer[] = [];
    const truncated = this.storage.applyState.truncatedIndex;
    for (const [id, pr] of this.raw.raft.prs.progress) {
      if (id === this.peerId) continue;
      if (pr.state === ProgressState.Snapshot || pr.matched < truncated) {
        const p = this.findPeer(id);
        if (p) out.push(p);
      }
    }
    return out;
  }

  /** Whether a peer id is a member of the region (not just a peer heard from). */
  isMember(peerId: number): boolean {
    return (this.region.peers ?? []).some((p) => p.id === peerId);
  }

  /**
   * A member of a newer membership of the region says this peer is no longer in it: this peer
   * missed its own removal (a partition, a crash). Only a strictly newer conf_ver that leaves
   * this peer out counts.
   */
  onGcMessage(m: RaftMessage): void {
    if (m.toPeer?.id !== this.peerId) return;
    const theirs = m.regionEpoch?.confVer ?? 0;
    const ours = this.region.regionEpoch?.confVer ?? 0;
    if (theirs <= ours && this.isInitialized()) return;
    this.logger.info('removed from the region while away: destroying', { theirConfVer: theirs, ourConfVer: ours });
    this.pendingRemove = true;
  }

  // ---- hibernation (StoreConfig.hibernateRegions) ----

  /** Not ticking: the region is idle. The router skips it for ticks; anything else wakes it. */
  hibernating = false;
  private idleTicks = 0;

  wake(): void {
    if (!this.hibernating) return;
    this.hibernating = false;
    this.idleTicks = 0;
  }

  /**
   * Messages to send at the end of the round, after the round's raft messages (a hibernate notice
   * must reach followers after the last heartbeat, which would wake them again).
   */
  outbox: RaftMessage[] = [];

  /** performance.now() since when this peer has known no leader (0: it knows one). */
  leaderMissingSince = 0;

  /** One tick; an idle leader goes to sleep after hibernateIdleTicks and tells its followers. */
  tick(cfg: StoreConfig): void {
    if (this.hibernating) return;
    if (this.voteGraceTicks > 0) this.voteGraceTicks--;
    this.raw.tick();
    if (this.raw.raft.leaderId === 0) {
      if (this.leaderMissingSince === 0) this.leaderMissingSince = performance.now();
    } else this.leaderMissingSince = 0;
    if (!cfg.hibernateRegions || !this.isLeader() || !this.isIdleLeader()) {
      this.idleTicks = 0;
      return;
    }
    if (++this.idleTicks < cfg.hibernateIdleTicks) return;
    this.hibernating = true;
    const raft = this.raw.raft;
    for (const to of this.region.peers ?? []) {
      if (to.id === this.peerId) continue;
      this.outbox.push({
        regionId: this.regionId,
        fromPeer: this.metaPeer(),
        toPeer: to,
        regionEpoch: this.region.regionEpoch,
        hibernate: true,
        message: { msgType: eraftpb.MessageType.MsgHeartbeat, from: this.peerId, to: to.id!, term: raft.term, commit: raft.raftLog.committed, index: raft.raftLog.lastIndex() },
      });
    }
  }

  /** Everything replicated to every peer, committed and applied; nothing pending anywhere. */
  private isIdleLeader(): boolean {
    const raft = this.raw.raft;
    const last = raft.raftLog.lastIndex();
    if (this.proposals.length > 0 || this.readsAwaitingIndex.size > 0 || this.readsAwaitingApply.length > 0) return false;
    if (this.queuedWrites.length > 0 || this.queuedReads.length > 0) return false;
    if (this.applyingSnapshot || this.pendingRemove || raft.leadTransferee !== 0) return false;
    if (raft.raftLog.committed !== last || this.storage.applyState.appliedIndex !== last || raft.pendingConfIndex > last) return false;
    for (const [id, pr] of raft.prs.progress) if (id !== this.peerId && pr.matched !== last) return false;
    return true;
  }

  /** The leader hibernates: so does this follower if it is exactly where the leader is. */
  onHibernateNotice(m: RaftMessage): void {
    const raft = this.raw.raft;
    const n = m.message;
    if (!n || this.isLeader() || this.applyingSnapshot || raft.leaderId !== n.from || raft.term !== n.term) return;
    if (raft.raftLog.lastIndex() !== n.index || raft.raftLog.committed !== n.commit || this.storage.applyState.appliedIndex !== n.commit) return;
    this.hibernating = true;
    this.hibernatedAt = performance.now();
  }

  /** performance.now() when this follower last fell asleep on its leader's notice. */
  private hibernatedAt = 0;

  /**
   * The store of this sleeping follower's leader became unreachable (Store.reportStoreUnreachable;
   * the message woke it). With a replica down, a 3-replica region elects from exactly two
   * followers: woken together and timing out together, each would pre-vote, grant the other's
   * pre-vote and split the vote, round after round while the stores are busy electing every such
   * region at once. Instead every such follower forgets the leader, so it grants a pre-vote at
   * once, and the one picked alike on every store (by a hash of the region id among the voters
   * elsewhere, so that the new leaders spread) campaigns at once; the others' election timers
   * run in full first.
   * Forgetting the leader ends raft's lease early, and a leader lease (readMode 'lease') counts on
   * followers refusing votes for an election timeout after they last heard their leader: only a
   * follower asleep that long does it (its leader has confirmed nothing with it since). One that
   * fell asleep more recently is just awake, its election timer running as usual.
   */
  onLeaderStoreUnreachable(storeId: number, cfg: StoreConfig): void {
    const raft = this.raw.raft;
    if (raft.state !== StateRole.Follower || this.applyingSnapshot) return;
    const leader = this.leaderPeer();
    if (leader && leader.storeId !== storeId) return; // another leader since the report
    if (performance.now() - this.hibernatedAt < cfg.raftElectionTicks * cfg.raftBaseTickMs) return;
    raft.becomeFollower(raft.term, 0);
    const voters = (this.region.peers ?? []).filter((p) => p.storeId !== storeId && roleOf(p) === metapb.PeerRole.Voter).sort((a, b) => a.id! - b.id!);
    const pick = voters[mix32(this.regionId) % Math.max(1, voters.length)];
    if (pick?.id === this.peerId) {
      this.logger.debug('the leader\'s store is unreachable: campaigning', { leaderStore: storeId, term: raft.term });
      this.raw.campaign();
    }
  }

  // ---- raft log GC ----

  /**
   * Leader only: proposes CompactLog when the log past the truncated index is over the count or
   * size limit, or when healthy followers have made enough of it redundant. The index is the
   * lowest match among recently active followers (a follower that is down or cut off does not
   * hold the log back; it catches up by snapshot), but when over a limit a healthy follower may
   * not hold it back below applied - countLimit either: the limit bounds the log.
   */
  maybeCompactLog(cfg: StoreConfig): void {
    if (!this.isLeader() || this.applyingSnapshot) return;
    const { appliedIndex: applied, truncatedIndex: truncated } = this.storage.applyState;
    if (applied <= truncated) return;
    const raft = this.raw.raft;
    let replicated = applied;
    for (const [id, pr] of raft.prs.progress) {
      if (id !== this.peerId && pr.recentActive) replicated = Math.min(replicated, pr.matched);
    }
    const threshold = Math.min(cfg.raftLogGcThreshold, cfg.raftLogGcCountLimit);
    const overLimit = applied - truncated > cfg.raftLogGcCountLimit || this.storage.logSizeHint > cfg.raftLogGcSizeLimit;
    let idx = replicated;
    if (overLimit) idx = Math.max(idx, applied - cfg.raftLogGcCountLimit);
    else if (idx - truncated < threshold) return;
    if (idx <= truncated) return;
    const term = raft.raftLog.term(idx);
    const req: raft_cmdpb.IRaftCmdRequest = {
      header: { regionId: this.regionId, peer: this.metaPeer(), regionEpoch: this.region.regionEpoch },
      adminRequest: { cmdType: raft_cmdpb.AdminCmdType.CompactLog, compactLog: { compactIndex: idx, compactTerm: term } },
    };
    try {
      this.raw.propose(EMPTY_BYTES, raft_cmdpb.RaftCmdRequest.encode(req).finish());
      this.logger.debug('proposed compact log', { index: idx, term, applied, truncated });
    } catch (e) {
      if (!(e instanceof RaftError)) throw e; // dropped (e.g. leadership transfer): next tick
    }
  }

  // ---- after each Ready ----

  /** Called by the raft worker after every ready cycle to notice role changes. */
  onRoleMaybeChanged(): void {
    const leader = this.isLeader();
    if (!leader) this.leaseExpiry = 0;
    if (this.wasLeader && !leader) {
      // Raft dropped its pending read-index requests when it stepped down: they can never be
      // confirmed. Writes stay pending: they may still commit, or be answered stale at apply.
      const err = errorResponse(new NotLeaderError(this.regionId, this.leaderPeer()));
      for (const rs of this.readsAwaitingIndex.values()) for (const r of rs) r.cb(err);
      this.readsAwaitingIndex.clear();
    }
    this.wasLeader = leader;
  }

  /** A ReadState arrived: the read may proceed once the state machine reaches its index. */
  onReadState(index: number, ctx: Uint8Array): void {
    const key = Buffer.from(ctx).toString('latin1');
    const rs = this.readsAwaitingIndex.get(key);
    if (!rs || rs.length === 0) return;
    this.readsAwaitingIndex.delete(key);
    for (const r of rs) {
      r.readIndex = index;
      this.readsAwaitingApply.push(r);
    }
    if (this.leaseMs > 0 && this.isLeader()) {
      const until = rs[0]!.issuedAt + this.leaseMs;
      if (this.raw.raft.term !== this.leaseTerm || until > this.leaseExpiry) this.leaseExpiry = until;
      this.leaseTerm = this.raw.raft.term;
    }
  }

  /**
   * Answers proposals up to the applied entry (index, term): the proposal at that index succeeds
   * if its term matches; proposals whose entry was overwritten by a later leader are stale.
   */
  takeProposal(index: number, term: number): CmdCallback | null {
    while (this.proposals.length > 0) {
      const p = this.proposals[0]!;
      if (p.index > index) return null;
      this.proposals.shift();
      if (p.index === index && p.term === term) return p.cb;
      p.cb(errorResponse(new StaleCommandError(`proposal at ${p.index} (term ${p.term}) was overwritten by term ${term}`)));
    }
    return null;
  }

  /** Fails everything pending and every command still in the mailbox (store stopping or failed). */
  failAll(err: StoreError): void {
    const resp = errorResponse(err);
    // Commands never proposed: answering now (instead of at the request timeout) is exact.
    for (const m of this.mailbox.splice(0)) if (m.kind === 'cmd') m.cb(resp);
    for (const c of [...this.queuedWrites, ...this.queuedReads]) c.cb(resp);
    this.queuedWrites = [];
    this.queuedReads = [];
    // Proposed commands may still commit (a new leader can carry the entry on): whatever the
    // reason, their outcome is unknown, which only a Timeout says (a client may retry a
    // RegionNotFound as never applied, and a retried write applied twice is not linearizable).
    const unknown = err instanceof TimeoutError ? resp : errorResponse(new TimeoutError(`${err.message}; the command was proposed and may still be applied`));
    for (const p of this.proposals) p.cb(unknown);
    this.proposals = [];
    for (const rs of this.readsAwaitingIndex.values()) for (const r of rs) r.cb(resp);
    this.readsAwaitingIndex.clear();
    for (const r of this.readsAwaitingApply) r.cb(resp);
    this.readsAwaitingApply = [];
  }

  /** Wraps a raft message for the transport. */
  toRaftMessage(m: Message): RaftMessage | null {
    const to = this.findPeer(m.to);
    if (!to) {
      this.logger.warn('no peer metadata for raft message target', { to: m.to });
      return null;
    }
    // The range lets a store that has no peer of this region yet check it before creating one.
    return {
      regionId: this.regionId,
      fromPeer: this.metaPeer(),
      toPeer: to,
      message: m,
      regionEpoch: this.region.regionEpoch,
      startKey: this.region.startKey,
      endKey: this.region.endKey,
    };
  }
}

/**
 * Rejects commands built against a different region version or membership. Membership changes
 * check only conf_ver (`{ version: false }`), data commands and the rest check both.
 */
export function checkEpoch(req: raft_cmdpb.IRaftCmdRequest, region: metapb.IRegion, check: { version?: boolean; confVer?: boolean } = {}): void {
  const want = req.header?.regionEpoch;
  const have = region.regionEpoch;
  if (!want) throw new InvalidRequestError('missing region epoch');
  const badVersion = check.version !== false && (want.version ?? 0) !== (have?.version ?? 0);
  const badConfVer = check.confVer !== false && (want.confVer ?? 0) !== (have?.confVer ?? 0);
  if (badVersion || badConfVer) {
    throw new EpochNotMatchError(
      `epoch not match: request (version ${want.version ?? 0}, conf_ver ${want.confVer ?? 0}) vs region ${region.id} (version ${have?.version ?? 0}, conf_ver ${have?.confVer ?? 0})`,
      [region],
    );
  }
}

export { KeyNotInRegionError };
