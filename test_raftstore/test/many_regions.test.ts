// Many regions on few stores: 1,000 regions on 3 stores stay correct (writes and reads in every
// region, through a restart of every store), and splits by hand (mustSplit) route keys exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../src/index.js';

const N = 1000;
const key = (i: number): string => `r${String(i).padStart(5, '0')}`;

test('1,000 regions on 3 stores stay correct, through a restart of every store', { timeout: 300_000 }, async () => {
  const splitKeys = Array.from({ length: N - 1 }, (_, i) => key(i + 1));
  const c = new Cluster({ stores: 3, name: 'ManyRegions', splitKeys, config: { raftElectionTicks: 20 } });
  try {
    await c.start();
    assert.equal(c.scheduler.allRegions().length, N);
    for (const id of c.storeIds()) assert.equal(c.store(id)!.stats().ranges, N, `store ${id}'s range index`);
    const t0 = Date.now();
    // One key per region, 50 at a time: every region elects a leader and commits.
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => c.mustPut(`${key(i + j)}-k`, `v${i + j}`)));
    }
    const putMs = Date.now() - t0;
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => c.mustGetEqual(`${key(i + j)}-k`, `v${i + j}`)));
    }
    // Every store holds every key (each region has a peer on every store).
    for (const id of c.storeIds()) {
      for (const i of [0, 1, 499, 998, 999]) await c.mustEngineGetEqual(id, `${key(i)}-k`, `v${i}`);
    }
    const leaders = new Map<number, number>();
    for (let r = 1; r <= N; r++) {
      // A region may be between leaders at this instant (an election under a loaded machine):
      // it must have one again within a few election timeouts.
      const l = c.leaderOf(r) ?? (await c.waitForLeader(r, 10_000));
      assert.ok(l, `region ${r} has no leader`);
      leaders.set(l.storeId!, (leaders.get(l.storeId!) ?? 0) + 1);
    }
    console.log(`${N} regions: one put each in ${putMs} ms; leaders per store ${JSON.stringify(Object.fromEntries(leaders))}`);

    await c.stopAll();
    await c.startAll();
    for (let i = 0; i < N; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => c.mustGetEqual(`${key(i + j)}-k`, `v${i + j}`)));
    }
    // A scan across region boundaries sees exactly the keys, in order.
    const kvs = await c.scan(key(100), key(200));
    assert.equal(kvs.length, 100);
    assert.equal(Buffer.from(kvs[0]![0]).toString(), `${key(100)}-k`);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('mustSplit: a region split by hand routes keys to the right side and keeps data', { timeout: 60_000 }, async () => {
  const c = new Cluster({ stores: 3, name: 'SplitByHand' });
  try {
    await c.start();
    for (const k of ['a', 'c', 'e', 'g']) await c.mustPut(k, k.toUpperCase());
    await c.mustSplit('d');
    await c.mustSplit('f');
    const regions = c.scheduler.allRegions();
    assert.equal(regions.length, 3);
    assert.deepEqual(
      regions.map((r) => Buffer.from(r.startKey ?? []).toString()),
      ['', 'd', 'f'],
    );
    for (const k of ['a', 'c', 'e', 'g']) await c.mustGetEqual(k, k.toUpperCase());
    await c.mustPut('e', 'E2');
    await c.mustGetEqual('e', 'E2');
    assert.equal((await c.scan('', '')).length, 4);
    for (const id of c.storeIds()) assert.equal(c.store(id)!.stats().ranges, 3);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});
