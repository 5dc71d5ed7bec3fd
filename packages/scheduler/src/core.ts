// SchedulerCore: the scheduler's behaviour behind the wire, one method per RPC. It ties the
// in-memory state (ClusterState, OperatorController) to the storage, the id allocator and the
// TSO, and decides what each request means; failures are HeaderErrors (answered in the header).
// The gRPC layer (service.ts) only checks headers, maps errors and drives streams; the
// scheduling rounds (coordinator.ts) run over the same state.
import { metapb, type schedulerpb } from '@tskv/proto';
import { findPeer, findPeerById } from '@tskv/util';
import { ClusterState, type RegionInfo } from './cluster_state.js';
import type { SchedulerConfig } from './config.js';
import { ErrorType, HeaderError, invalid } from './errors.js';
import { IdAllocator } from './id_allocator.js';
import type { Logger } from './logger.js';
import { clonePeer, regionProblem } from './meta.js';
import { SchedulerMetrics } from './metrics.js';
import { Mutex } from './mutex.js';
import { describe } from './operator.js';
import { OperatorController } from './operator_controller.js';
import { storeIsLive } from './schedulers/context.js';
import type { SchedulerStorage } from './storage.js';
import { Tso } from './tso.js';

const { Up, Offline, Tombstone } = metapb.StoreState;
const MAX_SPLITS = 1000;
const U64_MAX = (1n << 64n) - 1n;

export class SchedulerCore {
  readonly state = new ClusterState();
  readonly ops: OperatorController;
  readonly metrics: SchedulerMetrics;
  readonly ids: IdAllocator;
  readonly tso: Tso;
  private readonly bootstrapMutex = new Mutex();
  private readonly gcMutex = new Mutex();
  #gcSafePoint: bigint;

  private constructor(
    readonly cfg: SchedulerConfig,
    readonly storage: SchedulerStorage,
    readonly logger: Logger,
    clusterId: number,
    allocEnd: number,
    tsoEnd: number,
    gcSafePoint: bigint,
  ) {
    this.state.clusterId = clusterId;
    this.#gcSafePoint = gcSafePoint;
    this.ops = new OperatorController(cfg.operatorTimeoutMs, {
      created: (op) => {
        this.metrics.operatorsCreated.inc({ kind: op.kind });
        this.logger.info('operator created', { regionId: op.regionId, kind: op.kind, operator: describe(op) });
      },
      ended: (op, how, why) => {
        const c =
          how === 'finished'
            ? this.metrics.operatorsFinished
            : how === 'timeout'
              ? this.metrics.operatorsTimedOut
              : this.metrics.operatorsCancelled;
        c.inc({ kind: op.kind });
        this.logger[how === 'finished' ? 'info' : 'warn'](`operator ${how}`, { regionId: op.regionId, kind: op.kind, reason: why });
      },
    });
    this.metrics = new SchedulerMetrics(this.state, this.ops);
    this.ids = new IdAllocator(storage, allocEnd, cfg.idAllocStep);
    this.tso = new Tso(storage, tsoEnd, cfg.tsoSaveWindowMs);
  }

  /** Loads what the storage holds (choosing and saving a cluster id on first start) and persists the first TSO window. */
  static async open(cfg: SchedulerConfig, storage: SchedulerStorage, logger: Logger, now = Date.now()): Promise<SchedulerCore> {
    const m = await storage.load();
    let clusterId = m.clusterId;
    if (!clusterId) {
      // Random, so two clusters started side by side never accept each other's stores.
      clusterId = 1 + Math.floor(Math.random() * (2 ** 48 - 1));
      await storage.saveClusterId(clusterId);
    }
    const core = new SchedulerCore(cfg, storage, logger, clusterId, m.allocEnd, m.tsoEnd, m.gcSafePoint);
    core.state.bootstrapped = m.bootstrapped;
    for (const s of m.stores) core.state.loadStore(s, now);
    for (const r of m.regions) core.state.loadRegion(r);
    await core.tso.init();
    logger.info('scheduler state loaded', {
      clusterId,
      bootstrapped: m.bootstrapped,
      stores: m.stores.length,
      regions: core.state.regions.size,
      nextId: core.ids.peek(),
      gcSafePoint: String(m.gcSafePoint),
    });
    return core;
  }

  get clusterId(): number {
    return this.state.clusterId;
  }

  get bootstrapped(): boolean {
    return this.state.bootstrapped;
  }

  // ---- cluster, ids, time ----

  bootstrap(store: metapb.IStore | null | undefined, region: metapb.IRegion | null | undefined): Promise<void> {
    return this.bootstrapMutex.run(async () => {
      if (this.state.bootstrapped)
        throw new HeaderError(ErrorType.ALREADY_BOOTSTRAPPED, `cluster ${this.clusterId} is already bootstrapped`);
      checkStore(store);
      const problem = regionProblem(region);
      if (problem) throw invalid(problem);
      const peers = region!.peers ?? [];
      if (!findPeer(region!, Number(store!.id))) throw invalid(`the first region has no peer on store ${store!.id}`);
      const meta: metapb.IStore = { id: store!.id, address: store!.address, statusAddress: store!.statusAddress ?? '', state: Up };
      // Ids the bootstrapping store chose itself must never be handed out again.
      await this.ids.bumpPast(Math.max(Number(store!.id), Number(region!.id), ...peers.map((p) => Number(p.id))));
      await this.storage.saveBootstrap(meta, region!);
      this.state.putStore(meta, Date.now());
      this.state.updateRegion(region!, null, Date.now());
      this.state.bootstrapped = true;
      this.logger.info('cluster bootstrapped', { clusterId: this.clusterId, storeId: store!.id, regionId: region!.id });
    });
  }

  async allocIds(count: number): Promise<number[]> {
    const ids = await this.ids.alloc(count);
    this.metrics.allocatedIds.inc(count);
    return ids;
  }

  async timestamp(count: number): Promise<{ physical: number; logical: number }> {
    if (!Number.isInteger(count) || count < 1) throw invalid(`tso count must be at least 1, got ${count}`);
    const ts = await this.tso.next(count).catch((e: Error) => {
      throw invalid(e.message);
    });
    this.metrics.tsoRequests.inc();
    this.metrics.tsoTimestamps.inc(count);
    return ts;
  }

  // ---- GC safe point ----

  /** The GC safe point (a TSO timestamp), 0n until first set. */
  get gcSafePoint(): bigint {
    return this.#gcSafePoint;
  }

  /**
   * Raises the GC safe point and returns the one in force afterwards. It never moves back: a
   * value not above the current one changes nothing and the current one is returned (stores may
   * already have removed versions below it). The new value is persisted (synced) before it is
   * answered or seen by getters, and updates run one at a time, so concurrent updates end at
   * their maximum and a restart never forgets a safe point that was answered.
   */
  updateGCSafePoint(safePoint: unknown): Promise<bigint> {
    if (typeof safePoint !== 'bigint' || safePoint < 0n || safePoint > U64_MAX)
      return Promise.reject(
        invalid(`the GC safe point must be a u64 (a bigint in [0, 2^64)), got ${typeof safePoint} ${String(safePoint)}`),
      );
    return this.gcMutex.run(async () => {
      const old = this.#gcSafePoint;
      if (safePoint <= old) return old;
      await this.storage.saveGcSafePoint(safePoint);
      this.#gcSafePoint = safePoint;
      this.logger.info('gc safe point updated', { from: String(old), to: String(safePoint) });
      return safePoint;
    });
  }

  // ---- stores ----

  /**
   * Registers a store or updates its addresses. A request's state Up keeps the known state (a
   * store restarting must not undo an Offline); Offline starts evacuating it; Tombstone is only
   * for a store holding no replicas. A tombstone store is gone for good.
   */
  async putStore(store: metapb.IStore | null | undefined): Promise<void> {
    checkStore(store);
    const id = Number(store!.id);
    const known = this.state.stores.get(id);
    if (known?.meta.state === Tombstone) throw new HeaderError(ErrorType.STORE_TOMBSTONE, `store ${id} is a tombstone`);
    const dup = this.state.storeByAddress(store!.address!, id);
    if (dup) throw invalid(`address ${store!.address} is already used by store ${dup.meta.id}`);
    const asked = store!.state ?? Up;
    if (asked === Tombstone) {
      const n = this.state.regionsOnStore(id).length;
      if (n > 0) throw invalid(`store ${id} still holds ${n} replicas: set it Offline first (it becomes a tombstone once empty)`);
    }
    const state = asked === Up ? (known?.meta.state ?? Up) : asked;
    const meta: metapb.IStore = { id, address: store!.address, statusAddress: store!.statusAddress ?? '', state };
    await this.storage.saveStore(meta);
    this.state.putStore(meta, Date.now());
    if (!known || known.meta.address !== meta.address || known.meta.state !== state)
      this.logger.info('store registered', { storeId: id, address: meta.address, state: metapb.StoreState[state] });
  }

  /** An operator's decision: Up or Offline (admin). */
  async setStoreState(id: number, state: metapb.StoreState): Promise<void> {
    const known = this.state.stores.get(id);
    if (!known) throw new HeaderError(ErrorType.STORE_NOT_FOUND, `store ${id} not found`);
    if (known.meta.state === Tombstone) throw new HeaderError(ErrorType.STORE_TOMBSTONE, `store ${id} is a tombstone`);
    const meta = { ...known.meta, state };
    await this.storage.saveStore(meta);
    known.meta = meta;
    this.logger.info('store state set', { storeId: id, state: metapb.StoreState[state] });
  }

  /** Offline stores no replica is left on become tombstones (run by each scheduling round). */
  async buryEmptyStores(): Promise<number[]> {
    const loads = this.state.storeLoads();
    const out: number[] = [];
    for (const [id, s] of this.state.stores) {
      if (s.meta.state !== Offline || (loads.get(id)?.regions ?? 0) > 0) continue;
      await this.setStoreState(id, Tombstone);
      out.push(id);
    }
    return out;
  }

  getStore(id: number): { store: metapb.IStore; stats: schedulerpb.IStoreStats | null; lastHeartbeatMs: number } {
    const s = this.state.stores.get(id);
    if (!s) throw new HeaderError(ErrorType.STORE_NOT_FOUND, `store ${id} not found`);
    return { store: s.meta, stats: s.stats, lastHeartbeatMs: s.lastHeartbeatMs };
  }

  getAllStores(excludeTombstone: boolean): schedulerpb.IGetAllStoresResponse {
    const stores = [...this.state.stores.values()]
      .filter((s) => !(excludeTombstone && s.meta.state === Tombstone))
      .sort((a, b) => Number(a.meta.id) - Number(b.meta.id));
    return {
      stores: stores.map((s) => s.meta),
      stats: stores.map((s) => s.stats ?? {}),
      lastHeartbeatMs: stores.map((s) => s.lastHeartbeatMs),
    };
  }

  storeHeartbeat(stats: schedulerpb.IStoreStats | null | undefined): void {
    if (!stats?.storeId) throw invalid('store heartbeat without stats or a store id');
    const s = this.state.stores.get(Number(stats.storeId));
    if (!s) throw new HeaderError(ErrorType.STORE_NOT_FOUND, `store ${stats.storeId} not found: put it first`);
    if (s.meta.state === Tombstone) throw new HeaderError(ErrorType.STORE_TOMBSTONE, `store ${stats.storeId} is a tombstone`);
    this.state.storeHeartbeat(stats, Date.now());
    this.metrics.storeHeartbeats.inc();
  }

  // ---- regions ----

  private withLeader(info: RegionInfo | undefined): schedulerpb.IGetRegionResponse {
    if (!info) throw new HeaderError(ErrorType.REGION_NOT_FOUND, 'region not found');
    return { region: info.region, leader: info.leader ?? undefined };
  }

  getRegionByKey(key: Uint8Array): schedulerpb.IGetRegionResponse {
    return this.withLeader(this.state.regions.findByKey(key ?? new Uint8Array(0)));
  }

  getRegionById(id: number): schedulerpb.IGetRegionResponse {
    return this.withLeader(this.state.regions.get(id));
  }

  scanRegions(start: Uint8Array, end: Uint8Array, limit: number): schedulerpb.IScanRegionsResponse {
    const found = this.state.regions.scan(start, end, Math.max(0, limit));
    return { regions: found.map((i) => i.region), leaders: found.map((i) => i.leader ?? {}) };
  }

  /**
   * A leader's report: recorded unless stale, persisted if the region meta changed; the answer
   * carries the region's pending operator step, if any.
   */
  async regionHeartbeat(req: schedulerpb.IRegionHeartbeatRequest): Promise<schedulerpb.IRegionHeartbeatResponse> {
    const problem = regionProblem(req.region);
    if (problem) throw invalid(problem);
    const region = req.region!;
    const leader = req.leader;
    if (!leader?.id || !findPeerById(region, Number(leader.id))) {
      throw invalid(`region ${region.id} heartbeat without a leader among its peers`);
    }
    const now = Date.now();
    const upd = this.state.updateRegion(
      region,
      {
        leader,
        pendingPeers: req.pendingPeers ?? [],
        approximateSize: Number(req.approximateSize ?? 0),
        approximateKeys: Number(req.approximateKeys ?? 0),
        bytesWritten: Number(req.bytesWritten ?? 0),
        keysWritten: Number(req.keysWritten ?? 0),
        bytesRead: Number(req.bytesRead ?? 0),
        keysRead: Number(req.keysRead ?? 0),
      },
      now,
    );
    if (upd.kind === 'stale') throw new HeaderError(ErrorType.STALE_REGION, upd.reason);
    for (const d of upd.dropped) this.ops.cancel(d, `replaced by region ${region.id}`);
    // Decided on this very view, before any await lets another heartbeat of the region in.
    const id = Number(region.id);
    const paused = this.cfg.pausedRegions.includes(id);
    const step = this.ops.dispatch(upd.info, now, (s) => storeIsLive(this.state, this.cfg, now, s), paused);
    if (upd.metaChanged) await this.storage.saveRegions([upd.info.region], upd.dropped, false);
    if (!step) return { regionId: id };
    return { regionId: id, ...step, regionEpoch: upd.info.region.regionEpoch, targetPeer: clonePeer(leader) };
  }

  async askBatchSplit(region: metapb.IRegion | null | undefined, count: number): Promise<schedulerpb.ISplitID[]> {
    const problem = regionProblem(region);
    if (problem) throw invalid(problem);
    if (!Number.isInteger(count) || count < 1 || count > MAX_SPLITS)
      throw invalid(`split_count must be in [1, ${MAX_SPLITS}], got ${count}`);
    const stale = this.state.staleness(region!);
    if (stale) throw new HeaderError(ErrorType.STALE_REGION, stale);
    const per = 1 + (region!.peers ?? []).length;
    const ids = await this.allocIds(count * per);
    const out: schedulerpb.ISplitID[] = [];
    for (let i = 0; i < count; i++) {
      const mine = ids.slice(i * per, (i + 1) * per);
      out.push({ newRegionId: mine[0]!, newPeerIds: mine.slice(1) });
    }
    return out;
  }

  /** The regions a split produced; stale ones are skipped (STALE_REGION if all are). */
  async reportBatchSplit(regions: metapb.IRegion[]): Promise<void> {
    if (regions.length === 0) throw invalid('split report without regions');
    for (const r of regions) {
      const problem = regionProblem(r);
      if (problem) throw invalid(problem);
    }
    // The leader of the region that split leads the new ones too, until they report (a hint for clients).
    const origin = this.state.regions.get(Number(regions[0]!.id));
    const leaderStore = origin?.leader ? Number(origin.leader.storeId) : 0;
    const now = Date.now();
    const put: metapb.IRegion[] = [];
    const dropped: number[] = [];
    for (const r of regions) {
      const upd = this.state.updateRegion(r, null, now);
      if (upd.kind === 'stale') {
        this.logger.warn('stale region in a split report', { regionId: r.id, reason: upd.reason });
        continue;
      }
      if (!upd.metaChanged) continue;
      put.push(upd.info.region);
      dropped.push(...upd.dropped);
      if (!upd.info.leader && leaderStore) {
        const p = findPeer(upd.info.region, leaderStore);
        if (p) upd.info.leader = clonePeer(p);
      }
    }
    if (put.length === 0 && regions.every((r) => this.state.staleness(r) !== null)) {
      throw new HeaderError(ErrorType.STALE_REGION, `every region of the split report of region ${regions[0]!.id} is stale`);
    }
    const kept = new Set(put.map((r) => Number(r.id)));
    const gone = [...new Set(dropped)].filter((d) => !kept.has(d));
    for (const d of gone) this.ops.cancel(d, 'replaced by a split');
    // A split changes the version, so any operator on the original region is void now, unless
    // it was that very split.
    for (const r of put) {
      const info = this.state.regions.get(Number(r.id));
      if (info) this.ops.onSplit(info, now);
    }
    if (put.length > 0 || gone.length > 0) await this.storage.saveRegions(put, gone, true);
    this.logger.info('split reported', { regions: regions.map((r) => r.id) });
  }

  // ---- lifecycle ----

  async close(): Promise<void> {
    await this.tso.settle();
    await this.storage.close();
  }
}

function checkStore(store: metapb.IStore | null | undefined): void {
  if (!store) throw invalid('missing store');
  if (!store.id) throw invalid('store without an id');
  if (!store.address) throw invalid(`store ${store.id} without an address`);
}
