// A store's startup from disk alone: the data directory's identity is checked, every region with
// local state gets its peer back, and what a crash cut short is redone (a destroy, a snapshot
// apply, raft-log GC). Damaged records refuse the start (storage_check.ts).
import { type Engines, regionStateRange, storeIdentKey } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import { findPeer } from '@tskv/util';
import type { StoreConfig } from './config.js';
import { Peer } from './peer.js';
import type { PeerLifecycle } from './peer_lifecycle.js';
import { PeerStorage } from './peer_storage.js';
import { snapKeyString } from './snap/index.js';
import { decodeRegionStateRecord, LogChecks } from './storage_check.js';
import type { StoreContext } from './store_context.js';

/** Throws unless the engines hold this store's identity (bootstrapped, and not another store's). */
export async function checkStoreIdent(cfg: StoreConfig, engines: Engines): Promise<void> {
  const ident = await engines.kv.get('raft', storeIdentKey());
  if (!ident) throw new Error(`store ${cfg.storeId} is not bootstrapped (no store ident in ${engines.kv.path})`);
  const id = raft_serverpb.StoreIdent.decode(ident);
  if (id.storeId !== cfg.storeId) throw new Error(`data directory belongs to store ${id.storeId}, not ${cfg.storeId}`);
}

/** Rebuilds every peer from its region's state on disk, before the store starts. */
export async function loadPeers(
  ctx: Pick<StoreContext, 'cfg' | 'engines' | 'router' | 'meta' | 'regionWorker' | 'logGc' | 'snapMgr' | 'logger'>,
  lifecycle: PeerLifecycle,
): Promise<void> {
  const { cfg, engines, router, meta, regionWorker, snapMgr } = ctx;
  await snapMgr.init();
  const { start, end } = regionStateRange();
  let applying = 0;
  const leftovers: metapb.IRegion[] = [];
  const logChecks = new LogChecks(); // the regions' log scans, concurrently (storage_check.ts)
  for (const [k, v] of await engines.kv.collect('raft', start, end)) {
    const st = decodeRegionStateRecord(k, v); // damaged: the store refuses to start (storage_check.ts)
    if (!st.region) continue;
    if (st.state === raft_serverpb.PeerState.Tombstone) {
      meta.tombstones.set(st.region.id!, { epoch: st.region.regionEpoch ?? {}, peerId: 0 });
      leftovers.push(st.region);
      continue;
    }
    const me = findPeer(st.region, cfg.storeId);
    if (!me) {
      // Removed by a change applied before a crash cut the destroy short: finish it.
      await lifecycle.writeTombstone(st.region);
      leftovers.push(st.region);
      continue;
    }
    const isApplying = st.state === raft_serverpb.PeerState.Applying;
    const ps = await PeerStorage.load(engines, st.region as metapb.IRegion, isApplying, logChecks);
    const peer = new Peer(cfg, ps, me.id!, ctx.logger);
    router.register(peer);
    meta.setRegion(ps.region);
    // Entries below the truncated index are dead; a GC task lost in a crash is redone here.
    ctx.logGc.schedule(peer.regionId, 0, ps.applyState.truncatedIndex + 1);
    if (isApplying) {
      // Accepted before the restart, data maybe half written: apply it again from the files.
      const { truncatedIndex: index, truncatedTerm: term } = ps.applyState;
      const key = { regionId: peer.regionId, term, index };
      if (!(await snapMgr.exists('rev', key))) {
        throw new Error(
          `region ${peer.regionId}: applying snapshot ${snapKeyString(key)} at restart, but its files are gone from ${snapMgr.dir}`,
        );
      }
      peer.resumeSnapshotApply(index, term);
      regionWorker.apply({ region: ps.region, key });
      applying++;
    }
  }
  await logChecks.done(); // a damaged log: the store refuses to start
  // Data a destroy did not get to delete before a crash (unless a live region holds the range).
  for (const r of leftovers) {
    if (meta.overlapping(r.startKey ?? new Uint8Array(0), r.endKey ?? new Uint8Array(0)).length === 0) regionWorker.destroy(r);
  }
  ctx.logger.info('store loaded', { regions: router.size, applyingSnapshots: applying, tombstones: meta.tombstones.size });
}
