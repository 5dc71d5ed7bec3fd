import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Latches } from '../src/index.js';
import { b } from './helpers.js';

// TinyKV's kv/transaction/latches/latches_test.go.
test('TestAcquireLatches', () => {
  const l = new Latches();

  // Acquiring a new latch is ok.
  assert.equal(l.tryAcquire([b(), b(3), b(3, 0, 42)]), undefined);

  // Can only acquire once.
  assert.ok(l.tryAcquire([b()]));
  assert.ok(l.tryAcquire([b(3, 0, 42)]));

  // Release then acquire is ok; only the named keys are freed.
  l.release([b(3), b(3, 0, 43)]);
  assert.equal(l.tryAcquire([b(3)]), undefined);
  assert.ok(l.tryAcquire([b(3, 0, 42)]));
});

test('latches: a waiter gets its keys when the holder releases, and takes all of them at once', async () => {
  const l = new Latches();
  await l.acquire([b(1), b(2)]);
  const order: string[] = [];
  const waiter = l.acquire([b(2), b(3)]).then(() => order.push('waiter'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'the waiter must wait while [2] is held');
  // All or nothing: the waiter took nothing, so [3] is still free.
  assert.equal(l.isHeld(b(3)), false);
  l.release([b(1), b(2)]);
  await waiter;
  assert.deepEqual(order, ['waiter']);
  assert.ok(l.isHeld(b(2)) && l.isHeld(b(3)));
  assert.equal(l.isHeld(b(1)), false);
  l.release([b(2), b(3)]);
  assert.equal(l.size, 0);
});

test('latches: a partial release does not wake a waiter into a spin on the keys still held', async () => {
  const l = new Latches();
  await l.acquire([b(1), b(2)]);
  let got = false;
  const waiter = l.acquire([b(2)]).then(() => {
    got = true;
  });
  l.release([b(1)]); // wakes the waiter, which finds [2] still held and waits again
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.equal(got, false);
  l.release([b(2)]);
  await waiter;
  assert.equal(got, true);
});

test('latches: byte-distinct keys are distinct latches (no string-encoding collisions)', () => {
  const l = new Latches();
  assert.equal(l.tryAcquire([b(0xc3, 0xa9)]), undefined);
  assert.equal(l.tryAcquire([b(0xe9)]), undefined);
  assert.equal(l.tryAcquire([b(0xff, 0xfe)]), undefined);
  assert.equal(l.tryAcquire([b(0xfe, 0xff)]), undefined);
  assert.equal(l.size, 4);
});
