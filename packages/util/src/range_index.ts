// SortedRangeIndex: items with non-overlapping key ranges, sorted by start key, so the one
// holding a key is a binary search away. Inserts are O(n) memmoves, which for the tens of
// thousands of regions a store, a scheduler or a client cache hold is microseconds, while
// lookups and scans, the hot paths, are O(log n).
import { compareBytes } from './bytes.js';
import { endsAfter, type KeyRange } from './region.js';

const EMPTY = new Uint8Array(0);

export class SortedRangeIndex<T> {
  private readonly items: T[] = [];

  /** `rangeOf` gives an item's key range (read on every comparison: keep it cheap). */
  constructor(private readonly rangeOf: (item: T) => KeyRange) {}

  get size(): number {
    return this.items.length;
  }

  /** The items in key order (the index's own array: do not change it). */
  inOrder(): readonly T[] {
    return this.items;
  }

  private start(i: number): Uint8Array {
    return this.rangeOf(this.items[i]!).startKey ?? EMPTY;
  }

  private end(i: number): Uint8Array {
    return this.rangeOf(this.items[i]!).endKey ?? EMPTY;
  }

  /** Index of the last item whose start key is <= key, or -1. */
  floor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.start(mid), key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The item whose range holds key. */
  find(key: Uint8Array): T | undefined {
    const i = this.floor(key);
    return i >= 0 && endsAfter(this.end(i), key) ? this.items[i] : undefined;
  }

  /**
   * The items whose ranges intersect [start, end) (empty end: unbounded) in key order, at most
   * `limit` of them (0: all). The first is the one holding start, if any.
   */
  overlapping(start: Uint8Array, end: Uint8Array, limit = 0): T[] {
    const out: T[] = [];
    // Ranges do not overlap, so none before the floor of start reaches it.
    for (let i = Math.max(0, this.floor(start)); i < this.items.length; i++) {
      if (end.length > 0 && compareBytes(this.start(i), end) >= 0) break;
      if (!endsAfter(this.end(i), start)) continue;
      out.push(this.items[i]!);
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  /**
   * Puts an item in at its start key's place. The caller keeps ranges apart (removes or refuses
   * what `overlapping` finds first): the searches rely on it.
   */
  insert(item: T): void {
    this.items.splice(this.floor(this.rangeOf(item).startKey ?? EMPTY) + 1, 0, item);
  }

  /** Takes an item out (found by identity); whether it was there. */
  remove(item: T): boolean {
    // Start keys are distinct, so the floor of an item's own start key is the item, unless its
    // range was changed in place since it went in: then it is searched for.
    let i = this.floor(this.rangeOf(item).startKey ?? EMPTY);
    if (i < 0 || this.items[i] !== item) i = this.items.indexOf(item);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  clear(): void {
    this.items.length = 0;
  }
}
