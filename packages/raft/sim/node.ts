// One simulated server: durable state (MemoryStorage + state machine) that survives crashes, and
// a RawNode plus client bookkeeping that do not. Drives the Ready protocol in the order documented
// in raw_node.ts, with optional crash points inside it.
import { mulberry32, type Prng } from '@tskv/util';
import type { ConfState, Entry, Logger, Ready } from '../src/index.js';
import {
  Config,
  decodeConfChange,
  EntryType,
  MemoryStorage,
  type Message,
  newConfState,
  newSnapshot,
  RawNode,
  type ReadState,
  type Snapshot,
  StateRole,
  type Storage,
} from '../src/index.js';
import { type Checker, Violation } from './checker.js';
import { BOOT_PREFIX, entryDigest } from './hash.js';
import type { SimParams } from './params.js';
import { LogShadow, PendingView } from './shadow.js';
import { decodeProposal, decodeReadCtx, StateMachine } from './state_machine.js';
import { SimStorage } from './storage.js';

/** Builds the RawNode of a (re)starting node; tests pass one that wraps a deliberately buggy Raft. */
export type NodeFactory = (cfg: Config, storage: Storage, applied: number) => RawNode;
export const defaultFactory: NodeFactory = (cfg, storage) => new RawNode(cfg, storage);

/** Where inside a Ready an armed crash strikes. */
export type CrashPoint = 'beforePersist' | 'afterPersist' | 'beforeAdvance';

export interface NodeEnv {
  readonly params: SimParams;
  readonly checker: Checker;
  readonly factory: NodeFactory;
  /** Randomness for the sim's own decisions about this node (compaction, flaky snapshots). */
  readonly rand: Prng;
  readonly raftLogger: Logger | undefined;
  send(msgs: Message[]): void;
  acked(node: SimNode, proposal: number, index: number): void;
  crashed(node: SimNode): void;
  seedFor(id: number, incarnation: number): number;
  trace: ((line: string) => void) | null;
}

export class SimNode {
  // ---- durable: survives crashes ----
  mem: MemoryStorage;
  sm: StateMachine;
  readonly shadow: LogShadow;
  // ---- volatile ----
  raw: RawNode | null = null;
  incarnation = 0;
  /** Shut down for good at the end of a run because it is no longer a member. */
  retired = false;
  armedCrash: CrashPoint | null = null;
  readonly pendingProposals = new Set<number>();
  /** ReadStates received, waiting for the state machine to catch up to their index. */
  private servable: { read: number; index: number }[] = [];
  lastCommit = 0;

  /**
   * Initial voters start from the bootstrap snapshot (index 1, term 1) holding the initial
   * configuration; other nodes start empty and can only join through a snapshot from a leader.
   */
  constructor(
    readonly id: number,
    private readonly env: NodeEnv,
    member: boolean,
  ) {
    this.mem = new MemoryStorage();
    if (member) {
      this.sm = StateMachine.boot();
      this.mem.applySnapshot(newSnapshot(1, 1, newConfState({ voters: env.params.initialVoters }), this.sm.encode()));
      this.shadow = new LogShadow(1, 1, BOOT_PREFIX);
    } else {
      this.sm = new StateMachine();
      this.shadow = new LogShadow(0, 0, 0);
    }
  }

  get alive(): boolean {
    return this.raw !== null;
  }

  /** (Re)starts from durable state: storage as persisted, applied = what the state machine holds. */
  start(): void {
    const p = this.env.params;
    this.incarnation++;
    // A private copy, so nothing the previous incarnation still references can touch the disk.
    this.mem = this.mem.clone();
    const storage = new SimStorage(this.mem, {
      regenerate: () => this.snapshotNow(),
      flaky: () => this.env.rand.chance(p.snapshotFlakyRate),
    });
    const cfg = new Config({
      id: this.id,
      electionTick: p.electionTick,
      heartbeatTick: p.heartbeatTick,
      applied: this.sm.applied,
      maxSizePerMsg: p.maxSizePerMsg,
      maxInflightMsgs: p.maxInflightMsgs,
      maxUncommittedEntriesSize: p.maxUncommittedEntriesSize,
      maxCommittedSizePerReady: p.maxCommittedSizePerReady,
      checkQuorum: p.checkQuorum,
      preVote: p.preVote,
      readOnlyOption: 'safe',
      skipBcastCommit: p.skipBcastCommit,
      random: mulberry32(this.env.seedFor(this.id, this.incarnation)),
      logger: this.env.raftLogger,
    });
    this.raw = this.env.factory(cfg, storage, this.sm.applied);
    this.lastCommit = 0;
  }

  /** Loses everything volatile: the RawNode (and its unstable log), pending client requests. */
  crash(): void {
    this.raw = null;
    this.armedCrash = null;
    this.pendingProposals.clear();
    this.servable = [];
  }

  /** Handles Readies until raft has nothing more to say. */
  process(): void {
    for (let i = 0; this.raw?.hasReady(); i++) {
      if (i >= 1000) throw new Violation('library-error', `node ${this.id}: hasReady() still true after 1000 Readies`);
      this.handleReady(this.raw);
    }
  }

  private crashAt(point: CrashPoint): boolean {
    if (this.armedCrash !== point) return false;
    this.env.trace?.(`node ${this.id} crashes inside a Ready (${point})`);
    this.crash();
    this.env.crashed(this);
    return true;
  }

  private handleReady(raw: RawNode): void {
    const rd = raw.ready();
    const c = this.env.checker;
    const w = c.prepareWrite(this.id, this.shadow, rd.snapshot, rd.entries);
    if (raw.raft.state === StateRole.Leader) c.noteLeader(this.id, raw.raft.term, new PendingView(this.shadow, w));
    this.traceReady(rd);

    // 1. A leader may send before its own write is durable.
    this.env.send(rd.messages);
    if (this.crashAt('beforePersist')) return;
    // 2. Persist: snapshot, entries and hard state as one atomic write.
    if (rd.snapshot) this.installSnapshot(rd.snapshot);
    this.mem.append(rd.entries);
    if (rd.hardState) this.mem.setHardState(rd.hardState);
    this.shadow.write(w);
    if (this.crashAt('afterPersist')) return;
    // 3. Messages that must follow persistence (votes, append acks).
    this.env.send(rd.persistedMessages);
    // 4. Apply; reads wait until applied reaches their index.
    this.apply(raw, rd.committedEntries);
    for (const rs of rd.readStates) this.onReadState(rs);
    if (this.crashAt('beforeAdvance')) return;
    // 5. Advance, then handle the LightReady: persist the commit index before applying.
    const light = raw.advance(rd);
    if (light.commitIndex !== null) this.mem.setCommit(light.commitIndex);
    this.env.send(light.messages);
    this.apply(raw, light.committedEntries);
    raw.advanceApply();
    this.serveReads();
    this.maybeCompact();
  }

  private installSnapshot(snap: Snapshot): void {
    const { index } = snap.metadata;
    this.mem.applySnapshot(snap);
    const sm = StateMachine.decode(snap.data);
    if (sm.applied !== index) throw new Error(`sim: snapshot at ${index} holds a state machine applied to ${sm.applied}`);
    if (index < this.sm.applied) {
      throw new Violation(
        'state-machine-safety',
        `node ${this.id} was told to install a snapshot at ${index}, behind its applied index ${this.sm.applied}`,
      );
    }
    this.env.checker.onSnapshotRestore(this.id, index, sm.hash);
    this.sm = sm;
    this.env.trace?.(`node ${this.id} installed snapshot at ${index} term ${snap.metadata.term}`);
  }

  private apply(raw: RawNode, ents: Entry[]): void {
    for (const e of ents) {
      if (e.index !== this.sm.applied + 1) {
        throw new Violation(
          'state-machine-safety',
          `node ${this.id} was handed entry ${e.index} to apply, but has applied up to ${this.sm.applied}`,
        );
      }
      const d = entryDigest(e);
      let proposal: number | null = null;
      if (e.entryType === EntryType.EntryNormal) {
        proposal = decodeProposal(e.data);
      } else {
        const cc = decodeConfChange(e);
        let cs: ConfState;
        try {
          cs = raw.applyConfChange(cc);
        } catch (err) {
          throw new Violation('library-error', `node ${this.id} failed to apply conf change at ${e.index}: ${String(err)}`);
        }
        // Conf state and applied index are durable together with the state machine.
        this.mem.setConfState(cs);
        this.env.trace?.(
          `node ${this.id} applied conf change at ${e.index}: ` +
            `voters=${cs.voters} outgoing=${cs.votersOutgoing} learners=${cs.learners} next=${cs.learnersNext}`,
        );
      }
      this.sm.apply(e.index, d, proposal);
      this.env.checker.onApply(this.id, e.index, d, this.sm.hash);
      if (proposal !== null && this.pendingProposals.delete(proposal)) this.env.acked(this, proposal, e.index);
    }
  }

  private onReadState(rs: ReadState): void {
    const read = decodeReadCtx(rs.requestCtx);
    if (read === null) throw new Error('sim: ReadState with a foreign context');
    this.servable.push({ read, index: rs.index });
    this.serveReads();
  }

  private serveReads(): void {
    if (this.servable.length === 0) return;
    const keep: { read: number; index: number }[] = [];
    for (const r of this.servable) {
      if (r.index <= this.sm.applied) {
        this.env.checker.onReadServed(r.read, this.id, r.index, this.sm.applied);
        this.env.trace?.(`node ${this.id} served read ${r.read} at index ${r.index}`);
      } else keep.push(r);
    }
    this.servable = keep;
  }

  /** Records the state machine as a snapshot in storage (if it moved since the last one). */
  snapshotNow(): void {
    if (this.sm.applied <= this.mem.snapshotData().metadata.index) return;
    this.mem.createSnapshot(this.sm.applied, undefined, this.sm.encode());
  }

  private maybeCompact(): void {
    const p = this.env.params;
    if (this.sm.applied - this.mem.snapshotData().metadata.index < p.compactEvery) return;
    this.snapshotNow();
    const to = this.sm.applied - this.env.rand.int(0, p.compactKeep + 1);
    if (to >= this.mem.firstIndex()) {
      this.mem.compact(to);
      this.env.trace?.(`node ${this.id} compacted its log through ${to}`);
    }
  }

  private traceReady(rd: Ready): void {
    const t = this.env.trace;
    if (!t) return;
    const parts: string[] = [];
    if (rd.softState) parts.push(`${StateRole[rd.softState.raftState]}(leader=${rd.softState.leaderId})`);
    if (rd.hardState) parts.push(`hs(term=${rd.hardState.term} vote=${rd.hardState.vote} commit=${rd.hardState.commit})`);
    if (rd.snapshot) parts.push(`snapshot(${rd.snapshot.metadata.index}/${rd.snapshot.metadata.term})`);
    if (rd.entries.length)
      parts.push(
        `persist[${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}] ` +
          `terms=${[...new Set(rd.entries.map((e) => e.term))]}`,
      );
    if (rd.committedEntries.length)
      parts.push(`apply[${rd.committedEntries[0]!.index}..${rd.committedEntries[rd.committedEntries.length - 1]!.index}]`);
    if (rd.readStates.length) parts.push(`reads=${rd.readStates.map((r) => r.index)}`);
    if (parts.length) t(`node ${this.id} ready: ${parts.join(' ')}`);
  }
}
