import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameEnd } from '../src/index.js';

const id = (n: number): number => n;

test('frameEnd: items while they fit, at least one', () => {
  assert.equal(frameEnd([3, 3, 3], 0, id, 6), 2);
  assert.equal(frameEnd([3, 3, 3], 2, id, 6), 3);
  assert.equal(frameEnd([10, 1], 0, id, 6), 1);
  assert.equal(frameEnd([1, 10], 0, id, 6), 1);
  assert.equal(frameEnd([], 0, id, 6), 0);
  assert.equal(frameEnd([1, 2, 3], 0, id, 100), 3);
});

test('frameEnd: joins(first, item) ends a frame too', () => {
  const xs = [2, 4, 6, 7, 9];
  const sameParity = (a: number, b: number): boolean => a % 2 === b % 2;
  assert.equal(
    frameEnd(xs, 0, () => 1, 100, sameParity),
    3,
  );
  assert.equal(
    frameEnd(xs, 3, () => 1, 100, sameParity),
    5,
  );
  assert.equal(
    frameEnd(xs, 3, () => 1, 1, sameParity),
    4,
  );
});
