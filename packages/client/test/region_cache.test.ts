import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { metapb } from '@tskv/proto';
import type { RegionWithLeader, StoreWithStats } from '@tskv/rpc';
import { findPeer, keyInRegion } from '@tskv/util';
import { RegionCache, type RegionSource, StoreNotFoundError } from '../src/region_cache.js';

const k = (s: string): Uint8Array => Buffer.from(s);
const E = new Uint8Array(0);

function region(id: number, start: string, end: string, version = 1, stores = [1, 2, 3]): metapb.IRegion {
  return {
    id,
    startKey: k(start),
    endKey: k(end),
    regionEpoch: { confVer: 1, version },
    peers: stores.map((s) => ({ id: id * 10 + s, storeId: s })),
  };
}

/** A scheduler over a list of regions, counting calls; lookups can be made to wait. */
class FakeSource implements RegionSource {
  regions: metapb.IRegion[] = [];
  leaders = new Map<number, number>(); // region id -> store id
  calls = { getRegion: 0, getRegionById: 0, getStore: 0 };
  gate: Promise<void> | null = null;
  async getRegion(key: Uint8Array): Promise<RegionWithLeader | null> {
    this.calls.getRegion++;
    if (this.gate !== null) await this.gate;
    const r = this.regions.find((x) => keyInRegion(key, x));
    return r ? this.withLeader(r) : null;
  }
  async getRegionById(id: number): Promise<RegionWithLeader | null> {
    this.calls.getRegionById++;
    const r = this.regions.find((x) => x.id === id);
    return r ? this.withLeader(r) : null;
  }
  async getStore(id: number): Promise<StoreWithStats | null> {
    this.calls.getStore++;
    if (id > 3) return null;
    return { store: { id, address: `127.0.0.1:${20160 + id}`, state: id === 3 ? 0 : 0 }, stats: null, lastHeartbeatMs: 0 };
  }
  private withLeader(r: metapb.IRegion): RegionWithLeader {
    const ls = this.leaders.get(r.id!);
    return { region: r, leader: ls === undefined ? null : (findPeer(r, ls) ?? null) };
  }
}

/** 1,000 regions: [""; k0001), [k0001; k0002), ... [k0999; ""). */
function manyRegions(n: number): metapb.IRegion[] {
  const key = (i: number): string => `k${String(i).padStart(4, '0')}`;
  const out: metapb.IRegion[] = [];
  for (let i = 0; i < n; i++) out.push(region(i + 1, i === 0 ? '' : key(i), i === n - 1 ? '' : key(i + 1)));
  return out;
}

test('lookup by key across 1,000 regions: one scheduler call per region, then binary-search hits, boundaries exact', async () => {
  const src = new FakeSource();
  src.regions = manyRegions(1000);
  const c = new RegionCache(src);
  // Load in a shuffled order so the sorted insert is exercised.
  const order = Array.from({ length: 1000 }, (_, i) => i).sort((a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000));
  for (const i of order) {
    const key = i === 0 ? k('a') : k(`k${String(i).padStart(4, '0')}x`);
    const e = await c.locate(key);
    assert.equal(e?.id, i + 1);
  }
  assert.equal(c.size, 1000);
  assert.equal(src.calls.getRegion, 1000);
  // Now everything hits, including exact start keys, the empty key, keys past the last start.
  assert.equal(c.lookup(E)?.id, 1);
  assert.equal(c.lookup(k('k0001'))?.id, 2, 'a region start belongs to that region');
  assert.equal(c.lookup(k('k0000\xff'))?.id, 1, 'just below a start belongs to the previous region');
  assert.equal(c.lookup(k('k0500'))?.id, 501);
  assert.equal(c.lookup(k('zzzz'))?.id, 1000);
  assert.equal((await c.locate(k('k0777')))?.id, 778);
  assert.equal(src.calls.getRegion, 1000, 'no scheduler call on a hit');
  // The regions are sorted and contiguous.
  const rs = c.regions();
  for (let i = 1; i < rs.length; i++) assert.equal(Buffer.compare(rs[i - 1]!.endKey, rs[i]!.startKey), 0);
});

/** A scheduler that can also scan (what PdClient offers). */
class ScanningSource extends FakeSource {
  scans: { start: string; limit: number }[] = [];
  async scanRegions(start: Uint8Array, end: Uint8Array, limit: number): Promise<RegionWithLeader[]> {
    assert.equal(end.length, 0);
    this.scans.push({ start: Buffer.from(start).toString(), limit });
    const from = this.regions.findIndex((x) => keyInRegion(start, x));
    if (from < 0) return [];
    return this.regions.slice(from, from + limit).map((r) => ({ region: r, leader: null }));
  }
}

test('a miss prefetches the key region and the ones after it: 1,000 regions warm up in 16 scans of 64', async () => {
  const src = new ScanningSource();
  src.regions = manyRegions(1000);
  const c = new RegionCache(src);
  for (let i = 0; i < 1000; i++) {
    const key = i === 0 ? k('a') : k(`k${String(i).padStart(4, '0')}x`);
    assert.equal((await c.locate(key))?.id, i + 1);
  }
  assert.equal(src.scans.length, 16, 'ceil(1000 / 64) scans');
  assert.ok(src.scans.every((x) => x.limit === 64));
  assert.equal(src.calls.getRegion, 0, 'no single-region lookup');
  assert.equal(c.size, 1000);
  // Concurrent misses on cold regions wait for the scan under way, which brings most of them.
  const cold = new RegionCache(src, { prefetch: 100 });
  src.scans = [];
  const got = await Promise.all(Array.from({ length: 100 }, (_, i) => cold.locate(k(`k${String(i + 1).padStart(4, '0')}`))));
  assert.deepEqual(
    got.map((e) => e?.id),
    Array.from({ length: 100 }, (_, i) => i + 2),
  );
  assert.equal(src.scans.length, 1, 'one scan served all 100 concurrent misses');
  // prefetch 1: the single-region lookup, as before.
  const one = new RegionCache(src, { prefetch: 1 });
  assert.equal((await one.locate(k('k0500')))?.id, 501);
  assert.equal(src.calls.getRegion, 1);
});

test('concurrent misses on keys of one region share a single scheduler lookup', async () => {
  const src = new FakeSource();
  src.regions = [region(1, '', 'm'), region(2, 'm', '')];
  let open!: () => void;
  src.gate = new Promise((r) => (open = r));
  const c = new RegionCache(src);
  const ps = ['a', 'b', 'c', 'd'].map((x) => c.locate(k(x)));
  await new Promise((r) => setImmediate(r));
  open();
  const got = await Promise.all(ps);
  assert.deepEqual(
    got.map((e) => e?.id),
    [1, 1, 1, 1],
  );
  assert.equal(src.calls.getRegion, 1);
  src.gate = null;
  assert.equal((await c.locate(k('x')))?.id, 2);
  assert.equal(src.calls.getRegion, 2);
});

test('EpochNotMatch: the current regions replace the stale entry, the answering store leads them', async () => {
  const src = new FakeSource();
  src.regions = [region(1, '', '')];
  src.leaders.set(1, 1);
  const c = new RegionCache(src);
  const before = (await c.locate(k('q')))!;
  assert.equal(before.leader?.storeId, 1);
  // Region 1 split at "m" into 1 [""; "m") and 7 ["m"; ""), answered by store 2.
  const ok = c.onEpochNotMatch(1, [region(1, '', 'm', 2), region(7, 'm', '', 2)], 2);
  assert.ok(ok);
  assert.equal(before.valid, false, 'the old entry left the cache');
  assert.equal(c.size, 2);
  const a = c.lookup(k('a'))!;
  const q = c.lookup(k('q'))!;
  assert.equal(a.id, 1);
  assert.equal(a.epoch.version, 2);
  assert.equal(q.id, 7);
  assert.equal(q.leader?.storeId, 2);
  assert.equal(src.calls.getRegion, 1, 'no scheduler call needed');
  // Without current regions, the entry is dropped and the next lookup asks the scheduler.
  assert.equal(c.onEpochNotMatch(7, []), false);
  assert.equal(c.lookup(k('q')), undefined);
  src.regions = [region(1, '', 'm', 2), region(7, 'm', '', 2)];
  assert.equal((await c.locate(k('q')))?.id, 7);
  assert.equal(src.calls.getRegion, 2);
});

test('a lagging scheduler answer never replaces a newer cached region', () => {
  const c = new RegionCache(new FakeSource());
  c.insert(region(1, '', 'm', 2));
  c.insert(region(7, 'm', '', 2));
  // The scheduler has not heard of the split yet: region 1 version 1 over everything.
  const stale = c.insert(region(1, '', '', 1));
  assert.equal(stale.valid, false);
  assert.equal(c.size, 2);
  assert.equal(c.lookup(k('z'))?.id, 7);
  // A newer version of region 7 does replace it.
  c.insert(region(7, 'm', 't', 3));
  assert.equal(c.lookup(k('n'))?.epoch.version, 3);
  assert.equal(c.lookup(k('z')), undefined, 'the gap [t, +inf) is not cached');
});

test('NotLeader: switching to the hinted leader, advancing past a peer without hint, skipping down stores', async () => {
  const src = new FakeSource();
  src.regions = [region(1, '', '')];
  const c = new RegionCache(src, { storeDownMs: 60_000 });
  const e = (await c.locate(k('a')))!;
  assert.ok(e.leader === null, 'no leader known yet');
  assert.equal(c.target(e)?.storeId, 1, 'no leader known: the first peer');
  assert.ok(c.switchLeader(e, { id: 13, storeId: 3 }));
  assert.equal(c.target(e)?.storeId, 3);
  assert.equal(c.switchLeader(e, { id: 99, storeId: 9 }), false, 'a leader not among the peers is refused');
  c.advancePeer(e, { id: 13, storeId: 3 });
  assert.equal(c.target(e)?.storeId, 1, 'after peer 13: wraps around to the first');
  c.advancePeer(e, { id: 11, storeId: 1 });
  assert.equal(c.target(e)?.storeId, 2);
  // Store 2 down: store 3 is tried instead; all down: still some peer (it may be back).
  c.markStoreDown(2);
  assert.equal(c.target(e)?.storeId, 3);
  c.markStoreDown(3);
  c.markStoreDown(1);
  assert.ok(c.target(e));
  c.markStoreUp(2);
  assert.equal(c.target(e)?.storeId, 2);
  // Stores a request already failed on are skipped for that request only.
  assert.equal(c.target(e, new Set([2]))?.storeId, 3);
  assert.equal(c.target(e, new Set([2, 3, 1]))?.storeId, 2, 'all avoided: still a peer');
  c.confirmLeader(e, { id: 12, storeId: 2 });
  assert.equal(c.target(e, new Set([2]))?.storeId, 3, 'the leader too');
  assert.equal(c.getById(1)?.leader?.id, 12, 'skipping it for one request keeps the leader for the others');
  assert.equal(c.getById(1)?.leader?.id, 12);
  // A reload from the scheduler keeps the known leader if the scheduler knows none.
  c.insert(region(1, '', ''));
  assert.equal(c.lookup(k('a'))?.leader?.id, 12);
});

test('down marks expire', () => {
  let now = 1000;
  const c = new RegionCache(new FakeSource(), { storeDownMs: 500, now: () => now });
  c.markStoreDown(1);
  assert.ok(c.isDown(1));
  now += 501;
  assert.equal(c.isDown(1), false);
});

test('invalidation drops a region (next lookup reloads) and reloadById asks by id', async () => {
  const src = new FakeSource();
  src.regions = [region(1, '', 'm'), region(2, 'm', '')];
  const c = new RegionCache(src);
  await c.locate(k('a'));
  await c.locate(k('x'));
  c.invalidate(1);
  assert.equal(c.lookup(k('a')), undefined);
  assert.equal(c.lookup(k('x'))?.id, 2);
  await c.locate(k('a'));
  assert.equal(src.calls.getRegion, 3);
  const r = await c.reloadById(2);
  assert.equal(r?.id, 2);
  assert.equal(src.calls.getRegionById, 1);
  assert.equal(c.size, 2);
  c.clear();
  assert.equal(c.size, 0);
});

test('store addresses: cached after one lookup, unknown stores throw StoreNotFoundError, invalidation reloads', async () => {
  const src = new FakeSource();
  const c = new RegionCache(src);
  const [a, b] = await Promise.all([c.storeAddress(2), c.storeAddress(2)]);
  assert.equal(a, '127.0.0.1:20162');
  assert.equal(b, a);
  assert.equal(src.calls.getStore, 1);
  await c.storeAddress(2);
  assert.equal(src.calls.getStore, 1);
  c.invalidateStore(2);
  await c.storeAddress(2);
  assert.equal(src.calls.getStore, 2);
  await assert.rejects(c.storeAddress(9), StoreNotFoundError);
});
