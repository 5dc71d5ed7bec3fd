// A store's identity and the cluster's bootstrap, TiKV's protocol:
//   1. a data directory without a store ident gets a store id from the scheduler (allocId) and
//      writes its ident (bootstrapStore);
//   2. if the cluster is not bootstrapped and this store holds no region, it prepares the first
//      region [ '', '' ) with one peer on itself: the prepared region is recorded under the
//      prepare-bootstrap key FIRST, then its raft/apply/region state is written;
//   3. it asks the scheduler to bootstrap the cluster with it. Success: the marker is cleared.
//      ALREADY_BOOTSTRAPPED (another store won the race): the prepared region is deleted, then the
//      marker; the store starts empty and gets its replicas from the scheduler;
//   4. a restart that finds the marker (a crash in between) asks the scheduler what happened: not
//      bootstrapped yet -> try again; bootstrapped with our region -> clear the marker; with
//      another region -> delete ours.

import * as grpc from '@grpc/grpc-js';
import {
  applyStateKey,
  type Engines,
  prefixEnd,
  prepareBootstrapKey,
  regionRaftPrefix,
  regionStateKey,
  regionStateRange,
  snapshotRaftStateKey,
  storeIdentKey,
} from '@tskv/engine';
import { metapb, raft_serverpb, schedulerpb } from '@tskv/proto';
import type { Logger } from '@tskv/raftstore';
import { bootstrapRegion, bootstrapStore } from '@tskv/raftstore';
import { type PdClient, SchedulerError } from '@tskv/rpc';

const TRANSIENT = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]);

export interface BootstrapResult {
  storeId: number;
  clusterId: number;
  /** This store bootstrapped the cluster (its first region is here). */
  bootstrappedCluster: boolean;
}

/** Retries `f` on transient gRPC errors until `deadline` (Date.now() ms); PdClient itself retries each call briefly. */
export async function retryUntil<T>(what: string, deadline: number, logger: Logger, f: () => Promise<T>): Promise<T> {
  let backoff = 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (e instanceof SchedulerError || typeof code !== 'number' || !TRANSIENT.has(code) || Date.now() + backoff >= deadline) throw e;
      if (attempt === 1 || attempt % 10 === 0)
        logger.warn('scheduler not reachable yet; retrying', { what, attempt, err: String((e as Error).message ?? e) });
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 2000);
    }
  }
}

async function hasRegions(engines: Engines): Promise<boolean> {
  const { start, end } = regionStateRange();
  return (await engines.kv.collect('raft', start, end, { limit: 1 })).length > 0;
}

/** Removes a region prepared for bootstrap (all its local state), then the marker. */
async function deletePrepared(engines: Engines, region: metapb.IRegion): Promise<void> {
  const id = Number(region.id);
  const prefix = regionRaftPrefix(id);
  await engines.raft.deleteRange('raft', prefix, prefixEnd(prefix));
  const wb = engines.kv.writeBatch();
  wb.delete('raft', regionStateKey(id));
  wb.delete('raft', applyStateKey(id));
  wb.delete('raft', snapshotRaftStateKey(id));
  wb.delete('raft', prepareBootstrapKey());
  await engines.kv.write(wb, { sync: true });
}

async function clearMarker(engines: Engines): Promise<void> {
  const wb = engines.kv.writeBatch();
  wb.delete('raft', prepareBootstrapKey());
  await engines.kv.write(wb, { sync: true });
}

export async function ensureBootstrapped(
  engines: Engines,
  pd: PdClient,
  store: metapb.IStore,
  logger: Logger,
  deadline: number,
): Promise<BootstrapResult> {
  const bootstrapped = await retryUntil('is bootstrapped', deadline, logger, () => pd.isBootstrapped());
  const clusterId = pd.clusterId;
  let storeId: number;
  const identBytes = await engines.kv.get('raft', storeIdentKey());
  if (identBytes) {
    const ident = raft_serverpb.StoreIdent.decode(identBytes);
    storeId = Number(ident.storeId);
    const mine = Number(ident.clusterId);
    if (mine && clusterId && mine !== clusterId) {
      throw new Error(`data directory ${engines.dataDir} belongs to cluster ${mine}, but the scheduler runs cluster ${clusterId}`);
    }
  } else {
    storeId = await retryUntil('alloc store id', deadline, logger, () => pd.allocId());
    await bootstrapStore(engines, clusterId, storeId);
    logger.info('store bootstrapped', { storeId, clusterId });
  }
  const self: metapb.IStore = { ...store, id: storeId };

  const tryBootstrap = async (region: metapb.IRegion): Promise<boolean> => {
    try {
      await retryUntil('bootstrap cluster', deadline, logger, () => pd.bootstrap(self, region));
    } catch (e) {
      if (e instanceof SchedulerError && e.type === schedulerpb.ErrorType.ALREADY_BOOTSTRAPPED) {
        logger.info('another store bootstrapped the cluster first; starting empty', { storeId, preparedRegion: region.id });
        await deletePrepared(engines, region);
        return false;
      }
      throw e;
    }
    await clearMarker(engines);
    logger.info('cluster bootstrapped with the first region', { storeId, regionId: region.id, peerId: region.peers?.[0]?.id });
    return true;
  };

  const prepared = await engines.kv.get('raft', prepareBootstrapKey());
  if (prepared) {
    const region = metapb.Region.decode(prepared);
    if (!bootstrapped) return { storeId, clusterId, bootstrappedCluster: await tryBootstrap(region) };
    const theirs = await retryUntil('get region', deadline, logger, () => pd.getRegionById(Number(region.id)));
    if (theirs) {
      await clearMarker(engines);
      return { storeId, clusterId, bootstrappedCluster: true };
    }
    await deletePrepared(engines, region);
    return { storeId, clusterId, bootstrappedCluster: false };
  }
  if (bootstrapped) return { storeId, clusterId, bootstrappedCluster: false };
  if (await hasRegions(engines)) {
    logger.warn(
      'the scheduler says the cluster is not bootstrapped, but this store holds regions: not bootstrapping (was the scheduler reset?)',
      { storeId },
    );
    return { storeId, clusterId, bootstrappedCluster: false };
  }
  const regionId = await retryUntil('alloc region id', deadline, logger, () => pd.allocId());
  const peerId = await retryUntil('alloc peer id', deadline, logger, () => pd.allocId());
  const region: metapb.IRegion = {
    id: regionId,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    regionEpoch: { confVer: 1, version: 1 },
    peers: [{ id: peerId, storeId }],
  };
  // The marker first: a crash after it leaves a region the restart knows to resolve.
  const wb = engines.kv.writeBatch();
  wb.put('raft', prepareBootstrapKey(), metapb.Region.encode(region).finish());
  await engines.kv.write(wb, { sync: true });
  await bootstrapRegion(engines, region);
  return { storeId, clusterId, bootstrappedCluster: await tryBootstrap(region) };
}
