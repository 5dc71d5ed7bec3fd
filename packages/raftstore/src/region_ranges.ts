// Where a region's data lies in each column family. Region boundaries are raw user keys. The raw
// CFs and txn_lock hold user keys, so a region owns [start, end) there. txn_default and txn_write
// hold MVCC-encoded keys (memcomparable(user key) ++ ~ts); memcomparable keeps the order of user
// keys and no encoding is a prefix of another, so the versions of the user keys in [start, end)
// are exactly the encoded keys in [memcomparable(start), memcomparable(end)): a split at a user
// key never separates a key's versions or its lock. An empty bound stays unbounded.
import type { CfName } from '@tskv/engine';
import type { metapb } from '@tskv/proto';
import { encodedPrefix } from '@tskv/txn';
import { keyInRange } from '@tskv/util';

const EMPTY = new Uint8Array(0);

/** Whether `cf` holds MVCC-encoded keys. */
export function isEncodedCf(cf: CfName): boolean {
  return cf === 'txn_default' || cf === 'txn_write';
}

function encodedBound(k: Uint8Array): Uint8Array {
  return k.length === 0 ? EMPTY : encodedPrefix(k);
}

/** The keys of `region` inside `cf`: [start, end), empty end unbounded. */
export function regionCfRange(cf: CfName, region: metapb.IRegion): { start: Uint8Array; end: Uint8Array } {
  const start = region.startKey ?? EMPTY;
  const end = region.endKey ?? EMPTY;
  return isEncodedCf(cf) ? { start: encodedBound(start), end: encodedBound(end) } : { start, end };
}

/** Whether `key`, a key inside `cf`, belongs to `region`. */
export function keyInRegionCf(cf: CfName, key: Uint8Array, region: metapb.IRegion): boolean {
  const { start, end } = regionCfRange(cf, region);
  return keyInRange(key, start, end);
}
