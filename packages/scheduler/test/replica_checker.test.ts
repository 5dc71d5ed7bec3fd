import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb, metapb } from '@tskv/proto';
import { checkReplicas } from '../src/schedulers/replica_checker.js';
import { rolesByStore, Sim } from './sim.js';

const T = eraftpb.ConfChangeType;

test('replica checker: a region on one store gets learners added and promoted, one store at a time, up to maxReplicas', () => {
  const sim = new Sim();
  sim.addStores(1, 2, 3);
  sim.addRegion(1, [1]);
  const [op] = sim.round();
  assert.ok(op);
  assert.equal(op.kind, 'add-replica');
  assert.deepEqual(
    op.steps.map((s) => s.type),
    ['add-learner', 'promote-learner'],
  );
  // The first answer adds a learner, the next (once it shows up caught up) promotes it.
  const first = sim.heartbeat(1)!;
  assert.equal(first.changePeer!.changeType, T.AddLearnerNode);
  sim.apply(1, first);
  const second = sim.heartbeat(1)!;
  assert.equal(second.changePeer!.changeType, T.AddNode);
  assert.equal(second.changePeer!.peer!.id, first.changePeer!.peer!.id);
  sim.apply(1, second);
  assert.equal(sim.heartbeat(1), null, 'done: nothing more to hand out');
  assert.equal(sim.ended.at(-1)!.how, 'finished');

  sim.runUntilQuiet();
  assert.deepEqual(sim.storesOf(1), [1, 2, 3]);
  assert.deepEqual(rolesByStore(sim.region(1)), { 1: 'Voter', 2: 'Voter', 3: 'Voter' });
});

test('replica checker: a learner still catching up (pending) is not promoted', () => {
  const sim = new Sim();
  sim.addStores(1, 2);
  sim.addRegion(1, [1]);
  sim.round();
  const add = sim.heartbeat(1)!;
  sim.apply(1, add);
  sim.state.regions.get(1)!.pendingPeers = [{ ...add.changePeer!.peer! }];
  const again = sim.heartbeat(1)!;
  assert.equal(again.changePeer!.changeType, T.AddLearnerNode, 'still the add step: the learner is pending');
  sim.state.regions.get(1)!.pendingPeers = [];
  assert.equal(sim.heartbeat(1)!.changePeer!.changeType, T.AddNode);
});

test('replica checker: the new replica goes to the store with the fewest regions', () => {
  const sim = new Sim({ enableBalanceRegion: false, enableBalanceLeader: false });
  sim.addStores(1, 2, 3, 4);
  for (let i = 0; i < 5; i++) sim.addRegion(100 + i, [1, 2, 3]);
  for (let i = 0; i < 2; i++) sim.addRegion(200 + i, [1, 2, 4]);
  sim.addRegion(1, [1, 2]);
  const op = checkReplicas(sim.context(), sim.state.regions.get(1)!)!;
  assert.equal(op.steps[0]!.type, 'add-learner');
  assert.equal((op.steps[0] as { peer: metapb.IPeer }).peer.storeId, 4, 'store 4 has 2 regions, store 3 has 5');
});

test('replica checker: with fewer stores than maxReplicas a region gets one replica per store, never two on one store', () => {
  const sim = new Sim();
  sim.addStores(1, 2);
  sim.addRegion(1, [1]);
  sim.runUntilQuiet();
  assert.deepEqual(sim.storesOf(1), [1, 2]);
  assert.equal(sim.round().length, 0);
});

test('replica checker: a store down longer than maxStoreDownTimeMs has its replica replaced: added elsewhere first, then removed', () => {
  const sim = new Sim({ maxStoreDownTimeMs: 60_000, enableBalanceRegion: false, enableBalanceLeader: false });
  sim.addStores(1, 2, 3, 4);
  sim.addRegion(1, [1, 2, 3]);
  sim.silent.add(3);
  // Silent but not down yet: nothing happens (a restart or a short partition must not move data).
  sim.now += 30_000;
  sim.heartbeatStores();
  assert.equal(sim.round().length, 0);
  sim.now += 40_000;
  sim.heartbeatStores();
  const [op] = sim.round();
  assert.ok(op);
  assert.equal(op.kind, 'replace-replica');
  assert.deepEqual(
    op.steps.map((s) => `${s.type}@${'peer' in s ? s.peer.storeId : ''}`),
    ['add-learner@4', 'promote-learner@4', 'remove-peer@3'],
  );
  // Halfway: four voters (one down) still have a live quorum of three.
  sim.apply(1, sim.heartbeat(1)!);
  sim.apply(1, sim.heartbeat(1)!);
  assert.deepEqual(sim.storesOf(1), [1, 2, 3, 4]);
  sim.apply(1, sim.heartbeat(1)!);
  assert.deepEqual(sim.storesOf(1), [1, 2, 4]);
  sim.runUntilQuiet();
  assert.deepEqual(sim.storesOf(1), [1, 2, 4]);
});

test(
  'replica checker: an Offline store is evacuated (replaced like a down one, while still live), ' + 'then its regions are gone from it',
  () => {
    const sim = new Sim({ enableBalanceRegion: false, enableBalanceLeader: false });
    sim.addStores(1, 2, 3, 4);
    sim.addRegion(1, [1, 2, 3], { leaderStore: 3 });
    sim.addRegion(2, [1, 2, 3], { leaderStore: 1 });
    sim.state.stores.get(3)!.meta.state = metapb.StoreState.Offline;
    const made = sim.runUntilQuiet();
    assert.deepEqual(
      made.map((op) => op.kind),
      ['replace-replica', 'replace-replica'],
    );
    assert.deepEqual(sim.storesOf(1), [1, 2, 4]);
    assert.deepEqual(sim.storesOf(2), [1, 2, 4]);
    assert.notEqual(sim.leaderStore(1), 3, 'the leadership was moved off before the removal');
  },
);

test('replica checker: a down replica with no store to replace it on is kept (not removed first)', () => {
  const sim = new Sim({ maxStoreDownTimeMs: 60_000 });
  sim.addStores(1, 2, 3);
  sim.addRegion(1, [1, 2, 3]);
  sim.silent.add(3);
  sim.now += 120_000;
  sim.runUntilQuiet();
  assert.deepEqual(sim.storesOf(1), [1, 2, 3]);
});

test('replica checker: an over-replicated region loses a follower of the most loaded store; a leader is moved off first', () => {
  const sim = new Sim({ maxReplicas: 3, enableBalanceRegion: false, enableBalanceLeader: false });
  sim.addStores(1, 2, 3, 4);
  for (let i = 0; i < 3; i++) sim.addRegion(100 + i, [1, 2, 3]);
  sim.addRegion(1, [1, 2, 3, 4], { leaderStore: 1 });
  const op = checkReplicas(sim.context(), sim.state.regions.get(1)!)!;
  assert.equal(op.kind, 'remove-replica');
  // Stores 1-3 hold 4 regions each; store 1 is the least good choice only because it leads: a follower goes.
  const victim = op.steps.find((s) => s.type === 'remove-peer')!;
  assert.notEqual((victim as { peer: metapb.IPeer }).peer.storeId, 4);
  sim.ops.add(op);
  sim.settle();
  sim.runUntilQuiet();
  assert.equal(sim.storesOf(1).length, 3);
  assert.ok(sim.storesOf(1).includes(4));

  // With the leader on the only candidate (store 1 much fuller), the leadership moves first.
  const sim2 = new Sim({ enableBalanceRegion: false, enableBalanceLeader: false });
  sim2.addStores(1, 2, 3, 4);
  for (let i = 0; i < 5; i++) sim2.addRegion(100 + i, [1]);
  sim2.cfg.pausedRegions.push(100, 101, 102, 103, 104);
  sim2.addRegion(1, [1, 2, 3, 4], { leaderStore: 1 });
  const op2 = checkReplicas(sim2.context(), sim2.state.regions.get(1)!)!;
  assert.deepEqual(
    op2.steps.map((s) => s.type),
    ['transfer-leader', 'remove-peer'],
  );
  sim2.ops.add(op2);
  sim2.settle();
  assert.deepEqual(sim2.storesOf(1), [2, 3, 4]);
  assert.notEqual(sim2.leaderStore(1), 1);
});

test('replica checker: never removes a voter when the rest would lack a live quorum', () => {
  // maxReplicas 1 wants two of three voters gone, but stores 2 and 3 are silent: removing any
  // voter would leave two voters with at most one live, which cannot commit.
  const sim = new Sim({ maxReplicas: 1, maxStoreDownTimeMs: 3_600_000 });
  sim.addStores(1, 2, 3);
  sim.addRegion(1, [1, 2, 3]);
  sim.silent.add(2);
  sim.silent.add(3);
  sim.now += 30_000; // disconnected (not live), not down
  sim.heartbeatStores();
  assert.equal(checkReplicas(sim.context(), sim.state.regions.get(1)!), null);
  // Once store 2 is back, a removal keeps a live quorum: {1,2} after removing 3.
  sim.silent.delete(2);
  sim.heartbeatStores();
  const op = checkReplicas(sim.context(), sim.state.regions.get(1)!)!;
  assert.deepEqual(
    op.steps.map((s) => `${s.type}@${'peer' in s ? s.peer.storeId : ''}`),
    ['remove-peer@3'],
  );
});

test('replica checker: a leftover learner is promoted when a voter is missing, removed otherwise; paused regions are left alone', () => {
  const sim = new Sim();
  sim.addStores(1, 2, 3);
  sim.addRegion(1, [1, 2]);
  const r = sim.region(1);
  r.peers!.push(metapb.Peer.create({ id: sim.id(), storeId: 3, role: metapb.PeerRole.Learner, isLearner: true }));
  assert.equal(checkReplicas(sim.context(), sim.state.regions.get(1)!)!.kind, 'promote-learner');

  const sim2 = new Sim();
  sim2.addStores(1, 2, 3, 4);
  sim2.addRegion(1, [1, 2, 3]);
  sim2.region(1).peers!.push(metapb.Peer.create({ id: sim2.id(), storeId: 4, role: metapb.PeerRole.Learner, isLearner: true }));
  const op = checkReplicas(sim2.context(), sim2.state.regions.get(1)!)!;
  assert.equal(op.kind, 'remove-learner');

  const sim3 = new Sim({ pausedRegions: [1] });
  sim3.addStores(1, 2, 3);
  sim3.addRegion(1, [1]);
  assert.equal(sim3.round().length, 0);
});
