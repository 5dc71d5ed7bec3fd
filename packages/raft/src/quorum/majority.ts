// A majority configuration: a set of voters of which a strict majority must agree.
import { VoteResult } from './vote_result.js';

export { VoteResult };

/** Looks up the highest log index known to be durably acked by a voter (undefined if unknown). */
export interface AckedIndexer {
  ackedIndex(voterId: number): number | undefined;
}

/** Sentinel committed index of an empty config: the identity of min(), so an empty outgoing half never constrains a joint config. */
const EMPTY_COMMITTED = Number.MAX_SAFE_INTEGER;

export class MajorityConfig {
  readonly ids: Set<number>;
  // Reused buffer for committedIndex (called on every append response): no per-call allocation.
  private scratch: number[] = [];

  constructor(ids?: Iterable<number>) {
    this.ids = new Set(ids);
  }

  get size(): number {
    return this.ids.size;
  }

  /**
   * The largest index acked by a majority of the voters. Voters with no known acked index count as 0.
   * An empty config returns Number.MAX_SAFE_INTEGER (see EMPTY_COMMITTED).
   */
  committedIndex(l: AckedIndexer): number {
    const n = this.ids.size;
    if (n === 0) return EMPTY_COMMITTED;
    const srt = this.scratch;
    // Insertion sort into descending order while collecting: n is a handful of voters, so this
    // beats Array.prototype.sort (no comparator calls, no allocation).
    let k = 0;
    for (const id of this.ids) {
      const v = l.ackedIndex(id) ?? 0;
      let j = k;
      while (j > 0 && srt[j - 1]! < v) {
        srt[j] = srt[j - 1]!;
        j--;
      }
      srt[j] = v;
      k++;
    }
    // With values sorted descending, the (n/2+1)-th largest is acked by a majority.
    return srt[n >> 1]!;
  }

  /**
   * Tallies votes (id -> granted) of this config's voters; votes of non-members are ignored.
   * An empty config wins (so that a joint config with an empty outgoing half behaves like its incoming half).
   */
  voteResult(votes: Map<number, boolean>): VoteResult {
    const n = this.ids.size;
    if (n === 0) return VoteResult.Won;
    let granted = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) granted++;
    }
    const q = (n >> 1) + 1;
    if (granted >= q) return VoteResult.Won;
    if (granted + missing >= q) return VoteResult.Pending;
    return VoteResult.Lost;
  }

  /** True when a majority of this config's voters are in `ids` (an empty config always has quorum). */
  hasQuorum(ids: Set<number>): boolean {
    const n = this.ids.size;
    if (n === 0) return true;
    let c = 0;
    for (const id of this.ids) if (ids.has(id)) c++;
    return c >= (n >> 1) + 1;
  }

  contains(id: number): boolean {
    return this.ids.has(id);
  }

  /** The voter ids in ascending order (a fresh array). */
  slice(): number[] {
    return Array.from(this.ids).sort((a, b) => a - b);
  }

  /** E.g. "(1 2 3)"; ids sorted so the output is deterministic. */
  toString(): string {
    return `(${this.slice().join(' ')})`;
  }

  clone(): MajorityConfig {
    return new MajorityConfig(this.ids);
  }
}
