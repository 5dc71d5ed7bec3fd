import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesEqual, compareBytes, Prng } from '../src/index.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

test('compareBytes: lexicographic, a prefix first, -1/0/1 like Buffer.compare', () => {
  assert.equal(compareBytes(b(1, 2), b(1, 3)), -1);
  assert.equal(compareBytes(b(1, 3), b(1, 2)), 1);
  assert.equal(compareBytes(b(1), b(1, 0)), -1);
  assert.equal(compareBytes(b(), b()), 0);
  assert.equal(compareBytes(b(0xff), b(0, 0)), 1);
});

test('compareBytes agrees with Buffer.compare on short and long keys', () => {
  const r = new Prng(1);
  for (let i = 0; i < 2000; i++) {
    const len = r.pick([0, 1, 3, 64, 65, 200]);
    const x = r.bytes(len);
    const y = Buffer.from(x);
    // Change one byte (or the length) sometimes, so equal prefixes of every length come up.
    if (len > 0 && r.chance(0.7)) y[r.int(len)] = r.int(256);
    const z = r.chance(0.2) ? y.subarray(0, r.int(len + 1)) : y;
    assert.equal(compareBytes(x, z), Buffer.compare(x, z));
    assert.equal(bytesEqual(x, z), Buffer.compare(x, z) === 0);
  }
});
