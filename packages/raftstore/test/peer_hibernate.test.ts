// Hibernation: idle ticks to sleep, waking, the follower's time asleep, and the one follower
// picked to campaign when a sleeping region's leader store is unreachable.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metapb } from '@tskv/proto';
import { fmix32 } from '@tskv/util';
import { Hibernation, pickCampaigner } from '../src/peer_hibernate.js';

test('a leader falls asleep after the configured idle ticks in a row; a busy tick starts the count over', () => {
  const h = new Hibernation();
  assert.equal(h.onTick(true, 3), false);
  assert.equal(h.onTick(true, 3), false);
  assert.equal(h.onTick(false, 3), false, 'busy: the count restarts');
  assert.equal(h.onTick(true, 3), false);
  assert.equal(h.onTick(true, 3), false);
  assert.equal(h.hibernating, false);
  assert.equal(h.onTick(true, 3), true, 'the third idle tick in a row');
  assert.equal(h.hibernating, true);
  h.wake();
  assert.equal(h.hibernating, false);
  assert.equal(h.onTick(true, 3), false, 'woken: counts from zero again');
});

test('a follower asleep on a notice knows since when; waking keeps that time', () => {
  const h = new Hibernation();
  assert.equal(h.asleepFor(1000, 5000), true, 'never asleep: nothing holds it back');
  h.sleepOnNotice(5000);
  assert.equal(h.hibernating, true);
  assert.equal(h.asleepFor(1000, 5999), false);
  assert.equal(h.asleepFor(1000, 6000), true);
  h.wake();
  assert.equal(h.hibernating, false);
  assert.equal(h.asleepFor(1000, 5500), false, 'the time it fell asleep is kept');
});

const V = metapb.PeerRole.Voter;
const peers = (...ps: [number, number, metapb.PeerRole?][]): metapb.IPeer[] =>
  ps.map(([id, storeId, role]) => ({ id, storeId, role: role ?? V }));

test('the campaigner is a voter on another store, the same whatever the order of the peers', () => {
  const region = peers([13, 3], [11, 1], [12, 2]);
  const down = 1;
  const pick = pickCampaigner(100, region, down)!;
  assert.notEqual(pick.storeId, down);
  assert.deepEqual(pickCampaigner(100, [...region].reverse(), down), pick, 'picked alike on every store');
  const byHash = [12, 13][fmix32(100) % 2];
  assert.equal(pick.id, byHash);
  const withLearner = peers([11, 1], [12, 2], [13, 3, metapb.PeerRole.Learner]);
  assert.equal(pickCampaigner(100, withLearner, 1)!.id, 12, 'a learner never campaigns');
  assert.equal(pickCampaigner(100, peers([11, 1]), 1), undefined, 'no voter elsewhere');
});

test('consecutive region ids spread their campaigners over the stores', () => {
  const count = new Map<number, number>();
  for (let r = 1000; r < 1300; r++) {
    const pick = pickCampaigner(r, peers([r * 3, 1], [r * 3 + 1, 2], [r * 3 + 2, 3]), 1)!;
    count.set(pick.storeId!, (count.get(pick.storeId!) ?? 0) + 1);
  }
  assert.ok((count.get(2) ?? 0) > 100 && (count.get(3) ?? 0) > 100, `picks by store: ${[...count].join(' ')}`);
});
