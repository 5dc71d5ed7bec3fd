import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveSeed, envSeed, mulberry32, Prng, splitmix32 } from '../src/index.js';

test('Prng replays the mulberry32 sequence printed seeds were recorded with', () => {
  const p = new Prng(42);
  assert.deepEqual(
    [p.next(), p.next(), p.int(100), p.range(1, 6), p.pick(['a', 'b', 'c'])],
    [0.6011037519201636, 0.44829055899754167, 85, 5, 'a'],
  );
  const q = new Prng(0);
  for (let i = 0; i < 5; i++) q.next();
  assert.equal(q.int(1000), 545);
  assert.equal(q.range(3, 9), 7);
  assert.deepEqual(q.shuffle([1, 2, 3, 4, 5]), [3, 1, 5, 2, 4]);
  assert.equal(q.fork().next(), 0.6790305415634066);
  const m = mulberry32(42);
  assert.equal(m(), 0.6011037519201636);
});

test('int(n) is int(0, n); range is inclusive; chance(0) draws nothing', () => {
  const a = new Prng(7);
  const b = new Prng(7);
  for (let i = 0; i < 100; i++) assert.equal(a.int(10), b.int(0, 10));
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) seen.add(a.range(1, 3));
  assert.deepEqual([...seen].sort(), [1, 2, 3]);
  const c = new Prng(9);
  const d = new Prng(9);
  assert.equal(c.chance(0), false);
  assert.equal(c.next(), d.next());
  assert.throws(() => c.pick([]), RangeError);
});

test('weighted picks by weight; bytes has the asked length; fork streams differ', () => {
  const p = new Prng(3);
  const n = [0, 0, 0];
  for (let i = 0; i < 3000; i++) n[p.weighted([1, 0, 2])]!++;
  assert.equal(n[1], 0);
  assert.ok(n[2]! > n[0]!);
  assert.equal(p.bytes(17).length, 17);
  const f = p.fork();
  assert.notEqual(f.next(), p.next());
});

test('splitmix32 gives uint32 words; deriveSeed separates labels', () => {
  const s = splitmix32(1);
  for (let i = 0; i < 100; i++) {
    const w = s();
    assert.ok(Number.isInteger(w) && w >= 0 && w < 2 ** 32);
  }
  assert.notEqual(deriveSeed(1, 1), deriveSeed(1, 2));
  assert.equal(deriveSeed(5, 3, 4), deriveSeed(5, 3, 4));
});

test('envSeed reads an integer seed from the environment, else makes one', () => {
  process.env.TSKV_UTIL_TEST_SEED = '123';
  assert.equal(envSeed('TSKV_UTIL_TEST_SEED'), 123);
  process.env.TSKV_UTIL_TEST_SEED = 'x';
  assert.throws(() => envSeed('TSKV_UTIL_TEST_SEED'), /TSKV_UTIL_TEST_SEED/);
  delete process.env.TSKV_UTIL_TEST_SEED;
  const s = envSeed('TSKV_UTIL_TEST_SEED');
  assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
});
