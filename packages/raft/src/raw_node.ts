// RawNode: the application's handle on one Raft group, in the raft-rs style. The application
// drives it: tick() on a timer, step() for network messages, propose()/readIndex() for requests;
// then, whenever hasReady(), it takes a Ready, persists and sends what it says, and advance()s.
import { Config, type ConfigOptions } from './config.js';
import { StepLocalMsgError, StepPeerNotFoundError } from './errors.js';
import { Raft } from './raft.js';
import type { ReadState } from './read_only.js';
import { INVALID_ID, type SoftState, StateRole, softStateEqual } from './state_role.js';
import type { Storage } from './storage.js';
import type { Progress, ProgressState } from './tracker/progress.js';
import {
  type ConfChange,
  type ConfChangeV2,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  encodeConfChange,
  type HardState,
  hardStateEqual,
  type Message,
  MessageType,
  newMessage,
  type Snapshot,
  toConfChangeV2,
} from './types.js';
import { isLocalMsg, isResponseMsg } from './util.js';

/**
 * Everything the application must do after one round of raft activity, in this order:
 * 1. send `messages` (allowed before persisting: a leader replicates in parallel with its own
 *    disk write, thesis §10.2.1);
 * 2. apply `snapshot` if any, then persist `entries` and `hardState` (fsync if `mustSync`);
 * 3. send `persistedMessages` (votes and append acks must never precede their persistence);
 * 4. apply `committedEntries`, answer `readStates` once applied up to their index;
 * 5. call advance(rd) and handle the LightReady it returns.
 */
export interface Ready {
  number: number;
  softState: SoftState | null;
  hardState: HardState | null;
  readStates: ReadState[];
  entries: Entry[];
  snapshot: Snapshot | null;
  committedEntries: Entry[];
  messages: Message[];
  persistedMessages: Message[];
  mustSync: boolean;
}

/**
 * What became available once a Ready was persisted: entries it allowed to commit (apply them,
 * then call advanceApply()), the new commit index to persist, and messages to send now.
 */
export interface LightReady {
  commitIndex: number | null;
  committedEntries: Entry[];
  messages: Message[];
}

export type SnapshotStatus = 'finish' | 'failure';

export interface ProgressStatus {
  matched: number;
  nextIdx: number;
  state: ProgressState;
  paused: boolean;
  pendingSnapshot: number;
  recentActive: boolean;
  isLearner: boolean;
  inflight: number;
}

export interface Status {
  id: number;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  /** Per-peer replication progress; only on the leader. */
  progress: Map<number, ProgressStatus> | null;
  leadTransferee: number;
  confState: ConfState;
}

export class RawNode {
  readonly raft: Raft;
  private prevSs: SoftState;
  private prevHs: HardState;
  private maxNumber = 0;
  /** Highest index of committed entries handed to the application. */
  private commitSinceIndex: number;
  /** The Ready handed out and not yet advanced: its entries/snapshot to mark stable. */
  private pending: { number: number; lastEntry: [number, number] | null; snapshotIndex: number } | null = null;

  constructor(config: Config | ConfigOptions, store: Storage) {
    const c = config instanceof Config ? config : new Config(config);
    this.raft = new Raft(c, store);
    this.prevSs = this.raft.softState();
    this.prevHs = this.raft.hardState();
    this.commitSinceIndex = c.applied;
  }

  /** Wraps an existing Raft (tests use this to run a Raft subclass with an injected fault). */
  static fromRaft(raft: Raft, applied = 0): RawNode {
    const n = Object.create(RawNode.prototype) as RawNode;
    Object.assign(n, { raft, prevSs: raft.softState(), prevHs: raft.hardState(), maxNumber: 0, commitSinceIndex: applied, pending: null });
    return n;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Campaigns to become leader (MsgHup). */
  campaign(): void {
    this.raft.step(newMessage({ msgType: MessageType.MsgHup, from: this.raft.id }));
  }

  /** Proposes data to be appended; throws ProposalDroppedError if it cannot be accepted now. */
  propose(context: Uint8Array, data: Uint8Array): void {
    const e: Entry = { entryType: EntryType.EntryNormal, term: 0, index: 0, data, context };
    this.raft.step(newMessage({ msgType: MessageType.MsgPropose, from: this.raft.id, entries: [e] }));
  }

  /** Proposes several entries in one message (one append, one broadcast). */
  proposeBatch(entries: { data: Uint8Array; context?: Uint8Array }[]): void {
    const ents: Entry[] = entries.map((x) => ({
      entryType: EntryType.EntryNormal,
      term: 0,
      index: 0,
      data: x.data,
      context: x.context ?? EMPTY_BYTES,
    }));
    this.raft.step(newMessage({ msgType: MessageType.MsgPropose, from: this.raft.id, entries: ents }));
  }

  /** Proposes a membership change: a single-step ConfChange, or a ConfChangeV2 (joint consensus). */
  proposeConfChange(context: Uint8Array, cc: ConfChange | ConfChangeV2): void {
    const { entryType, data } = encodeConfChange(cc);
    const e: Entry = { entryType, term: 0, index: 0, data, context };
    this.raft.step(newMessage({ msgType: MessageType.MsgPropose, from: this.raft.id, entries: [e] }));
  }

  /** Applies a committed conf change entry's change; returns the new ConfState to persist. */
  applyConfChange(cc: ConfChange | ConfChangeV2): ConfState {
    return this.raft.applyConfChange(toConfChangeV2(cc));
  }

  /** Steps a message received from the network. */
  step(m: Message): void {
    if (isLocalMsg(m.msgType)) throw new StepLocalMsgError();
    if (this.raft.prs.get(m.from) !== undefined || !isResponseMsg(m.msgType)) {
      this.raft.step(m);
      return;
    }
    throw new StepPeerNotFoundError();
  }

  /**
   * Requests a linearizable read point. The answer arrives as a ReadState with the same context
   * in a later Ready; reads are safe once the state machine has applied up to its index.
   */
  readIndex(rctx: Uint8Array): void {
    const e: Entry = { entryType: EntryType.EntryNormal, term: 0, index: 0, data: rctx, context: EMPTY_BYTES };
    this.raft.step(newMessage({ msgType: MessageType.MsgReadIndex, entries: [e] }));
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeader(transferee: number): void {
    this.raft.step(newMessage({ msgType: MessageType.MsgTransferLeader, from: transferee }));
  }

  /** The transport failed to deliver to `id`: stop optimistic pipelining to it. */
  reportUnreachable(id: number): void {
    this.raft.step(newMessage({ msgType: MessageType.MsgUnreachable, from: id }));
  }

  /** The transport finished (or failed) sending a snapshot to `id`. */
  reportSnapshot(id: number, status: SnapshotStatus): void {
    this.raft.step(newMessage({ msgType: MessageType.MsgSnapStatus, from: id, reject: status === 'failure' }));
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSs)) return true;
    if (!hardStateEqual(r.hardState(), this.prevHs)) return true;
    if (r.readStates.length > 0) return true;
    if (r.msgs.length > 0) return true;
    if (r.raftLog.unstableSnapshot()) return true;
    if (r.raftLog.unstable.entries.length > 0) return true;
    return r.raftLog.hasNextEntriesSince(this.commitSinceIndex);
  }

  ready(): Ready {
    const r = this.raft;
    if (this.pending) throw new Error('raft: ready() called before advance() of the previous Ready');
    const number = ++this.maxNumber;
    const rd: Ready = {
      number,
      softState: null,
      hardState: null,
      readStates: [],
      entries: [],
      snapshot: null,
      committedEntries: [],
      messages: [],
      persistedMessages: [],
      mustSync: false,
    };
    const ss = r.softState();
    if (!softStateEqual(ss, this.prevSs)) rd.softState = ss;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHs)) {
      // A new term or vote must be durable before any vote response leaves; commit alone need not.
      if (hs.vote !== this.prevHs.vote || hs.term !== this.prevHs.term) rd.mustSync = true;
      rd.hardState = hs;
    }
    if (r.readStates.length > 0) {
      rd.readStates = r.readStates;
      r.readStates = [];
    }
    let snapshotIndex = 0;
    const snap = r.raftLog.unstableSnapshot();
    if (snap) {
      rd.snapshot = snap;
      snapshotIndex = snap.metadata.index;
      // Entries below the snapshot were never handed out and never will be.
      if (this.commitSinceIndex < snapshotIndex) this.commitSinceIndex = snapshotIndex;
      rd.mustSync = true;
    }
    rd.entries = r.raftLog.unstableEntries();
    let lastEntry: [number, number] | null = null;
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1]!;
      lastEntry = [e.index, e.term];
      rd.mustSync = true;
    }
    rd.committedEntries = this.takeCommittedEntries();
    const msgs = r.msgs;
    r.msgs = [];
    if (r.state === StateRole.Leader) rd.messages = msgs;
    else rd.persistedMessages = msgs;
    this.pending = { number, lastEntry, snapshotIndex };
    return rd;
  }

  private takeCommittedEntries(): Entry[] {
    const r = this.raft;
    const ents = r.raftLog.nextEntriesSince(this.commitSinceIndex, r.maxCommittedSizePerReady) ?? [];
    if (ents.length > 0) {
      r.reduceUncommittedSize(ents);
      this.commitSinceIndex = ents[ents.length - 1]!.index;
    }
    return ents;
  }

  /**
   * Tells raft the Ready was persisted and its committed entries applied. Returns what that
   * persistence made available; its committedEntries must be applied too, then advanceApply().
   */
  advance(rd: Ready): LightReady {
    const applied = this.commitSinceIndex;
    const light = this.advanceAppend(rd);
    this.advanceApplyTo(applied);
    return light;
  }

  /** Marks the Ready persisted without declaring its committed entries applied. */
  advanceAppend(rd: Ready): LightReady {
    const r = this.raft;
    const p = this.pending;
    if (!p || p.number !== rd.number) throw new Error(`raft: advance of Ready ${rd.number} which is not the outstanding one`);
    this.pending = null;
    if (rd.softState) this.prevSs = rd.softState;
    if (rd.hardState) this.prevHs = rd.hardState;
    if (p.snapshotIndex > 0) {
      r.raftLog.stableSnap(p.snapshotIndex);
      r.onPersistSnap(p.snapshotIndex);
    }
    if (p.lastEntry) {
      r.raftLog.stableEntries(p.lastEntry[0], p.lastEntry[1]);
      r.onPersistEntries(p.lastEntry[0], p.lastEntry[1]);
    }
    const light: LightReady = { commitIndex: null, committedEntries: this.takeCommittedEntries(), messages: r.msgs };
    r.msgs = [];
    const commit = r.raftLog.committed;
    if (commit > this.prevHs.commit) {
      light.commitIndex = commit;
      this.prevHs = { term: this.prevHs.term, vote: this.prevHs.vote, commit };
    }
    return light;
  }

  /** Declares every committed entry handed out so far applied. */
  advanceApply(): void {
    this.advanceApplyTo(this.commitSinceIndex);
  }

  advanceApplyTo(applied: number): void {
    if (applied > this.raft.raftLog.applied) this.raft.commitApply(applied);
  }

  // ---- reads of the node's state (for the application; they change nothing) ----

  get term(): number {
    return this.raft.term;
  }

  get role(): StateRole {
    return this.raft.state;
  }

  /** The leader this node knows in its term (INVALID_ID: none). */
  get leaderId(): number {
    return this.raft.leaderId;
  }

  get committed(): number {
    return this.raft.raftLog.committed;
  }

  /** What raft was last told is applied (advanceApply), not what the application wrote. */
  get applied(): number {
    return this.raft.raftLog.applied;
  }

  lastIndex(): number {
    return this.raft.raftLog.lastIndex();
  }

  /** The term of a log entry; throws CompactedError / UnavailableError outside the log. */
  logTerm(index: number): number {
    return this.raft.raftLog.term(index);
  }

  /** The peer a leader is transferring leadership to (INVALID_ID: no transfer under way). */
  get leadTransferee(): number {
    return this.raft.leadTransferee;
  }

  /**
   * The index of the last conf change this leader proposed (its last index when it became
   * leader): a new one may be proposed once it is applied.
   */
  get pendingConfIndex(): number {
    return this.raft.pendingConfIndex;
  }

  /** Whether an entry of the current term is committed (a new leader's first entry). */
  committedEntryInCurrentTerm(): boolean {
    return this.raft.committedEntryInCurrentTerm();
  }

  /** A peer's replication progress, as the leader tracks it; undefined for a non-member. */
  progressOf(id: number): Readonly<Progress> | undefined {
    return this.raft.prs.get(id);
  }

  /** Every member's replication progress (meaningful on the leader), by peer id. */
  progresses(): ReadonlyMap<number, Readonly<Progress>> {
    return this.raft.prs.progress;
  }

  // ---- less common steps ----

  /**
   * A follower forgets its leader, staying in its term: it grants (pre-)votes at once instead of
   * after an election timeout, and its election timer starts afresh.
   */
  forgetLeader(): void {
    this.raft.becomeFollower(this.raft.term, INVALID_ID);
  }

  /** A leader sends every follower an append now (with the commit index) instead of later. */
  broadcastAppend(): void {
    this.raft.bcastAppend();
  }

  status(): Status {
    const r = this.raft;
    let progress: Map<number, ProgressStatus> | null = null;
    if (r.state === StateRole.Leader) {
      progress = new Map();
      for (const [id, pr] of r.prs.progress) {
        progress.set(id, {
          matched: pr.matched,
          nextIdx: pr.nextIdx,
          state: pr.state,
          paused: pr.paused,
          pendingSnapshot: pr.pendingSnapshot,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
          inflight: pr.ins.count,
        });
      }
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      progress,
      leadTransferee: r.leadTransferee,
      confState: r.prs.confState(),
    };
  }
}
