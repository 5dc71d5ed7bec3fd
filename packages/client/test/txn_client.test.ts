// The transactional client against the fake cluster: reads, writes, snapshots, timestamps, bad input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type KvCheckTxnStatusRequest,
  type KvCheckTxnStatusResponse,
  type KvGetRequest,
  type KvGetResponse,
  newTinyKvGrpcClient,
  unary,
} from '@tskv/rpc';
import { physicalTime } from '@tskv/txn';
import { ClientClosedError, composeTs, InvalidArgumentError, LockNotResolvedError, physicalMs, TxnFinishedError } from '../src/index.js';
import { B, lockedKeys, s, served, setup, writesOf } from './txn_helpers.js';

test('get, put, delete, scan and commit round trip; read-your-writes inside the transaction', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  const t1 = await client.begin();
  assert.equal(await t1.get('a'), null);
  t1.put('a', '1');
  t1.put('b', '2');
  t1.put('x', '3');
  t1.put('gone', 'soon');
  t1.delete('gone');
  assert.equal(s(await t1.get('a')), '1', 'its own buffered write');
  assert.equal(await t1.get('gone'), null, 'its own buffered delete');
  assert.deepEqual((await t1.batchGet(['x', 'nope', 'a'])).map(s), ['3', null, '1']);
  assert.equal(served(cluster, 'kvPrewrite'), 0, 'nothing written before commit');
  const commitTs = await t1.commit();
  assert.ok(commitTs > t1.startTs);
  await client.whenIdle();
  assert.deepEqual(lockedKeys(cluster), [], 'every lock committed');

  const t2 = await client.begin();
  assert.ok(t2.startTs > commitTs);
  assert.deepEqual((await t2.batchGet(['a', 'b', 'x', 'gone'])).map(s), ['1', '2', '3', null]);
  assert.deepEqual(
    (await t2.scan('', '')).map((p) => [s(p.key), s(p.value)]),
    [
      ['a', '1'],
      ['b', '2'],
      ['x', '3'],
    ],
  );
  // The scan merges the buffered writes: a new key, an overwrite, a delete; crosses the region boundary at "m".
  t2.put('c', 'C');
  t2.put('b', 'B');
  t2.delete('a');
  t2.put('n', 'N');
  assert.deepEqual(
    (await t2.scan('a', 'z')).map((p) => [s(p.key), s(p.value)]),
    [
      ['b', 'B'],
      ['c', 'C'],
      ['n', 'N'],
      ['x', '3'],
    ],
  );
  assert.deepEqual(
    (await t2.scan('a', 'z', 2)).map((p) => s(p.key)),
    ['b', 'c'],
  );
  t2.delete('x');
  await t2.commit();
  await client.whenIdle();
  const t3 = await client.begin();
  assert.deepEqual(
    (await t3.scan('')).map((p) => `${s(p.key)}=${s(p.value)}`),
    ['b=B', 'c=C', 'n=N'],
  );
  assert.equal(await t3.commit(), t3.startTs, 'a read-only transaction commits trivially at its start ts');
  assert.equal(served(cluster, 'kvPrewrite') > 0, true);
});

test('scan pages within a region and across regions, with many keys and a limit', async () => {
  await using t = await setup({ splitKeys: ['k10', 'k20', 'k30'] }, { scanBatchSize: 4 });
  const { client } = t;
  await client.runTxn(async (txn) => {
    for (let i = 0; i < 40; i++) txn.put(`k${String(i).padStart(2, '0')}`, `v${i}`);
  });
  await client.whenIdle();
  const txn = await client.begin();
  const all = await txn.scan('k', 'l');
  assert.equal(all.length, 40);
  assert.deepEqual(
    all.map((p) => s(p.key)),
    Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`),
  );
  assert.deepEqual(
    (await txn.scan('k08', 'k33', 5)).map((p) => s(p.key)),
    ['k08', 'k09', 'k10', 'k11', 'k12'],
  );
  assert.deepEqual(
    (await txn.scan('k18', 'k22')).map((p) => s(p.value)),
    ['v18', 'v19', 'v20', 'v21'],
  );
});

test('snapshot isolation: a transaction does not see what was committed after its start', async () => {
  await using t = await setup();
  const { client } = t;
  await client.runTxn(async (txn) => txn.put('k', 'old'));
  const reader = await client.begin();
  assert.equal(s(await reader.get('k')), 'old');
  await client.runTxn(async (txn) => {
    txn.put('k', 'new');
    txn.put('k2', 'new2');
  });
  await client.whenIdle();
  assert.equal(s(await reader.get('k')), 'old', 'still its snapshot');
  assert.equal(await reader.get('k2'), null);
  assert.deepEqual(
    (await reader.scan('')).map((p) => s(p.value)),
    ['old'],
  );
  const later = await client.begin();
  assert.equal(s(await later.get('k')), 'new');
});

test('timestamps are bigint end to end, exact above 2^53 and 2^63', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  const ts0 = await client.currentTs();
  assert.equal(typeof ts0, 'bigint');
  assert.ok(ts0 > 2n ** 53n, 'today a timestamp is about 2^58');
  assert.equal(composeTs(5, 7), (5n << 18n) | 7n);
  assert.equal(physicalMs(composeTs(1234, 5)), physicalTime(composeTs(1234, 5)), 'the same split as @tskv/txn');

  // Move the oracle's clock so that timestamps pass 2^63 (the top bit of a u64).
  const offset = 2 ** 45 + 12_345 - Date.now();
  cluster.tsoClock = () => Date.now() + offset;
  const txn = await client.begin();
  assert.ok(txn.startTs > 2n ** 63n, `${txn.startTs}`);
  txn.put('big', 'ts');
  txn.put('other', 'ts');
  const commitTs = await txn.commit();
  await client.whenIdle();
  assert.ok(commitTs > txn.startTs);
  const w = writesOf(cluster, 'big');
  assert.equal(w.length, 1);
  assert.equal(w[0]!.ts, commitTs, 'the write record is keyed by the exact commit ts');
  assert.equal(w[0]!.startTs, txn.startTs, 'and names the exact start ts');
  assert.equal(s(await (await client.begin()).get('big')), 'ts');
  assert.ok((await client.currentTs()) > commitTs);
});

test('bad input is refused before anything is sent; a finished transaction takes no more operations', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  const txn = await client.begin();
  const bad = (e: unknown) => e instanceof InvalidArgumentError;
  await assert.rejects(txn.get(''), bad);
  await assert.rejects(txn.get(new Uint8Array(0)), bad);
  await assert.rejects(txn.get(42 as unknown as string), bad);
  await assert.rejects(txn.batchGet(['a', '']), bad);
  await assert.rejects(txn.scan('a', 'b', -1), bad);
  await assert.rejects(txn.scan('a', 'b', 1.5), bad);
  assert.throws(() => txn.put('', 'v'), bad);
  assert.throws(() => txn.put('k', { no: 1 } as unknown as string), bad);
  assert.throws(() => txn.put(null as unknown as string, 'v'), bad);
  assert.throws(() => txn.delete(new Uint8Array(0)), bad);
  let requests = 0;
  for (const st of cluster.stores.values()) requests += st.requests;
  assert.equal(requests, 0, 'no store was asked anything');
  txn.put('k', 'v');
  await txn.commit();
  assert.throws(() => txn.put('k', 'w'), TxnFinishedError);
  await assert.rejects(txn.get('k'), TxnFinishedError);
  await assert.rejects(txn.commit(), TxnFinishedError);
  await assert.rejects(txn.rollback(), TxnFinishedError);
  const r = await client.begin();
  r.put('x', 'y');
  await r.rollback();
  assert.throws(() => r.put('x', 'z'), TxnFinishedError);
  assert.equal(s(await (await client.begin()).get('x')), null, 'a rolled-back transaction wrote nothing');
});

test('close() fails pending operations with ClientClosedError', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  // A live lock (long TTL) blocks the read.
  const lockTs = cluster.tso();
  const pre = await cluster.txn.prewrite({
    mutations: [{ op: 0, key: B('k'), value: B('v') }],
    primaryLock: B('k'),
    startVersion: lockTs,
    lockTtl: 60_000n,
  });
  assert.deepEqual(pre.errors, []);
  const txn = await client.begin();
  const pending = txn.get('k');
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  client.close();
  await assert.rejects(pending, ClientClosedError);
  assert.ok(Date.now() - t0 < 1000);
  await assert.rejects(client.begin(), ClientClosedError);
});

test('a live lock past the deadline: LockNotResolvedError (retryable)', async () => {
  await using t = await setup({}, { timeoutMs: 400 });
  const { client, cluster } = t;
  const lockTs = cluster.tso();
  await cluster.txn.prewrite({
    mutations: [{ op: 0, key: B('k'), value: B('v') }],
    primaryLock: B('k'),
    startVersion: lockTs,
    lockTtl: 60_000n,
  });
  const txn = await client.begin();
  await assert.rejects(txn.get('k'), (e: unknown) => {
    assert.ok(e instanceof LockNotResolvedError, String(e));
    assert.equal(e.lockTs, lockTs);
    assert.equal(s(e.key), 'k');
    assert.ok(e.retryable);
    return true;
  });
});

test('the fake stores serve the Kv* methods unary too, with the same region checks and bigint timestamps', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  await client.runTxn(async (txn) => txn.put('a', 'A'));
  await client.whenIdle();
  const g = newTinyKvGrpcClient(cluster.stores.get(1)!.address);
  try {
    const r1 = cluster.region(1);
    const context = { regionId: 1, regionEpoch: { confVer: r1.confVer, version: r1.version }, peer: r1.peers[0] };
    const version = await client.currentTs();
    const got = await unary<KvGetRequest, KvGetResponse>(g, g.kvGet, { context, key: B('a'), version }, 5000);
    assert.equal(s(got.value), 'A');
    const wrong = await unary<KvGetRequest, KvGetResponse>(g, g.kvGet, { context, key: B('z'), version }, 5000);
    assert.ok(wrong.regionError?.keyNotInRegion, 'z is in the other region');
    const status = await unary<KvCheckTxnStatusRequest, KvCheckTxnStatusResponse>(
      g,
      g.kvCheckTxnStatus,
      { context, primaryKey: B('b'), lockTs: 2n ** 63n + 5n, currentTs: 2n ** 63n + 6n },
      5000,
    );
    assert.equal(typeof status.lockTtl, 'bigint');
    assert.equal(status.action, 2, 'LockNotExistRollback');
    assert.deepEqual(
      writesOf(cluster, 'b').map((w) => w.ts),
      [2n ** 63n + 5n],
    );
  } finally {
    g.close();
  }
});
