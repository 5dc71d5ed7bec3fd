// The key codec and the records beyond TinyKV's own tests: u64 bounds, decode errors, order,
// the reference's byte examples, and the Op mapping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareBytes, Prng } from '@tskv/util';
import {
  decodeKey,
  encodedPrefix,
  encodeKey,
  isVersionOf,
  KeyDecodeError,
  Op,
  parseLock,
  parseWrite,
  physicalTime,
  RecordError,
  serializeLock,
  serializeWrite,
  TS_MAX,
  versionsEnd,
  WriteKind,
  writeKindFromOp,
  writeKindToOp,
} from '../src/index.js';
import { b } from './helpers.js';

test('encodeKey refuses timestamps outside [0, 2^64) and non-bigints', () => {
  assert.throws(() => encodeKey(b(1), -1n), RangeError);
  assert.throws(() => encodeKey(b(1), 1n << 64n), /\[0, 2\^64\)/);
  assert.throws(() => encodeKey(b(1), 5 as unknown as bigint), TypeError);
  // The bounds themselves are fine, and round-trip exactly (no lossy number on the way).
  assert.equal(decodeKey(encodeKey(b(1), TS_MAX)).ts, TS_MAX);
  assert.equal(decodeKey(encodeKey(b(1), 0n)).ts, 0n);
  assert.equal(decodeKey(encodeKey(b(1), (1n << 53n) + 1n)).ts, (1n << 53n) + 1n);
});

test('decodeKey: round trip, and order = user key ascending then ts descending (random keys)', () => {
  const r = new Prng(7);
  const samples: { key: Uint8Array; ts: bigint; enc: Uint8Array }[] = [];
  for (let i = 0; i < 300; i++) {
    const key = r.bytes(r.pick([0, 1, 7, 8, 9, 15, 16, 17, 30]));
    if (key.length > 0 && r.chance(0.3)) key[key.length - 1] = 0; // trailing zeros vs padding
    const ts = r.chance(0.2) ? r.pick([0n, 1n, TS_MAX, TS_MAX - 1n]) : BigInt(r.int(1 << 30)) * BigInt(r.int(1 << 30) + 1);
    const enc = encodeKey(key, ts);
    const back = decodeKey(enc);
    assert.deepEqual(back.userKey, Uint8Array.from(key));
    assert.equal(back.ts, ts);
    assert.ok(isVersionOf(enc, encodedPrefix(key)));
    assert.ok(compareBytes(encodeKey(key, TS_MAX), enc) <= 0, 'EncodeKey(k, TsMax) is the first version');
    assert.ok(compareBytes(enc, versionsEnd(key)) < 0, 'every version is below versionsEnd');
    samples.push({ key, ts, enc });
  }
  for (let i = 0; i < 2000; i++) {
    const x = r.pick(samples);
    const y = r.pick(samples);
    const byKey = compareBytes(x.key, y.key);
    const expected = byKey !== 0 ? byKey : x.ts === y.ts ? 0 : x.ts > y.ts ? -1 : 1;
    assert.equal(Math.sign(compareBytes(x.enc, y.enc)), expected);
    // The next user key starts after every version of this one.
    if (byKey < 0) assert.ok(compareBytes(versionsEnd(x.key), y.enc) <= 0);
  }
});

test('decodeKey rejects truncated keys, bad markers, non-zero padding and a bad timestamp length', () => {
  const good = encodeKey(b(1, 2, 3), 5n);
  assert.throws(() => decodeKey(good.subarray(0, 8)), KeyDecodeError);
  assert.throws(() => decodeKey(good.subarray(0, good.length - 1)), /8-byte timestamp/);
  const badMarker = good.slice();
  badMarker[8] = 0xf6;
  assert.throws(() => decodeKey(badMarker), /marker/);
  const badPad = good.slice();
  badPad[6] = 1;
  assert.throws(() => decodeKey(badPad), /padding/);
  assert.throws(() => decodeKey(new Uint8Array([...good, 0])), /8-byte timestamp/);
});

test('physicalTime is the ts without its 18 logical bits', () => {
  assert.equal(physicalTime((5n << 40n) | 0xffn), 5n << 22n);
  assert.equal(physicalTime((123n << 18n) | ((1n << 18n) - 1n)), 123n);
});

test('lock bytes: the reference example, round trip, empty primary, parse errors', () => {
  const lock = { primary: b(1), kind: WriteKind.Put, ts: 100n, ttl: 1000n };
  const bytes = b(1, 1, 0, 0, 0, 0, 0, 0, 0, 0x64, 0, 0, 0, 0, 0, 0, 0x03, 0xe8);
  assert.deepEqual(serializeLock(lock), bytes);
  assert.deepEqual(parseLock(bytes), lock);
  const empty = { primary: b(), kind: WriteKind.Delete, ts: TS_MAX, ttl: 0n };
  assert.equal(serializeLock(empty).length, 17);
  assert.deepEqual(parseLock(serializeLock(empty)), empty);
  assert.throws(() => parseLock(new Uint8Array(16)), RecordError);
  assert.throws(() => parseLock(b(9, ...new Array(16).fill(0))), /unknown kind 9/);
  assert.throws(() => serializeLock({ ...lock, ttl: -1n }), RangeError);
  assert.throws(() => serializeLock({ ...lock, ts: 1n << 64n }), RangeError);
});

test('write bytes: exactly 9 bytes, known kinds only', () => {
  const w = { kind: WriteKind.Rollback, startTs: (1n << 63n) + 7n };
  assert.deepEqual(serializeWrite(w), b(3, 0x80, 0, 0, 0, 0, 0, 0, 7));
  assert.deepEqual(parseWrite(serializeWrite(w)), w);
  assert.throws(() => parseWrite(new Uint8Array(8)), /exactly 9 bytes, found 8/);
  assert.throws(() => parseWrite(new Uint8Array(10)), RecordError);
  assert.throws(() => parseWrite(b(0, 0, 0, 0, 0, 0, 0, 0, 1)), /unknown kind 0/);
});

test('Op to WriteKind: Put and Del only; Rollback, Lock and unknown ops are refused with an error', () => {
  assert.equal(writeKindFromOp(Op.Put), WriteKind.Put);
  assert.equal(writeKindFromOp(Op.Del), WriteKind.Delete);
  assert.throws(() => writeKindFromOp(Op.Rollback), RecordError);
  assert.throws(() => writeKindFromOp(Op.Lock), /Lock is not supported/);
  assert.throws(() => writeKindFromOp(9), /unknown op 9/);
  assert.equal(writeKindToOp(WriteKind.Put), Op.Put);
  assert.equal(writeKindToOp(WriteKind.Delete), Op.Del);
  assert.equal(writeKindToOp(WriteKind.Rollback), Op.Rollback);
});
