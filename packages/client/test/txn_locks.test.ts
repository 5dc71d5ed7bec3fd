// Lock resolution: locks left by transactions that "crashed" (a client that prewrote and never
// committed, played with the fake cluster's executor over the whole key space).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Op } from '@tskv/rpc';
import { TxnAbortedError } from '../src/index.js';
import type { FakeCluster } from '../src/testing/index.js';
import { B, lockedKeys, s, served, setup, writesOf } from './txn_helpers.js';

const ROLLBACK = 3;

/** Prewrites keys (the first is the primary) as a transaction that then stops; returns its start ts. */
async function crashedPrewrite(cluster: FakeCluster, kvs: [string, string][], ttlMs: bigint): Promise<bigint> {
  const startTs = cluster.tso();
  const r = await cluster.txn.prewrite({
    mutations: kvs.map(([k, v]) => ({ op: Op.Put, key: B(k), value: B(v) })),
    primaryLock: B(kvs[0]![0]),
    startVersion: startTs,
    lockTtl: ttlMs,
  });
  assert.deepEqual(r.errors, []);
  return startTs;
}

test('a crashed transaction blocks a reader only until its TTL expires, then it is rolled back', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  await client.runTxn(async (txn) => txn.put('a', 'before'));
  await client.whenIdle();
  const lockTs = await crashedPrewrite(
    cluster,
    [
      ['a', 'crashed'],
      ['z', 'crashed'],
    ],
    400n,
  );
  const reader = await client.begin();
  const t0 = Date.now();
  assert.equal(s(await reader.get('a')), 'before', 'the rolled-back value is not seen');
  const waited = Date.now() - t0;
  assert.ok(waited >= 250, `waited ${waited} ms for a 400 ms TTL`);
  assert.ok(waited < 4000, `waited ${waited} ms`);
  assert.ok(served(cluster, 'kvCheckTxnStatus') >= 2, 'the primary was checked until its TTL passed');
  // The primary carries a rollback record; the secondary in the other region is still locked
  // (nobody read it yet) and is resolved by the next reader that meets it.
  assert.deepEqual(
    writesOf(cluster, 'a').filter((w) => w.kind === ROLLBACK),
    [{ ts: lockTs, kind: ROLLBACK, startTs: lockTs }],
  );
  assert.deepEqual(lockedKeys(cluster), ['z']);
  const t1 = Date.now();
  assert.deepEqual(
    (await reader.scan('')).map((p) => `${s(p.key)}=${s(p.value)}`),
    ['a=before'],
  );
  assert.ok(Date.now() - t1 < 1000, 'a decided transaction is resolved at once');
  assert.deepEqual(lockedKeys(cluster), []);
  // The crashed transaction can never commit now.
  const late = await cluster.txn.commit({ startVersion: lockTs, keys: [B('a')], commitVersion: cluster.tso() });
  assert.ok(late.error?.abort, 'its commit is refused');
});

test('a transaction whose primary committed but not its secondaries: the reader sees the committed value', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  const startTs = await crashedPrewrite(
    cluster,
    [
      ['a', 'A'],
      ['x', 'X'],
      ['y', 'Y'],
    ],
    60_000n,
  );
  const commitTs = cluster.tso();
  const c = await cluster.txn.commit({ startVersion: startTs, keys: [B('a')], commitVersion: commitTs });
  assert.equal(c.error, undefined);
  assert.deepEqual(lockedKeys(cluster), ['x', 'y']);
  const reader = await client.begin();
  const t0 = Date.now();
  assert.equal(s(await reader.get('x')), 'X');
  assert.ok(Date.now() - t0 < 2000, 'no wait for the 60 s TTL: the primary says committed');
  assert.deepEqual(lockedKeys(cluster), [], 'KvResolveLock committed every lock of the transaction in that region');
  assert.deepEqual(
    writesOf(cluster, 'y').map((w) => w.ts),
    [commitTs],
  );
  assert.deepEqual((await reader.batchGet(['a', 'x', 'y'])).map(s), ['A', 'X', 'Y']);
  // A reader whose snapshot is older than the commit sees none of it, locks or not.
  const startTs2 = await crashedPrewrite(cluster, [['b', 'B']], 60_000n);
  const old = await client.begin();
  await cluster.txn.commit({ startVersion: startTs2, keys: [B('b')], commitVersion: cluster.tso() });
  assert.equal(await old.get('b'), null);
});

test('a prewrite that meets a lock resolves it (after its TTL) and commits; a live lock that commits first makes it conflict', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  await crashedPrewrite(cluster, [['k', 'crashed']], 300n);
  const txn = await client.begin();
  txn.put('k', 'mine');
  const t0 = Date.now();
  await txn.commit();
  assert.ok(Date.now() - t0 >= 200, 'waited for the TTL');
  assert.equal(s(await (await client.begin()).get('k')), 'mine');

  // A lock whose owner commits while we wait: after its commit our prewrite conflicts.
  const writer = await client.begin();
  const lockTs = await crashedPrewrite(cluster, [['k', 'theirs']], 60_000n);
  assert.ok(lockTs > writer.startTs);
  writer.put('k', 'late');
  setTimeout(() => void cluster.txn.commit({ startVersion: lockTs, keys: [B('k')], commitVersion: cluster.tso() }), 200);
  await assert.rejects(writer.commit(), /write conflict on key "k"/);
  assert.equal(s(await (await client.begin()).get('k')), 'theirs');
});

test('a transaction rolled back by a reader before its primary commit: TxnAbortedError, and runTxn runs it again', async () => {
  await using t = await setup();
  const { cluster } = t;
  const writer = await t.another({ lockTtlMs: 100, lockTtlPerKibMs: 0 });
  let delayed = 0;
  // The first primary commit is slow: its lock expires meanwhile and a reader rolls it back.
  cluster.inject = ({ kind }) => (kind === 'kvCommit' && delayed++ === 0 ? { delayMs: 700 } : undefined);
  let attempts = 0;
  const done = writer.runTxn(async (txn) => {
    attempts++;
    txn.put('k', `v${attempts}`);
  });
  await new Promise((r) => setTimeout(r, 300));
  const reader = await t.client.begin();
  assert.equal(await reader.get('k'), null, 'expired and rolled back');
  await done;
  assert.equal(attempts, 2);
  assert.equal(s(await (await t.client.begin()).get('k')), 'v2');

  delayed = 0;
  const txn = await writer.begin();
  txn.put('k', 'never');
  const commit = txn.commit();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s(await (await t.client.begin()).get('k')), 'v2');
  await assert.rejects(commit, (e: unknown) => e instanceof TxnAbortedError && e.startTs === txn.startTs && e.retryable);
  assert.deepEqual(lockedKeys(cluster), []);
});
