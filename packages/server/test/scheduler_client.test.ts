// PdSchedulerClient over the fake scheduler: heartbeat answers matched per region in order and
// translated to raftstore operators, timeouts answered null, store heartbeats with filesystem
// figures, lookups, ids, timestamps, splits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb, type metapb } from '@tskv/proto';
import { PdClient } from '@tskv/rpc';
import { operatorOf, PdSchedulerClient } from '../src/index.js';
import { FakeScheduler } from './fake_scheduler.js';
import { tempDir, waitFor } from './helpers.js';

const region = (id: number, confVer = 1): metapb.IRegion => ({
  id,
  startKey: Buffer.from(id === 1 ? '' : 'm'),
  endKey: Buffer.from(id === 1 ? 'm' : ''),
  regionEpoch: { confVer, version: 1 },
  peers: [{ id: id * 10, storeId: 1 }],
});

test('region heartbeats: answers matched per region in order, operators translated, timeouts answer null', async () => {
  const fake = await FakeScheduler.start({ maxReplicas: 0 });
  const tmp = tempDir();
  const pd = new PdClient(fake.addr, { timeoutMs: 3000 });
  const sc = new PdSchedulerClient(pd, { dataDir: tmp.dir, heartbeatTimeoutMs: 300 });
  try {
    await pd.putStore({ id: 1, address: '127.0.0.1:1' });
    const leader = { id: 10, storeId: 1 };
    assert.equal(await sc.regionHeartbeat(region(1), leader), null, 'no operator: null');

    fake.setOperator(1, { changePeer: { changeType: eraftpb.ConfChangeType.AddNode, peer: { id: 11, storeId: 2 } } });
    fake.setOperator(2, { transferLeader: { peer: { id: 21, storeId: 2 } } });
    // Interleaved heartbeats of two regions: each gets its own answer.
    const [a, b, a2] = await Promise.all([
      sc.regionHeartbeat(region(1), leader, { pendingPeers: [], approximateSize: 100, approximateKeys: 3 }),
      sc.regionHeartbeat(region(2), { id: 20, storeId: 1 }),
      sc.regionHeartbeat(region(1), leader),
    ]);
    assert.deepEqual(a?.changePeer?.changeType, eraftpb.ConfChangeType.AddNode);
    assert.equal(Number(a?.changePeer?.peer?.id), 11);
    assert.equal(Number(b?.transferLeader?.peer?.id), 21);
    assert.equal(Number(a2?.changePeer?.peer?.id), 11, 'repeated until done');

    fake.setOperator(1, {
      changePeerV2: {
        changes: [
          { changeType: eraftpb.ConfChangeType.AddLearnerNode, peer: { id: 12, storeId: 3 } },
          { changeType: eraftpb.ConfChangeType.RemoveNode, peer: { id: 10, storeId: 1 } },
        ],
      },
    });
    const v2 = await sc.regionHeartbeat(region(1, 2), leader);
    assert.deepEqual(
      v2?.changePeerV2?.changes?.map((c) => [c.changeType, Number(c.peer?.id)]),
      [
        [eraftpb.ConfChangeType.AddLearnerNode, 12],
        [eraftpb.ConfChangeType.RemoveNode, 10],
      ],
    );

    // A stale heartbeat is answered with an error header: no operator.
    assert.equal(await sc.regionHeartbeat(region(1, 1), leader), null);

    // The scheduler stops answering: null after the timeout, and later answers line up again.
    fake.silent = true;
    assert.equal(await sc.regionHeartbeat(region(2), { id: 20, storeId: 1 }), null);
    assert.equal(sc.stats.timedOut, 1, 'the null came from the heartbeat timeout');
    fake.silent = false;
    assert.equal(Number((await sc.regionHeartbeat(region(2), { id: 20, storeId: 1 }))?.transferLeader?.peer?.id), 21);
    assert.equal(fake.leader(1)?.id, 10);
    assert.equal(operatorOf({ header: { error: { type: 1, message: 'x' } }, changePeer: { peer: { id: 1 } } }), null);
    assert.deepEqual(operatorOf({ regionId: 1, splitRegion: { keys: [Buffer.from('m')] } }), {
      splitRegion: { splitKeys: [Buffer.from('m')] },
    });
    assert.equal(operatorOf({ regionId: 1, splitRegion: { keys: [] } }), null);
  } finally {
    sc.close();
    pd.close();
    fake.stop();
    tmp.cleanup();
  }
});

test('store heartbeats carry the filesystem figures; lookups, ids, timestamps and splits go to the scheduler', async () => {
  const fake = await FakeScheduler.start({ maxReplicas: 0 });
  const tmp = tempDir();
  const pd = new PdClient(fake.addr, { timeoutMs: 3000 });
  const sc = new PdSchedulerClient(pd, { dataDir: tmp.dir });
  try {
    await pd.putStore({ id: 7, address: '127.0.0.1:1' });
    await sc.storeHeartbeat({
      storeId: 7,
      regionCount: 3,
      leaderCount: 1,
      hibernatingCount: 2,
      applyingSnapshotCount: 0,
      snapshotBytes: 5,
    });
    const st = fake.stores.get(7)!.stats!;
    assert.ok(Number(st.capacity) > 0 && Number(st.available) > 0 && Number(st.available) <= Number(st.capacity));
    assert.equal(st.regionCount, 3);
    assert.equal(st.hibernatingCount, 2);
    assert.equal(Number(st.snapshotBytes), 5);

    await sc.regionHeartbeat(region(1), { id: 10, storeId: 1 });
    assert.equal(Number((await sc.getRegionById(1))?.region.id), 1);
    assert.equal(await sc.getRegionById(99), null);
    assert.equal(Number((await sc.getRegionByKey(Buffer.from('a')))?.leader?.id), 10);
    const ids = await sc.allocIds(3);
    assert.equal(new Set(ids).size, 3);
    const t1 = await sc.tso();
    const t2 = await sc.tso();
    assert.ok(t2 > t1);
    const split = await sc.askBatchSplit(region(1), 2);
    assert.equal(split.length, 2);
    assert.equal(split[0]!.newPeerIds.length, 1);
    sc.reportBatchSplit([{ ...region(1), regionEpoch: { confVer: 1, version: 2 } }]);
    await waitFor('the scheduler heard of the split', () => Number(fake.region(1)?.regionEpoch?.version) === 2);
  } finally {
    sc.close();
    pd.close();
    fake.stop();
    tmp.cleanup();
  }
});
