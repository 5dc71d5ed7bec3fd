// Which snapshots a round may step. The store's range check at receipt (raft_msg_handler.ts) sees
// only initialized regions, so two snapshots whose regions overlap can both pass it while neither
// is applied yet: a region's new peer sent a snapshot from before the region split, and the peer of
// the split-off region sent its own. Their ranges enter the store's range index only after the
// round's raft write (RaftWorker.handOff), so the round checks each snapshot it is about to step
// against the index AND the snapshots it already stepped (TiKV's pending_snapshot_regions).
import type { metapb } from '@tskv/proto';

/** Regions of the store's range index that [start, end) overlaps, other than `regionId`. */
export type RangeClashes = (regionId: number, start: Uint8Array, end: Uint8Array) => number[];

const EMPTY = new Uint8Array(0);

function overlaps(aStart: Uint8Array, aEnd: Uint8Array, bStart: Uint8Array, bEnd: Uint8Array): boolean {
  return (aEnd.length === 0 || Buffer.compare(bStart, aEnd) < 0) && (bEnd.length === 0 || Buffer.compare(aStart, bEnd) < 0);
}

export class SnapshotAdmission {
  private readonly stepped: metapb.IRegion[] = [];

  constructor(private readonly clashes: RangeClashes | null) {}

  /**
   * The regions a snapshot of `region` would overlap: none means it may be stepped, and it is
   * then counted against the later snapshots of the round.
   */
  admit(region: metapb.IRegion): number[] {
    const id = region.id ?? 0;
    const start = region.startKey ?? EMPTY;
    const end = region.endKey ?? EMPTY;
    const clash = this.clashes ? this.clashes(id, start, end) : [];
    for (const r of this.stepped) {
      if (r.id !== id && overlaps(start, end, r.startKey ?? EMPTY, r.endKey ?? EMPTY)) clash.push(r.id ?? 0);
    }
    if (clash.length === 0) this.stepped.push(region);
    return clash;
  }
}
