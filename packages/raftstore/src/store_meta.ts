// StoreMeta: what the store knows about its regions beyond the peers themselves: the key ranges
// of initialized regions (sorted, exact: peers created from messages and splits are checked
// against it, and keys are routed by it) and the regions whose peer here was destroyed
// (tombstones: messages to them are stale unless they come from a newer membership).
import type { metapb } from '@tskv/proto';
import { SortedRangeIndex } from '@tskv/util';

interface Range {
  startKey: Uint8Array;
  /** Empty: unbounded. */
  endKey: Uint8Array;
  regionId: number;
}

export class StoreMeta {
  /** Never two ranges for one key. */
  private readonly ranges = new SortedRangeIndex<Range>((r) => r);
  private readonly byId = new Map<number, Range>();
  /** Destroyed regions: the epoch and peer id they had when destroyed here. */
  readonly tombstones = new Map<number, { epoch: metapb.IRegionEpoch; peerId: number }>();

  /** Sets (or moves) the range of an initialized region. Throws if it would overlap another. */
  setRegion(region: metapb.IRegion): void {
    const id = region.id!;
    const start = region.startKey ?? new Uint8Array(0);
    const end = region.endKey ?? new Uint8Array(0);
    const clash = this.overlapping(start, end).find((r) => r !== id);
    if (clash !== undefined) throw new Error(`region ${id}'s range overlaps region ${clash} on this store`);
    this.removeRegion(id);
    const r = { startKey: start, endKey: end, regionId: id };
    this.ranges.insert(r);
    this.byId.set(id, r);
  }

  removeRegion(regionId: number): void {
    const r = this.byId.get(regionId);
    if (!r) return;
    this.byId.delete(regionId);
    this.ranges.remove(r);
  }

  /** Region ids whose range intersects [start, end) (empty end: unbounded). */
  overlapping(start: Uint8Array, end: Uint8Array): number[] {
    return this.ranges.overlapping(start, end).map((r) => r.regionId);
  }

  /** The region whose range holds `key`, if any. */
  regionIdByKey(key: Uint8Array): number | undefined {
    return this.ranges.find(key)?.regionId;
  }

  get size(): number {
    return this.ranges.size;
  }

  /** The ranges in key order (tests, tools). */
  all(): { regionId: number; start: Uint8Array; end: Uint8Array }[] {
    return this.ranges.inOrder().map((r) => ({ start: r.startKey, end: r.endKey, regionId: r.regionId }));
  }
}
