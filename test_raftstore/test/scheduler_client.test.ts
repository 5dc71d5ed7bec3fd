// The store's side of the scheduler: region heartbeats with stats and pending peers, store
// heartbeats, a stale peer removed on the scheduler's word, and a region kept from scheduling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eraftpb } from '@tskv/proto';
import { Cluster } from '../src/index.js';

const TIMEOUT = { timeout: 60_000 };

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

test('heartbeats carry region size, pending peers and store stats', TIMEOUT, async () => {
  const c = new Cluster({
    stores: 3,
    name: 'Heartbeats',
    config: { splitCheckTickMs: 100, regionSplitCheckDiff: 1, raftLogGcCountLimit: 10 },
  });
  try {
    await c.start();
    for (let i = 0; i < 30; i++) await c.mustPut(`k${i}`, 'x'.repeat(100));
    await until('approximate size reported', () => (c.scheduler.regionStats.get(1)?.approximateSize ?? 0) >= 30 * 100);
    assert.ok(c.scheduler.regionStats.get(1)!.approximateKeys >= 30);
    await until('store heartbeats', () => c.storeIds().every((id) => c.scheduler.storeStats.get(id)?.regionCount === 1));
    const leaders = c.storeIds().reduce((n, id) => n + (c.scheduler.storeStats.get(id)?.leaderCount ?? 0), 0);
    assert.equal(leaders, 1);
    // A follower cut off while the log is compacted past it is a pending peer.
    const lagging = c.storeIds().find((id) => id !== c.leaderOf()!.storeId)!;
    const f = c.transport.isolate(lagging);
    for (let i = 0; i < 40; i++) await c.mustPut(`j${i}`, 'y');
    await until('pending peer reported', () => (c.scheduler.regionStats.get(1)?.pendingPeers ?? []).some((p) => p.storeId === lagging));
    c.transport.removeFilter(f);
    await until('pending peer caught up', () => (c.scheduler.regionStats.get(1)?.pendingPeers ?? []).length === 0, 15_000);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('a peer removed while cut off from every member learns it from the scheduler', TIMEOUT, async () => {
  const c = new Cluster({ stores: 3, name: 'StalePeer', config: { maxLeaderMissingMs: 1000 } });
  try {
    await c.start();
    await c.mustTransferLeader(1, { id: 1, storeId: 1 });
    await c.mustPut('a', '1');
    await c.mustEngineGetEqual(3, 'a', '1');
    // Store 3 hears from no member again; its peer is removed meanwhile.
    c.transport.isolate(3);
    await c.mustRemovePeer(1, { id: 3, storeId: 3 });
    await c.mustPut('b', '2');
    await until('store 3 destroys its stale peer', () => c.store(3)!.peer(1) === undefined, 15_000);
    await c.mustEngineGetNone(3, 'a');
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('a frozen region gets no operator until it is unfrozen', TIMEOUT, async () => {
  const c = new Cluster({ stores: 3, name: 'Frozen' });
  try {
    await c.start();
    await c.waitForLeader();
    c.scheduler.frozen.add(1);
    c.scheduler.addOperator(1, { changePeer: { changeType: eraftpb.ConfChangeType.RemoveNode, peer: { id: 3, storeId: 3 } } });
    await sleep(1000);
    assert.equal(c.scheduler.region(1)!.peers!.length, 3, 'an operator was carried out on a frozen region');
    c.scheduler.frozen.delete(1);
    await c.mustRemovePeer(1, { id: 3, storeId: 3 });
    assert.equal(c.scheduler.region(1)!.peers!.length, 2);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});
