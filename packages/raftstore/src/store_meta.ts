// StoreMeta: what the store knows about its regions beyond the peers themselves: the key ranges
// of initialized regions (sorted, exact: peers created from messages and splits are checked
// against it, and keys are routed by it) and the regions whose peer here was destroyed
// (tombstones: messages to them are stale unless they come from a newer membership).
import { metapb } from '@tskv/proto';

interface Range {
  start: Uint8Array;
  /** Empty: unbounded. */
  end: Uint8Array;
  regionId: number;
}

function endAfter(end: Uint8Array, key: Uint8Array): boolean {
  return end.length === 0 || Buffer.compare(end, key) > 0;
}

export class StoreMeta {
  /** Sorted by start key; ranges never overlap. */
  private ranges: Range[] = [];
  /** Destroyed regions: the epoch and peer id they had when destroyed here. */
  readonly tombstones = new Map<number, { epoch: metapb.IRegionEpoch; peerId: number }>();

  private indexOf(regionId: number): number {
    return this.ranges.findIndex((r) => r.regionId === regionId);
  }

  /** Sets (or moves) the range of an initialized region. Throws if it would overlap another. */
  setRegion(region: metapb.IRegion): void {
    const id = region.id!;
    const start = region.startKey ?? new Uint8Array(0);
    const end = region.endKey ?? new Uint8Array(0);
    const clash = this.overlapping(start, end).find((r) => r !== id);
    if (clash !== undefined) throw new Error(`region ${id}'s range overlaps region ${clash} on this store`);
    this.removeRegion(id);
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(this.ranges[mid]!.start, start) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.ranges.splice(lo, 0, { start, end, regionId: id });
  }

  removeRegion(regionId: number): void {
    const i = this.indexOf(regionId);
    if (i >= 0) this.ranges.splice(i, 1);
  }

  /** Region ids whose range intersects [start, end) (empty end: unbounded). */
  overlapping(start: Uint8Array, end: Uint8Array): number[] {
    const out: number[] = [];
    for (const r of this.ranges) {
      if (end.length > 0 && Buffer.compare(r.start, end) >= 0) break;
      if (endAfter(r.end, start)) out.push(r.regionId);
    }
    return out;
  }

  /** The region whose range holds `key`, if any. */
  regionIdByKey(key: Uint8Array): number | undefined {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(this.ranges[mid]!.start, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const r = this.ranges[lo - 1];
    return r && endAfter(r.end, key) ? r.regionId : undefined;
  }

  get size(): number {
    return this.ranges.length;
  }

  /** The ranges in key order (tests, tools). */
  all(): { regionId: number; start: Uint8Array; end: Uint8Array }[] {
    return this.ranges.map((r) => ({ ...r }));
  }
}
