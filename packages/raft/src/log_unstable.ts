// The not-yet-persisted tail of the raft log: entries (and possibly a snapshot) that raft has
// accepted but the application has not yet written to Storage.
import { StoreError } from './errors.js';
import type { Entry, Snapshot } from './types.js';
import type { Logger } from './util.js';

/**
 * entries[i] has log index offset+i. offset may be <= Storage.lastIndex(): then the next write to
 * storage must truncate the stable log before persisting entries. If snapshot is set, it precedes
 * the entries (offset === snapshot index + 1 when it was installed).
 *
 * `entries` is mutated in place (truncated / pushed), so anything handed out is a slice.
 */
export class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  offset: number;
  private readonly logger: Logger;

  constructor(offset: number, logger: Logger) {
    this.offset = offset;
    this.logger = logger;
  }

  /** The first index if there is an unstable snapshot (then everything before it is gone). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === null ? undefined : this.snapshot.metadata.index + 1;
  }

  /** The last index if there is at least one unstable entry or an unstable snapshot. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === null ? undefined : this.snapshot.metadata.index;
  }

  maybeTerm(idx: number): number | undefined {
    if (idx < this.offset) {
      const s = this.snapshot;
      return s !== null && s.metadata.index === idx ? s.metadata.term : undefined;
    }
    const i = idx - this.offset;
    return i < this.entries.length ? this.entries[i]!.term : undefined;
  }

  /**
   * The application persisted entries up to (index, term): drop that prefix. Ignored when the entry
   * is no longer here with that term: the unstable log was truncated or replaced while the write was
   * in flight, and the newer entries still need persisting.
   */
  stableEntries(index: number, term: number): void {
    if (index < this.offset) return; // already stable, or the snapshot's index
    const n = index - this.offset + 1;
    const e = this.entries[n - 1];
    if (e === undefined || e.term !== term) {
      this.logger.info('ignoring stale stableEntries', { index, term, offset: this.offset, unstableTerm: e?.term });
      return;
    }
    // New array rather than splice: the common case drops everything and keeps nothing.
    this.entries = n === this.entries.length ? [] : this.entries.slice(n);
    this.offset = index + 1;
  }

  /** The application persisted the snapshot at index; ignored if it was replaced meanwhile. */
  stableSnap(index: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) {
      this.snapshot = null;
      return;
    }
    this.logger.info('ignoring stale stableSnap', { index, snapshotIndex: this.snapshot?.metadata.index });
  }

  /** Installs snap as the new unstable base, dropping all unstable entries. */
  restore(snap: Snapshot): void {
    this.entries = [];
    this.offset = snap.metadata.index + 1;
    this.snapshot = snap;
  }

  /** Appends contiguous ents, first truncating whatever they overlap. */
  truncateAndAppend(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const after = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (after === end) {
      // Plain append: the hot path for a leader's proposals.
    } else if (after <= this.offset) {
      // Replaces everything unstable (and rewrites part of the stable log, which the next
      // persist truncates).
      this.logger.info('replacing unstable entries', { from: after, offset: this.offset });
      this.offset = after;
      this.entries = [];
    } else if (after < end) {
      this.logger.info('truncating unstable entries', { before: after, offset: this.offset });
      this.entries.length = after - this.offset;
    } else {
      throw new StoreError(`unstable append at ${after} leaves a gap after ${end - 1}`);
    }
    const dst = this.entries;
    for (let i = 0; i < ents.length; i++) dst.push(ents[i]!);
  }

  /** A copy of entries [lo, hi); both must lie within the unstable entries. */
  slice(lo: number, hi: number): Entry[] {
    this.checkOutOfBounds(lo, hi);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) throw new StoreError(`invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    if (lo < this.offset || hi > upper) {
      throw new StoreError(`unstable.slice[${lo}, ${hi}) out of bound [${this.offset}, ${upper})`);
    }
  }
}
