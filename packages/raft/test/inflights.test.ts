import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Inflights } from '../src/tracker/inflights.js';

function filled(cap: number, from: number, to: number): Inflights {
  const ins = new Inflights(cap);
  for (let i = from; i < to; i++) ins.add(i);
  return ins;
}

test('add until full, then add throws', () => {
  const ins = new Inflights(10);
  assert.equal(ins.cap, 10);
  for (let i = 0; i < 10; i++) {
    assert.equal(ins.full(), false, `full after ${i} adds`);
    ins.add(i);
    assert.equal(ins.count, i + 1);
  }
  assert.equal(ins.full(), true);
  assert.throws(() => ins.add(10), /full/);
  assert.deepEqual(ins.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('freeTo frees a prefix, including across the wraparound', () => {
  const ins = filled(10, 0, 10);
  ins.freeTo(4);
  assert.equal(ins.count, 5);
  assert.deepEqual(ins.toArray(), [5, 6, 7, 8, 9]);
  ins.freeTo(8);
  assert.deepEqual(ins.toArray(), [9]);
  // These adds wrap around to the start of the ring.
  for (let i = 10; i < 15; i++) ins.add(i);
  assert.deepEqual(ins.toArray(), [9, 10, 11, 12, 13, 14]);
  ins.freeTo(12);
  assert.deepEqual(ins.toArray(), [13, 14]);
  ins.freeTo(14);
  assert.equal(ins.count, 0);
  assert.deepEqual(ins.toArray(), []);
  // Fill completely again after wrapping.
  for (let i = 15; i < 25; i++) ins.add(i);
  assert.equal(ins.full(), true);
  assert.deepEqual(ins.toArray(), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
});

test('freeTo below the window or on empty is a no-op; above the window frees all', () => {
  const ins = filled(4, 5, 8);
  ins.freeTo(4);
  assert.deepEqual(ins.toArray(), [5, 6, 7]);
  ins.freeTo(100);
  assert.equal(ins.count, 0);
  ins.freeTo(100);
  assert.equal(ins.count, 0);
});

test('freeTo with a partially grown buffer that wrapped its start', () => {
  // Buffer grows lazily; free everything before it is full, then keep adding past cap.
  const ins = filled(5, 1, 4); // [1 2 3], buffer length 3
  ins.freeTo(2); // [3]
  for (let i = 4; i < 8; i++) ins.add(i); // [3 4 5 6 7] -> full, wraps
  assert.equal(ins.full(), true);
  assert.deepEqual(ins.toArray(), [3, 4, 5, 6, 7]);
  ins.freeTo(5);
  ins.add(8);
  ins.add(9);
  assert.deepEqual(ins.toArray(), [6, 7, 8, 9]);
});

test('freeFirstOne', () => {
  const ins = filled(10, 0, 10);
  ins.freeFirstOne();
  assert.equal(ins.count, 9);
  assert.equal(ins.full(), false);
  assert.deepEqual(ins.toArray().slice(0, 2), [1, 2]);
  const empty = new Inflights(3);
  empty.freeFirstOne();
  assert.equal(empty.count, 0);
});

test('reset empties; clone is independent', () => {
  const ins = filled(3, 1, 4);
  const c = ins.clone();
  ins.reset();
  assert.equal(ins.count, 0);
  assert.equal(ins.full(), false);
  assert.deepEqual(c.toArray(), [1, 2, 3]);
  assert.equal(c.full(), true);
  c.freeTo(1);
  c.add(4);
  assert.deepEqual(c.toArray(), [2, 3, 4]);
  ins.add(10);
  assert.deepEqual(ins.toArray(), [10]);
  assert.deepEqual(c.toArray(), [2, 3, 4]);
});

test('zero capacity is always full', () => {
  const ins = new Inflights(0);
  assert.equal(ins.full(), true);
  assert.throws(() => ins.add(1));
});

test('matches a reference queue under random operations', () => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 1e9);
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const ins = new Inflights(7);
  const ref: number[] = [];
  let next = 1;
  for (let step = 0; step < 5000; step++) {
    const r = rnd();
    if (r < 0.55) {
      if (ref.length < 7) {
        ins.add(next);
        ref.push(next);
      } else assert.throws(() => ins.add(next));
      next += 1 + Math.floor(rnd() * 3);
    } else if (r < 0.9) {
      const to = next - Math.floor(rnd() * 10);
      ins.freeTo(to);
      while (ref.length > 0 && ref[0]! <= to) ref.shift();
    } else if (r < 0.97) {
      ins.freeFirstOne();
      ref.shift();
    } else {
      ins.reset();
      ref.length = 0;
    }
    assert.deepEqual(ins.toArray(), ref, `seed=${seed} step=${step}`);
    assert.equal(ins.full(), ref.length === 7, `seed=${seed} step=${step}`);
  }
});
