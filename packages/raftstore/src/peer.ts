// Peer: one region's replica on this store. Wraps a RawNode and its PeerStorage; handles its mail
// (a handler per kind: raft messages, commands, ticks, worker results), turns client commands into
// proposals or read-index requests, takes its part in each raft-worker round (collectReady,
// afterPersist, afterApply, serveReads) and answers commands when applied. Its parts, each in its
// own file: the proposal queue (peer_proposals.ts), the pending reads (peer_reads.ts), the leader
// lease and the vote grace (peer_lease.ts), hibernation (peer_hibernate.ts). What it decides from
// its state, also in files of their own: its raft configuration (peer_raft_config.ts), the checks
// of commands and the proposal of admin commands (peer_commands.ts), the serving of applied reads
// (peer_serve_reads.ts), hibernation's raft-side decisions (peer_hibernate_decisions.ts), and log
// compaction (peer_log_compaction.ts).
import type { WriteBatch } from '@tskv/engine';
import { eraftpb, type metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { EMPTY_BYTES, type Entry, type Message, RaftError, RawNode, type Ready, StateRole } from '@tskv/raft';
import { findPeerById } from '@tskv/util';
import { type ApplyContext, applyEntries } from './apply.js';
import { mergeWrites, type QueuedCmd } from './batch.js';
import { errorResponse, isReadOnly } from './cmd.js';
import type { StoreConfig } from './config.js';
import { InvalidRequestError, NotLeaderError, type StoreError, TimeoutError } from './errors.js';
import type { Logger } from './logger.js';
import type { CmdCallback, PeerMsg } from './msg.js';
import { checkCommand, proposeAdmin, proposeErrorResponse } from './peer_commands.js';
import { Hibernation } from './peer_hibernate.js';
import { hibernateNotices, onLeaderStoreUnreachable, raftSettled, sleepsOnNotice } from './peer_hibernate_decisions.js';
import { LeaderLease, VoteGrace } from './peer_lease.js';
import { maybeCompactLog, pendingPeers } from './peer_log_compaction.js';
import { ProposalQueue } from './peer_proposals.js';
import { peerRaftConfig } from './peer_raft_config.js';
import { newReadContext, ReadQueue } from './peer_reads.js';
import { serveReads } from './peer_serve_reads.js';
import { type PeerStorage, RAFT_INIT_LOG_TERM } from './peer_storage.js';
import type { SnapshotAdmission } from './snapshot_admission.js';
import type { RaftMessage, Transport } from './transport.js';

/** The round's raft-engine batch, the kv batch of its snapshot acceptances, and the transport. */
export interface ReadyContext {
  readonly raftWb: WriteBatch;
  /** Written (synced) before raftWb: see PeerStorage.acceptSnapshot. */
  readonly snapKvWb: WriteBatch;
  readonly transport: Transport;
}

/** A snapshot for the region worker to generate from a kv engine view taken right away. */
export interface SnapshotToGenerate {
  region: metapb.IRegion;
  index: number;
  term: number;
}

export class Peer {
  readonly regionId: number;
  readonly peerId: number;
  readonly storeId: number;
  readonly raw: RawNode;
  readonly storage: PeerStorage;
  readonly mailbox: PeerMsg[] = [];
  readonly logger: Logger;
  private readonly cfg: StoreConfig;
  /** Proposed commands, answered when their entry is applied. */
  readonly proposals = new ProposalQueue();
  /** Accepted reads waiting for their read index, then for the apply to reach it. */
  private readonly reads = new ReadQueue();
  /** Commands validated this round, proposed together by flushProposals (see batch.ts). */
  private queuedWrites: QueuedCmd[] = [];
  private queuedReads: QueuedCmd[] = [];
  /** Lease reads (readMode 'lease'); its length is 0 otherwise. */
  private readonly lease: LeaderLease;
  /** Set for the first election timeout of a peer that has been through an election (a restart). */
  private readonly voteGrace: VoteGrace;
  private readonly hibernation = new Hibernation();
  /**
   * Set from accepting a snapshot until the region worker has put its data in place. Meanwhile
   * the raft worker takes no Ready from this peer (raft keeps stepping messages in memory), and
   * entries committed in the acceptance round wait in `deferredEntries`.
   */
  #applyingSnapshot: { readonly index: number; readonly term: number } | null = null;
  private deferredEntries: Entry[] = [];
  /** Bytes written to the region since its last split check (checks only regions that grew). */
  #sizeDiffHint = Number.MAX_SAFE_INTEGER;
  /** The last split check's measure of the region (reported to the scheduler). */
  #approximateSize = 0;
  #approximateKeys = 0;
  #bytesWritten = 0;
  #keysWritten = 0;
  #bytesRead = 0;
  #keysRead = 0;
  /** This peer applied its own removal: it is destroyed once it is no longer leader. */
  #pendingRemove = false;
  /**
   * Messages to send at the end of the round, after the round's raft messages (a hibernate notice
   * must reach followers after the last heartbeat, which would wake them again).
   */
  private outbox: RaftMessage[] = [];
  /** performance.now() since when this peer has known no leader (0: it knows one). */
  private leaderMissingSince = 0;
  /** Peers learnt from messages (an uninitialized peer's region does not list them yet). */
  private readonly peerCache = new Map<number, metapb.IPeer>();
  private wasLeader = false;

  constructor(storeCfg: StoreConfig, storage: PeerStorage, peerId: number, logger: Logger) {
    this.regionId = storage.regionId;
    this.peerId = peerId;
    this.storeId = storeCfg.storeId;
    this.cfg = storeCfg;
    this.storage = storage;
    this.logger = logger.child({ regionId: this.regionId, peerId });
    this.raw = new RawNode(peerRaftConfig(storeCfg, peerId, storage.applyState.appliedIndex, this.logger), storage);
    // 80% of the election timeout: followers' election timers run on the same kind of clock, but
    // the event loop can delay their ticks or ours; the margin absorbs that.
    this.lease = new LeaderLease(storeCfg.readMode === 'lease' ? 0.8 * storeCfg.raftElectionTicks * storeCfg.raftBaseTickMs : 0);
    // Past the initial term it has taken part in elections: it may have confirmed a lease that
    // is still running (a restart; or a split replacing the uninitialized peer that heard the
    // new region's leader).
    this.voteGrace = new VoteGrace(storage.raftState.hardState.term > RAFT_INIT_LOG_TERM ? storeCfg.raftElectionTicks : 0);
  }

  get region(): metapb.IRegion {
    return this.storage.region;
  }

  isLeader(): boolean {
    return this.raw.role === StateRole.Leader;
  }

  leaderPeer(): metapb.IPeer | null {
    const id = this.raw.leaderId;
    return id === 0 ? null : (this.findPeer(id) ?? null);
  }

  findPeer(peerId: number): metapb.IPeer | undefined {
    return findPeerById(this.region, peerId) ?? this.peerCache.get(peerId);
  }

  /** A peer with a region (range, members) from bootstrap, a split or a snapshot. */
  isInitialized(): boolean {
    return (this.region.peers?.length ?? 0) > 0;
  }

  metaPeer(): metapb.IPeer {
    return this.findPeer(this.peerId) ?? { id: this.peerId, storeId: this.storeId };
  }

  /** Whether a peer id is a member of the region (not just a peer heard from). */
  isMember(peerId: number): boolean {
    return (this.region.peers ?? []).some((p) => p.id === peerId);
  }

  /** Not ticking: the region is idle. The router skips it for ticks; anything else wakes it. */
  get hibernating(): boolean {
    return this.hibernation.hibernating;
  }

  wake(): void {
    this.hibernation.wake();
  }

  /** Reads served inside the lease, without a heartbeat round (observability and tests). */
  get leaseReads(): number {
    return this.lease.reads;
  }

  get applyingSnapshot(): { readonly index: number; readonly term: number } | null {
    return this.#applyingSnapshot;
  }

  get pendingRemove(): boolean {
    return this.#pendingRemove;
  }

  get sizeDiffHint(): number {
    return this.#sizeDiffHint;
  }

  get approximateSize(): number {
    return this.#approximateSize;
  }

  get approximateKeys(): number {
    return this.#approximateKeys;
  }

  // ---- mail: one handler per kind ----

  /**
   * Handles the mail of this round, then proposes what it queued; returns the commands taken.
   * `snapshots` decides which snapshots may be stepped (see SnapshotAdmission).
   */
  handleMail(snapshots?: SnapshotAdmission): number {
    let commands = 0;
    for (const m of this.mailbox.splice(0)) {
      switch (m.kind) {
        case 'raft':
          if (snapshots && m.msg.message?.msgType === eraftpb.MessageType.MsgSnapshot && !this.admitSnapshot(m.msg, snapshots)) break;
          this.stepRaftMessage(m.msg);
          break;
        case 'cmd':
          commands++;
          this.propose(m);
          break;
        case 'tick':
          this.tick();
          break;
        case 'hibernate':
          if (sleepsOnNotice(this, m.msg)) this.hibernation.sleepOnNotice(performance.now());
          break;
        case 'leaderStoreUnreachable':
          onLeaderStoreUnreachable(this, this.hibernation, this.cfg, m.storeId);
          break;
        case 'raftLogGcTick':
          maybeCompactLog(this, this.cfg);
          break;
        case 'snapGenerated':
          this.storage.onSnapshotGenerated(m.snap);
          break;
        case 'snapApplied':
          this.onSnapshotApplied(m.index);
          break;
        case 'snapMissing':
          this.storage.onSnapshotMissing(m.term, m.index);
          break;
        case 'snapStatus':
          this.raw.reportSnapshot(m.toPeerId, m.ok ? 'finish' : 'failure');
          break;
        case 'unreachable':
          // Raft stops pipelining to the peer (probe state) until it answers again.
          if (this.isLeader()) this.raw.reportUnreachable(m.toPeerId);
          break;
        case 'gcPeer':
          this.onGcMessage(m.msg);
          break;
        default:
          break;
      }
    }
    // The round's writes as one raft entry, its reads under one read index.
    this.flushProposals();
    return commands;
  }

  /** Whether a snapshot message may be stepped: its region overlaps no other region here or stepped this round. */
  private admitSnapshot(m: RaftMessage, snapshots: SnapshotAdmission): boolean {
    let region: metapb.IRegion | null | undefined;
    try {
      region = raft_serverpb.RaftSnapshotData.decode(m.message?.snapshot?.data ?? new Uint8Array(0)).region;
    } catch {
      region = null;
    }
    if (!region) return true; // raft_msg_handler.ts drops these; raft refuses what it cannot restore
    const clash = snapshots.admit(region);
    if (clash.length === 0) return true;
    this.logger.info('snapshot overlapping other regions dropped', {
      overlaps: clash.join(','),
      index: m.message?.snapshot?.metadata?.index,
    });
    return false;
  }

  private stepRaftMessage(m: RaftMessage): void {
    if (!m.message || !m.toPeer || m.toPeer.id !== this.peerId) {
      this.logger.debug('dropping raft message for another peer', { to: m.toPeer?.id });
      return;
    }
    if (m.fromPeer?.id && !this.peerCache.has(m.fromPeer.id)) this.peerCache.set(m.fromPeer.id, { ...m.fromPeer });
    if (this.voteGrace.ignores(m.message as Message, this.raw.term)) {
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
   * Validates a command. Admin commands are proposed at once; writes and reads that need a read
   * index are queued and go to raft together at the end of the peer's mail (flushProposals):
   * the writes of a round as one merged entry, its reads under one ReadIndex.
   */
  private propose(cmd: QueuedCmd): void {
    const { req, cb } = cmd;
    try {
      if (req.adminRequest) {
        const out = proposeAdmin(this, req);
        if (out.kind === 'proposed') this.trackProposal(cb);
        else {
          this.noteTransfer();
          cb(out.response);
        }
        return;
      }
      checkCommand(this, req);
      if (isReadOnly(req)) {
        if (cmd.onSnapshot && cmd.forWrite && this.raw.committedEntryInCurrentTerm()) {
          this.reads.addLeaseRead(cmd, this.raw.committed, this.raw.term);
          return;
        }
        if (this.serveFromLease()) {
          this.lease.countRead();
          this.reads.addLeaseRead(cmd, this.raw.committed, this.raw.term);
          return;
        }
        this.queuedReads.push(cmd);
        return;
      }
      if (cmd.onSnapshot) throw new InvalidRequestError('a snapshot read must be read-only');
      this.queuedWrites.push({ req, cb });
    } catch (e) {
      this.answerProposeError(e, cb);
    }
  }

  /** Proposes the writes queued this round (merged, see batch.ts) and requests one read index for its reads. */
  private flushProposals(): void {
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
      const ctx = newReadContext(this.peerId);
      this.raw.readIndex(ctx);
      this.reads.awaitIndex(ctx, reads, performance.now(), this.raw.term);
    }
  }

  private answerProposeError(e: unknown, cb: CmdCallback): void {
    cb(proposeErrorResponse(this, e));
  }

  /** Remembers the proposal just appended at the end of the log, to answer it when applied. */
  private trackProposal(cb: CmdCallback): void {
    this.proposals.push(this.raw.lastIndex(), this.raw.term, cb);
  }

  /** A lease read (see LeaderLease): inside the lease, with an entry of this term committed. */
  private serveFromLease(): boolean {
    if (!this.lease.enabled) return false;
    this.noteTransfer();
    return this.lease.covers(this.raw.term, performance.now()) && this.raw.committedEntryInCurrentTerm();
  }

  /** A transfer starts only when raft steps a MsgTransferLeader: called after every such step. */
  private noteTransfer(): void {
    this.lease.noteTransfer(this.raw.term, this.raw.leadTransferee);
  }

  /** Followers far behind: they need a snapshot or are being sent one. */
  pendingPeers(): metapb.IPeer[] {
    return pendingPeers(this);
  }

  /**
   * A member of a newer membership of the region says this peer is no longer in it: this peer
   * missed its own removal (a partition, a crash). Only a strictly newer conf_ver that leaves
   * this peer out counts.
   */
  private onGcMessage(m: RaftMessage): void {
    if (m.toPeer?.id !== this.peerId) return;
    const theirs = m.regionEpoch?.confVer ?? 0;
    const ours = this.region.regionEpoch?.confVer ?? 0;
    if (theirs <= ours && this.isInitialized()) return;
    this.logger.info('removed from the region while away: destroying', { theirConfVer: theirs, ourConfVer: ours });
    this.#pendingRemove = true;
  }

  /** The region worker put the data of the accepted snapshot at `index` in place. */
  private onSnapshotApplied(index: number): void {
    if (this.#applyingSnapshot?.index === index) this.#applyingSnapshot = null;
  }

  // ---- ticks and hibernation (StoreConfig.hibernateRegions) ----

  /** One tick; an idle leader goes to sleep after hibernateIdleTicks and tells its followers. */
  private tick(): void {
    const cfg = this.cfg;
    if (this.hibernating) return;
    this.voteGrace.tick();
    this.raw.tick();
    if (this.raw.leaderId === 0) {
      if (this.leaderMissingSince === 0) this.leaderMissingSince = performance.now();
    } else this.leaderMissingSince = 0;
    if (!this.hibernation.onTick(cfg.hibernateRegions && this.isLeader() && this.isIdleLeader(), cfg.hibernateIdleTicks)) return;
    this.outbox.push(...hibernateNotices(this));
  }

  /** Everything replicated to every peer, committed and applied; nothing pending anywhere. */
  private isIdleLeader(): boolean {
    if (this.proposals.length > 0 || !this.reads.isEmpty) return false;
    if (this.queuedWrites.length > 0 || this.queuedReads.length > 0) return false;
    if (this.#applyingSnapshot || this.#pendingRemove) return false;
    return raftSettled(this);
  }

  // ---- the round's Ready (RaftWorker.round) ----

  /**
   * Takes this peer's Ready, if any, into the round (TiKV's handle_raft_ready_append): sends the
   * messages that may leave before persistence (a leader's appends), stages an accepted snapshot,
   * the entries and the raft state into the round's batches. Returns the Ready for afterPersist.
   */
  collectReady(rc: ReadyContext): Ready | null {
    if (this.#applyingSnapshot || !this.raw.hasReady()) return null;
    const rd = this.raw.ready();
    this.send(rd.messages, rc.transport);
    if (rd.snapshot) {
      const data = raft_serverpb.RaftSnapshotData.decode(rd.snapshot.data);
      if (!data.region) throw new Error(`region ${this.regionId}: snapshot ${rd.snapshot.metadata.index} carries no region`);
      this.storage.acceptSnapshot(rd.snapshot, data.region, rc.raftWb, rc.snapKvWb);
      this.#applyingSnapshot = { index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term };
    }
    if (rd.entries.length > 0) this.storage.append(rd.entries, rc.raftWb);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    // A new commit index alone needs no write (a restart takes commit >= applied and learns the
    // rest from the leader): it is saved with the peer's next raft write, so that the apply of a
    // round (often the commit path of a client write) never waits for a raft-engine write.
    if (rd.mustSync) this.storage.saveRaftState(rc.raftWb);
    if (rd.snapshot) this.storage.saveSnapshotRaftState(rc.snapKvWb);
    return rd;
  }

  /**
   * After the round's raft write (TiKV's post_raft_ready_append): sends the messages that had to
   * wait for persistence, applies the committed entries into the round's apply context, takes
   * the read states, and advances raft; what that makes available (the leader's own ack may
   * commit more) is sent and applied too.
   */
  afterPersist(rd: Ready, ctx: ApplyContext, transport: Transport): void {
    this.send(rd.persistedMessages, transport);
    this.apply(rd.committedEntries, ctx);
    for (const rs of rd.readStates) this.onReadState(rs.index, rs.requestCtx);
    const light = this.raw.advance(rd);
    this.send(light.messages, transport);
    this.apply(light.committedEntries, ctx);
    if (light.commitIndex !== null) this.storage.setCommit(light.commitIndex);
  }

  /** Applies the entries held back while a snapshot was being applied, once it is in place. */
  applyDeferredEntries(ctx: ApplyContext): void {
    if (this.#applyingSnapshot || this.deferredEntries.length === 0) return;
    const ents = this.deferredEntries;
    this.deferredEntries = [];
    applyEntries(this, ents, ctx, this.logger);
  }

  /** Committed entries wait while the peer's snapshot is being applied (they come after it). */
  private apply(ents: Entry[], ctx: ApplyContext): void {
    if (ents.length === 0) return;
    if (this.#applyingSnapshot) this.deferredEntries.push(...ents);
    else applyEntries(this, ents, ctx, this.logger);
  }

  /** After the round's kv write: raft learns what is applied, and a lost leadership is noticed. */
  afterApply(): void {
    this.raw.advanceApply();
    this.onRoleMaybeChanged();
    this.storage.trimCache(this.storage.applyState.appliedIndex);
  }

  private onRoleMaybeChanged(): void {
    const leader = this.isLeader();
    if (!leader) this.lease.expire();
    if (this.wasLeader && !leader) {
      // Raft dropped its pending read-index requests when it stepped down: they can never be
      // confirmed. Writes stay pending: they may still commit, or be answered stale at apply.
      this.reads.failAwaitingIndex(errorResponse(new NotLeaderError(this.regionId, this.leaderPeer())));
    }
    this.wasLeader = leader;
  }

  /** A ReadState arrived: the read may proceed once the state machine reaches its index. */
  private onReadState(index: number, ctx: Uint8Array): void {
    const issuedAt = this.reads.onReadState(index, ctx);
    if (issuedAt !== null && this.lease.enabled && this.isLeader()) this.lease.renew(issuedAt, this.raw.term);
  }

  /**
   * Serves the reads whose read index is applied (after the round's kv write), each checked
   * against the region again: it may have split or changed since the read was accepted.
   */
  serveReads(): void {
    if (this.#applyingSnapshot) return;
    serveReads(this, this.reads.takeApplied(this.storage.applyState.appliedIndex));
  }

  /** Sends the messages kept for the end of the round (hibernate notices). */
  flushOutbox(transport: Transport): void {
    if (this.outbox.length === 0) return;
    for (const m of this.outbox) transport.send(m);
    this.outbox = [];
  }

  /**
   * After the round's kv write: the snapshot raft asked for (PeerStorage.snapshot), now marked
   * generating. The kv engine holds exactly the applied state until this round's caller yields
   * (nothing else writes this region's data): a view taken right away is the snapshot's content.
   */
  takeSnapshotToGenerate(): SnapshotToGenerate | null {
    if (this.storage.genState.status !== 'requested' || this.#applyingSnapshot) return null;
    const index = this.storage.applyState.appliedIndex;
    const term = this.storage.term(index);
    this.storage.startGenerating();
    return { region: structuredClone(this.region), index, term };
  }

  /**
   * A removed peer goes once it is not the leader (raft steps a removed leader down only after
   * the new configuration knows the change committed) and no snapshot of it is being applied (the
   * apply's last write would bring the region state back from the tombstone).
   */
  isReadyToDestroy(): boolean {
    return this.#pendingRemove && !this.isLeader() && !this.#applyingSnapshot;
  }

  private send(msgs: Message[], transport: Transport): void {
    for (const m of msgs) {
      const rm = this.toRaftMessage(m);
      if (rm) transport.send(rm);
    }
  }

  // ---- what the store and apply tell the peer ----

  /** A restart found the region Applying a snapshot: the region worker applies it again; no Ready until then. */
  resumeSnapshotApply(index: number, term: number): void {
    this.#applyingSnapshot = { index, term };
  }

  /** Applied writes added `bytes` to the region. */
  onDataWritten(bytes: number, keys = 0): void {
    this.#sizeDiffHint += bytes;
    this.#bytesWritten += bytes;
    this.#keysWritten += keys;
  }

  /** Bytes and keys applied since the last call (what a region heartbeat reports). */
  takeWritten(): { bytesWritten: number; keysWritten: number } {
    const out = { bytesWritten: this.#bytesWritten, keysWritten: this.#keysWritten };
    this.#bytesWritten = 0;
    this.#keysWritten = 0;
    return out;
  }

  /** Reads served returned `keys` keys of `bytes` key and value bytes. */
  onDataRead(bytes: number, keys: number): void {
    this.#bytesRead += bytes;
    this.#keysRead += keys;
  }

  /** Bytes and keys read since the last call (what a region heartbeat reports). */
  takeRead(): { bytesRead: number; keysRead: number } {
    const out = { bytesRead: this.#bytesRead, keysRead: this.#keysRead };
    this.#bytesRead = 0;
    this.#keysRead = 0;
    return out;
  }

  /** A split check of the region was scheduled: writes are counted from zero again. */
  onSplitCheckScheduled(): void {
    this.#sizeDiffHint = 0;
  }

  /** A split check measured the region. */
  onSizeMeasured(size: number, keys: number): void {
    this.#approximateSize = size;
    this.#approximateKeys = keys;
  }

  /** The region must split: it stays due for another check until a split lands. */
  keepSplitCheckDue(): void {
    this.#sizeDiffHint = Number.MAX_SAFE_INTEGER;
  }

  /** The split was proposed: writes are counted from zero again. */
  onSplitProposed(): void {
    this.#sizeDiffHint = 0;
  }

  /** This peer applied a membership change that removes it. */
  onRemovedFromRegion(): void {
    this.#pendingRemove = true;
  }

  /**
   * Whether to ask the scheduler if this peer is still a member: it has known no leader for
   * `maxMs` (a sleeping follower, whose ticks do not count that, from the first time it is
   * asked); then not again for another `maxMs`.
   */
  dueForMembershipCheck(now: number, maxMs: number): boolean {
    if (this.hibernating && !this.isLeader() && this.leaderMissingSince === 0) this.leaderMissingSince = now;
    if (this.leaderMissingSince === 0 || now - this.leaderMissingSince < maxMs) return false;
    this.leaderMissingSince = now;
    return true;
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
    this.proposals.failAll(
      err instanceof TimeoutError
        ? resp
        : errorResponse(new TimeoutError(`${err.message}; the command was proposed and may still be applied`)),
    );
    this.reads.failAll(resp);
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
