// RegionCache: which region holds a key, which peer of it to ask, and where its store listens.
//
// Regions are kept sorted by start key (they never overlap), so a lookup is a binary search.
// A miss asks the scheduler for the key's region and the ones after it (scanRegions, `prefetch` of
// them: a client of a thousand regions would otherwise warm up one lookup at a time, every
// request of a cold region waiting behind the others'); store addresses come from getStore and
// are cached too.
// The cache is only a guess: the stores are the truth, and their region errors correct it
// (NotLeader switches the leader, EpochNotMatch replaces entries with the store's current
// regions, RegionNotFound / KeyNotInRegion drop the entry so the next lookup reloads it).
import type { metapb } from '@tskv/proto';
import type { RegionWithLeader, StoreWithStats } from '@tskv/rpc';
import { epochOf, findPeer, findPeerById, SortedRangeIndex } from '@tskv/util';
import { EMPTY, showKey } from './bytes.js';

/** What the cache needs from the scheduler (PdClient provides it; tests give fakes). */
export interface RegionSource {
  getRegion(key: Uint8Array): Promise<RegionWithLeader | null>;
  getRegionById(regionId: number): Promise<RegionWithLeader | null>;
  getStore(storeId: number): Promise<StoreWithStats | null>;
  /** Regions overlapping [startKey, endKey) in key order, at most `limit`; without it a miss loads one region. */
  scanRegions?(startKey: Uint8Array, endKey: Uint8Array, limit: number): Promise<RegionWithLeader[]>;
}

export interface RegionEpoch {
  confVer: number;
  version: number;
}

/** A region as cached: its range, epoch, peers, and the peer requests go to. */
export interface CachedRegion {
  readonly id: number;
  readonly startKey: Uint8Array;
  /** Exclusive; empty means unbounded. */
  readonly endKey: Uint8Array;
  readonly epoch: RegionEpoch;
  readonly peers: readonly metapb.IPeer[];
  /** The region as received (what requests carry back in their context). */
  readonly region: metapb.IRegion;
  /** The peer believed to lead, or null (then peers are tried in turn from `cursor`). */
  leader: metapb.IPeer | null;
  cursor: number;
  /** False once the entry left the cache (replaced or invalidated). */
  valid: boolean;
}

/** A store's address is unknown to the scheduler, or the store is a tombstone. */
export class StoreNotFoundError extends Error {
  constructor(
    readonly storeId: number,
    why: string,
  ) {
    super(`store ${storeId} ${why}`);
  }
}

export interface RegionCacheOptions {
  /** How long a store that failed is avoided when another peer can be tried (ms). */
  storeDownMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Regions loaded by one miss, the key's and those after it, when the source can scan (default 64; 1: only the key's). */
  prefetch?: number;
}

function isLearner(p: metapb.IPeer): boolean {
  // PeerRole.Learner = 1
  return !!p.isLearner || p.role === 1;
}

/** True if a is strictly newer than b (a region range only moves by splits, which bump version). */
function newer(a: RegionEpoch, b: RegionEpoch): boolean {
  return a.version > b.version || (a.version === b.version && a.confVer > b.confVer);
}

export class RegionCache {
  private readonly sorted = new SortedRangeIndex<CachedRegion>((r) => r);
  private readonly byId = new Map<number, CachedRegion>();
  private readonly stores = new Map<number, string>();
  private readonly storeLoads = new Map<number, Promise<string>>();
  private readonly downUntil = new Map<number, number>();
  private readonly inflight = new Set<Promise<CachedRegion | null>>();
  private readonly storeDownMs: number;
  private readonly now: () => number;
  private readonly prefetch: number;
  /** Counters, for tests and diagnostics. */
  readonly stats = { hits: 0, misses: 0, loads: 0, storeLoads: 0 };

  constructor(
    private readonly source: RegionSource,
    opts: RegionCacheOptions = {},
  ) {
    this.storeDownMs = opts.storeDownMs ?? 2_000;
    this.now = opts.now ?? Date.now;
    this.prefetch = Math.max(1, opts.prefetch ?? 64);
  }

  /** Number of cached regions. */
  get size(): number {
    return this.sorted.size;
  }

  /** The cached regions in key order (a copy). */
  regions(): CachedRegion[] {
    return [...this.sorted.inOrder()];
  }

  /** The cached region holding key, without asking the scheduler. */
  lookup(key: Uint8Array): CachedRegion | undefined {
    return this.sorted.find(key);
  }

  getById(regionId: number): CachedRegion | undefined {
    return this.byId.get(regionId);
  }

  /**
   * The region holding key: from the cache, else from the scheduler (concurrent misses for keys
   * of one region share the lookup). Null if the scheduler knows no region for the key.
   */
  async locate(key: Uint8Array): Promise<CachedRegion | null> {
    const hit = this.lookup(key);
    if (hit) {
      this.stats.hits++;
      return hit;
    }
    this.stats.misses++;
    // Wait for lookups already under way: one of them may bring this key's region.
    while (this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight]);
      const now = this.lookup(key);
      if (now) return now;
    }
    const p = this.load(key);
    this.inflight.add(p);
    try {
      return await p;
    } finally {
      this.inflight.delete(p);
    }
  }

  private async load(key: Uint8Array): Promise<CachedRegion | null> {
    this.stats.loads++;
    if (this.source.scanRegions && this.prefetch > 1) {
      const rs = await this.source.scanRegions(key, EMPTY, this.prefetch);
      let first: CachedRegion | null = null;
      for (const r of rs) {
        const e = this.insert(r.region, r.leader);
        first ??= e;
      }
      // The first region scanned holds the key unless the scheduler lags a split (see below).
      if (first) return this.lookup(key) ?? first;
      return null;
    }
    const r = await this.source.getRegion(key);
    if (!r) return null;
    const e = this.insert(r.region, r.leader);
    // Normally the key's region now; if the scheduler answered a region not holding the key (it
    // lags a split), requests go there anyway and the store's KeyNotInRegion corrects the cache.
    return this.lookup(key) ?? e;
  }

  /** Reloads one region by id from the scheduler (dropping the cached entry first). */
  async reloadById(regionId: number): Promise<CachedRegion | null> {
    this.invalidate(regionId);
    this.stats.loads++;
    const r = await this.source.getRegionById(regionId);
    return r ? this.insert(r.region, r.leader) : null;
  }

  /**
   * Puts a region in the cache, dropping the entries it overlaps. A region older than one it
   * overlaps (a lagging scheduler answer) is not cached; the entry is returned all the same.
   */
  insert(region: metapb.IRegion, leader: metapb.IPeer | null = null): CachedRegion {
    const peers = (region.peers ?? []).map((p) => ({ ...p, id: Number(p.id ?? 0), storeId: Number(p.storeId ?? 0) }));
    const id = Number(region.id ?? 0);
    const entry: CachedRegion = {
      id,
      startKey: region.startKey ?? EMPTY,
      endKey: region.endKey ?? EMPTY,
      epoch: epochOf(region),
      peers,
      region,
      leader: null,
      cursor: 0,
      valid: true,
    };
    entry.leader = (leader?.id && findPeerById(entry, Number(leader.id))) || null;
    const overlaps = this.sorted.overlapping(entry.startKey, entry.endKey);
    for (const o of overlaps) if (newer(o.epoch, entry.epoch)) return { ...entry, valid: false };
    const old = this.byId.get(id);
    if (old && !overlaps.includes(old)) overlaps.push(old);
    if (!entry.leader && old?.leader) entry.leader = findPeerById(entry, old.leader.id!) ?? null;
    for (const o of overlaps) this.remove(o);
    this.sorted.insert(entry);
    this.byId.set(id, entry);
    return entry;
  }

  private remove(e: CachedRegion): void {
    this.sorted.remove(e);
    if (this.byId.get(e.id) === e) this.byId.delete(e.id);
    e.valid = false;
  }

  /** Drops a region (RegionNotFound, KeyNotInRegion, ...): the next lookup asks the scheduler. */
  invalidate(regionId: number): void {
    const e = this.byId.get(regionId);
    if (e) this.remove(e);
  }

  /** Drops every region and store address. */
  clear(): void {
    for (const e of this.sorted.inOrder()) e.valid = false;
    this.sorted.clear();
    this.byId.clear();
    this.stores.clear();
  }

  /**
   * EpochNotMatch: the region changed (split, membership change). Replaces the entry with the
   * store's current regions; the answering store's peers become the leaders guessed for them.
   * Returns false if there were no current regions (the caller reloads from the scheduler).
   */
  onEpochNotMatch(regionId: number, currentRegions: readonly metapb.IRegion[], answeringStoreId?: number): boolean {
    this.invalidate(regionId);
    if (currentRegions.length === 0) return false;
    for (const r of currentRegions) {
      const leader = answeringStoreId ? (findPeer(r, answeringStoreId) ?? null) : null;
      this.insert(r, leader);
    }
    return true;
  }

  /**
   * NotLeader with a leader: requests go to that peer from now on. Returns false if the peer is
   * not among the cached peers (membership changed: the caller reloads the region).
   */
  switchLeader(e: CachedRegion, leader: metapb.IPeer): boolean {
    const p = findPeerById(e, Number(leader.id));
    if (!p) return false;
    e.leader = p;
    return true;
  }

  /** The peer failed or does not lead and knows no leader: try the next peer. */
  advancePeer(e: CachedRegion, failed: metapb.IPeer): void {
    e.leader = null;
    const i = e.peers.findIndex((p) => p.id === failed.id);
    e.cursor = e.peers.length === 0 ? 0 : (i + 1) % e.peers.length;
  }

  /** The request went through peer p: it leads. */
  confirmLeader(e: CachedRegion, p: metapb.IPeer): void {
    if (e.leader?.id !== p.id) e.leader = findPeerById(e, p.id!) ?? null;
  }

  /**
   * The peer to send a request to: the leader if known and its store is neither marked down nor
   * in `avoid`, else the next voter from the cursor whose store is neither, else the next voter not
   * in `avoid` (its store may be back), else (every voter avoided) the leader or the first voter.
   */
  target(e: CachedRegion, avoid?: ReadonlySet<number>): metapb.IPeer | undefined {
    const ok = (p: metapb.IPeer): boolean => !avoid?.has(p.storeId!);
    if (e.leader && ok(e.leader) && !this.isDown(e.leader.storeId!)) return e.leader;
    const n = e.peers.length;
    let notAvoided: metapb.IPeer | undefined;
    let anyVoter: metapb.IPeer | undefined;
    for (let i = 0; i < n; i++) {
      const p = e.peers[(e.cursor + i) % n]!;
      if (isLearner(p)) continue;
      anyVoter ??= p;
      if (!ok(p)) continue;
      notAvoided ??= p;
      if (!this.isDown(p.storeId!)) return p;
    }
    return notAvoided ?? e.leader ?? anyVoter ?? e.peers[0];
  }

  /** A store failed (stream error, unavailable, timeout): avoid it for a while. */
  markStoreDown(storeId: number): void {
    this.downUntil.set(storeId, this.now() + this.storeDownMs);
  }

  markStoreUp(storeId: number): void {
    this.downUntil.delete(storeId);
  }

  isDown(storeId: number): boolean {
    const t = this.downUntil.get(storeId);
    if (t === undefined) return false;
    if (t <= this.now()) {
      this.downUntil.delete(storeId);
      return false;
    }
    return true;
  }

  /** The store's address if cached (no scheduler call). */
  cachedStoreAddress(storeId: number): string | undefined {
    return this.stores.get(storeId);
  }

  /** The store's gRPC address, from the cache or the scheduler; StoreNotFoundError if it has none. */
  async storeAddress(storeId: number): Promise<string> {
    const a = this.stores.get(storeId);
    if (a) return a;
    let p = this.storeLoads.get(storeId);
    if (!p) {
      p = (async () => {
        this.stats.storeLoads++;
        const s = await this.source.getStore(storeId);
        if (!s?.store.address) throw new StoreNotFoundError(storeId, 'is not known to the scheduler');
        if (s.store.state === 2) throw new StoreNotFoundError(storeId, 'is a tombstone');
        this.stores.set(storeId, s.store.address);
        return s.store.address;
      })();
      this.storeLoads.set(storeId, p);
      const done = (): void => void (this.storeLoads.get(storeId) === p && this.storeLoads.delete(storeId));
      p.then(done, done);
    }
    return p;
  }

  /** Forgets a store's address (it may have moved, e.g. restarted on another port). */
  invalidateStore(storeId: number): void {
    this.stores.delete(storeId);
  }

  /** Debug text of one entry. */
  static describe(e: CachedRegion): string {
    return (
      `region ${e.id} [${showKey(e.startKey)}, ${e.endKey.length ? showKey(e.endKey) : '+inf'}) epoch ` +
      `${e.epoch.confVer}/${e.epoch.version}`
    );
  }
}
