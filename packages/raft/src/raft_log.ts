// The raft log as raft sees it: the stable part in Storage followed by the unstable tail, plus the
// committed / persisted / applied cursors.
import { CompactedError, StoreError, UnavailableError } from './errors.js';
import { Unstable } from './log_unstable.js';
import type { Storage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { entrySize, type Logger, limitSizeEnd } from './util.js';

/**
 * Invariants: applied <= committed; persisted < unstable.offset (only entries that reached Storage
 * count as persisted). Entries are handed to the application for applying only up to
 * min(committed, persisted), which is what lets a leader send appends before its own fsync.
 */
export class RaftLog {
  /** The stable entries since the last snapshot. */
  store: Storage;
  /** Entries (and possibly a snapshot) not yet written to store. */
  unstable: Unstable;
  /** Highest index known to be stored on a quorum. */
  committed: number;
  /** Highest index known to be in this node's stable storage. */
  persisted: number;
  /** Highest index the application has been told to apply. */
  applied: number;
  private readonly logger: Logger;

  constructor(store: Storage, logger: Logger) {
    const firstIndex = store.firstIndex();
    const lastIndex = store.lastIndex();
    this.store = store;
    this.logger = logger;
    // Everything up to the last compaction point is committed and applied (it is in the snapshot).
    this.committed = firstIndex - 1;
    this.applied = firstIndex - 1;
    this.persisted = lastIndex;
    this.unstable = new Unstable(lastIndex + 1, logger);
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex();
    return i !== undefined ? i : this.store.firstIndex();
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex();
    return i !== undefined ? i : this.store.lastIndex();
  }

  /** Term of the last entry; always available (compaction keeps the term of the dummy entry). */
  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /**
   * Term of idx. The valid range is [firstIndex()-1, lastIndex()]: throws CompactedError below it
   * and UnavailableError above it.
   */
  term(idx: number): number {
    const t = this.unstable.maybeTerm(idx);
    if (t !== undefined) return t;
    if (idx < this.firstIndex() - 1) throw new CompactedError();
    if (idx > this.lastIndex()) throw new UnavailableError();
    return this.store.term(idx);
  }

  /** Term of idx, or 0 if it is compacted or beyond the log. */
  termOrZero(idx: number): number {
    const t = this.maybeTerm(idx);
    return t === undefined ? 0 : t;
  }

  /** Whether the log holds idx with that term. An index outside the log never matches (even term 0). */
  matchTerm(idx: number, term: number): boolean {
    return this.maybeTerm(idx) === term;
  }

  /**
   * The first index at which ents (contiguous, increasing) disagree with the log: an existing entry
   * with a different term, or the first entry past lastIndex(). 0 if the log already contains all
   * of ents.
   */
  findConflict(ents: readonly Entry[]): number {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          this.logger.info('found conflict', { index: e.index, existingTerm: this.termOrZero(e.index), conflictingTerm: e.term });
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term, with that term. Used to skip a whole term of
   * mismatching entries at once when an append is rejected. If the search leaves the log (index
   * beyond lastIndex(), or it walks into the compacted prefix), returns where it stopped and an
   * undefined term.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number | undefined } {
    if (index > this.lastIndex()) {
      this.logger.warn('index out of range in findConflictByTerm', { index, lastIndex: this.lastIndex() });
      return { index, term: undefined };
    }
    let i = index;
    for (;;) {
      const t = this.maybeTerm(i);
      if (t === undefined) return { index: i, term: undefined };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /**
   * Follower side of MsgAppend: if (idx, term) matches the log, appends what is new in ents (which
   * start at idx+1), truncating a conflicting suffix, and commits up to min(committed, last new
   * index). Returns undefined if (idx, term) does not match. Throws StoreError if ents conflict with
   * a committed entry (a safety violation upstream).
   */
  maybeAppend(
    idx: number,
    term: number,
    committed: number,
    ents: readonly Entry[],
  ): { conflictIdx: number; lastNewIndex: number } | undefined {
    if (!this.matchTerm(idx, term)) return undefined;
    const conflictIdx = this.findConflict(ents);
    if (conflictIdx !== 0) {
      if (conflictIdx <= this.committed) {
        throw new StoreError(`entry ${conflictIdx} conflicts with committed entry ${this.committed}`);
      }
      const start = conflictIdx - (idx + 1);
      this.append(start === 0 ? ents : ents.slice(start));
      // The persisted suffix from conflictIdx on is being replaced: it no longer counts.
      if (this.persisted > conflictIdx - 1) this.persisted = conflictIdx - 1;
    }
    const lastNewIndex = idx + ents.length;
    this.commitTo(Math.min(committed, lastNewIndex));
    return { conflictIdx, lastNewIndex };
  }

  /** Appends ents to the unstable log (truncating what they overlap); returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new StoreError(`after ${after} is out of range [committed ${this.committed}]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** A copy of the entries not yet persisted, safe to hand to the application. */
  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  unstableSnapshot(): Snapshot | null {
    return this.unstable.snapshot;
  }

  /** Entries from idx to the end, limited to maxSize bytes (at least one); [] if idx > lastIndex(). */
  entries(idx: number, maxSize = Infinity): Entry[] {
    const last = this.lastIndex();
    if (idx > last) return [];
    return this.slice(idx, last + 1, maxSize);
  }

  allEntries(): Entry[] {
    for (;;) {
      try {
        return this.entries(this.firstIndex());
      } catch (e) {
        // A compaction raced with us (a storage shared with another thread); try again.
        if (!(e instanceof CompactedError)) throw e;
      }
    }
  }

  /**
   * Whether a log ending at (lastIndex, term) is at least as up-to-date as ours: a later last term
   * wins, and with equal last terms the longer log wins.
   */
  isUpToDate(lastIndex: number, term: number): boolean {
    const lastTerm = this.lastTerm();
    return term > lastTerm || (term === lastTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries ready to apply after sinceIdx: from max(sinceIdx+1, firstIndex()) up to
   * min(committed, persisted). Undefined if there are none.
   */
  nextEntriesSince(sinceIdx: number, maxSize = Infinity): Entry[] | undefined {
    const offset = Math.max(sinceIdx + 1, this.firstIndex());
    const high = Math.min(this.committed, this.persisted) + 1;
    return high > offset ? this.slice(offset, high, maxSize) : undefined;
  }

  nextEntries(maxSize = Infinity): Entry[] | undefined {
    return this.nextEntriesSince(this.applied, maxSize);
  }

  hasNextEntriesSince(sinceIdx: number): boolean {
    const offset = Math.max(sinceIdx + 1, this.firstIndex());
    return Math.min(this.committed, this.persisted) + 1 > offset;
  }

  hasNextEntries(): boolean {
    return this.hasNextEntriesSince(this.applied);
  }

  /** The pending unstable snapshot if it is new enough, else the storage's. */
  snapshot(requestIndex: number, to: number): Snapshot {
    const s = this.unstable.snapshot;
    if (s !== null && s.metadata.index >= requestIndex) return s;
    return this.store.snapshot(requestIndex, to);
  }

  /**
   * Commits maxIndex if it advances the commit and its entry has the given term. A leader passes its
   * own term: it may only commit entries of its term by counting replicas (Raft §5.4.2); earlier
   * entries are committed indirectly.
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.maybeTerm(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Raises committed to toCommit (never lowers it). Throws StoreError past the last index. */
  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return;
    if (this.lastIndex() < toCommit) {
      throw new StoreError(`toCommit ${toCommit} is out of range [lastIndex ${this.lastIndex()}]`);
    }
    this.committed = toCommit;
  }

  /** Records that the application applied up to idx. Throws StoreError unless applied <= idx <= committed. */
  appliedTo(idx: number): void {
    if (idx === 0) return;
    if (idx > this.committed || idx < this.applied) {
      throw new StoreError(`applied(${idx}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = idx;
  }

  /**
   * The application persisted entries up to (index, term). Raises persisted only if that entry is in
   * storage with that term and is before anything still unstable (a snapshot, or entries from
   * unstable.offset on). The latter check matters when the same (index, term) was rewritten while
   * the write was in flight: e.g. a follower persists entries from leader A, meanwhile accepts a
   * conflicting suffix from leader C, then receives A's original entries again; the completed write
   * must not vouch for the entries that are still being written.
   */
  maybePersist(index: number, term: number): boolean {
    const snap = this.unstable.snapshot;
    const firstUpdateIndex = snap !== null ? snap.metadata.index : this.unstable.offset;
    if (index > this.persisted && index < firstUpdateIndex && this.storeTermOrUndefined(index) === term) {
      this.persisted = index;
      return true;
    }
    return false;
  }

  /** The application persisted the snapshot at index. */
  maybePersistSnap(index: number): boolean {
    if (index <= this.persisted) return false;
    // A snapshot is only installed at or below the commit index...
    if (index > this.committed) throw new StoreError(`snapshot's index ${index} > committed ${this.committed}`);
    // ...and everything appended after it has a larger index.
    if (index >= this.unstable.offset) throw new StoreError(`snapshot's index ${index} >= offset ${this.unstable.offset}`);
    this.persisted = index;
    return true;
  }

  stableEntries(index: number, term: number): void {
    this.unstable.stableEntries(index, term);
  }

  stableSnap(index: number): void {
    this.unstable.stableSnap(index);
  }

  /**
   * Replaces the log with snap (not yet persisted: it becomes the unstable snapshot). committed moves
   * to the snapshot index. persisted does NOT: the snapshot is not on disk until maybePersistSnap;
   * it is only lowered to the old commit, since persisted entries past it may differ from what the
   * snapshot covers.
   */
  restore(snap: Snapshot): void {
    const index = snap.metadata.index;
    this.logger.info('log starts to restore snapshot', { log: this.toString(), index, term: snap.metadata.term });
    if (index < this.committed) throw new StoreError(`snapshot index ${index} < committed ${this.committed}`);
    if (this.persisted > this.committed) this.persisted = this.committed;
    this.committed = index;
    this.unstable.restore(snap);
  }

  /**
   * Entries [lo, hi), limited to maxSize bytes (at least one), drawn from storage and/or the unstable
   * tail. Throws CompactedError if lo < firstIndex(), StoreError if the range is invalid or past the
   * end of the log.
   */
  slice(lo: number, hi: number, maxSize = Infinity): Entry[] {
    this.checkOutOfBounds(lo, hi);
    if (lo === hi) return [];
    const off = this.unstable.offset;
    const uents = this.unstable.entries;
    if (lo >= off) {
      const a = lo - off;
      return uents.slice(a, limitSizeEnd(uents, a, hi - off, maxSize));
    }
    const storeHi = Math.min(hi, off);
    let ents: Entry[];
    try {
      ents = this.store.entries(lo, storeHi, maxSize);
    } catch (e) {
      if (e instanceof UnavailableError) throw new StoreError(`entries[${lo}, ${storeHi}) are unavailable from storage`);
      throw e;
    }
    // Cut short by the size limit, or nothing unstable requested: done.
    if (ents.length < storeHi - lo || hi <= off) return ents;
    let used = 0;
    if (maxSize !== Infinity) for (let i = 0; i < ents.length; i++) used += entrySize(ents[i]!);
    const end = limitSizeEnd(uents, 0, hi - off, maxSize, used);
    // concat, not push: never mutate an array a Storage implementation returned.
    return end === 0 ? ents : ents.concat(uents.slice(0, end));
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new StoreError(`invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError();
    const last = this.lastIndex();
    if (hi > last + 1) throw new StoreError(`slice[${lo}, ${hi}) out of bound [${first}, ${last}]`);
  }

  /** Term of idx, or undefined if it is compacted or beyond the log. No exceptions on the hot path. */
  private maybeTerm(idx: number): number | undefined {
    const t = this.unstable.maybeTerm(idx);
    if (t !== undefined) return t;
    if (idx < this.firstIndex() - 1 || idx > this.lastIndex()) return undefined;
    return this.storeTermOrUndefined(idx);
  }

  private storeTermOrUndefined(idx: number): number | undefined {
    try {
      return this.store.term(idx);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return undefined;
      throw e;
    }
  }

  toString(): string {
    return (
      `committed=${this.committed}, persisted=${this.persisted}, applied=${this.applied}, ` +
      `unstable.offset=${this.unstable.offset}, unstable.entries.length=${this.unstable.entries.length}`
    );
  }
}
