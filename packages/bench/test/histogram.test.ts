import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketOf, bucketRange, Histogram } from '../src/histogram.js';

test('buckets: exact below 256, contiguous and at most 1/128 wide above', () => {
  for (let v = 0; v < 256; v++) assert.deepEqual(bucketRange(bucketOf(v)), [v, v + 1]);
  let prevHi = 256;
  for (let i = bucketOf(256); i <= bucketOf(0xffff_ffff); i++) {
    const [lo, hi] = bucketRange(i);
    assert.equal(lo, prevHi, `bucket ${i} starts where the previous ended`);
    assert.ok((hi - lo) / lo <= 1 / 128 + 1e-12);
    assert.equal(bucketOf(lo), i);
    assert.equal(bucketOf(hi - 1), i);
    prevHi = hi;
  }
  assert.equal(prevHi, 2 ** 32);
});

test('percentiles of a uniform distribution are within the bucket precision', () => {
  const h = new Histogram();
  for (let v = 1; v <= 100_000; v++) h.record(v);
  assert.equal(h.count, 100_000);
  for (const [q, exact] of [
    [50, 50_000],
    [99, 99_000],
    [99.9, 99_900],
  ] as const) {
    const p = h.percentile(q);
    assert.ok(Math.abs(p - exact) / exact < 0.005, `p${q} = ${p}, expected ~${exact}`);
  }
  assert.equal(h.percentile(100), 100_000);
  assert.equal(h.min, 1);
  assert.equal(h.max, 100_000);
  assert.ok(Math.abs(h.mean() - 50_000.5) < 1e-6);
});

test('small exact values, nearest rank, clamping to min and max', () => {
  const h = new Histogram();
  for (const v of [10, 20, 30, 40]) h.record(v);
  assert.equal(h.percentile(25), 10);
  assert.equal(h.percentile(50), 20);
  assert.equal(h.percentile(50.1), 30);
  assert.equal(h.percentile(100), 40);
  const one = new Histogram();
  one.record(123_456);
  assert.equal(one.percentile(50), 123_456, 'a single sample is its own percentile (clamped)');
  assert.ok(Number.isNaN(new Histogram().percentile(50)));
});

test('a skewed distribution: p99 and p999 land in the tail', () => {
  const h = new Histogram();
  for (let i = 0; i < 9_900; i++) h.record(1_000); // 1 ms
  for (let i = 0; i < 90; i++) h.record(50_000); // 50 ms
  for (let i = 0; i < 10; i++) h.record(900_000); // 900 ms
  const s = h.summary();
  assert.ok(Math.abs(s.p50 - 1) < 0.01);
  assert.ok(Math.abs(s.p99 - 1) < 0.01, `p99 ${s.p99}`); // rank 9,900 is the last 1 ms sample
  assert.ok(Math.abs(s.p999 - 50) / 50 < 0.005, `p999 ${s.p999}`);
  assert.equal(s.max, 900);
});

test('merge adds counts; negative and fractional values are handled', () => {
  const a = new Histogram();
  const b = new Histogram();
  a.record(-5);
  a.record(1.6);
  b.record(1_000_000);
  a.merge(b);
  assert.equal(a.count, 3);
  assert.equal(a.min, 0);
  assert.equal(a.max, 1_000_000);
  assert.equal(a.percentile(34), 2);
  a.reset();
  assert.equal(a.count, 0);
});
