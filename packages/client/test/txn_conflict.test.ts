// Concurrent transactions on one key: write conflicts, runTxn's retries, a contended counter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Transaction, TxnAbortedError, WriteConflictError } from '../src/index.js';
import { lockedKeys, s, setup, writesOf } from './txn_helpers.js';

test('two transactions write one key: the first commits, the second gets WriteConflictError with key and conflictTs', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  const t1 = await client.begin();
  const t2 = await client.begin();
  assert.equal(await t1.get('k'), null);
  assert.equal(await t2.get('k'), null);
  t1.put('k', 'one');
  t2.put('k', 'two');
  t2.put('z', 'two');
  const c1 = await t1.commit();
  await assert.rejects(t2.commit(), (e: unknown) => {
    assert.ok(e instanceof WriteConflictError, String(e));
    assert.equal(s(e.key), 'k');
    assert.equal(e.conflictTs, c1);
    assert.equal(e.startTs, t2.startTs);
    assert.equal(s(e.primary), 'k');
    assert.ok(e.retryable);
    return true;
  });
  await client.whenIdle();
  assert.deepEqual(lockedKeys(cluster), [], "the loser's prewritten keys were rolled back");
  assert.equal(writesOf(cluster, 'z').length, 1, 'a rollback record on its other key (a late prewrite of it fails)');
  const r = await client.begin();
  assert.equal(s(await r.get('k')), 'one');
  assert.equal(await r.get('z'), null);
});

test('prewrites racing on one key: exactly one of the transactions commits', async () => {
  await using t = await setup();
  const { client } = t;
  const other = await t.another();
  for (let round = 0; round < 5; round++) {
    const txns = await Promise.all([client.begin(), other.begin(), client.begin()]);
    txns.forEach((x, i) => {
      x.put('hot', `${round}-${i}`);
      x.put(`side-${i}`, `${round}`);
    });
    const results = await Promise.allSettled(txns.map((x) => x.commit()));
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))));
    for (const r of results) {
      if (r.status === 'rejected')
        assert.ok(r.reason instanceof WriteConflictError || r.reason instanceof TxnAbortedError, String(r.reason));
    }
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    assert.equal(s(await (await client.begin()).get('hot')), `${round}-${winner}`);
  }
});

test('runTxn retries a conflicting transaction from a new start timestamp until it commits', async () => {
  await using t = await setup();
  const { client } = t;
  const other = await t.another();
  await client.runTxn(async (txn) => txn.put('k', '0'));
  const seen: string[] = [];
  const starts: bigint[] = [];
  const result = await client.runTxn(async (txn: Transaction) => {
    starts.push(txn.startTs);
    const v = s(await txn.get('k'))!;
    seen.push(v);
    // Another writer commits the key while the first attempt runs.
    if (seen.length === 1) await other.runTxn(async (o) => o.put('k', '10'));
    txn.put('k', String(Number(v) + 1));
    return v;
  });
  assert.deepEqual(seen, ['0', '10']);
  assert.equal(result, '10');
  assert.ok(starts[1]! > starts[0]!);
  assert.equal(s(await (await client.begin()).get('k')), '11');
});

test('runTxn gives up after its retries and rethrows; an error of fn is passed on without a retry', async () => {
  await using t = await setup();
  const { client } = t;
  const other = await t.another();
  let runs = 0;
  await assert.rejects(
    client.runTxn(
      async (txn) => {
        runs++;
        await txn.get('k');
        await other.runTxn(async (o) => o.put('k', String(runs)));
        txn.put('k', 'mine');
      },
      { retries: 2 },
    ),
    WriteConflictError,
  );
  assert.equal(runs, 3);
  runs = 0;
  await assert.rejects(
    client.runTxn(async (txn) => {
      runs++;
      txn.put('k', 'never');
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(runs, 1);
  assert.notEqual(s(await (await client.begin()).get('k')), 'never');
});

test('a counter incremented by 20 concurrent runTxn calls ends at 20', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client } = t;
  const others = await Promise.all([t.another(), t.another()]);
  const clients = [client, ...others];
  let attempts = 0;
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      clients[i % clients.length]!.runTxn(
        async (txn) => {
          attempts++;
          const v = await txn.get('counter');
          txn.put('counter', String(Number(v ? s(v) : '0') + 1));
          // A second key in another region: the commit spans two regions.
          txn.put(`z-last-${i}`, 'x');
        },
        { retries: 100 },
      ),
    ),
  );
  assert.equal(s(await (await client.begin()).get('counter')), '20');
  assert.ok(attempts >= 20);
});
