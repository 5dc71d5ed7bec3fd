// Region split: what a BatchSplit does to a region (TiKV's rules, left-derived only: a request
// with right_derive is refused).
// Split keys must be strictly increasing and strictly inside the region. With keys k1 < k2 the
// region [s, e) becomes [s, k1) (the original region, which keeps its id and peers) and the new
// regions [k1, k2), [k2, e), each with the ids the scheduler allocated: a region id and one peer id
// per peer of the original, on the same stores in the same roles. The version grows by the number
// of new regions on all of them; conf_ver stays.
import type { metapb, raft_cmdpb } from '@tskv/proto';
import { keyInRegion } from '@tskv/util';
import { InvalidRequestError } from './errors.js';

export interface SplitResult {
  /** The original region, shrunk. */
  derived: metapb.IRegion;
  /** The new regions, in key order (the derived one excluded). */
  regions: metapb.IRegion[];
}

export function applySplit(region: metapb.IRegion, req: raft_cmdpb.IBatchSplitRequest): SplitResult {
  const reqs = req.requests ?? [];
  if (reqs.length === 0) throw new InvalidRequestError('a split without split keys');
  // Carried out left-derived, a right-derived request would leave the original region (its id and
  // peers) with a range the caller did not ask for.
  if (req.rightDerive) throw new InvalidRequestError('right_derive is not supported: the original region keeps the leftmost range');
  const peers = region.peers ?? [];
  const start = region.startKey ?? new Uint8Array(0);
  let prev = start;
  for (const r of reqs) {
    const k = r.splitKey;
    if (!k || k.length === 0) throw new InvalidRequestError('empty split key');
    if (Buffer.compare(k, prev) <= 0 || !keyInRegion(k, region) || Buffer.compare(k, start) === 0) {
      throw new InvalidRequestError(
        `split key ${Buffer.from(k).toString('hex')} is not strictly inside region ${region.id} after the previous key`,
      );
    }
    if (!r.newRegionId) throw new InvalidRequestError('a split needs a new region id');
    if ((r.newPeerIds ?? []).length !== peers.length) {
      throw new InvalidRequestError(
        `a split of region ${region.id} needs ${peers.length} new peer ids, got ${(r.newPeerIds ?? []).length}`,
      );
    }
    prev = k;
  }
  const version = (region.regionEpoch?.version ?? 0) + reqs.length;
  const confVer = region.regionEpoch?.confVer ?? 0;
  const regions: metapb.IRegion[] = [];
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    regions.push({
      id: r.newRegionId!,
      startKey: r.splitKey!,
      endKey: i + 1 < reqs.length ? reqs[i + 1]!.splitKey! : (region.endKey ?? new Uint8Array(0)),
      regionEpoch: { version, confVer },
      peers: peers.map((p, j) => ({ id: r.newPeerIds![j]!, storeId: p.storeId, role: p.role, isLearner: p.isLearner })),
    });
  }
  const derived: metapb.IRegion = { ...region, endKey: reqs[0]!.splitKey!, regionEpoch: { version, confVer } };
  return { derived, regions };
}
