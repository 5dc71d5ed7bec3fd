// MockScheduler: the placement driver of a test cluster. It allocates ids, knows the regions
// (the bootstrapped first region, then whatever leaders report), records each region's last
// known leader from heartbeats and client responses, and finds the region of a key.
import { eraftpb, metapb } from '@tskv/proto';
import type { RegionStats, SchedulerClient, SchedulerOperator, StoreStats } from '@tskv/raftstore';
import { roleOf } from '@tskv/raftstore';
import { compareBytes, epochOf, isEpochStale, keyInRegion, rangesOverlap } from '@tskv/util';

export interface RegionInfo {
  region: metapb.IRegion;
  leader: metapb.IPeer | null;
}

export interface HeartbeatRecord {
  at: number;
  regionId: number;
  leader: metapb.IPeer;
}

function cloneRegion(r: metapb.IRegion): metapb.IRegion {
  return metapb.Region.decode(metapb.Region.encode(r).finish());
}

/** Whether a region (with its leader) shows an operator carried out. */
export function operatorDone(op: SchedulerOperator, region: metapb.IRegion, leader: metapb.IPeer | null): boolean {
  const peers = region.peers ?? [];
  const has = (p: metapb.IPeer | null | undefined, role?: metapb.PeerRole): boolean =>
    peers.some((x) => x.id === p?.id && (role === undefined || roleOf(x) === role));
  const one = (c: { changeType?: eraftpb.ConfChangeType | null; peer?: metapb.IPeer | null }): boolean => {
    switch (c.changeType) {
      case eraftpb.ConfChangeType.AddNode:
        return has(c.peer, metapb.PeerRole.Voter);
      case eraftpb.ConfChangeType.AddLearnerNode:
        return has(c.peer, metapb.PeerRole.Learner);
      default:
        return !has(c.peer);
    }
  };
  if (op.transferLeader) return leader?.id === op.transferLeader.peer?.id;
  if (op.changePeer) return one(op.changePeer);
  return (op.changePeerV2?.changes ?? []).every(one);
}

export class MockScheduler implements SchedulerClient {
  private readonly regions = new Map<number, RegionInfo>();
  /** One pending operator per region, handed to its leader on every heartbeat until done. */
  private readonly operators = new Map<number, SchedulerOperator>();
  /** Regions the scheduler must leave alone (no operator is handed out for them). */
  readonly frozen = new Set<number>();
  private nextId: number;
  /** Every heartbeat received, oldest first (bounded). */
  readonly heartbeats: HeartbeatRecord[] = [];
  private static readonly MAX_HEARTBEATS = 10_000;
  /** Heartbeats rejected because their epoch was older than the known one. */
  staleHeartbeats = 0;

  constructor(firstFreeId = 1000) {
    this.nextId = firstFreeId;
  }

  /** A fresh, cluster-unique id (regions, peers). */
  allocId(): number {
    return this.nextId++;
  }

  /** Registers the first region (or any region created by the test itself). */
  bootstrap(region: metapb.IRegion): void {
    this.regions.set(region.id!, { region: cloneRegion(region), leader: null });
    this.widenSpan(region);
    for (const p of region.peers ?? []) if ((p.id ?? 0) >= this.nextId) this.nextId = p.id! + 1;
    if ((region.id ?? 0) >= this.nextId) this.nextId = region.id! + 1;
  }

  // ---- SchedulerClient ----

  /** The last stats each region's leader reported, and each store's. */
  readonly regionStats = new Map<number, RegionStats>();
  readonly storeStats = new Map<number, StoreStats>();
  private lastTs = 0;

  storeHeartbeat(stats: StoreStats): void {
    this.storeStats.set(stats.storeId, { ...stats });
  }

  async getRegionById(regionId: number): Promise<RegionInfo | null> {
    const info = this.regions.get(regionId);
    return info ? { region: cloneRegion(info.region), leader: info.leader } : null;
  }

  async getRegionByKey(key: Uint8Array): Promise<RegionInfo | null> {
    const info = this.regionByKey(key);
    return info ? { region: cloneRegion(info.region), leader: info.leader } : null;
  }

  async allocIds(count: number): Promise<number[]> {
    return Array.from({ length: count }, () => this.allocId());
  }

  /** Strictly increasing: physical ms × 1000 + a logical counter (exact in a double). */
  async tso(): Promise<number> {
    const ts = Math.max(Date.now() * 1000, this.lastTs + 1);
    this.lastTs = ts;
    return ts;
  }

  regionHeartbeat(region: metapb.IRegion, leader: metapb.IPeer, stats?: RegionStats): SchedulerOperator | null {
    const id = region.id!;
    const known = this.regions.get(id);
    if (known && isEpochStale(epochOf(region), epochOf(known.region))) {
      this.staleHeartbeats++;
      return null;
    }
    this.put(region, { ...leader });
    if (stats) this.regionStats.set(id, stats);
    this.heartbeats.push({ at: Date.now(), regionId: id, leader: { ...leader } });
    if (this.heartbeats.length > MockScheduler.MAX_HEARTBEATS) this.heartbeats.splice(0, this.heartbeats.length / 2);
    const op = this.operators.get(id);
    if (!op) return null;
    if (operatorDone(op, region, leader)) {
      this.operators.delete(id);
      return null;
    }
    return this.frozen.has(id) ? null : op;
  }

  /**
   * Records a region, dropping the regions it makes obsolete: those overlapping it with an older
   * version (the range before a split). The map then never holds two regions for one key.
   */
  private put(region: metapb.IRegion, leader: metapb.IPeer | null | undefined): void {
    const id = region.id!;
    const v = epochOf(region).version;
    for (const [other, info] of this.regions) {
      if (other === id) continue;
      if (rangesOverlap(info.region, region) && epochOf(info.region).version <= v) {
        this.widenSpan(info.region);
        this.regions.delete(other);
      }
    }
    const known = this.regions.get(id);
    if (known) this.widenSpan(known.region);
    this.regions.set(id, { region: cloneRegion(region), leader: leader === undefined ? (known?.leader ?? null) : leader });
  }

  /** Ids for a split, refused when the region's version is older than the known one. */
  async askBatchSplit(region: metapb.IRegion, count: number): Promise<{ newRegionId: number; newPeerIds: number[] }[]> {
    const known = this.regions.get(region.id!);
    if (known && epochOf(region).version < epochOf(known.region).version) throw new Error(`stale region ${region.id} asking to split`);
    const out: { newRegionId: number; newPeerIds: number[] }[] = [];
    for (let i = 0; i < count; i++) out.push({ newRegionId: this.allocId(), newPeerIds: (region.peers ?? []).map(() => this.allocId()) });
    this.splitsAsked += count;
    return out;
  }

  splitsAsked = 0;
  splitsReported = 0;

  reportBatchSplit(regions: metapb.IRegion[]): void {
    this.splitsReported++;
    for (const r of regions) this.updateRegion(r);
  }

  // ---- operators ----

  /** Sets the region's operator (replacing any pending one). */
  addOperator(regionId: number, op: SchedulerOperator): void {
    this.operators.set(regionId, op);
  }

  operator(regionId: number): SchedulerOperator | undefined {
    return this.operators.get(regionId);
  }

  clearOperator(regionId: number): void {
    this.operators.delete(regionId);
  }

  // ---- queries ----

  region(regionId: number): metapb.IRegion | undefined {
    return this.regions.get(regionId)?.region;
  }

  allRegions(): metapb.IRegion[] {
    return [...this.regions.values()]
      .map((i) => i.region)
      .sort((a, b) => compareBytes(a.startKey ?? new Uint8Array(0), b.startKey ?? new Uint8Array(0)));
  }

  /** The region whose range holds `key`, with its last known leader (first by start key if stale overlaps remain). */
  regionByKey(key: Uint8Array): RegionInfo | undefined {
    for (const info of this.regions.values()) if (keyInRegion(key, info.region)) return info;
    return undefined;
  }

  /** Whether `key` lies between the lowest start and the highest end of the known regions. */
  withinKnownSpan(key: Uint8Array): boolean {
    // The span ever known, not the current union: regions only split (no merges), so a range
    // once covered stays covered, and a gap at either end is a split whose right (or left) part
    // has not reported yet (the old region's heartbeat with its new, shorter range can come
    // first), not a key outside the cluster.
    for (const { region } of this.regions.values()) this.widenSpan(region);
    if (this.spanLo === null || compareBytes(key, this.spanLo) < 0) return false;
    return this.spanUnbounded || (this.spanHi !== null && compareBytes(key, this.spanHi) < 0);
  }

  private widenSpan(region: metapb.IRegion): void {
    const s = region.startKey ?? new Uint8Array(0);
    const e = region.endKey ?? new Uint8Array(0);
    if (this.spanLo === null || compareBytes(s, this.spanLo) < 0) this.spanLo = s;
    if (e.length === 0) this.spanUnbounded = true;
    else if (this.spanHi === null || compareBytes(e, this.spanHi) > 0) this.spanHi = e;
  }

  private spanLo: Uint8Array | null = null;
  private spanHi: Uint8Array | null = null;
  private spanUnbounded = false;

  leader(regionId: number): metapb.IPeer | null {
    return this.regions.get(regionId)?.leader ?? null;
  }

  /** What a client learned (a successful answer, or a NotLeader hint). */
  setLeader(regionId: number, leader: metapb.IPeer | null): void {
    const info = this.regions.get(regionId);
    if (info) info.leader = leader ? { ...leader } : null;
  }

  /** A newer view of a region (an EpochNotMatch answer carries the current regions). */
  updateRegion(region: metapb.IRegion): void {
    const known = this.regions.get(region.id!);
    if (known && isEpochStale(epochOf(region), epochOf(known.region))) return;
    this.put(region, undefined);
  }
}
