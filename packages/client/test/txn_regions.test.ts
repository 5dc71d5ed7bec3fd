// Transactions across regions, and the region errors of the transactional requests: retried and
// regrouped exactly as the raw client's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AmbiguousResultError, RegionUnavailableError } from '../src/index.js';
import { lockedKeys, s, served, setup, writesOf } from './txn_helpers.js';

test('a commit across 3 regions: one prewrite per region, the primary first, then the secondaries', async () => {
  await using t = await setup({ splitKeys: ['h', 'p'] });
  const { client, cluster } = t;
  const order: string[] = [];
  cluster.inject = ({ kind, req }) => {
    if (kind === 'kvCommit') order.push((req.keys ?? []).map((k) => s(k)).join(','));
    return undefined;
  };
  const txn = await client.begin();
  for (const k of ['b', 'q', 'a', 'i', 'z', 'j']) txn.put(k, k.toUpperCase());
  const commitTs = await txn.commit();
  await client.whenIdle();
  assert.equal(served(cluster, 'kvPrewrite'), 3, 'three regions, three prewrites');
  assert.equal(order[0], 'b', 'the primary (the first key written) alone, first');
  assert.deepEqual(order.slice(1).sort(), ['a', 'i,j', 'q,z']);
  for (const k of ['a', 'b', 'i', 'j', 'q', 'z'])
    assert.deepEqual(
      writesOf(cluster, k).map((w) => w.ts),
      [commitTs],
    );
  assert.deepEqual(lockedKeys(cluster), []);
  assert.deepEqual((await (await client.begin()).scan('')).map((p) => s(p.value)).join(''), 'ABIJQZ');
});

test('large transactions are cut into bounded prewrite batches', async () => {
  await using t = await setup({ splitKeys: ['m'] }, { commitBatchBytes: 1024 });
  const { client, cluster } = t;
  const value = 'v'.repeat(100);
  await client.runTxn(async (txn) => {
    for (let i = 0; i < 60; i++) txn.put(`${i % 2 ? 'a' : 'x'}${String(i).padStart(3, '0')}`, value);
  });
  await client.whenIdle();
  assert.ok(served(cluster, 'kvPrewrite') >= 6, `${served(cluster, 'kvPrewrite')} prewrites`);
  assert.equal((await (await client.begin()).scan('')).length, 60);
  assert.deepEqual(lockedKeys(cluster), []);
});

test('a split between prewrite and commit (EpochNotMatch): the commit is regrouped by the new regions and completes', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  let split = false;
  cluster.inject = ({ kind }) => {
    // At the primary's commit, split its region between the keys (the scheduler is not told).
    if (kind === 'kvCommit' && !split) {
      split = true;
      cluster.split('c');
    }
    return undefined;
  };
  const txn = await client.begin();
  for (const k of ['a', 'b', 'd', 'e', 'x']) txn.put(k, k);
  const commitTs = await txn.commit();
  await client.whenIdle();
  assert.ok(split);
  assert.equal(client.cache.size, 3, 'the current regions of the EpochNotMatch answer are cached');
  for (const k of ['a', 'b', 'd', 'e', 'x'])
    assert.deepEqual(
      writesOf(cluster, k).map((w) => w.ts),
      [commitTs],
      k,
    );
  assert.deepEqual(lockedKeys(cluster), []);

  // Again with a split the store does not describe: the regions come from the scheduler.
  cluster.epochRegions = false;
  split = false;
  cluster.inject = ({ kind }) => {
    if (kind === 'kvPrewrite' && !split) {
      split = true;
      cluster.split('e', true);
    }
    return undefined;
  };
  await client.runTxn(async (txn2) => {
    for (const k of ['d', 'f', 'g']) txn2.put(k, `${k}2`);
  });
  await client.whenIdle();
  assert.deepEqual((await (await client.begin()).batchGet(['d', 'f', 'g'])).map(s), ['d2', 'f2', 'g2']);
  assert.deepEqual(lockedKeys(cluster), []);
});

test('NotLeader during prewrite and commit, ServerIsBusy and KeyNotInRegion on reads: retried', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  const hits = new Map<string, number>();
  cluster.inject = ({ kind }) => {
    const n = (hits.get(kind) ?? 0) + 1;
    hits.set(kind, n);
    if (kind === 'kvCommit' && n === 1) cluster.setLeader(1, 2); // the leader moves under the primary's commit
    if (kind === 'kvPrewrite' && n === 1) cluster.setLeader(2, 3);
    if (kind === 'kvGet' && n === 1) return { regionError: { message: 'busy', serverIsBusy: { reason: 'queue full' } } };
    if (kind === 'kvGet' && n === 2) return { regionError: { message: 'moved', keyNotInRegion: { key: Buffer.from('a'), regionId: 1 } } };
    if (kind === 'kvScan' && n === 1) return { regionError: { message: 'stale', staleCommand: {} } };
    return undefined;
  };
  const txn = await client.begin();
  txn.put('a', '1');
  txn.put('z', '2');
  await txn.commit();
  await client.whenIdle();
  assert.ok(cluster.stores.get(2)!.served.includes('kvCommit'), 'the primary was committed at the new leader');
  assert.ok(cluster.stores.get(3)!.served.includes('kvPrewrite'));
  assert.equal(client.cache.lookup(Buffer.from('a'))!.leader!.storeId, 2);
  const r = await client.begin();
  assert.equal(s(await r.get('a')), '1');
  // Busy, KeyNotInRegion (reloaded from the scheduler, which still names the old leader: NotLeader), then served.
  assert.ok(hits.get('kvGet')! >= 3);
  assert.deepEqual(
    (await r.scan('')).map((p) => s(p.value)),
    ['1', '2'],
  );
  assert.deepEqual(lockedKeys(cluster), []);
});

test('the primary committed but the secondaries failing: commit() still resolves, the failure is logged, readers resolve the locks', async () => {
  await using t = await setup({ splitKeys: ['m'] }, { timeoutMs: 1500, maxBackoffMs: 100 });
  const { client, cluster, logs } = t;
  let failing = true;
  cluster.inject = ({ kind, req }) => {
    const primary = (req.keys ?? []).some((k) => s(k) === 'a');
    if (failing && kind === 'kvCommit' && !primary) return { regionError: { message: 'busy', serverIsBusy: { reason: 'secondaries' } } };
    return undefined;
  };
  const txn = await client.begin();
  txn.put('a', 'A');
  txn.put('b', 'B');
  txn.put('x', 'X');
  const commitTs = await txn.commit();
  assert.deepEqual(lockedKeys(cluster), ['b', 'x'], 'only the primary is committed yet');
  await client.whenIdle();
  assert.equal(logs.length, 1, logs.join('\n'));
  assert.match(logs[0]!, /secondary keys: .*ServerIsBusy \(secondaries\)/);
  failing = false;
  const r = await client.begin();
  assert.deepEqual((await r.batchGet(['a', 'b', 'x'])).map(s), ['A', 'B', 'X']);
  assert.deepEqual(lockedKeys(cluster), []);
  assert.deepEqual(
    writesOf(cluster, 'x').map((w) => w.ts),
    [commitTs],
  );
});

test("the primary's commit with an unknown outcome at the deadline: AmbiguousResultError", async () => {
  await using t = await setup({}, { timeoutMs: 1200, attemptTimeoutMs: 300, maxBackoffMs: 100 });
  const { client, cluster } = t;
  cluster.inject = ({ kind }) => (kind === 'kvCommit' ? { drop: true } : undefined);
  const txn = await client.begin();
  txn.put('a', '1');
  await assert.rejects(txn.commit(), (e: unknown) => e instanceof AmbiguousResultError && /primary key "a"/.test(e.message));
  // Definite answers only (the region is busy all along): not ambiguous, the prewrite is rolled back.
  cluster.inject = ({ kind }) => (kind === 'kvCommit' ? { regionError: { message: 'busy', serverIsBusy: {} } } : undefined);
  const txn2 = await client.begin();
  txn2.put('b', '1');
  await assert.rejects(txn2.commit(), RegionUnavailableError);
  assert.deepEqual(lockedKeys(cluster), ['a'], 'the ambiguous one is left locked; the certainly uncommitted one rolled back');
});
