// RegionIndex: the known regions by id and sorted by start key, never two for one key. A region
// put in replaces every region its range overlaps (the caller has checked none of them is newer:
// see ClusterState), which is how a split's halves push out the range they came from.
import type { metapb } from '@tskv/proto';
import { SortedRangeIndex } from '@tskv/util';
import { endKey, startKey } from './meta.js';

export interface Indexed {
  region: metapb.IRegion;
}

export class RegionIndex<T extends Indexed> {
  private readonly byId = new Map<number, T>();
  private readonly sorted = new SortedRangeIndex<T>((e) => e.region);

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
    return this.sorted.inOrder();
  }

  /** The region whose range holds key. */
  findByKey(key: Uint8Array): T | undefined {
    return this.sorted.find(key);
  }

  /** The entries (other than `region`'s own id) whose ranges overlap `region`'s. */
  overlapping(region: metapb.IRegion): T[] {
    return this.sorted.overlapping(startKey(region), endKey(region)).filter((e) => e.region.id !== region.id);
  }

  /** Puts `entry` in (replacing its id's old entry) and drops what it overlaps; returns the dropped entries. */
  put(entry: T): T[] {
    const id = Number(entry.region.id);
    const old = this.byId.get(id);
    if (old) this.sorted.remove(old);
    const dropped = this.overlapping(entry.region);
    for (const d of dropped) this.remove(Number(d.region.id));
    this.byId.set(id, entry);
    this.sorted.insert(entry);
    return dropped;
  }

  remove(id: number): T | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    this.byId.delete(id);
    this.sorted.remove(e);
    return e;
  }

  /**
   * Regions intersecting [start, end) in key order (empty end: unbounded), at most limit
   * (0: all). The first is the one holding start, if any.
   */
  scan(start: Uint8Array, end: Uint8Array, limit = 0): T[] {
    return this.sorted.overlapping(start, end, limit);
  }
}
