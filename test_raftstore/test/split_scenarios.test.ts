// Split scenarios of TinyKV project 3B (kv/test_raftstore/test_test.go) by name and meaning.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { raft_cmdpb } from '@tskv/proto';
import { bytesToString, Cluster, type GenericOptions, runGeneric } from '../src/index.js';

const TIMEOUT = { timeout: 180_000 };
const b = (s: string): Uint8Array => Buffer.from(s);

test('OneSplit', TIMEOUT, async () => {
  const c = new Cluster({ stores: 5, name: 'OneSplit', config: { regionMaxSize: 800, regionSplitSize: 500, splitCheckTickMs: 100 } });
  try {
    await c.start();
    await c.mustPut('k1', 'v1');
    await c.mustPut('k2', 'v2');
    assert.equal(c.scheduler.regionByKey(b('k1'))!.region.id, c.scheduler.regionByKey(b('k2'))!.region.id);

    // Store 5 is cut off while enough is written to split the region.
    c.transport.partition([1, 2, 3, 4], [5]);
    for (let i = 100; i < 200; i++) await c.mustPut(`k${i}`, `v${i}`);
    await sleep(200);
    c.transport.clearFilters();

    const deadline = Date.now() + 10_000;
    while (c.scheduler.regionByKey(b('k1'))!.region.id === c.scheduler.regionByKey(b('k2'))!.region.id && Date.now() < deadline)
      await sleep(50);
    const left = c.scheduler.regionByKey(b('k1'))!.region;
    const right = c.scheduler.regionByKey(b('k2'))!.region;
    assert.notEqual(left.id, right.id, 'the region did not split');
    assert.equal(bytesToString(left.endKey), bytesToString(right.startKey), 'the two ranges do not meet');

    // A get of k2 through the left region's leader: KeyNotInRegion.
    const leader = await c.waitForLeader(left.id!);
    const resp = await c.call(leader.storeId!, {
      header: { regionId: left.id, peer: leader, regionEpoch: left.regionEpoch },
      requests: [{ cmdType: raft_cmdpb.CmdType.Get, get: { key: b('k2') } }],
    });
    assert.ok(resp.header?.error?.keyNotInRegion, `want KeyNotInRegion, got ${JSON.stringify(resp.header)}`);

    await c.mustPut('k100', 'v100');
    await c.mustGetEqual('k100', 'v100');
    // Store 5 catches up: it learns the split and hosts both regions with their data.
    await c.mustEngineGetEqual(5, 'k100', 'v100', 10_000);
    await c.mustEngineGetEqual(5, 'k199', 'v199', 10_000);
    const d2 = Date.now() + 10_000;
    while (!(c.store(5)!.peer(left.id!) && c.store(5)!.peer(right.id!)?.isInitialized()) && Date.now() < d2) await sleep(50);
    assert.ok(c.store(5)!.peer(left.id!) && c.store(5)!.peer(right.id!)?.isInitialized(), 'store 5 does not host both regions');
    // Every store's range index is exact: no overlap, both regions present.
    for (const id of c.storeIds()) {
      const ranges = c.store(id)!.rangeIndex();
      assert.ok(ranges.length >= 2, `store ${id} knows ${ranges.length} ranges`);
      for (let i = 1; i < ranges.length; i++)
        assert.ok(Buffer.compare(ranges[i - 1]!.end, ranges[i]!.start) <= 0, `store ${id}: ranges overlap`);
    }
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

async function generic(o: Omit<GenericOptions, 'roundMs'>): Promise<void> {
  const r = await runGeneric({ roundMs: 5000, split: true, ...o });
  for (const round of r.rounds) {
    assert.ok(round.appends.reduce((a, x) => a + x, 0) > 0, `[${o.name}] round ${round.round}: no append succeeded (seed ${r.seed})`);
  }
  console.log(`[${o.name}] ok: ${r.totalAppends} appends in ${r.ms} ms (seed ${r.seed})`);
}

const off = { unreliable: false, crash: false, partitions: false };

test('SplitRecover', TIMEOUT, () => generic({ name: 'SplitRecover', nclients: 1, ...off, crash: true }));

test('SplitRecoverManyClients', TIMEOUT, () =>
  generic({ name: 'SplitRecoverManyClients', nclients: 20, ...off, crash: true, crashMode: 'powerloss' }),
);

test('SplitUnreliable', TIMEOUT, () => generic({ name: 'SplitUnreliable', nclients: 5, ...off, unreliable: true }));

test('SplitUnreliableRecover', TIMEOUT, () =>
  generic({ name: 'SplitUnreliableRecover', nclients: 5, ...off, unreliable: true, crash: true }),
);

test('SplitConfChangeSnapshotUnreliableRecover', TIMEOUT, () =>
  generic({
    name: 'SplitConfChangeSnapshotUnreliableRecover',
    nclients: 5,
    ...off,
    unreliable: true,
    crash: true,
    confchange: true,
    maxRaftLog: 100,
  }),
);

test('SplitConfChangeSnapshotUnreliableRecoverConcurrentPartition', TIMEOUT, () =>
  generic({
    name: 'SplitConfChangeSnapshotUnreliableRecoverConcurrentPartition',
    nclients: 5,
    ...off,
    unreliable: true,
    crash: true,
    partitions: true,
    confchange: true,
    maxRaftLog: 100,
  }),
);
