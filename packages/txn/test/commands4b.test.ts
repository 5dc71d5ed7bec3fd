// TinyKV's kv/transaction/commands4b_test.go, under the same names: KvGet, KvPrewrite, KvCommit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Op, TS_MAX } from '../src/index.js';
import { b, mutation, newBuilder, writeBytes } from './helpers.js';

/** Key 99 = 42, written at 50 and committed at 54. */
const G = [
  { cf: 'default', key: b(99), ts: 50n, value: b(42) },
  { cf: 'write', key: b(99), ts: 54n, value: writeBytes(1, 50) },
] as const;

test('TestGetValue4B', async () => {
  const builder = newBuilder();
  builder.init([...G]);
  const resp = await builder.get({ key: b(99), version: TS_MAX });
  assert.equal(resp.error, undefined);
  assert.deepEqual(resp.value, b(42));
});

test('TestGetValueTs4B', async () => {
  const builder = newBuilder();
  builder.init([...G]);
  for (let i = 0; i < 3; i++) {
    const resp = await builder.get({ key: b(99), version: 100n });
    assert.equal(resp.error, undefined);
    assert.deepEqual(resp.value, b(42));
  }
});

test('TestGetEmpty4B', async () => {
  const builder = newBuilder();
  const resp = await builder.get({ key: b(100), version: TS_MAX });
  assert.equal(resp.error, undefined);
  assert.equal(resp.notFound, true);
});

test('TestGetNone4B', async () => {
  const builder = newBuilder();
  builder.init([
    ...G,
    { cf: 'default', key: b(101), ts: 50n, value: b(42) },
    { cf: 'write', key: b(101), ts: 54n, value: writeBytes(1, 50) },
  ]);
  const resp = await builder.get({ key: b(100), version: TS_MAX });
  assert.equal(resp.error, undefined);
  assert.equal(resp.notFound, true);
});

test('TestGetVersions4B', async () => {
  const builder = newBuilder();
  builder.init([
    ...G,
    { cf: 'default', key: b(99), ts: 60n, value: b(43) },
    { cf: 'write', key: b(99), ts: 66n, value: writeBytes(1, 60) },
    { cf: 'default', key: b(99), ts: 120n, value: b(44) },
    { cf: 'write', key: b(99), ts: 122n, value: writeBytes(1, 120) },
  ]);
  const expect: [bigint, number | null][] = [
    [40n, null],
    [56n, 42],
    [60n, 42],
    [65n, 42],
    [66n, 43],
    [100n, 43],
  ];
  for (const [version, value] of expect) {
    const resp = await builder.get({ key: b(99), version });
    assert.equal(resp.error, undefined);
    if (value === null) assert.equal(resp.notFound, true, `at ${version}`);
    else assert.deepEqual(resp.value, b(value), `at ${version}`);
  }
});

test('TestGetDeleted4B', async () => {
  const builder = newBuilder();
  builder.init([
    ...G,
    { cf: 'default', key: b(99), ts: 60n, value: b() },
    { cf: 'write', key: b(99), ts: 66n, value: writeBytes(2, 60) },
    { cf: 'default', key: b(99), ts: 120n, value: b(44) },
    { cf: 'write', key: b(99), ts: 122n, value: writeBytes(1, 120) },
  ]);
  const expect: [bigint, number | null][] = [
    [54n, 42],
    [60n, 42],
    [65n, 42],
    [66n, null],
    [67n, null],
    [122n, 44],
  ];
  for (const [version, value] of expect) {
    const resp = await builder.get({ key: b(99), version });
    assert.equal(resp.error, undefined);
    if (value === null) assert.equal(resp.notFound, true, `at ${version}`);
    else assert.deepEqual(resp.value, b(value), `at ${version}`);
  }
});

test('TestGetLocked4B', async () => {
  const builder = newBuilder();
  builder.init([...G, { cf: 'lock', key: b(99), value: b(99, 1, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0) }]);

  const resp0 = await builder.get({ key: b(99), version: 55n });
  assert.equal(resp0.error, undefined);
  assert.deepEqual(resp0.value, b(42));

  const resp1 = await builder.get({ key: b(99), version: 300n });
  const lockInfo = resp1.error?.locked;
  assert.ok(lockInfo);
  assert.deepEqual(lockInfo.key, b(99));
  assert.deepEqual(lockInfo.primaryLock, b(99));
  assert.equal(lockInfo.lockVersion, 200n);
});

test('TestEmptyPrewrite4B', async () => {
  const builder = newBuilder();
  const resp = await builder.prewrite(builder.prewriteRequest());
  assert.deepEqual(resp.errors, []);
  builder.assertLen('default', 0);
});

test('TestSinglePrewrite4B', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put));
  cmd.lockTtl = 1000n;
  const resp = await builder.prewrite(cmd);
  assert.deepEqual(resp.errors, []);
  builder.assertLens(1, 1, 0);
  builder.assert([
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 3, 232) },
  ]);
});

test('TestPrewriteLocked4B', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put));
  const cmd2 = builder.prewriteRequest(mutation(3, b(53), Op.Put));
  const resp = await builder.prewrite(cmd);
  const resp2 = await builder.prewrite(cmd2);
  assert.deepEqual(resp.errors, []);
  assert.equal(resp2.errors.length, 1);
  builder.assertLens(1, 1, 0);
  builder.assert([
    { cf: 'default', key: b(3), ts: 100n, value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
});

test('TestPrewriteWritten4B', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put));
  builder.init([
    { cf: 'default', key: b(3), ts: 80n, value: b(5) },
    { cf: 'write', key: b(3), ts: 101n, value: writeBytes(1, 80) },
  ]);
  const resp = await builder.prewrite(cmd);
  assert.equal(resp.errors.length, 1);
  assert.ok(resp.errors[0]!.conflict);
  builder.assertLens(1, 0, 1);
  builder.assert([{ cf: 'default', key: b(3), ts: 80n, value: b(5) }]);
});

test('TestPrewriteWrittenNoConflict4B', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put));
  builder.init([
    { cf: 'default', key: b(3), ts: 80n, value: b(5) },
    { cf: 'write', key: b(3), ts: 90n, value: writeBytes(1, 80) },
  ]);
  const resp = await builder.prewrite(cmd);
  assert.deepEqual(resp.errors, []);
  builder.assertLens(2, 1, 1);
  builder.assert([
    { cf: 'default', key: b(3), value: b(5), ts: 80n },
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
});

test('TestMultiplePrewrites4B', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put));
  const cmd2 = builder.prewriteRequest(mutation(4, b(53), Op.Put));
  assert.deepEqual((await builder.prewrite(cmd)).errors, []);
  assert.deepEqual((await builder.prewrite(cmd2)).errors, []);
  builder.assertLens(2, 2, 0);
  builder.assert([
    { cf: 'default', key: b(3), ts: 100n, value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0) },
    { cf: 'default', key: b(4), ts: 101n, value: b(53) },
    { cf: 'lock', key: b(4), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
});

test('TestPrewriteOverwrite4B', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put), mutation(3, b(45), Op.Put));
  const resp = await builder.prewrite(cmd);
  assert.deepEqual(resp.errors, []);
  builder.assertLens(1, 1, 0);
  builder.assert([
    { cf: 'default', key: b(3), value: b(45) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
});

test('TestPrewriteMultiple4B', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(
    mutation(3, b(42), Op.Put),
    mutation(4, b(43), Op.Put),
    mutation(5, b(44), Op.Put),
    mutation(4, undefined, Op.Del),
    mutation(4, b(1, 3, 5), Op.Put),
    mutation(255, b(45), Op.Put),
  );
  const resp = await builder.prewrite(cmd);
  assert.deepEqual(resp.errors, []);
  builder.assertLens(4, 4, 0);
  builder.assert([{ cf: 'default', key: b(4), value: b(1, 3, 5) }]);
});

test('TestEmptyCommit4B', async () => {
  const builder = newBuilder();
  const resp = await builder.commit(builder.commitRequest());
  assert.equal(resp.error, undefined);
  builder.assertLens(0, 0, 0);
});

test('TestSingleCommit4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  const resp = await builder.commit(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(1, 0, 1);
  builder.assert([
    { cf: 'write', key: b(3), ts: 110n, value: writeBytes(1, builder.ts()) },
    { cf: 'default', key: b(3) },
  ]);
});

test('TestCommitOverwrite4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3));
  builder.init([
    // A previous, committed write.
    { cf: 'default', key: b(3), ts: 80n, value: b(15) },
    { cf: 'write', key: b(3), ts: 84n, value: writeBytes(1, 80) },
    // The current, prewritten write.
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  const resp = await builder.commit(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(2, 0, 2);
  builder.assert([
    { cf: 'write', key: b(3), ts: 110n, value: writeBytes(1, builder.ts()) },
    { cf: 'default', key: b(3) },
  ]);
});

test('TestCommitMultipleKeys4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3), b(12, 4, 0), b(15));
  const lockT = b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0);
  const lock99 = b(1, 2, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0);
  builder.init([
    // Current, prewritten.
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: lockT },
    { cf: 'default', key: b(12, 4, 0), value: b(1, 1, 0, 0, 1, 5) },
    { cf: 'lock', key: b(12, 4, 0), value: lockT },
    { cf: 'default', key: b(15), value: b(0) },
    { cf: 'lock', key: b(15), value: lockT },
    // Some committed data.
    { cf: 'default', key: b(4), ts: 80n, value: b(15) },
    { cf: 'write', key: b(4), ts: 84n, value: writeBytes(1, 80) },
    { cf: 'default', key: b(3, 0), ts: 80n, value: b(150) },
    { cf: 'write', key: b(3, 0), ts: 84n, value: writeBytes(1, 80) },
    // Another prewritten transaction.
    { cf: 'default', key: b(2), ts: 99n, value: b(0, 0, 0, 8) },
    { cf: 'lock', key: b(2), value: lock99 },
    { cf: 'default', key: b(43, 6), ts: 99n, value: b(1, 1, 0, 0, 1, 5) },
    { cf: 'lock', key: b(43, 6), value: lock99 },
  ]);
  const resp = await builder.commit(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(7, 2, 5);
  builder.assert([
    // The newly committed data.
    { cf: 'write', key: b(3), ts: 110n, value: writeBytes(1, builder.ts()) },
    { cf: 'write', key: b(12, 4, 0), ts: 110n, value: writeBytes(1, builder.ts()) },
    { cf: 'write', key: b(15), ts: 110n, value: writeBytes(1, builder.ts()) },
    // Committed data is untouched.
    { cf: 'default', key: b(4), ts: 80n },
    { cf: 'write', key: b(4), ts: 84n },
    { cf: 'default', key: b(3, 0), ts: 80n },
    { cf: 'write', key: b(3, 0), ts: 84n },
    // Prewritten data is untouched.
    { cf: 'default', key: b(2), ts: 99n },
    { cf: 'lock', key: b(2) },
    { cf: 'default', key: b(43, 6), ts: 99n },
    { cf: 'lock', key: b(43, 6) },
  ]);
});

test('TestRecommitKey4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3), b(3));
  builder.init([
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  const resp = await builder.commit(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(1, 0, 1);
  builder.assert([
    { cf: 'write', key: b(3), ts: 110n, value: writeBytes(1, builder.ts()) },
    { cf: 'default', key: b(3) },
  ]);
});

test('TestCommitConflictRollback4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3));
  builder.init([{ cf: 'write', key: b(3), ts: 110n, value: writeBytes(3, builder.ts()) }]);
  const resp = await builder.commit(cmd);
  assert.ok(resp.error);
  builder.assertLens(0, 0, 1);
  builder.assert([{ cf: 'write', key: b(3), ts: 110n }]);
});

test('TestCommitConflictRace4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), ts: 90n, value: b(110) },
    { cf: 'lock', key: b(3), value: b(1, 3, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  const resp = await builder.commit(cmd);
  assert.ok(resp.error?.retryable && resp.error.retryable.length > 0);
  builder.assertLens(1, 1, 0);
  builder.assert([
    { cf: 'lock', key: b(3) },
    { cf: 'default', key: b(3), ts: 90n },
  ]);
});

test('TestCommitConflictRepeat4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'write', key: b(3), ts: 110n, value: writeBytes(1, builder.ts()) },
  ]);
  const resp = await builder.commit(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(1, 0, 1);
  builder.assert([
    { cf: 'write', key: b(3), ts: 110n },
    { cf: 'default', key: b(3) },
  ]);
});

test('TestCommitMissingPrewrite4B', async () => {
  const builder = newBuilder();
  const cmd = builder.commitRequest(b(3));
  builder.init([
    // Some committed data; note no prewrite.
    { cf: 'default', key: b(4), ts: 80n, value: b(15) },
    { cf: 'write', key: b(4), ts: 84n, value: writeBytes(1, 80) },
    { cf: 'default', key: b(3, 0), ts: 80n, value: b(150) },
    { cf: 'write', key: b(3, 0), ts: 84n, value: writeBytes(1, 80) },
  ]);
  const resp = await builder.commit(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(2, 0, 2);
  builder.assert([
    { cf: 'default', key: b(4), ts: 80n },
    { cf: 'write', key: b(4), ts: 84n },
    { cf: 'default', key: b(3, 0), ts: 80n },
    { cf: 'write', key: b(3, 0), ts: 84n },
  ]);
});
