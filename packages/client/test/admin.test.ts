import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PdClient } from '@tskv/rpc';
import { clusterOverview, readiness } from '../src/admin.js';
import { FakeCluster } from '../src/testing/index.js';

test('cluster overview and readiness: healthy, then a store down and a region without a leader', async () => {
  const c = await FakeCluster.start({ splitKeys: ['m'] });
  const pd = new PdClient(c.schedulerAddr, { timeoutMs: 3000 });
  try {
    let ov = await clusterOverview(pd);
    assert.equal(ov.clusterId, 4242);
    assert.equal(ov.storesUp, 3);
    assert.equal(ov.regions.length, 2);
    assert.deepEqual(ov.leadersPerStore, { 1: 2, 2: 0, 3: 0 });
    assert.ok(ov.health.healthy);
    assert.deepEqual(readiness(ov, { stores: 3 }), { ready: true, missing: [] });

    await c.stopStore(2);
    c.setLeader(2, null, true);
    ov = await clusterOverview(pd);
    assert.equal(ov.storesDown, 1);
    assert.equal(ov.stores.find((s) => s.id === 2)!.state, 'Down');
    assert.equal(ov.health.healthy, false);
    const r = readiness(ov, { stores: 3 });
    assert.equal(r.ready, false);
    assert.deepEqual(r.missing, [
      'stores up: 2 of 3 (store 2: last heartbeat 60 s ago)',
      'no leader yet: region 2',
      'peers on stores not up: regions 1 (store 2), 2 (store 2)',
    ]);
    assert.deepEqual(readiness(await clusterOverview(pd, { replicas: 4 }), {}).missing.slice(1), [
      'fewer than 4 voters: regions 1 (3), 2 (3)',
      'peers on stores not up: regions 1 (store 2), 2 (store 2)',
    ]);
  } finally {
    pd.close();
    await c.close();
  }
});
