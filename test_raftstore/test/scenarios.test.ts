// The raftstore scenarios of TinyKV project 2B (kv/test_raftstore/test_test.go), with the same
// names and meaning (see src/generic.ts for the generic test and its switches).
//
// Timing: as TinyKV, 3 rounds × 5 s of client work per generic scenario (GENERIC_ROUNDS and
// GENERIC_ROUND_MS override). On a 2-core machine each generic scenario takes ≈ 15–22 s with
// the crashes, healing pauses and checks, and the 11 scenarios about 3.5 minutes in all.
//
// Every scenario prints its PRNG seed; TEST_SEED=<seed> replays the random choices (dropped
// messages, partitions, client operations; not the timing). One scenario:
//   node --test --test-reporter=spec --test-name-pattern='^PersistPartition$' dist/test/scenarios.test.js
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { raft_cmdpb } from '@tskv/proto';
import { findPeer } from '@tskv/util';
import { bytesToString, Cluster, ELECTION_TIMEOUT_MS, type GenericOptions, runGeneric } from '../src/index.js';

const ROUND_MS = 5000;
const TIMEOUT = { timeout: 180_000 };

async function generic(o: Omit<GenericOptions, 'roundMs'>): Promise<void> {
  const r = await runGeneric({ roundMs: ROUND_MS, ...o });
  // A scenario in which nothing was ever written checks nothing.
  for (const round of r.rounds) {
    assert.ok(round.appends.reduce((a, b) => a + b, 0) > 0, `[${o.name}] round ${round.round}: no append succeeded (seed ${r.seed})`);
  }
  console.log(`[${o.name}] ok: ${r.totalAppends} appends in ${r.ms} ms (seed ${r.seed})`);
}

const off = { unreliable: false, crash: false, partitions: false };

test('Basic', TIMEOUT, () => generic({ name: 'Basic', nclients: 1, ...off }));

test('Concurrent', TIMEOUT, () => generic({ name: 'Concurrent', nclients: 5, ...off }));

test('Unreliable', TIMEOUT, () => generic({ name: 'Unreliable', nclients: 5, ...off, unreliable: true }));

test('OnePartition', TIMEOUT, async () => {
  const c = new Cluster({ stores: 5, name: 'OnePartition' });
  try {
    await c.start();
    const leader = await c.waitForLeader();
    const region = c.scheduler.region(1)!;
    // s1: the leader and two others (a majority); s2: the remaining two.
    const s1 = [leader.storeId!];
    const s2: number[] = [];
    for (const p of region.peers ?? []) {
      if (p.id === leader.id) continue;
      if (s1.length < 3) s1.push(p.storeId!);
      else s2.push(p.storeId!);
    }

    // 1. The leader is in the majority: writes and reads work; the minority does not see them.
    c.transport.partition(s1, s2);
    await c.mustPut('k1', 'v1');
    await c.mustGetEqual('k1', 'v1');
    await sleep(300);
    for (const s of s2) assert.equal(await c.engineGet(s, 'k1'), undefined, `minority store ${s} saw k1 across the partition`);
    c.transport.clearFilters();

    // 2. The old leader is in the minority (with one follower); the other three elect a leader.
    const oldLeader = leader.storeId!;
    const minority = [oldLeader, s1[1]!];
    const majority = [s1[2]!, ...s2];
    c.transport.partition(minority, majority);
    await c.mustGetEqual('k1', 'v1');
    await c.mustPut('k1', 'changed');
    const newLeader = c.leaderOf();
    assert.ok(newLeader && majority.includes(newLeader.storeId!), `the new leader ${JSON.stringify(newLeader)} is not in the majority`);
    // The minority keeps the old value: it sees no new write.
    for (const s of minority) await c.mustEngineGetEqual(s, 'k1', 'v1');
    await sleep(300);
    for (const s of minority)
      assert.equal(bytesToString(await c.engineGet(s, 'k1')), 'v1', `minority store ${s} saw a write across the partition`);
    // And it serves no stale read: the deposed leader must not answer k1 = v1.
    const peerOnOld = findPeer(region, oldLeader)!;
    const resp = await c.call(
      oldLeader,
      {
        header: { regionId: 1, peer: peerOnOld, regionEpoch: region.regionEpoch },
        requests: [{ cmdType: raft_cmdpb.CmdType.Get, get: { key: Buffer.from('k1') } }],
      },
      1500,
    );
    assert.ok(resp.header?.error, `the old leader in the minority served a read: ${JSON.stringify(resp.responses)}`);
    assert.ok(
      resp.header.error.notLeader || resp.header.error.timeout,
      `unexpected error from the old leader: ${JSON.stringify(resp.header.error)}`,
    );
    // Check quorum: the deposed leader steps down once it has not heard a quorum for an election timeout.
    const deadline = Date.now() + 4 * ELECTION_TIMEOUT_MS;
    while (c.store(oldLeader)!.peer(1)!.isLeader() && Date.now() < deadline) await sleep(20);
    assert.equal(c.store(oldLeader)!.peer(1)!.isLeader(), false, 'the leader cut off from the majority did not step down');
    c.transport.clearFilters();

    // 3. Healed: the old leader catches up.
    await c.mustPut('k2', 'v2');
    await c.mustEngineGetEqual(oldLeader, 'k2', 'v2');
    await c.mustEngineGetEqual(oldLeader, 'k1', 'changed');
    for (const s of c.storeIds()) await c.mustEngineGetEqual(s, 'k1', 'changed');
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('ManyPartitionsOneClient', TIMEOUT, () => generic({ name: 'ManyPartitionsOneClient', nclients: 1, ...off, partitions: true }));

test('ManyPartitionsManyClients', TIMEOUT, () => generic({ name: 'ManyPartitionsManyClients', nclients: 5, ...off, partitions: true }));

test('PersistOneClient', TIMEOUT, () => generic({ name: 'PersistOneClient', nclients: 1, ...off, crash: true }));

test('PersistConcurrent', TIMEOUT, () => generic({ name: 'PersistConcurrent', nclients: 5, ...off, crash: true }));

test('PersistConcurrentUnreliable', TIMEOUT, () =>
  generic({ name: 'PersistConcurrentUnreliable', nclients: 5, ...off, crash: true, unreliable: true, crashMode: 'powerloss' }),
);

test('PersistPartition', TIMEOUT, () => generic({ name: 'PersistPartition', nclients: 5, ...off, crash: true, partitions: true }));

test('PersistPartitionUnreliable', TIMEOUT, () =>
  generic({ name: 'PersistPartitionUnreliable', nclients: 5, ...off, crash: true, partitions: true, unreliable: true }),
);
