// The checker's mirror of one node's durable log: the term and rolling prefix hash of every index
// from the node's snapshot index on. Updated exactly when the sim writes the node's storage, so it
// survives crashes like the storage does. A prefix hash identifies the whole log up to its index.
import type { Entry, Snapshot } from '../src/index.js';
import { chain, entryDigest } from './hash.js';

export interface LogView {
  readonly base: number;
  last(): number;
  hashAt(i: number): number | undefined;
}

/** What one Ready writes: an optional snapshot, then entries from `first` on (replacing the tail). */
export interface PendingWrite {
  snap: { index: number; term: number; hash: number } | null;
  first: number;
  terms: number[];
  hashes: number[];
  digests: number[];
}

export class LogShadow implements LogView {
  base: number;
  private terms: number[];
  private hashes: number[];

  /** A log whose first (dummy) position is `base`, with that term and prefix hash. */
  constructor(base: number, term: number, hash: number) {
    this.base = base;
    this.terms = [term];
    this.hashes = [hash];
  }

  last(): number {
    return this.base + this.hashes.length - 1;
  }

  hashAt(i: number): number | undefined {
    return i < this.base ? undefined : this.hashes[i - this.base];
  }

  termAt(i: number): number | undefined {
    return i < this.base ? undefined : this.terms[i - this.base];
  }

  /**
   * Hashes what a Ready would write, without writing it. `snapHash` gives the prefix hash of the
   * snapshot's last entry. Throws if the entries do not attach to the log (a sim bug, not raft's).
   */
  prepare(snapshot: Snapshot | null, snapHash: number, entries: readonly Entry[]): PendingWrite {
    const w: PendingWrite = { snap: null, first: 0, terms: [], hashes: [], digests: [] };
    if (snapshot) w.snap = { index: snapshot.metadata.index, term: snapshot.metadata.term, hash: snapHash };
    if (entries.length === 0) return w;
    w.first = entries[0]!.index;
    const prev = w.first - 1;
    let h = w.snap ? (prev === w.snap.index ? w.snap.hash : undefined) : this.hashAt(prev);
    if (h === undefined) throw new Error(`sim: entries from ${w.first} do not attach to the log [${this.base}, ${this.last()}]`);
    for (const e of entries) {
      const d = entryDigest(e);
      h = chain(h, d);
      w.terms.push(e.term);
      w.hashes.push(h);
      w.digests.push(d);
    }
    return w;
  }

  write(w: PendingWrite): void {
    if (w.snap) {
      this.base = w.snap.index;
      this.terms = [w.snap.term];
      this.hashes = [w.snap.hash];
    }
    if (w.hashes.length === 0) return;
    const at = w.first - this.base;
    this.terms.length = at;
    this.hashes.length = at;
    for (let i = 0; i < w.hashes.length; i++) {
      this.terms.push(w.terms[i]!);
      this.hashes.push(w.hashes[i]!);
    }
  }
}

/** A shadow as it will be after a pending write: the log a node holds (storage + unstable). */
export class PendingView implements LogView {
  constructor(
    private readonly shadow: LogShadow,
    private readonly w: PendingWrite,
  ) {}

  get base(): number {
    return this.w.snap ? this.w.snap.index : this.shadow.base;
  }

  last(): number {
    if (this.w.hashes.length > 0) return this.w.first + this.w.hashes.length - 1;
    return this.w.snap ? this.w.snap.index : this.shadow.last();
  }

  hashAt(i: number): number | undefined {
    if (this.w.hashes.length > 0 && i >= this.w.first) return this.w.hashes[i - this.w.first];
    if (this.w.snap) return i === this.w.snap.index ? this.w.snap.hash : undefined;
    return this.shadow.hashAt(i);
  }
}
