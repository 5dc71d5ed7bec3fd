// TinyKV's kv/transaction/commands4c_test.go, under the same names: KvBatchRollback,
// KvCheckTxnStatus, KvResolveLock, KvScan.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Action, type KvPair } from '../src/index.js';
import { b, be64, type KV, newBuilder, resolveRequest, type TestBuilder, writeBytes } from './helpers.js';

/** A 17-byte lock: empty primary, kind `kind`, start ts from its last byte values, ttl 0. */
function lockBytes(kind: number, ...ts: number[]): Uint8Array {
  return b(kind, ...Array(8 - ts.length).fill(0), ...ts, 0, 0, 0, 0, 0, 0, 0, 0);
}

test('TestEmptyRollback4C', async () => {
  const builder = newBuilder();
  const resp = await builder.rollback(builder.rollbackRequest());
  assert.equal(resp.error, undefined);
  builder.assertLens(0, 0, 0);
});

test('TestRollback4C', async () => {
  const builder = newBuilder();
  const cmd = builder.rollbackRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  const resp = await builder.rollback(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(0, 0, 1);
  builder.assert([{ cf: 'write', key: b(3), value: writeBytes(3, builder.ts()) }]);
});

test('TestRollbackDuplicateKeys4C', async () => {
  const builder = newBuilder();
  const cmd = builder.rollbackRequest(b(3), b(15), b(3));
  builder.init([
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
    { cf: 'default', key: b(15), value: b(0) },
    { cf: 'lock', key: b(15), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  const resp = await builder.rollback(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(0, 0, 2);
  builder.assert([
    { cf: 'write', key: b(3), value: writeBytes(3, builder.ts()) },
    { cf: 'write', key: b(15), value: writeBytes(3, builder.ts()) },
  ]);
});

test('TestRollbackMissingPrewrite4C', async () => {
  const builder = newBuilder();
  const resp = await builder.rollback(builder.rollbackRequest(b(3)));
  assert.equal(resp.error, undefined);
  builder.assertLens(0, 0, 1);
  builder.assert([{ cf: 'write', key: b(3), value: writeBytes(3, builder.ts()) }]);
});

test('TestRollbackCommitted4C', async () => {
  const builder = newBuilder();
  const cmd = builder.rollbackRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), value: b(42) },
    { cf: 'write', key: b(3), ts: 110n, value: writeBytes(1, builder.ts()) },
  ]);
  const resp = await builder.rollback(cmd);
  assert.ok(resp.error?.abort);
  builder.assertLens(1, 0, 1);
  builder.assert([
    { cf: 'default', key: b(3) },
    { cf: 'write', key: b(3), ts: 110n },
  ]);
});

test('TestRollbackDuplicate4C', async () => {
  const builder = newBuilder();
  const cmd = builder.rollbackRequest(b(3));
  builder.init([{ cf: 'write', key: b(3), ts: 100n, value: writeBytes(3, builder.ts()) }]);
  const resp = await builder.rollback(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(0, 0, 1);
  builder.assert([{ cf: 'write', key: b(3), ts: 100n }]);
});

test('TestRollbackOtherTxn4C', async () => {
  const builder = newBuilder();
  const cmd = builder.rollbackRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), ts: 80n, value: b(42) },
    { cf: 'lock', key: b(3), value: b(1, 1, 0, 0, 0, 0, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0) },
  ]);
  const resp = await builder.rollback(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(1, 1, 1);
  builder.assert([
    { cf: 'default', key: b(3), ts: 80n },
    { cf: 'lock', key: b(3) },
    { cf: 'write', key: b(3), ts: 100n, value: writeBytes(3, builder.ts()) },
  ]);
});

test('TestCheckTxnStatusTtlExpired4C', async () => {
  const builder = newBuilder();
  const cmd = builder.checkTxnStatusRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), ts: cmd.lockTs, value: b(42) },
    { cf: 'lock', key: b(3), value: b(3, 1, 0, 0, 5, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 8) },
  ]);
  const resp = await builder.checkTxnStatus(cmd);
  assert.equal(resp.action, Action.TTLExpireRollback);
  builder.assertLens(0, 0, 1);
  builder.assert([{ cf: 'write', key: b(3), ts: cmd.lockTs, value: b(3, 0, 0, 5, 0, 0, 0, 0, builder.ts()) }]);
});

test('TestCheckTxnStatusTtlNotExpired4C', async () => {
  const builder = newBuilder();
  const cmd = builder.checkTxnStatusRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), ts: cmd.lockTs, value: b(42) },
    { cf: 'lock', key: b(3), value: b(3, 1, 0, 0, 5, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 1, 0, 0, 0, 8) },
  ]);
  const resp = await builder.checkTxnStatus(cmd);
  assert.equal(resp.action, Action.NoAction);
  builder.assertLens(1, 1, 0);
  builder.assert([
    { cf: 'default', key: b(3), ts: cmd.lockTs },
    { cf: 'lock', key: b(3) },
  ]);
});

test('TestCheckTxnStatusRolledBack4C', async () => {
  const builder = newBuilder();
  const cmd = builder.checkTxnStatusRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), ts: cmd.lockTs, value: b(42) },
    { cf: 'write', key: b(3), ts: cmd.lockTs, value: b(3, 0, 0, 5, 0, 0, 0, 0, builder.ts()) },
    { cf: 'lock', key: b(3), value: b(3, 1, 0, 0, 8, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 8) },
  ]);
  const resp = await builder.checkTxnStatus(cmd);
  assert.equal(resp.action, Action.NoAction);
  assert.equal(resp.commitVersion, 0n);
  builder.assertLens(1, 1, 1);
  builder.assert([
    { cf: 'default', key: b(3), ts: cmd.lockTs },
    { cf: 'write', key: b(3), ts: cmd.lockTs },
    { cf: 'lock', key: b(3) },
  ]);
});

test('TestCheckTxnStatusCommitted4C', async () => {
  const builder = newBuilder();
  const cmd = builder.checkTxnStatusRequest(b(3));
  builder.init([
    { cf: 'default', key: b(3), ts: cmd.lockTs, value: b(42) },
    { cf: 'write', key: b(3), ts: cmd.lockTs, value: b(1, 0, 0, 5, 0, 0, 0, 0, builder.ts()) },
  ]);
  const resp = await builder.checkTxnStatus(cmd);
  assert.equal(resp.action, Action.NoAction);
  assert.equal(resp.commitVersion, be64([0, 0, 5, 0, 0, 0, 0, builder.ts()]));
  builder.assertLens(1, 0, 1);
  builder.assert([
    { cf: 'default', key: b(3), ts: cmd.lockTs },
    { cf: 'write', key: b(3), ts: cmd.lockTs },
  ]);
});

test('TestCheckTxnStatusNoLockNoWrite4C', async () => {
  const builder = newBuilder();
  const cmd = builder.checkTxnStatusRequest(b(3));
  const resp = await builder.checkTxnStatus(cmd);
  assert.equal(resp.action, Action.LockNotExistRollback);
  builder.assertLens(0, 0, 1);
  builder.assert([{ cf: 'write', key: b(3), ts: cmd.lockTs, value: b(3, 0, 0, 5, 0, 0, 0, 0, builder.ts()) }]);
});

test('TestEmptyResolve4C', async () => {
  const builder = newBuilder();
  const resp = await builder.resolve(resolveRequest(0n, 0n));
  assert.equal(resp.error, undefined);
  builder.assertLens(0, 0, 0);
});

/** D and 17-byte Put locks for [3], [7] at 100; D(200, 110) and a lock on [200] at 110. */
const RESOLVE_FIXTURE: KV[] = [
  { cf: 'default', key: b(3), ts: 100n, value: b(42) },
  { cf: 'lock', key: b(3), value: lockBytes(1, 100) },
  { cf: 'default', key: b(7), ts: 100n, value: b(43) },
  { cf: 'lock', key: b(7), value: lockBytes(1, 100) },
  { cf: 'default', key: b(200), ts: 110n, value: b(44) },
  { cf: 'lock', key: b(200), value: lockBytes(1, 110) },
];

test('TestResolveCommit4C', async () => {
  const builder = newBuilder();
  const cmd = resolveRequest(100n, 120n);
  builder.init(RESOLVE_FIXTURE);
  const resp = await builder.resolve(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(3, 1, 2);
  builder.assert([
    { cf: 'default', key: b(3), ts: 100n },
    { cf: 'write', key: b(3), ts: 120n, value: writeBytes(1, 100) },
    { cf: 'default', key: b(7), ts: 100n },
    { cf: 'write', key: b(7), ts: 120n, value: writeBytes(1, 100) },
    { cf: 'default', key: b(200), ts: 110n },
    { cf: 'lock', key: b(200) },
  ]);
});

test('TestResolveRollback4C', async () => {
  const builder = newBuilder();
  const cmd = resolveRequest(100n, 0n);
  builder.init(RESOLVE_FIXTURE);
  const resp = await builder.resolve(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(1, 1, 2);
  builder.assert([
    { cf: 'write', key: b(3), ts: 100n, value: writeBytes(3, 100) },
    { cf: 'write', key: b(7), ts: 100n, value: writeBytes(3, 100) },
    { cf: 'default', key: b(200), ts: 110n },
    { cf: 'lock', key: b(200) },
  ]);
});

/** No locks at 100: [3], [7] have values at 100 and [201] is committed and rolled back; a lock on [200] at 110. */
const RESOLVE_WRITTEN_FIXTURE: KV[] = [
  { cf: 'default', key: b(3), ts: 100n, value: b(42) },
  { cf: 'write', key: b(201), ts: 120n, value: writeBytes(1, 100) },
  { cf: 'default', key: b(7), ts: 100n, value: b(43) },
  { cf: 'write', key: b(201), ts: 100n, value: writeBytes(3, 100) },
  { cf: 'default', key: b(200), ts: 110n, value: b(44) },
  { cf: 'lock', key: b(200), value: lockBytes(1, 110) },
];

const RESOLVE_WRITTEN_UNTOUCHED: KV[] = [
  { cf: 'default', key: b(3), ts: 100n },
  { cf: 'write', key: b(201), ts: 120n },
  { cf: 'default', key: b(7), ts: 100n },
  { cf: 'write', key: b(201), ts: 100n },
  { cf: 'default', key: b(200), ts: 110n },
  { cf: 'lock', key: b(200) },
];

test('TestResolveCommitWritten4C', async () => {
  const builder = newBuilder();
  const cmd = resolveRequest(100n, 120n);
  builder.init(RESOLVE_WRITTEN_FIXTURE);
  const resp = await builder.resolve(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(3, 1, 2);
  builder.assert(RESOLVE_WRITTEN_UNTOUCHED);
});

test('TestResolveRollbackWritten4C', async () => {
  const builder = newBuilder();
  const cmd = resolveRequest(100n, 0n);
  builder.init(RESOLVE_WRITTEN_FIXTURE);
  const resp = await builder.resolve(cmd);
  assert.equal(resp.error, undefined);
  builder.assertLens(3, 1, 2);
  builder.assert(RESOLVE_WRITTEN_UNTOUCHED);
});

/** A committed Put of `value` on `key`: start `start`, commit `commit`. */
function committed(key: Uint8Array, start: number, commit: number, value: number): KV[] {
  return [
    { cf: 'default', key, ts: BigInt(start), value: b(value) },
    { cf: 'write', key, ts: BigInt(commit), value: writeBytes(1, start) },
  ];
}

function builderForScan(): TestBuilder {
  const builder = newBuilder();
  builder.init([
    // Committed before 100.
    ...committed(b(1), 80, 99, 50),
    ...committed(b(1, 23), 80, 99, 55),
    ...committed(b(3), 80, 99, 51),
    ...committed(b(3, 45), 80, 99, 56),
    ...committed(b(3, 46), 80, 99, 57),
    ...committed(b(3, 47), 80, 99, 58),
    ...committed(b(3, 48), 80, 99, 59),
    ...committed(b(4), 80, 99, 52),
    ...committed(b(120), 80, 99, 53),
    ...committed(b(199), 80, 99, 54),
    // Committed after 100.
    ...committed(b(4, 45), 110, 116, 58),
    ...committed(b(4, 46), 110, 116, 57),
    ...committed(b(4, 47), 110, 116, 58),
    ...committed(b(4, 48), 110, 116, 59),
    // Committed after 100, but started before.
    ...committed(b(5, 45), 97, 101, 60),
    ...committed(b(5, 46), 97, 101, 61),
    ...committed(b(5, 47), 97, 101, 62),
    ...committed(b(5, 48), 97, 101, 63),
    // A deleted value and replaced value.
    ...committed(b(150), 80, 99, 42),
    { cf: 'write', key: b(150), ts: 101n, value: writeBytes(2, 97) },
    ...committed(b(150), 110, 116, 64),
  ]);
  return builder;
}

function keyOf(p: KvPair | undefined): Uint8Array | undefined {
  return p?.key;
}

test('TestScanEmpty4C', async () => {
  const builder = builderForScan();
  const resp = await builder.scan(builder.scanRequest(b(200), 10000));
  assert.deepEqual(resp.pairs, []);
});

test('TestScanLimitZero4C', async () => {
  const builder = builderForScan();
  const resp = await builder.scan(builder.scanRequest(b(3), 0));
  assert.deepEqual(resp.pairs, []);
});

test('TestScanAll4C', async () => {
  const builder = builderForScan();
  const resp = await builder.scan(builder.scanRequest(b(0), 10000));
  assert.equal(resp.pairs.length, 11);
  assert.deepEqual(keyOf(resp.pairs[0]), b(1));
  assert.deepEqual(resp.pairs[0]!.value, b(50));
  assert.deepEqual(keyOf(resp.pairs[10]), b(199));
  assert.deepEqual(resp.pairs[10]!.value, b(54));
});

test('TestScanLimit4C', async () => {
  const builder = builderForScan();
  const resp = await builder.scan(builder.scanRequest(b(2), 6));
  assert.equal(resp.pairs.length, 6);
  assert.deepEqual(keyOf(resp.pairs[0]), b(3));
  assert.deepEqual(resp.pairs[0]!.value, b(51));
  assert.deepEqual(keyOf(resp.pairs[5]), b(4));
  assert.deepEqual(resp.pairs[5]!.value, b(52));
});

test('TestScanDeleted4C', async () => {
  const builder = builderForScan();
  const req1 = builder.scanRequest(b(100), 10000);
  req1.version = 100n;
  const req2 = builder.scanRequest(b(100), 10000);
  req2.version = 105n;
  const req3 = builder.scanRequest(b(100), 10000);
  req3.version = 120n;

  const resp1 = await builder.scan(req1);
  assert.equal(resp1.pairs.length, 3);
  assert.deepEqual(keyOf(resp1.pairs[1]), b(150));
  assert.deepEqual(resp1.pairs[1]!.value, b(42));

  const resp2 = await builder.scan(req2);
  assert.equal(resp2.pairs.length, 2);
  assert.deepEqual(keyOf(resp2.pairs[0]), b(120));
  assert.deepEqual(keyOf(resp2.pairs[1]), b(199));

  const resp3 = await builder.scan(req3);
  assert.equal(resp3.pairs.length, 3);
  assert.deepEqual(keyOf(resp3.pairs[1]), b(150));
  assert.deepEqual(resp3.pairs[1]!.value, b(64));
});
