// Cluster overview from the scheduler's view: stores (up, down, heartbeat ages), regions (leaders,
// replicas), and a readiness verdict. Used by `tinykv regions|stores|status` and by the local
// cluster launcher to decide when the cluster is usable (without writing anything).
import type { metapb } from '@tskv/proto';
import type { PdClient, RegionWithLeader, StoreWithStats } from '@tskv/rpc';
import { epochOf } from '@tskv/util';
import { showKey } from './bytes.js';

export interface StoreInfo {
  id: number;
  address: string;
  statusAddress: string;
  /** Up / Offline / Tombstone as the scheduler records it; "Down" when Up but not heard from for downAfterMs. */
  state: 'Up' | 'Down' | 'Offline' | 'Tombstone';
  regionCount: number | null;
  leaderCount: number | null;
  /** ms since the last store heartbeat, null if never. */
  heartbeatAgeMs: number | null;
  isBusy: boolean;
}

export interface PeerInfo {
  id: number;
  storeId: number;
  role: 'Voter' | 'Learner' | 'IncomingVoter' | 'DemotingVoter';
}

export interface RegionInfo {
  id: number;
  /** Printable form (quoted text or 0x-hex); "" for the unbounded start. */
  start: string;
  /** Printable form; "" for the unbounded end. */
  end: string;
  startKey: Uint8Array;
  endKey: Uint8Array;
  confVer: number;
  version: number;
  peers: PeerInfo[];
  leader: PeerInfo | null;
}

export interface ClusterOverview {
  schedulerAddr: string;
  clusterId: number;
  stores: StoreInfo[];
  regions: RegionInfo[];
  storesUp: number;
  storesDown: number;
  /** Leaders per store id, counted from the regions' leaders. */
  leadersPerStore: Record<number, number>;
  health: {
    /** The replica count a healthy region has. */
    replicas: number;
    regionsWithoutLeader: number[];
    /** Regions with fewer voters than `replicas`. */
    underReplicated: { id: number; voters: number }[];
    /** Regions with a peer on a store that is not up. */
    peersOnDownStores: { id: number; storeIds: number[] }[];
    healthy: boolean;
  };
}

export interface OverviewOptions {
  /** The replica count a healthy region has (default 3). */
  replicas?: number;
  /** A store not heard from for this long is down (default 20 s, the scheduler's default storeDisconnectMs). */
  downAfterMs?: number;
  now?: number;
}

const ROLES = ['Voter', 'Learner', 'IncomingVoter', 'DemotingVoter'] as const;
const STATES = ['Up', 'Offline', 'Tombstone'] as const;

function peerInfo(p: metapb.IPeer): PeerInfo {
  const role = p.isLearner && !p.role ? 1 : (p.role ?? 0);
  return { id: Number(p.id ?? 0), storeId: Number(p.storeId ?? 0), role: ROLES[role] ?? 'Voter' };
}

export function regionInfo(r: RegionWithLeader): RegionInfo {
  const s = r.region.startKey ?? new Uint8Array(0);
  const e = r.region.endKey ?? new Uint8Array(0);
  return {
    id: Number(r.region.id ?? 0),
    start: s.length ? showKey(s) : '',
    end: e.length ? showKey(e) : '',
    startKey: s,
    endKey: e,
    ...epochOf(r.region),
    peers: (r.region.peers ?? []).map(peerInfo),
    leader: r.leader ? peerInfo(r.leader) : null,
  };
}

export function storeInfo(s: StoreWithStats, opts: OverviewOptions = {}): StoreInfo {
  const now = opts.now ?? Date.now();
  const downAfter = opts.downAfterMs ?? 20_000;
  const age = s.lastHeartbeatMs > 0 ? Math.max(0, now - s.lastHeartbeatMs) : null;
  let state: StoreInfo['state'] = STATES[s.store.state ?? 0] ?? 'Up';
  if (state === 'Up' && (age === null || age > downAfter)) state = 'Down';
  return {
    id: Number(s.store.id ?? 0),
    address: s.store.address ?? '',
    statusAddress: s.store.statusAddress ?? '',
    state,
    regionCount: s.stats ? Number(s.stats.regionCount ?? 0) : null,
    leaderCount: s.stats ? Number(s.stats.leaderCount ?? 0) : null,
    heartbeatAgeMs: age,
    isBusy: !!s.stats?.isBusy,
  };
}

/** Every region, in key order, from the scheduler (ScanRegions over the whole key space). */
export async function allRegions(pd: PdClient): Promise<RegionInfo[]> {
  const rs = await pd.scanRegions(new Uint8Array(0), new Uint8Array(0), 0);
  return rs.map(regionInfo);
}

export async function allStores(pd: PdClient, opts: OverviewOptions = {}): Promise<StoreInfo[]> {
  const ss = await pd.getAllStores(false);
  return ss.map((s) => storeInfo(s, opts)).sort((a, b) => a.id - b.id);
}

export async function clusterOverview(pd: PdClient, opts: OverviewOptions = {}): Promise<ClusterOverview> {
  const [stores, regions] = await Promise.all([allStores(pd, opts), allRegions(pd)]);
  const replicas = opts.replicas ?? 3;
  const up = new Set(stores.filter((s) => s.state === 'Up').map((s) => s.id));
  const leadersPerStore: Record<number, number> = {};
  for (const s of stores) if (s.state !== 'Tombstone') leadersPerStore[s.id] = 0;
  const regionsWithoutLeader: number[] = [];
  const underReplicated: { id: number; voters: number }[] = [];
  const peersOnDownStores: { id: number; storeIds: number[] }[] = [];
  for (const r of regions) {
    if (r.leader) leadersPerStore[r.leader.storeId] = (leadersPerStore[r.leader.storeId] ?? 0) + 1;
    else regionsWithoutLeader.push(r.id);
    const voters = r.peers.filter((p) => p.role !== 'Learner').length;
    if (voters < replicas) underReplicated.push({ id: r.id, voters });
    const down = r.peers.filter((p) => !up.has(p.storeId)).map((p) => p.storeId);
    if (down.length) peersOnDownStores.push({ id: r.id, storeIds: down });
  }
  return {
    schedulerAddr: pd.address,
    clusterId: pd.clusterId,
    stores,
    regions,
    storesUp: up.size,
    storesDown: stores.filter((s) => s.state === 'Down').length,
    leadersPerStore,
    health: {
      replicas,
      regionsWithoutLeader,
      underReplicated,
      peersOnDownStores,
      healthy: regions.length > 0 && regionsWithoutLeader.length === 0 && underReplicated.length === 0 && peersOnDownStores.length === 0,
    },
  };
}

/**
 * Whether the cluster is usable: at least `stores` stores up, at least one region, every region
 * with a leader and `replicas` voters on up stores. `missing` says what is not there yet.
 */
export function readiness(ov: ClusterOverview, expect: { stores?: number } = {}): { ready: boolean; missing: string[] } {
  const missing: string[] = [];
  const want = expect.stores ?? 0;
  if (ov.storesUp < want) {
    const why = (s: StoreInfo): string =>
      s.state === 'Down'
        ? s.heartbeatAgeMs === null
          ? 'no heartbeat yet'
          : `last heartbeat ${Math.round(s.heartbeatAgeMs / 1000)} s ago`
        : s.state;
    const notUp = ov.stores.filter((s) => s.state !== 'Up' && s.state !== 'Tombstone').map((s) => `store ${s.id}: ${why(s)}`);
    missing.push(`stores up: ${ov.storesUp} of ${want}${notUp.length ? ` (${notUp.join(', ')})` : ''}`);
  }
  if (ov.regions.length === 0) missing.push('no region yet (the cluster is not bootstrapped)');
  const h = ov.health;
  const list = (ids: string[]): string =>
    `region${ids.length > 1 ? 's' : ''} ${ids.length > 8 ? `${ids.slice(0, 8).join(', ')}, ... (${ids.length} in all)` : ids.join(', ')}`;
  if (h.regionsWithoutLeader.length) missing.push(`no leader yet: ${list(h.regionsWithoutLeader.map(String))}`);
  if (h.underReplicated.length) {
    missing.push(`fewer than ${h.replicas} voters: ${list(h.underReplicated.map((r) => `${r.id} (${r.voters})`))}`);
  }
  if (h.peersOnDownStores.length)
    missing.push(`peers on stores not up: ${list(h.peersOnDownStores.map((r) => `${r.id} (store ${r.storeIds.join(', ')})`))}`);
  return { ready: missing.length === 0, missing };
}
