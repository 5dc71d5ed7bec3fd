import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findPeer } from '@tskv/util';
import { balanceLeader } from '../src/schedulers/balance_leader.js';
import { balanceRegion } from '../src/schedulers/balance_region.js';
import { Sim } from './sim.js';

function spread(m: Map<number, number>): number {
  const v = [...m.values()];
  return Math.max(...v) - Math.min(...v);
}

test('balance-leader: leaders all on one store end up spread evenly, then nothing moves', () => {
  const sim = new Sim({ enableBalanceRegion: false, enableReplicaChecker: false });
  sim.addStores(1, 2, 3);
  for (let i = 1; i <= 9; i++) sim.addRegion(i, [1, 2, 3], { leaderStore: 1 });
  const made = sim.runUntilQuiet();
  assert.ok(made.every((op) => op.kind === 'balance-leader'));
  assert.deepEqual([...sim.leaderCounts().values()], [3, 3, 3]);
  assert.equal(made.length, 6, 'exactly the moves needed: 9-0-0 to 3-3-3');
  for (let i = 0; i < 10; i++) {
    sim.now += 1000;
    sim.heartbeatStores();
    assert.equal(sim.round().length, 0, 'balanced: no oscillation');
  }
});

test('balance-leader: one round makes up to leaderScheduleLimit moves, each planned on the counts after the ones before', () => {
  const sim = new Sim({ enableBalanceRegion: false, enableReplicaChecker: false, leaderScheduleLimit: 4 });
  sim.addStores(1, 2, 3);
  for (let i = 1; i <= 30; i++) sim.addRegion(i, [1, 2, 3], { leaderStore: 1 });
  const first = sim.round();
  assert.equal(first.length, 4, 'the limit, in one round');
  assert.ok(first.every((op) => op.kind === 'balance-leader'));
  const targets = first.map((op) => (op.steps[0] as { to: { storeId?: number | null } }).to.storeId);
  assert.deepEqual(targets.sort(), [2, 2, 3, 3], 'the moves alternate between the emptiest stores');
  sim.settle();
  for (const op of first) sim.heartbeat(op.regionId);
  const made = [...first, ...sim.runUntilQuiet()];
  assert.deepEqual([...sim.leaderCounts().values()], [10, 10, 10]);
  assert.equal(made.length, 20, 'exactly the moves needed: 30-0-0 to 10-10-10');
});

test('balance-leader: moves only when the gap exceeds the tolerance, and only to live followers', () => {
  const sim = new Sim({ enableBalanceRegion: false, enableReplicaChecker: false });
  sim.addStores(1, 2, 3);
  sim.addRegion(1, [1, 2, 3], { leaderStore: 1 });
  sim.addRegion(2, [1, 2, 3], { leaderStore: 1 });
  sim.addRegion(3, [1, 2, 3], { leaderStore: 2 });
  sim.addRegion(4, [1, 2, 3], { leaderStore: 3 });
  assert.equal(balanceLeader(sim.context()), null, '2-1-1: every gap is 1, within the tolerance');

  sim.addRegion(5, [1, 2, 3], { leaderStore: 1 });
  const op = balanceLeader(sim.context())!;
  assert.ok(op, '3-1-1: a gap of 2');
  assert.equal(op.steps[0]!.type, 'transfer-leader');

  sim.silent.add(2);
  sim.silent.add(3);
  sim.now += 30_000;
  sim.heartbeatStores();
  assert.equal(balanceLeader(sim.context()), null, 'no live store to move to');
});

test(
  'balance-region: a new empty store is filled until the counts are within one region, never two replicas on a store, ' + 'then it stops',
  () => {
    const sim = new Sim({ enableBalanceLeader: false });
    sim.addStores(1, 2, 3);
    for (let i = 1; i <= 8; i++) sim.addRegion(i, [1, 2, 3], { leaderStore: 1 + (i % 3) });
    assert.equal(sim.round().length, 0, 'three stores, every region on each: balanced');
    sim.addStores(4);
    const made = sim.runUntilQuiet();
    assert.ok(made.length > 0);
    assert.ok(made.every((op) => op.kind === 'balance-region'));
    for (const op of made)
      assert.deepEqual(
        op.steps.map((s) => s.type),
        ['add-learner', 'promote-learner', 'remove-peer'],
      );
    // 24 replicas on 4 stores: 6 each.
    assert.deepEqual([...sim.regionCounts().values()], [6, 6, 6, 6]);
    for (let i = 1; i <= 8; i++) assert.equal(new Set(sim.storesOf(i)).size, 3, `region ${i} has 3 replicas on 3 distinct stores`);
    for (const r of sim.history) {
      const stores = (r.peers ?? []).map((p) => Number(p.storeId));
      assert.equal(new Set(stores).size, stores.length, 'never two peers of a region on one store, at any step');
    }
    for (let i = 0; i < 10; i++) {
      sim.now += 1000;
      sim.heartbeatStores();
      assert.equal(sim.round().length, 0, 'no oscillation once balanced');
    }
  },
);

test('balance-region: counts that differ by one are balanced (no move); a gap of two regions moves one', () => {
  const sim = new Sim({ enableBalanceLeader: false, enableReplicaChecker: false, maxReplicas: 1 });
  sim.addStores(1, 2);
  sim.addRegion(1, [1]);
  sim.addRegion(2, [1]);
  sim.addRegion(3, [2]);
  assert.equal(balanceRegion(sim.context()), null, '2 vs 1');
  sim.addRegion(4, [1]);
  const op = balanceRegion(sim.context())!;
  assert.ok(op, '3 vs 1');
  sim.ops.add(op);
  // The operator in flight counts as done: a second round does not pick another move.
  assert.equal(balanceRegion(sim.context()), null, 'in-flight moves are counted');
  sim.settle();
  sim.runUntilQuiet();
  assert.deepEqual([...sim.regionCounts().values()], [2, 2]);
});

test('balance-region: sizes count (a big region weighs more), and a region is only moved if the gap is at least twice its size', () => {
  const sim = new Sim({ enableBalanceLeader: false, enableReplicaChecker: false, maxReplicas: 1 });
  sim.addStores(1, 2);
  sim.addRegion(1, [1], { sizeMiB: 64 });
  sim.addRegion(2, [2], { sizeMiB: 8 });
  sim.addRegion(3, [2], { sizeMiB: 8 });
  // 64 vs 16: a gap of 48 is less than twice 64, moving region 1 would just swap the imbalance.
  assert.equal(balanceRegion(sim.context()), null);
  sim.addRegion(4, [1], { sizeMiB: 8 });
  // 72 vs 16: moving region 4 (8 MiB) narrows the gap to 40.
  const op = balanceRegion(sim.context())!;
  assert.equal(op.regionId, 4);
  sim.runUntilQuiet();
  assert.ok(spread(sim.regionCounts()) <= 3);
});

test('balance-region: prefers a region whose peer on the source is pending, then a follower, then a leader', () => {
  const sim = new Sim({ enableBalanceLeader: false, enableReplicaChecker: false });
  sim.addStores(1, 2, 3, 4);
  for (let i = 1; i <= 4; i++) sim.addRegion(i, [1, 2, 3], { leaderStore: 1 });
  sim.addRegion(5, [1, 2, 4], { leaderStore: 2 });
  sim.addRegion(6, [1, 3, 4], { leaderStore: 3 });
  // Store 1 holds 6, store 4 holds 2: the source is store 1.
  let op = balanceRegion(sim.context())!;
  // Regions 5 and 6 are followed by store 1 but already have a replica on store 4 (the only
  // target far enough below): the candidates are 1-4, all led by store 1.
  assert.ok(op.regionId <= 4);
  const info2 = sim.state.regions.get(2)!;
  const s1peer = findPeer(info2.region, 1)!;
  sim.state.regions.get(3)!.leader = findPeer(sim.state.regions.get(3)!.region, 2)!;
  op = balanceRegion(sim.context())!;
  assert.equal(op.regionId, 3, 'a follower on the source before a leader');
  info2.pendingPeers = [s1peer];
  op = balanceRegion(sim.context())!;
  assert.equal(op.regionId, 2, 'a pending peer on the source first');
});
