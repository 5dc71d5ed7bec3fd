// The Storage interface raft reads its stable log through, and MemoryStorage, an in-memory
// implementation used by tests, examples and the simulator.
import { CompactedError, SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError, StoreError, UnavailableError } from './errors.js';
import {
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  type HardState,
  newConfState,
  newEntry,
  newHardState,
  newSnapshot,
  type Snapshot,
} from './types.js';
import { limitSizeEnd } from './util.js';

/** What a node restarts from: the persisted HardState and the latest ConfState. */
export interface RaftState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * Read access to the persisted (stable) part of the log. Raft never writes through this interface:
 * the application persists what a Ready hands it and then tells raft.
 *
 * The valid index range is [firstIndex()-1, lastIndex()]: the entry just before firstIndex is gone
 * (compacted into a snapshot) but its term is kept, so appends right after it can still be matched.
 */
export interface Storage {
  initialState(): RaftState;
  /**
   * Entries [low, high), cut to maxSize bytes (util.entrySize) but never fewer than one entry when
   * the range is non-empty. Throws CompactedError if low <= the snapshot index, UnavailableError if
   * high > lastIndex()+1. The returned array is the caller's.
   */
  entries(low: number, high: number, maxSize?: number): Entry[];
  /**
   * Term of idx; the snapshot (dummy) index gives the snapshot term. Throws CompactedError below
   * it, UnavailableError above lastIndex().
   */
  term(idx: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /**
   * The most recent snapshot, at least as new as requestIndex; `to` is the peer it is for.
   * Throws SnapshotTemporarilyUnavailableError when none is ready yet (raft retries later).
   */
  snapshot(requestIndex: number, to: number): Snapshot;
}

function cloneConfState(cs: ConfState): ConfState {
  return {
    voters: cs.voters.slice(),
    learners: cs.learners.slice(),
    votersOutgoing: cs.votersOutgoing.slice(),
    learnersNext: cs.learnersNext.slice(),
    autoLeave: cs.autoLeave,
  };
}

/**
 * In-memory Storage in the etcd MemoryStorage layout: ents[0] is a dummy entry carrying the index
 * and term of the last compaction point (initially the snapshot), so firstIndex = ents[0].index+1.
 *
 * Entry and Snapshot objects are treated as immutable values and shared with callers; the ents
 * array itself is private and may be mutated in place, so every read returns a fresh slice.
 */
export class MemoryStorage implements Storage {
  private ents: Entry[] = [newEntry()];
  private hs: HardState = newHardState();
  private cs: ConfState = newConfState();
  private snap: Snapshot = newSnapshot();
  private snapUnavailable = false;

  /**
   * raft-rs MemStorage::new_with_conf_state: an empty log (snapshot index 0, term 0) whose
   * configuration is cs. Give every member of a fresh group the same cs so they can elect a leader.
   */
  static newWithConfState(cs: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    s.cs = cloneConfState(cs);
    s.snap = newSnapshot(0, 0, cloneConfState(cs));
    return s;
  }

  initialState(): RaftState {
    return { hardState: this.hardState(), confState: cloneConfState(this.cs) };
  }

  hardState(): HardState {
    return { term: this.hs.term, vote: this.hs.vote, commit: this.hs.commit };
  }

  setHardState(hs: HardState): void {
    this.hs = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  setConfState(cs: ConfState): void {
    this.cs = cloneConfState(cs);
  }

  setCommit(commit: number): void {
    this.hs.commit = commit;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  term(idx: number): number {
    const offset = this.ents[0]!.index;
    if (idx < offset) throw new CompactedError();
    const i = idx - offset;
    if (i >= this.ents.length) throw new UnavailableError();
    return this.ents[i]!.term;
  }

  entries(low: number, high: number, maxSize = Infinity): Entry[] {
    const offset = this.ents[0]!.index;
    if (low <= offset) throw new CompactedError();
    if (high > this.lastIndex() + 1) throw new UnavailableError();
    if (low > high) throw new StoreError(`invalid entries range [${low}, ${high})`);
    const lo = low - offset;
    // Find the size cut first so a large range limited to a few entries is not copied whole.
    return this.ents.slice(lo, limitSizeEnd(this.ents, lo, high - offset, maxSize));
  }

  /**
   * The current snapshot (etcd semantics: the one installed by applySnapshot or createSnapshot).
   * A snapshot older than requestIndex is not good enough: report it as temporarily unavailable so
   * the leader retries once the application has created a newer one.
   */
  snapshot(requestIndex: number, _to: number): Snapshot {
    if (this.snapUnavailable) {
      this.snapUnavailable = false;
      throw new SnapshotTemporarilyUnavailableError();
    }
    if (this.snap.metadata.index < requestIndex) throw new SnapshotTemporarilyUnavailableError();
    return this.snap;
  }

  /** The current snapshot, without the request checks of snapshot(). */
  snapshotData(): Snapshot {
    return this.snap;
  }

  /**
   * Replaces the whole log with snap. Like raft-rs, also moves the hard state's commit to the snapshot
   * index (and its term forward) and adopts the snapshot's ConfState, so that a crash right after
   * this call still restarts into a consistent state (commit within the log).
   */
  applySnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    this.snap = snap;
    this.ents = [newEntry({ index, term })];
    this.hs = { term: Math.max(this.hs.term, term), vote: this.hs.vote, commit: index };
    this.cs = cloneConfState(snap.metadata.confState);
  }

  /**
   * Records a snapshot of the state machine as of `index` (which the application has applied).
   * cs defaults to the storage's current ConfState. Entries are not discarded: call compact().
   */
  createSnapshot(index: number, cs?: ConfState, data: Uint8Array = EMPTY_BYTES): Snapshot {
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    const offset = this.ents[0]!.index;
    if (index > this.lastIndex()) throw new StoreError(`snapshot ${index} is out of bound lastindex(${this.lastIndex()})`);
    // Compacted past the requested index without a snapshot there: its term is gone.
    if (index < offset) throw new CompactedError();
    this.snap = newSnapshot(index, this.ents[index - offset]!.term, cloneConfState(cs ?? this.cs), data);
    return this.snap;
  }

  /**
   * Discards the log up to and including compactIndex, which becomes the new dummy entry (its term
   * stays readable). The application must not compact past what it has applied.
   */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new CompactedError();
    if (compactIndex > this.lastIndex()) throw new StoreError(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const dummy = newEntry({ index: compactIndex, term: this.ents[i]!.term });
    // A fresh dummy (index and term only) so the compacted entry's payload can be freed; entry
    // objects are shared with callers and never modified.
    const kept = this.ents.slice(i);
    kept[0] = dummy;
    this.ents = kept;
  }

  /**
   * Persists ents, which must be contiguous. An overlapping suffix of the log is replaced (the
   * caller only sends entries that conflict or extend); a prefix at or below the compaction point is
   * ignored. Throws StoreError if ents would leave a gap after lastIndex().
   */
  append(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const first = this.firstIndex();
    const last = ents[0]!.index + ents.length - 1;
    if (last < first) return; // everything already compacted
    let start = 0;
    if (first > ents[0]!.index) start = first - ents[0]!.index;
    const at = ents[start]!.index - this.ents[0]!.index; // position in this.ents of the first new entry
    if (at > this.ents.length) {
      throw new StoreError(`missing log entry [last: ${this.lastIndex()}, append at: ${ents[start]!.index}]`);
    }
    if (at < this.ents.length) this.ents.length = at;
    for (let i = start; i < ents.length; i++) this.ents.push(ents[i]!);
  }

  /** Makes the next snapshot() call throw SnapshotTemporarilyUnavailableError (once). For tests. */
  triggerSnapUnavailable(): void {
    this.snapUnavailable = true;
  }

  /**
   * An independent copy: later changes to either side do not show in the other. Entries and the
   * snapshot are immutable values and are shared.
   */
  clone(): MemoryStorage {
    const c = new MemoryStorage();
    c.ents = this.ents.slice();
    c.hs = this.hardState();
    c.cs = cloneConfState(this.cs);
    c.snap = this.snap;
    c.snapUnavailable = this.snapUnavailable;
    return c;
  }
}
