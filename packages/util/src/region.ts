// Regions, their key ranges, epochs and peers (the helpers of TinyKV's raftstore/util). The
// types are structural, the fields of metapb.Region / RegionEpoch / Peer as protobufjs decodes
// them, so packages without @tskv/proto (or with their own region shapes) use them too.
import { compareBytes } from './bytes.js';

/** A key range [startKey, endKey); a missing or empty endKey is unbounded. */
export interface KeyRange {
  startKey?: Uint8Array | null;
  endKey?: Uint8Array | null;
}

/** A region epoch (metapb.RegionEpoch): confVer counts membership changes, version splits and merges. */
export interface EpochLike {
  confVer?: number | null;
  version?: number | null;
}

export interface Epoch {
  confVer: number;
  version: number;
}

export interface PeerLike {
  id?: number | null;
  storeId?: number | null;
}

const EMPTY = new Uint8Array(0);

/** Whether start <= key < end; an empty end is unbounded. */
export function keyInRange(key: Uint8Array, start: Uint8Array, end: Uint8Array): boolean {
  return compareBytes(key, start) >= 0 && (end.length === 0 || compareBytes(key, end) < 0);
}

/** Whether the region's range holds key. */
export function keyInRegion(key: Uint8Array, region: KeyRange): boolean {
  return keyInRange(key, region.startKey ?? EMPTY, region.endKey ?? EMPTY);
}

/** Whether the end of a range lies beyond key: the range does not end at or before it. */
export function endsAfter(end: Uint8Array, key: Uint8Array): boolean {
  return end.length === 0 || compareBytes(end, key) > 0;
}

/** Whether two ranges share a key. */
export function rangesOverlap(a: KeyRange, b: KeyRange): boolean {
  return endsAfter(a.endKey ?? EMPTY, b.startKey ?? EMPTY) && endsAfter(b.endKey ?? EMPTY, a.startKey ?? EMPTY);
}

/** The region's epoch with missing fields as 0 (a new object: callers may change it). */
export function epochOf(region: { regionEpoch?: EpochLike | null }): Epoch {
  const e = region.regionEpoch;
  return { confVer: e?.confVer ?? 0, version: e?.version ?? 0 };
}

/**
 * Whether epoch `a` is older than `b` in either component. A region view (or a message about
 * it) with such an epoch predates a split or a membership change the other has seen.
 */
export function isEpochStale(a: EpochLike, b: EpochLike): boolean {
  return (a.version ?? 0) < (b.version ?? 0) || (a.confVer ?? 0) < (b.confVer ?? 0);
}

export function epochEquals(a: EpochLike, b: EpochLike): boolean {
  return (a.version ?? 0) === (b.version ?? 0) && (a.confVer ?? 0) === (b.confVer ?? 0);
}

/** The region's peer on a store (a region has at most one per store). */
export function findPeer<P extends PeerLike>(region: { readonly peers?: readonly P[] | null }, storeId: number): P | undefined {
  const peers = region.peers;
  if (!peers) return undefined;
  for (const p of peers) if (p.storeId === storeId) return p;
  return undefined;
}

export function findPeerById<P extends PeerLike>(region: { readonly peers?: readonly P[] | null }, peerId: number): P | undefined {
  const peers = region.peers;
  if (!peers) return undefined;
  for (const p of peers) if (p.id === peerId) return p;
  return undefined;
}
