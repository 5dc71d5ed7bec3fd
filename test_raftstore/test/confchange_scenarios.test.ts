// Membership scenarios of TinyKV project 3B (kv/test_raftstore/test_test.go) by name and meaning,
// and joint-consensus ones: every change goes through the scheduler's operators (as TinyKV's
// MustAddPeer / MustRemovePeer / MustTransferLeader do) and is checked on the stores' engines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb, metapb } from '@tskv/proto';
import { Cluster, type GenericOptions, runGeneric } from '../src/index.js';

const TIMEOUT = { timeout: 120_000 };
const R = 1;
const peer = (storeId: number, id: number): metapb.IPeer => ({ id, storeId });

async function withCluster(name: string, stores: number, fn: (c: Cluster) => Promise<void>): Promise<void> {
  const c = new Cluster({ stores, name });
  try {
    await c.start();
    await c.waitForLeader();
    await fn(c);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
}

test('TransferLeader', TIMEOUT, () =>
  withCluster('TransferLeader', 5, async (c) => {
    for (const s of [1, 2, 3, 4, 5, 2, 1]) {
      await c.mustTransferLeader(R, peer(s, s));
      assert.equal(c.leaderOf(R)?.storeId, s, `store ${s} is not the leader after the transfer`);
      await c.mustPut(`k${s}`, `v${s}`);
    }
  }),
);

test('BasicConfChange', TIMEOUT, () =>
  withCluster('BasicConfChange', 5, async (c) => {
    await c.mustTransferLeader(R, peer(1, 1));
    for (const s of [2, 3, 4, 5]) await c.mustRemovePeer(R, peer(s, s));
    assert.deepEqual(
      c.scheduler.region(R)!.peers!.map((p) => p.id),
      [1],
      'region 1 should have only peer 1 left',
    );
    await c.mustPut('k1', 'v1');
    await c.mustEngineGetNone(2, 'k1');

    await c.mustAddPeer(R, peer(2, 2));
    await c.mustPut('k2', 'v2');
    await c.mustGetEqual('k2', 'v2');
    await c.mustEngineGetEqual(2, 'k1', 'v1');
    await c.mustEngineGetEqual(2, 'k2', 'v2');
    assert.ok((c.scheduler.region(R)!.regionEpoch!.confVer ?? 0) > 1, 'conf_ver did not grow');
    await c.mustEngineGetNone(5, 'k1', 1000); // store 5 has no peer any more

    await c.mustAddPeer(R, peer(3, 3));
    await c.mustRemovePeer(R, peer(2, 2));
    await c.mustPut('k3', 'v3');
    await c.mustGetEqual('k3', 'v3');
    for (const k of ['k1', 'k2', 'k3']) await c.mustEngineGetEqual(3, k, k.replace('k', 'v'));
    // The removed peer's data is gone from its store.
    await c.mustEngineGetNone(2, 'k1');
    await c.mustEngineGetNone(2, 'k2');

    // Store 2 again, with a new peer id (its old peer is a tombstone there).
    const p2b = peer(2, c.scheduler.allocId());
    await c.mustAddPeer(R, p2b);
    for (const k of ['k1', 'k2', 'k3']) await c.mustEngineGetEqual(2, k, k.replace('k', 'v'));
    await c.mustRemovePeer(R, p2b);
    await c.mustPut('k4', 'v4');
    for (const k of ['k1', 'k2', 'k3', 'k4']) await c.mustEngineGetNone(2, k);
    const p2c = peer(2, c.scheduler.allocId());
    await c.mustAddPeer(R, p2c);
    for (const k of ['k1', 'k2', 'k3', 'k4']) await c.mustEngineGetEqual(2, k, k.replace('k', 'v'));
    assert.equal(c.store(2)!.peer(R)!.peerId, p2c.id, 'store 2 hosts the newest peer');
  }),
);

test('ConfChangeRemoveLeader', TIMEOUT, () =>
  withCluster('ConfChangeRemoveLeader', 5, async (c) => {
    await c.mustTransferLeader(R, peer(1, 1));
    // The leader removes itself: it steps down safely, another peer takes over.
    await c.mustRemovePeer(R, peer(1, 1));
    await c.mustPut('k1', 'v1');
    await c.mustEngineGetNone(1, 'k1');
    assert.ok(c.leaderOf(R) && c.leaderOf(R)!.storeId !== 1);

    const p1b = peer(1, c.scheduler.allocId());
    await c.mustAddPeer(R, p1b);
    await c.mustEngineGetEqual(1, 'k1', 'v1');
    await c.mustTransferLeader(R, p1b);
    await c.mustRemovePeer(R, p1b);
    await c.mustPut('k2', 'v2');
    await c.mustEngineGetNone(1, 'k1');
    await c.mustEngineGetNone(1, 'k2');
    for (const s of [2, 3, 4]) {
      const l = c.leaderOf(R)!;
      await c.mustRemovePeer(R, l);
      await c.mustPut(`k${s}0`, `v${s}0`);
    }
    assert.equal(c.scheduler.region(R)!.peers!.length, 1);
    await c.mustGetEqual('k1', 'v1');
  }),
);

test('a voter replaced through a joint configuration, and a learner promoted', TIMEOUT, () =>
  withCluster('JointReplace', 4, async (c) => {
    // Region 1 on stores 1-3 only; store 4 joins as a learner first.
    await c.mustRemovePeer(R, peer(4, 4));
    await c.mustPut('a', '1');
    const learner = peer(4, c.scheduler.allocId());
    await c.mustAddLearner(R, learner);
    await c.mustEngineGetEqual(4, 'a', '1');
    assert.equal(c.store(4)!.peer(R)!.raw.raft.isLearner, true, 'the new peer is a learner');
    // Promotion: AddNode on a learner makes it a voter.
    await c.mustAddPeer(R, learner);
    assert.equal(c.store(4)!.peer(R)!.raw.raft.isLearner, false, 'the learner was not promoted');
    await c.mustPut('b', '2');
    await c.mustEngineGetEqual(4, 'b', '2');

    // Joint change: voters 2 and 3 are demoted to learners in one step (enter joint: both
    // majorities must agree; raft leaves the joint state by itself), then the demoted 3 is removed.
    // Store 4's promoted peer has taken 3's place as a voter: voters are now 1 and 4.
    const before = c.scheduler.region(R)!.regionEpoch!.confVer!;
    await c.mustChangePeers(R, [
      { changeType: eraftpb.ConfChangeType.AddLearnerNode, peer: peer(3, 3) },
      { changeType: eraftpb.ConfChangeType.AddLearnerNode, peer: peer(2, 2) },
    ]);
    const mid = c.scheduler.region(R)!;
    assert.ok(
      (mid.regionEpoch!.confVer ?? 0) >= before + 3,
      `conf_ver ${mid.regionEpoch!.confVer} after entering and leaving the joint state (was ${before})`,
    );
    assert.ok(!mid.peers!.some((p) => p.role === metapb.PeerRole.IncomingVoter || p.role === metapb.PeerRole.DemotingVoter), 'still joint');
    await c.mustRemovePeer(R, peer(3, 3));
    await c.mustPut('c', '3');
    await c.mustEngineGetEqual(2, 'c', '3'); // a learner still replicates
    await c.mustEngineGetNone(3, 'c');
    // Voters are now 1 and 4: stopping store 2 (a learner) does not matter, stopping 4 does.
    await c.stopStore(2);
    await c.mustPut('d', '4');
    await c.startStore(2);
    await c.mustEngineGetEqual(2, 'd', '4');
  }),
);

// ---- the generic test with the confchange switch (see src/generic.ts) ----

async function generic(o: Omit<GenericOptions, 'roundMs'>): Promise<void> {
  const r = await runGeneric({ roundMs: 5000, confchange: true, ...o });
  for (const round of r.rounds) {
    assert.ok(round.appends.reduce((a, b) => a + b, 0) > 0, `[${o.name}] round ${round.round}: no append succeeded (seed ${r.seed})`);
  }
  if (o.maxRaftLog) assert.ok(r.snapshots.applied > 0, `[${o.name}] no snapshot was applied`);
  console.log(`[${o.name}] ok: ${r.totalAppends} appends in ${r.ms} ms (seed ${r.seed})`);
}

const off = { unreliable: false, crash: false, partitions: false };
const LONG = { timeout: 180_000 };
test('ConfChangeRecover', LONG, () => generic({ name: 'ConfChangeRecover', nclients: 1, ...off, crash: true }));

test('ConfChangeRecoverManyClients', LONG, () =>
  generic({ name: 'ConfChangeRecoverManyClients', nclients: 20, ...off, crash: true, crashMode: 'powerloss' }),
);

test('ConfChangeUnreliable', LONG, () => generic({ name: 'ConfChangeUnreliable', nclients: 5, ...off, unreliable: true }));

test('ConfChangeUnreliableRecover', LONG, () =>
  generic({ name: 'ConfChangeUnreliableRecover', nclients: 5, ...off, unreliable: true, crash: true }),
);

test('ConfChangeSnapshotUnreliableRecover', LONG, () =>
  generic({ name: 'ConfChangeSnapshotUnreliableRecover', nclients: 5, ...off, unreliable: true, crash: true, maxRaftLog: 100 }),
);

test('ConfChangeSnapshotUnreliableRecoverConcurrentPartition', LONG, () =>
  generic({
    name: 'ConfChangeSnapshotUnreliableRecoverConcurrentPartition',
    nclients: 5,
    ...off,
    unreliable: true,
    crash: true,
    partitions: true,
    maxRaftLog: 100,
  }),
);
