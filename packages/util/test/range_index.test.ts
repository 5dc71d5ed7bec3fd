import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envSeed, keyInRegion, Prng, rangesOverlap, SortedRangeIndex } from '../src/index.js';

interface R {
  id: number;
  startKey: Uint8Array;
  endKey: Uint8Array;
}

const k = (n: number): Uint8Array => (n < 0 ? new Uint8Array(0) : Uint8Array.of(n));
const r = (id: number, s: number, e: number): R => ({ id, startKey: k(s), endKey: k(e) });

test('find, overlapping, insert and remove', () => {
  const ix = new SortedRangeIndex<R>((x) => x);
  const a = r(1, 10, 20);
  const b = r(2, 20, 30);
  const c = r(3, 40, -1);
  ix.insert(c);
  ix.insert(a);
  ix.insert(b);
  assert.deepEqual(
    ix.inOrder().map((x) => x.id),
    [1, 2, 3],
  );
  assert.equal(ix.find(k(5)), undefined);
  assert.equal(ix.find(k(10)), a);
  assert.equal(ix.find(k(29)), b);
  assert.equal(ix.find(k(35)), undefined);
  assert.equal(ix.find(k(255)), c);
  assert.deepEqual(
    ix.overlapping(k(15), k(45)).map((x) => x.id),
    [1, 2, 3],
  );
  assert.deepEqual(
    ix.overlapping(k(20), k(40)).map((x) => x.id),
    [2],
  );
  assert.deepEqual(
    ix.overlapping(k(0), new Uint8Array(0), 2).map((x) => x.id),
    [1, 2],
  );
  assert.equal(ix.remove(b), true);
  assert.equal(ix.remove(b), false);
  assert.equal(ix.find(k(25)), undefined);
  assert.equal(ix.size, 2);
  ix.clear();
  assert.equal(ix.size, 0);
});

test('matches a linear scan under random inserts and removes', () => {
  const seed = envSeed('TSKV_UTIL_SEED');
  const rnd = new Prng(seed);
  const ix = new SortedRangeIndex<R>((x) => x);
  const ref: R[] = [];
  let nextId = 1;
  for (let step = 0; step < 3000; step++) {
    const s = rnd.int(0, 250);
    const e = rnd.chance(0.05) ? -1 : rnd.range(s + 1, 255);
    const cand = r(nextId++, s, e);
    if (rnd.chance(0.6)) {
      // Insert the way the users do: out with what it overlaps, then in.
      for (const o of ix.overlapping(cand.startKey, cand.endKey)) {
        assert.ok(ix.remove(o));
        ref.splice(ref.indexOf(o), 1);
      }
      ix.insert(cand);
      ref.push(cand);
    } else if (ref.length > 0) {
      const victim = rnd.pick(ref);
      assert.ok(ix.remove(victim));
      ref.splice(ref.indexOf(victim), 1);
    }
    const key = k(rnd.int(256));
    const want = ref.find((x) => keyInRegion(key, x));
    assert.equal(ix.find(key), want, `seed ${seed} step ${step}`);
    const over = ref.filter((x) => rangesOverlap(x, cand)).sort((x, y) => x.startKey[0]! - y.startKey[0]!);
    assert.deepEqual(ix.overlapping(cand.startKey, cand.endKey), over, `seed ${seed} step ${step}`);
  }
});
