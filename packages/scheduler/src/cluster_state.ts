// ClusterState: what the scheduler knows about the cluster, in memory and free of I/O, so the
// schedulers and their tests drive it with synthetic heartbeats. The service persists what
// changes here (see storage.ts); this module only decides what a report means:
//
// - a region view older than the known one (either epoch component lower), or older than a
//   region it overlaps, is stale and refused (a lagging or deposed leader, a split reported late);
// - a newer view replaces the known one and every region its range overlaps.
//
// Leaders, pending peers, sizes and store stats are volatile: they are not persisted and come
// back with the next heartbeats after a restart.
import { metapb, type schedulerpb } from '@tskv/proto';
import { bytesEqual, epochEquals, epochOf, findPeer, findPeerById, isEpochStale } from '@tskv/util';
import { clonePeer, cloneRegion, endKey, isVoter, roleOf, startKey } from './meta.js';
import { RegionIndex } from './region_index.js';

export interface StoreInfo {
  meta: metapb.IStore;
  stats: schedulerpb.IStoreStats | null;
  /** Wall-clock ms of the last store heartbeat this scheduler received, 0 if none. */
  lastHeartbeatMs: number;
  /**
   * When this scheduler came to know the store (its start, or the registration): a store that
   * never heartbeats is down this long after it.
   */
  knownSinceMs: number;
}

export interface RegionInfo {
  region: metapb.Region;
  /** The leader of the last heartbeat, null when unknown (never heard since the start). */
  leader: metapb.IPeer | null;
  pendingPeers: metapb.IPeer[];
  /** Bytes and keys from the leader's last split check (0: not measured yet). */
  approximateSize: number;
  approximateKeys: number;
  lastHeartbeatMs: number;
  /** Written per second between the leader's last two heartbeats (0 when unknown). */
  bytesWrittenRate: number;
  keysWrittenRate: number;
  /** Read per second (keys returned, their key and value bytes), over the same interval. */
  bytesReadRate: number;
  keysReadRate: number;
}

/** What a leader reports about its region (a heartbeat). */
export interface RegionReport {
  region: metapb.IRegion;
  leader: metapb.IPeer;
  pendingPeers?: metapb.IPeer[];
  approximateSize?: number;
  approximateKeys?: number;
  /** Applied since the leader's previous heartbeat. */
  bytesWritten?: number;
  keysWritten?: number;
  /** Served by reads since the leader's previous heartbeat. */
  bytesRead?: number;
  keysRead?: number;
}

export type RegionUpdate =
  | { kind: 'stale'; reason: string }
  /** metaChanged: the region meta differs from what was known (persist it); dropped: regions it replaced. */
  | { kind: 'ok'; info: RegionInfo; metaChanged: boolean; dropped: number[] };

/** A store's load as the balancers see it. */
export interface StoreLoad {
  regions: number;
  leaders: number;
  /** Sum of region scores (see regionScore). */
  score: number;
}

const MiB = 1024 * 1024;

/** A region's weight in balance-region: its size in MiB, at least 1 (so unmeasured regions count as one each). */
export function regionScore(info: RegionInfo): number {
  return Math.max(1, info.approximateSize / MiB);
}

export class ClusterState {
  clusterId = 0;
  bootstrapped = false;
  readonly stores = new Map<number, StoreInfo>();
  readonly regions = new RegionIndex<RegionInfo>();

  /** A store or region loaded from storage at start. */
  loadStore(meta: metapb.IStore, now: number): void {
    this.stores.set(Number(meta.id), { meta: { ...meta }, stats: null, lastHeartbeatMs: 0, knownSinceMs: now });
  }

  loadRegion(region: metapb.IRegion): void {
    this.regions.put(blankInfo(region));
  }

  /** Records a store's (new) address; its state changes only as decided by the caller. */
  putStore(meta: metapb.IStore, now: number): StoreInfo {
    const id = Number(meta.id);
    const known = this.stores.get(id);
    if (known) {
      known.meta = { ...known.meta, ...meta };
      return known;
    }
    const info: StoreInfo = { meta: { ...meta }, stats: null, lastHeartbeatMs: 0, knownSinceMs: now };
    this.stores.set(id, info);
    return info;
  }

  /** The store using `address`, other than `exceptId`, that is not a tombstone. */
  storeByAddress(address: string, exceptId: number): StoreInfo | undefined {
    for (const s of this.stores.values()) {
      if (Number(s.meta.id) !== exceptId && s.meta.address === address && s.meta.state !== metapb.StoreState.Tombstone) return s;
    }
    return undefined;
  }

  storeHeartbeat(stats: schedulerpb.IStoreStats, now: number): StoreInfo | undefined {
    const s = this.stores.get(Number(stats.storeId));
    if (!s) return undefined;
    s.stats = { ...stats };
    s.lastHeartbeatMs = now;
    return s;
  }

  /** Why `region` is older than what is known (null: it is not). */
  staleness(region: metapb.IRegion): string | null {
    const e = epochOf(region);
    const known = this.regions.get(Number(region.id));
    const k = known && epochOf(known.region);
    if (k && isEpochStale(e, k)) {
      return (
        `region ${region.id} epoch (conf_ver ${e.confVer}, version ${e.version}) ` +
        `is older than the known (conf_ver ${k.confVer}, version ${k.version})`
      );
    }
    for (const o of this.regions.overlapping(region)) {
      const v = epochOf(o.region).version;
      if (e.version < v) return `region ${region.id} (version ${e.version}) overlaps region ${o.region.id} with a newer version ${v}`;
    }
    return null;
  }

  /**
   * A region view from a heartbeat (with its leader and stats) or a split report (without).
   * Stale views change nothing.
   */
  updateRegion(region: metapb.IRegion, report: Omit<RegionReport, 'region'> | null, now: number): RegionUpdate {
    const reason = this.staleness(region);
    if (reason) return { kind: 'stale', reason };
    const id = Number(region.id);
    const known = this.regions.get(id);
    const metaChanged = !known || !sameMeta(known.region, region);
    let info: RegionInfo;
    if (known && !metaChanged) info = known;
    else {
      info = known ? { ...known, region: cloneRegion(region) } : blankInfo(region);
      // A leader that is no longer a member (removed by the change just reported) is unknown now.
      if (info.leader && !findPeerById(info.region, info.leader.id!)) info.leader = null;
    }
    let dropped: number[] = [];
    if (metaChanged) dropped = this.regions.put(info).map((d) => Number(d.region.id));
    if (report) {
      info.leader = clonePeer(report.leader);
      info.pendingPeers = (report.pendingPeers ?? []).map(clonePeer);
      info.approximateSize = Number(report.approximateSize ?? 0);
      info.approximateKeys = Number(report.approximateKeys ?? 0);
      // A first heartbeat (or one after a long gap) has no interval to spread its counts over.
      const interval = now - info.lastHeartbeatMs;
      const ok = info.lastHeartbeatMs > 0 && interval > 0 && interval < 60_000;
      info.bytesWrittenRate = ok ? (Number(report.bytesWritten ?? 0) * 1000) / interval : 0;
      info.keysWrittenRate = ok ? (Number(report.keysWritten ?? 0) * 1000) / interval : 0;
      info.bytesReadRate = ok ? (Number(report.bytesRead ?? 0) * 1000) / interval : 0;
      info.keysReadRate = ok ? (Number(report.keysRead ?? 0) * 1000) / interval : 0;
      info.lastHeartbeatMs = now;
    }
    return { kind: 'ok', info, metaChanged, dropped };
  }

  /** Regions, leaders and score per store (every known store, with zeros). */
  storeLoads(): Map<number, StoreLoad> {
    const out = new Map<number, StoreLoad>();
    for (const id of this.stores.keys()) out.set(id, { regions: 0, leaders: 0, score: 0 });
    for (const info of this.regions.values()) {
      const score = regionScore(info);
      for (const p of info.region.peers ?? []) {
        const l = out.get(Number(p.storeId));
        if (!l) continue;
        l.regions++;
        l.score += score;
      }
      if (info.leader) {
        const l = out.get(Number(info.leader.storeId));
        if (l) l.leaders++;
      }
    }
    return out;
  }

  /** Regions with a peer on the store. */
  regionsOnStore(storeId: number): RegionInfo[] {
    const out: RegionInfo[] = [];
    for (const info of this.regions.values()) if (findPeer(info.region, storeId)) out.push(info);
    return out;
  }

  /** Voters of the region (role Voter). */
  static voters(info: RegionInfo): metapb.IPeer[] {
    return (info.region.peers ?? []).filter(isVoter);
  }
}

function blankInfo(region: metapb.IRegion): RegionInfo {
  return {
    region: cloneRegion(region),
    leader: null,
    pendingPeers: [],
    approximateSize: 0,
    approximateKeys: 0,
    lastHeartbeatMs: 0,
    bytesWrittenRate: 0,
    keysWrittenRate: 0,
    bytesReadRate: 0,
    keysReadRate: 0,
  };
}

/** Same epoch, range and peers (roles included): nothing to persist. */
function sameMeta(a: metapb.IRegion, b: metapb.IRegion): boolean {
  if (!epochEquals(epochOf(a), epochOf(b))) return false;
  if (!bytesEqual(startKey(a), startKey(b)) || !bytesEqual(endKey(a), endKey(b))) return false;
  const pa = a.peers ?? [];
  const pb = b.peers ?? [];
  if (pa.length !== pb.length) return false;
  return pa.every(
    (p, i) => Number(p.id) === Number(pb[i]!.id) && Number(p.storeId) === Number(pb[i]!.storeId) && roleOf(p) === roleOf(pb[i]!),
  );
}
