import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb } from '@tskv/proto';
import { findPeer } from '@tskv/util';
import { newOperator } from '../src/operator.js';
import { storeIsLive } from '../src/schedulers/context.js';
import { Sim } from './sim.js';

test('operators: one per region; dispatched until done; a step without progress times out and is dropped', () => {
  const sim = new Sim({ operatorTimeoutMs: 30_000, enableReplicaChecker: false, enableBalanceLeader: false, enableBalanceRegion: false });
  sim.addStores(1, 2);
  sim.addRegion(1, [1]);
  const info = sim.state.regions.get(1)!;
  const peer = { id: sim.id(), storeId: 2 };
  const op = newOperator(
    info,
    'add-replica',
    [
      { type: 'add-learner', peer },
      { type: 'promote-learner', peer },
    ],
    sim.now,
  );
  assert.ok(sim.ops.add(op));
  assert.equal(sim.ops.add(newOperator(info, 'add-replica', [{ type: 'add-learner', peer }], sim.now)), false, 'one operator per region');
  // Handed out on every heartbeat while not done.
  for (let i = 0; i < 3; i++) assert.equal(sim.heartbeat(1)!.changePeer!.changeType, eraftpb.ConfChangeType.AddLearnerNode);
  sim.apply(1, sim.heartbeat(1)!);
  sim.now += 20_000;
  assert.equal(sim.heartbeat(1)!.changePeer!.changeType, eraftpb.ConfChangeType.AddNode, 'progress resets the clock');
  sim.now += 25_000; // 45 s after creation, 25 s since the last progress: still alive
  assert.ok(sim.heartbeat(1));
  sim.now += 10_000;
  assert.equal(sim.heartbeat(1), null, 'timed out');
  assert.equal(sim.ended.at(-1)!.how, 'timeout');
  assert.equal(sim.ops.size, 0);
});

test('operators: a region that stops heartbeating has its operator expire; a split under an operator cancels it', () => {
  const sim = new Sim({ operatorTimeoutMs: 30_000 });
  sim.addStores(1, 2);
  sim.addRegion(1, [1]);
  sim.ops.add(newOperator(sim.state.regions.get(1)!, 'add-replica', [{ type: 'add-learner', peer: { id: 99, storeId: 2 } }], sim.now));
  assert.deepEqual(sim.ops.expire(sim.now + 10_000), []);
  assert.equal(sim.ops.expire(sim.now + 31_000).length, 1);
  assert.equal(sim.ops.size, 0);

  sim.ops.add(newOperator(sim.state.regions.get(1)!, 'add-replica', [{ type: 'add-learner', peer: { id: 99, storeId: 2 } }], sim.now));
  const r = sim.region(1);
  r.regionEpoch!.version = 2;
  assert.equal(sim.heartbeat(1), null);
  assert.equal(sim.ended.at(-1)!.how, 'cancelled');
  assert.match(sim.ended.at(-1)!.why, /version/);
});

test('operators: a removal whose peer has become the leader moves the leadership first, to a live voter', () => {
  const sim = new Sim();
  sim.addStores(1, 2, 3, 4);
  sim.addRegion(1, [1, 2, 3, 4], { leaderStore: 2 });
  const info = sim.state.regions.get(1)!;
  const victim = findPeer(info.region, 2)!;
  sim.ops.add(newOperator(info, 'remove-replica', [{ type: 'remove-peer', peer: { ...victim } }], sim.now));
  sim.silent.add(1);
  sim.now += 30_000;
  sim.heartbeatStores();
  const req = sim.heartbeat(1)!;
  assert.ok(req.transferLeader, 'not a removal of the leader');
  assert.notEqual(req.transferLeader.peer!.storeId, 2);
  assert.notEqual(req.transferLeader.peer!.storeId, 1, 'not to a silent store');
  sim.apply(1, req);
  assert.equal(sim.heartbeat(1)!.changePeer!.changeType, eraftpb.ConfChangeType.RemoveNode);
});

test(
  'operators: one that needs a store gone silent (a leadership or a learner to move there) is cancelled, ' +
    'one removing a peer there is kept; the dead store is then repaired without waiting for the timeout',
  () => {
    const sim = new Sim({
      operatorTimeoutMs: 30_000,
      maxStoreDownTimeMs: 10_000,
      storeDisconnectMs: 10_000,
      enableBalanceLeader: false,
      enableBalanceRegion: false,
    });
    sim.addStores(1, 2, 3, 4);
    sim.addRegion(1, [1, 2, 3]);
    sim.addRegion(2, [1, 2, 4]);
    sim.addRegion(3, [1, 2, 3, 4]);
    const live = (s: number): boolean => storeIsLive(sim.state, sim.cfg, sim.now, s);
    const peerOn = (r: number, s: number) => ({ ...findPeer(sim.region(r), s)! });
    sim.ops.add(
      newOperator(sim.state.regions.get(1)!, 'balance-leader', [{ type: 'transfer-leader', fromStoreId: 1, to: peerOn(1, 3) }], sim.now),
    );
    const learner = { id: sim.id(), storeId: 3 };
    sim.ops.add(
      newOperator(
        sim.state.regions.get(2)!,
        'balance-region',
        [
          { type: 'add-learner', peer: learner },
          { type: 'promote-learner', peer: learner },
          { type: 'remove-peer', peer: peerOn(2, 4) },
        ],
        sim.now,
      ),
    );
    sim.ops.add(newOperator(sim.state.regions.get(3)!, 'remove-replica', [{ type: 'remove-peer', peer: peerOn(3, 3) }], sim.now));
    assert.deepEqual(sim.ops.cancelUnreachable(live), [], 'every store live: nothing to cancel');

    // Store 3 dies: 11 s later it is neither live nor a place for anything but removals.
    sim.silent.add(3);
    sim.now += 11_000;
    sim.heartbeatStores();
    for (const r of [1, 2, 3]) sim.heartbeat(r); // the regions themselves keep heartbeating
    const cancelled = sim.ops.cancelUnreachable(live);
    assert.deepEqual(cancelled.map((op) => op.regionId).sort(), [1, 2]);
    assert.ok(
      sim.ended.filter((e) => e.how === 'cancelled').every((e) => /store 3: the store is not live/.test(e.why)),
      JSON.stringify(sim.ended.map((e) => e.why)),
    );
    assert.equal(sim.ops.get(3)?.kind, 'remove-replica', 'the removal of the dead peer stays');

    // Long before operatorTimeoutMs, the replica checker replaces store 3's replica of region 1.
    sim.runUntilQuiet();
    assert.deepEqual(sim.storesOf(1), [1, 2, 4]);
    assert.deepEqual(sim.storesOf(2), [1, 2, 4]);
    assert.deepEqual(sim.storesOf(3), [1, 2, 4]);
    assert.equal(sim.ended.filter((e) => e.how === 'timeout').length, 0);
  },
);
