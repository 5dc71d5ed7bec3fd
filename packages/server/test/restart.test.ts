// A store stopped and restarted on the same data directory keeps its id and data; the other
// stores' raft streams to it fail, back off, and reconnect to its new address.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dec, enc, startServer, TestCluster, waitFor } from './helpers.js';

test('a restarted store keeps its id and data, and the raft streams to it reconnect', async () => {
  const c = await TestCluster.start(3);
  try {
    const regionId = Number(c.fake.firstRegion()!.id);
    const leader = await c.waitReplicated(regionId);
    for (let i = 0; i < 20; i++) await c.put(regionId, `a${i}`, `x${i}`);
    const idx = c.servers.findIndex((s) => s !== null && s !== leader);
    const victim = c.servers[idx]!;
    const victimId = victim.storeId;
    await waitFor('victim applied the first writes', async () => dec(await victim.engines.kv.get('default', enc('a19'))) === 'x19');
    await victim.stop();
    c.servers[idx] = null;

    // Writes go on with two of three; the leader's stream to the stopped store fails.
    for (let i = 0; i < 20; i++) await c.put(regionId, `b${i}`, `y${i}`);
    await waitFor('leader sees the store unreachable', () => leader.transport.isUnreachable(victimId));
    assert.ok(
      (await leader.metrics.value('tskv_raft_messages_dropped_total')) > 0,
      'messages to the stopped store are dropped and counted',
    );

    // Same data directory, a new port: the leader must learn the new address from the scheduler.
    const back = await startServer(c.fake, c.dirs[idx]!);
    c.servers[idx] = back;
    assert.equal(back.storeId, victimId, 'same store id');
    assert.equal(c.fake.stores.get(victimId)!.store.address, back.addr, 'registered with its new address');
    // Its own data is there at once, before anyone talks to it.
    assert.equal(dec(await back.engines.kv.get('default', enc('a19'))), 'x19');
    const r = back.store.regionStatus().find((x) => x.regionId === regionId);
    assert.ok(r && (r.region.peers ?? []).length === 3, 'its region came back from disk');

    // The leader reconnects (after its backoff) and catches it up, and it keeps up with new writes.
    await waitFor('restarted store caught up', async () => dec(await back.engines.kv.get('default', enc('b19'))) === 'y19', 20_000);
    await c.put(regionId, 'after', 'restart');
    await waitFor(
      'new write reached the restarted store',
      async () => dec(await back.engines.kv.get('default', enc('after'))) === 'restart',
    );
    assert.ok((await leader.metrics.value('tskv_raft_stream_reconnects_total')) >= 1, 'the raft stream was reopened');
    assert.equal(await c.get(regionId, 'a0'), 'x0');
  } finally {
    await c.stopAll();
  }
});

test('every store of the cluster restarts from its data directory alone', async () => {
  const c = await TestCluster.start(3);
  try {
    const regionId = Number(c.fake.firstRegion()!.id);
    await c.waitReplicated(regionId);
    for (let i = 0; i < 10; i++) await c.put(regionId, `k${i}`, `v${i}`);
    const ids = c.servers.map((s) => s!.storeId);
    await Promise.all(c.live().map((s) => s.stop()));
    c.servers = await Promise.all(c.dirs.map((d) => startServer(c.fake, d)));
    assert.deepEqual(
      c.servers.map((s) => s!.storeId),
      ids,
    );
    assert.equal(c.fake.bootstrapCalls, 3, 'no store tried to bootstrap again');
    await c.waitReplicated(regionId);
    for (let i = 0; i < 10; i++) assert.equal(await c.get(regionId, `k${i}`), `v${i}`);
  } finally {
    await c.stopAll();
  }
});
