// Bootstrapping: a store's data directory gets its identity once; the first region's local state
// is written on every store that holds one of its peers (as TinyKV's test cluster does).
import { type Engines, storeIdentKey } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import { writeInitialRegionState } from './peer_storage.js';

export async function bootstrapStore(engines: Engines, clusterId: number, storeId: number): Promise<void> {
  const existing = await engines.kv.get('raft', storeIdentKey());
  if (existing) {
    const id = raft_serverpb.StoreIdent.decode(existing);
    if (id.storeId !== storeId || id.clusterId !== clusterId) {
      throw new Error(`data directory already bootstrapped as store ${id.storeId} of cluster ${id.clusterId}`);
    }
    return;
  }
  const wb = engines.kv.writeBatch();
  wb.put('raft', storeIdentKey(), raft_serverpb.StoreIdent.encode({ clusterId, storeId }).finish());
  await engines.kv.write(wb, { sync: true });
}

/** Writes the initial raft/apply/region state of `region` on this store. */
export async function bootstrapRegion(engines: Engines, region: metapb.IRegion): Promise<void> {
  const kvWb = engines.kv.writeBatch();
  const raftWb = engines.raft.writeBatch();
  writeInitialRegionState(engines, region, kvWb, raftWb);
  // Raft state first: a region state without raft state would be unloadable.
  await engines.raft.write(raftWb, { sync: true });
  await engines.kv.write(kvWb, { sync: true });
}
