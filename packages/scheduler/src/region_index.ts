// RegionIndex: the known regions by id and sorted by start key, never two for one key. A region
// put in replaces every region its range overlaps (the caller has checked none of them is newer:
// see ClusterState), which is how a split's halves push out the range they came from.
//
// The sorted part is a plain array with binary search: inserts are O(n) memmoves, which for the
// tens of thousands of regions a scheduler of this size sees is microseconds, and lookups and
// scans, the hot path of clients, are O(log n).
import type { metapb } from '@tskv/proto';
import { compareKeys, endKey, regionsOverlap, startKey } from './meta.js';

export interface Indexed {
  region: metapb.IRegion;
}

export class RegionIndex<T extends Indexed> {
  private readonly byId = new Map<number, T>();
  /** Sorted by start key; ranges never overlap. */
  private readonly sorted: T[] = [];

  get size(): number {
    return this.byId.size;
  }

  get(id: number): T | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<T> {
    return this.byId.values();
  }

  /** All regions by start key. */
  inOrder(): readonly T[] {
    return this.sorted;
  }

  /** Index of the last entry whose start key is <= key, or -1. */
  private floor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.sorted.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(startKey(this.sorted[mid]!.region), key) <= 0) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** The region whose range holds key. */
  findByKey(key: Uint8Array): T | undefined {
    const i = this.floor(key);
    if (i < 0) return undefined;
    const e = this.sorted[i]!;
    const end = endKey(e.region);
    return end.length === 0 || compareKeys(key, end) < 0 ? e : undefined;
  }

  /** The entries (other than `region`'s own id) whose ranges overlap `region`'s. */
  overlapping(region: metapb.IRegion): T[] {
    const out: T[] = [];
    let i = Math.max(0, this.floor(startKey(region)));
    for (; i < this.sorted.length; i++) {
      const e = this.sorted[i]!;
      const end = endKey(region);
      if (end.length > 0 && compareKeys(startKey(e.region), end) >= 0) break;
      if (e.region.id !== region.id && regionsOverlap(e.region, region)) out.push(e);
    }
    return out;
  }

  /** Puts `entry` in (replacing its id's old entry) and drops what it overlaps; returns the dropped entries. */
  put(entry: T): T[] {
    const id = Number(entry.region.id);
    const old = this.byId.get(id);
    if (old) this.removeSorted(old);
    const dropped = this.overlapping(entry.region);
    for (const d of dropped) this.remove(Number(d.region.id));
    this.byId.set(id, entry);
    const at = this.floor(startKey(entry.region)) + 1;
    this.sorted.splice(at, 0, entry);
    return dropped;
  }

  remove(id: number): T | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    this.byId.delete(id);
    this.removeSorted(e);
    return e;
  }

  private removeSorted(e: T): void {
    const i = this.floor(startKey(e.region));
    // Start keys are unique in the array, so the floor of an entry's own start key is the entry.
    if (i >= 0 && this.sorted[i] === e) this.sorted.splice(i, 1);
    else {
      const j = this.sorted.indexOf(e);
      if (j >= 0) this.sorted.splice(j, 1);
    }
  }

  /**
   * Regions intersecting [start, end) in key order (empty end: unbounded), at most limit
   * (0: all). The first is the one holding start, if any.
   */
  scan(start: Uint8Array, end: Uint8Array, limit = 0): T[] {
    const out: T[] = [];
    let i = this.floor(start);
    if (i < 0) i = 0;
    else {
      const e = endKey(this.sorted[i]!.region);
      if (e.length > 0 && compareKeys(e, start) <= 0) i++; // the floor ends before start
    }
    for (; i < this.sorted.length; i++) {
      const r = this.sorted[i]!;
      if (end.length > 0 && compareKeys(startKey(r.region), end) >= 0) break;
      out.push(r);
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }
}
