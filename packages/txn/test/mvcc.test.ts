// TinyKV's kv/transaction/mvcc/transaction_test.go (4A), under the same names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareBytes } from '@tskv/util';
import {
  decodeUserKey,
  encodeKey,
  type Lock,
  MemStorage,
  type Modify,
  MvccTxn,
  notU64,
  serializeLock,
  serializeWrite,
  type Write,
  WriteKind,
} from '../src/index.js';
import { b } from './helpers.js';

const FF8 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const Z = (n: number): number[] => Array(n).fill(0);

/** A txn over a fresh MemStorage that `setup` fills first. */
function testTxn(startTs: bigint, setup?: (m: MemStorage) => void): MvccTxn {
  const mem = new MemStorage();
  setup?.(mem);
  return new MvccTxn(mem.reader(), startTs);
}

function assertOnlyModify(txn: MvccTxn, expected: Modify): void {
  assert.equal(txn.writes.length, 1);
  assert.deepEqual(txn.writes[0], expected);
}

test('TestEncodeKey', () => {
  assert.deepEqual(encodeKey(b(), 0n), b(...Z(8), 247, ...FF8));
  assert.deepEqual(encodeKey(b(42), 0n), b(42, ...Z(7), 248, ...FF8));
  assert.deepEqual(encodeKey(b(42, 0, 5), 0n), b(42, 0, 5, ...Z(5), 250, ...FF8));
  assert.deepEqual(encodeKey(b(42), notU64(43543258743295n)), b(42, ...Z(7), 248, 0, 0, 39, 154, 52, 120, 65, 255));
  assert.deepEqual(encodeKey(b(42, 0, 5), notU64(98753868n)), b(42, 0, 5, ...Z(5), 250, 0, 0, 0, 0, 5, 226, 221, 76));

  // Encoded keys sort by user key ascending, then by ts descending.
  assert.ok(compareBytes(encodeKey(b(42), 238n), encodeKey(b(200), 0n)) < 0);
  assert.ok(compareBytes(encodeKey(b(42), 238n), encodeKey(b(42, 0), 0n)) < 0);
  // The reference's group examples.
  assert.deepEqual(encodeKey(b(1, 2, 3), 0n).subarray(0, 9), b(1, 2, 3, ...Z(5), 0xfa));
  assert.deepEqual(encodeKey(b(1, 2, 3, 4, 5, 6, 7, 8), 0n).subarray(0, 18), b(1, 2, 3, 4, 5, 6, 7, 8, 0xff, ...Z(8), 0xf7));
});

test('TestDecodeKey', () => {
  assert.deepEqual(decodeUserKey(encodeKey(b(), 0n)), b());
  assert.deepEqual(decodeUserKey(encodeKey(b(42), 0n)), b(42));
  assert.deepEqual(decodeUserKey(encodeKey(b(42, 0, 5), 0n)), b(42, 0, 5));
  assert.deepEqual(decodeUserKey(encodeKey(b(42), 2342342355436234n)), b(42));
  assert.deepEqual(decodeUserKey(encodeKey(b(42, 0, 5), 234234n)), b(42, 0, 5));
});

test('TestPutLock4A', () => {
  const txn = testTxn(42n);
  const lock: Lock = { primary: b(16), ts: 100n, ttl: 100000n, kind: WriteKind.Rollback };
  txn.putLock(b(1), lock);
  assertOnlyModify(txn, { type: 'put', cf: 'lock', key: b(1), value: serializeLock(lock) });
});

test('TestPutWrite4A', () => {
  const txn = testTxn(0n);
  const write: Write = { startTs: 100n, kind: WriteKind.Delete };
  txn.putWrite(b(16, 240), 0n, write);
  assertOnlyModify(txn, { type: 'put', cf: 'write', key: encodeKey(b(16, 240), 0n), value: serializeWrite(write) });
});

test('TestPutValue4A', () => {
  const txn = testTxn(453325345n);
  const value = b(1, 1, 2, 3, 5, 8, 13);
  txn.putValue(b(32), value);
  assertOnlyModify(txn, { type: 'put', cf: 'default', key: encodeKey(b(32), 453325345n), value });
});

test('TestGetLock4A', async () => {
  const lock: Lock = { primary: b(16), ts: 100n, ttl: 100000n, kind: WriteKind.Rollback };
  const txn = testTxn(42n, (m) => m.set('lock', b(1), serializeLock(lock)));
  assert.deepEqual(await txn.getLock(b(1)), lock);
  assert.equal(await txn.getLock(b(2)), null);
});

test('TestDeleteLock4A', () => {
  const txn = testTxn(42n);
  txn.deleteLock(b(1));
  assertOnlyModify(txn, { type: 'delete', cf: 'lock', key: b(1) });
});

test('TestDeleteValue4A', () => {
  const txn = testTxn(63454245n);
  txn.deleteValue(b(17, 255, 0));
  assertOnlyModify(txn, { type: 'delete', cf: 'default', key: encodeKey(b(17, 255, 0), 63454245n) });
});

function singleEntry(m: MemStorage): void {
  m.set('default', encodeKey(b(16, 240), 40n), b(1, 2, 3));
  m.set('write', encodeKey(b(16, 240), 42n), serializeWrite({ startTs: 40n, kind: WriteKind.Put }));
}

function twoEntries(m: MemStorage): void {
  singleEntry(m);
  m.set('default', encodeKey(b(16, 240), 50n), b(255, 0, 255));
  m.set('write', encodeKey(b(16, 240), 52n), serializeWrite({ startTs: 50n, kind: WriteKind.Put }));
}

function deleted(m: MemStorage): void {
  singleEntry(m);
  m.set('write', encodeKey(b(16, 240), 52n), serializeWrite({ startTs: 50n, kind: WriteKind.Delete }));
}

test('TestGetValueSimple4A', async () => {
  assert.deepEqual(await testTxn(43n, singleEntry).getValue(b(16, 240)), b(1, 2, 3));
});

test('TestGetValueMissing4A', async () => {
  assert.equal(await testTxn(43n, singleEntry).getValue(b(16, 241)), null);
});

test('TestGetValueTooEarly4A', async () => {
  assert.equal(await testTxn(41n, singleEntry).getValue(b(16, 240)), null);
});

test('TestGetValueOverwritten4A', async () => {
  assert.deepEqual(await testTxn(52n, twoEntries).getValue(b(16, 240)), b(255, 0, 255));
});

test('TestGetValueNotOverwritten4A', async () => {
  assert.deepEqual(await testTxn(50n, twoEntries).getValue(b(16, 240)), b(1, 2, 3));
});

test('TestGetValueDeleted4A', async () => {
  assert.equal(await testTxn(500n, deleted).getValue(b(16, 240)), null);
});

test('TestGetValueNotDeleted4A', async () => {
  assert.deepEqual(await testTxn(45n, deleted).getValue(b(16, 240)), b(1, 2, 3));
});

test('TestCurrentWrite4A', async () => {
  const txn = testTxn(50n, twoEntries);
  assert.deepEqual(await txn.currentWrite(b(16, 240)), { write: { startTs: 50n, kind: WriteKind.Put }, commitTs: 52n });

  txn.startTs = 40n;
  assert.deepEqual(await txn.currentWrite(b(16, 240)), { write: { startTs: 40n, kind: WriteKind.Put }, commitTs: 42n });

  txn.startTs = 41n;
  assert.equal(await txn.currentWrite(b(16, 240)), null);
});

test('TestMostRecentWrite4A', async () => {
  // Empty DB.
  let txn = testTxn(50n);
  assert.equal(await txn.mostRecentWrite(b(16, 240)), null);

  // Simple case: the key exists.
  txn = testTxn(50n, twoEntries);
  assert.deepEqual(await txn.mostRecentWrite(b(16, 240)), { write: { startTs: 50n, kind: WriteKind.Put }, commitTs: 52n });
  // No entry for other keys.
  assert.equal(await txn.mostRecentWrite(b(16)), null);

  // Deleted key.
  txn = testTxn(50n, deleted);
  assert.deepEqual(await txn.mostRecentWrite(b(16, 240)), { write: { startTs: 50n, kind: WriteKind.Delete }, commitTs: 52n });

  // The result does not depend on the txn's ts.
  txn = testTxn(5000n, twoEntries);
  assert.deepEqual(await txn.mostRecentWrite(b(16, 240)), { write: { startTs: 50n, kind: WriteKind.Put }, commitTs: 52n });
  txn = testTxn(1n, twoEntries);
  assert.deepEqual(await txn.mostRecentWrite(b(16, 240)), { write: { startTs: 50n, kind: WriteKind.Put }, commitTs: 52n });
});
