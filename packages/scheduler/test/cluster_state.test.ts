import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { metapb } from '@tskv/proto';
import { ClusterState } from '../src/cluster_state.js';
import { RegionIndex } from '../src/region_index.js';

const b = (s: string): Uint8Array => Buffer.from(s);

function region(id: number, start: string, end: string, version = 1, confVer = 1, stores = [1]): metapb.IRegion {
  return {
    id,
    startKey: b(start),
    endKey: b(end),
    regionEpoch: { version, confVer },
    peers: stores.map((s, i) => ({ id: id * 10 + i, storeId: s })),
  };
}

test('RegionIndex: lookup by key, scans with end and limit, a region replacing what it overlaps', () => {
  const idx = new RegionIndex<{ region: metapb.IRegion }>();
  idx.put({ region: region(1, '', 'c') });
  idx.put({ region: region(2, 'c', 'm') });
  idx.put({ region: region(3, 'm', '') });
  assert.equal(idx.findByKey(b(''))!.region.id, 1);
  assert.equal(idx.findByKey(b('bzzz'))!.region.id, 1);
  assert.equal(idx.findByKey(b('c'))!.region.id, 2);
  assert.equal(idx.findByKey(b('zzzz'))!.region.id, 3);
  assert.deepEqual(
    idx.scan(b('d'), b('')).map((e) => e.region.id),
    [2, 3],
    'from the region holding the start key',
  );
  assert.deepEqual(
    idx.scan(b('a'), b('m')).map((e) => e.region.id),
    [1, 2],
    'end exclusive',
  );
  assert.deepEqual(
    idx.scan(b(''), b(''), 2).map((e) => e.region.id),
    [1, 2],
    'limit',
  );
  assert.deepEqual(
    idx.scan(b('c'), b('')).map((e) => e.region.id),
    [2, 3],
    'a start on a boundary skips the region ending there',
  );
  // A region covering [b, n) pushes out everything it overlaps.
  const dropped = idx.put({ region: region(9, 'b', 'n') });
  assert.deepEqual(dropped.map((e) => e.region.id).sort(), [1, 2, 3]);
  assert.equal(idx.size, 1);
  assert.equal(idx.findByKey(b('a')), undefined);
  // Shrinking a region in place (a split's left half) keeps one entry per id.
  idx.put({ region: region(9, 'b', 'f') });
  assert.equal(idx.size, 1);
  assert.equal(idx.findByKey(b('g')), undefined);
  assert.deepEqual(
    idx.inOrder().map((e) => e.region.id),
    [9],
  );
});

test('ClusterState: older epochs are stale, a split replaces its origin, overlapping a newer version is stale', () => {
  const st = new ClusterState();
  const leader = { id: 10, storeId: 1 };
  assert.equal(st.updateRegion(region(1, '', '', 1, 3), { leader }, 1).kind, 'ok');
  const older = st.updateRegion(region(1, '', '', 1, 2), { leader }, 2);
  assert.equal(older.kind, 'stale', 'lower conf_ver');
  assert.equal(st.updateRegion(region(1, '', '', 0, 5), { leader }, 2).kind, 'stale', 'lower version');
  // The split: region 1 keeps [, m) at version 2, region 2 takes [m, ).
  const right = st.updateRegion(region(2, 'm', '', 2, 3), { leader: { id: 20, storeId: 1 } }, 3);
  assert.equal(right.kind, 'ok');
  assert.deepEqual(right.kind === 'ok' && right.dropped, [1], 'the unsplit origin overlaps the new region with an older version: dropped');
  assert.equal(
    st.updateRegion(region(1, '', '', 1, 3), { leader }, 4).kind,
    'stale',
    'the origin before the split overlaps a newer region',
  );
  const left = st.updateRegion(region(1, '', 'm', 2, 3), { leader }, 5);
  assert.equal(left.kind, 'ok');
  assert.equal(st.regions.findByKey(b('a'))!.region.id, 1);
  assert.equal(st.regions.findByKey(b('x'))!.region.id, 2);
  // The same view again changes nothing to persist.
  const same = st.updateRegion(region(1, '', 'm', 2, 3), { leader }, 6);
  assert.equal(same.kind === 'ok' && same.metaChanged, false);
  assert.equal(st.regions.get(1)!.lastHeartbeatMs, 6);
});

test('ClusterState: store loads count replicas, leaders and scores per store', () => {
  const st = new ClusterState();
  st.putStore({ id: 1, address: 'a' }, 0);
  st.putStore({ id: 2, address: 'b' }, 0);
  st.updateRegion(region(1, '', 'm', 1, 1, [1, 2]), { leader: { id: 10, storeId: 1 }, approximateSize: 10 * 1024 * 1024 }, 1);
  st.updateRegion(region(2, 'm', '', 1, 1, [1]), { leader: { id: 20, storeId: 1 } }, 1);
  const loads = st.storeLoads();
  assert.deepEqual(loads.get(1), { regions: 2, leaders: 2, score: 11 });
  assert.deepEqual(loads.get(2), { regions: 1, leaders: 0, score: 10 });
  assert.equal(st.storeByAddress('b', 1)?.meta.id, 2);
  assert.equal(st.storeByAddress('b', 2), undefined);
});

test('ClusterState: written and read rates over the interval between two heartbeats', () => {
  const st = new ClusterState();
  const leader = { id: 10, storeId: 1 };
  const first = st.updateRegion(region(1, '', ''), { leader, keysWritten: 5, keysRead: 50, bytesRead: 500 }, 1000);
  assert.equal(first.kind === 'ok' && first.info.keysReadRate, 0, 'a first heartbeat has no interval');
  const next = st.updateRegion(region(1, '', ''), { leader, keysWritten: 10, bytesWritten: 100, keysRead: 40, bytesRead: 800 }, 3000);
  assert.equal(next.kind, 'ok');
  if (next.kind !== 'ok') return;
  assert.deepEqual(
    [next.info.keysWrittenRate, next.info.bytesWrittenRate, next.info.keysReadRate, next.info.bytesReadRate],
    [5, 50, 20, 400],
  );
  const idle = st.updateRegion(region(1, '', ''), { leader }, 4000);
  assert.equal(idle.kind === 'ok' && idle.info.keysReadRate, 0);
});
