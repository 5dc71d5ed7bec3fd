// Hand-written register histories with known verdicts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, registerModel, searchPartition } from '../src/index.js';
import { RegisterHistory } from './helpers.js';

const verdict = (h: RegisterHistory): string => checkHistory(registerModel, h.ops).verdict;

describe('register model: linearizable histories', () => {
  it('sequential put/get/delete', () => {
    const h = new RegisterHistory().get(1, 0, 1, null).put(1, 2, 3, 'a').get(2, 4, 5, 'a').del(1, 6, 7).get(2, 8, 9, null);
    assert.equal(verdict(h), 'ok');
  });

  it('an empty history and a history of writes only', () => {
    assert.equal(checkHistory(registerModel, []).verdict, 'ok');
    assert.equal(verdict(new RegisterHistory().put(1, 0, 1, 'a').put(2, 0, 1, 'b')), 'ok');
  });

  it('concurrent overlapping ops: a get overlapping a put may see old or new value', () => {
    const h = new RegisterHistory()
      .put(1, 0, 10, 'a')
      .get(2, 1, 2, null) // before the put took effect
      .get(3, 3, 4, 'a') // after
      .get(2, 5, 6, 'a');
    assert.equal(verdict(h), 'ok');
    // Two concurrent puts, then reads after both completed agree on one winner.
    const h2 = new RegisterHistory().put(1, 0, 10, 'a').put(2, 1, 9, 'b').get(3, 11, 12, 'a').get(4, 13, 14, 'a');
    assert.equal(verdict(h2), 'ok');
    // A read that sees b while both puts are in flight, then a later one that sees a: b, then a.
    const h3 = new RegisterHistory().put(1, 0, 10, 'a').put(2, 0, 10, 'b').get(3, 2, 3, 'b').get(3, 4, 5, 'a').get(4, 11, 12, 'a');
    assert.equal(verdict(h3), 'ok');
  });

  it('intervals that merely touch are concurrent (calls sort before returns at equal times)', () => {
    // get is called at 5, exactly when the put returns: it may still be ordered before the put.
    assert.equal(verdict(new RegisterHistory().put(1, 0, 5, 'a').get(2, 5, 6, null)), 'ok');
    // A hair later it is strictly after the put and must see it.
    assert.equal(verdict(new RegisterHistory().put(1, 0, 5, 'a').get(2, 5.001, 6, null)), 'illegal');
  });

  it('an unknown write that later appears in a read', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').putUnknown(2, 2, 'b').get(3, 3, 4, 'a').get(3, 100, 101, 'b');
    assert.equal(verdict(h), 'ok');
  });

  it('an unknown write with a finite recorded return may still take effect after it', () => {
    const h = new RegisterHistory().putUnknown(2, 0, 'b').get(3, 50, 51, null).get(3, 100, 101, 'b');
    h.ops[0]!.return = 10; // the harness gave up at 10; the write landed later
    assert.equal(verdict(h), 'ok');
  });

  it('an unknown write that never appears', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').putUnknown(2, 2, 'b').get(3, 10, 11, 'a').get(3, 20, 21, 'a');
    assert.equal(verdict(h), 'ok');
  });

  it('the search itself (without pruning) lets an unknown op never take effect', () => {
    // prune() would drop the unknown put; searchPartition gets it and must still succeed.
    const h = new RegisterHistory().putUnknown(2, 0, 'b').get(3, 1, 2, null).put(1, 3, 4, 'c').get(3, 5, 6, 'c');
    assert.equal(searchPartition(registerModel, h.ops, Infinity).verdict, 'ok');
    // And it may take effect later than any ok op returned: here only after the last get.
    const h2 = new RegisterHistory().putUnknown(2, 0, 'b').get(3, 1, 2, null).get(3, 5, 6, null).get(4, 7, 8, 'b');
    assert.equal(searchPartition(registerModel, h2.ops, Infinity).verdict, 'ok');
  });

  it('an unknown get constrains nothing (even with a bogus output)', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').getUnknown(2, 2).get(3, 3, 4, 'a');
    h.ops[1]!.output = { value: 'garbage' };
    assert.equal(verdict(h), 'ok');
  });

  it('an unknown delete explains a later null', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').delUnknown(2, 2).get(3, 3, 4, 'a').get(3, 10, 11, null);
    assert.equal(verdict(h), 'ok');
  });
});

describe('register model: non-linearizable histories', () => {
  it('a stale read after a completed write', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').put(1, 2, 3, 'b').get(2, 4, 5, 'a');
    assert.equal(verdict(h), 'illegal');
  });

  it('a read of a value never written', () => {
    assert.equal(verdict(new RegisterHistory().put(1, 0, 1, 'a').get(2, 2, 3, 'zzz')), 'illegal');
    assert.equal(verdict(new RegisterHistory().get(2, 2, 3, 'zzz')), 'illegal');
  });

  it('null and the string "null" are different values', () => {
    assert.equal(verdict(new RegisterHistory().get(2, 0, 1, 'null')), 'illegal');
    assert.equal(verdict(new RegisterHistory().put(1, 0, 1, 'null').get(2, 2, 3, null)), 'illegal');
  });

  it('two readers seeing concurrent writes in opposite orders', () => {
    const h = new RegisterHistory()
      .put(1, 0, 100, 'a')
      .put(2, 0, 100, 'b')
      .get(3, 10, 20, 'a')
      .get(3, 30, 40, 'b')
      .get(4, 10, 20, 'b')
      .get(4, 30, 40, 'a');
    assert.equal(verdict(h), 'illegal');
    // Both readers seeing the same order is fine.
    const ok = new RegisterHistory()
      .put(1, 0, 100, 'a')
      .put(2, 0, 100, 'b')
      .get(3, 10, 20, 'a')
      .get(3, 30, 40, 'b')
      .get(4, 10, 20, 'a')
      .get(4, 30, 40, 'b');
    assert.equal(verdict(ok), 'ok');
  });

  it('a read that sees a deleted value', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').del(1, 2, 3).get(2, 4, 5, 'a');
    assert.equal(verdict(h), 'illegal');
  });

  it('a value going back after it was replaced (non-monotonic reads)', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').put(2, 2, 20, 'b').get(3, 5, 6, 'b').get(3, 7, 8, 'a');
    assert.equal(verdict(h), 'illegal');
  });

  it('an unknown write cannot take effect before it was called', () => {
    const h = new RegisterHistory().get(3, 0, 1, 'b').putUnknown(2, 5, 'b');
    assert.equal(verdict(h), 'illegal');
    assert.equal(searchPartition(registerModel, h.ops, Infinity).verdict, 'illegal');
  });

  it('the failure names the partition and explains itself', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a', 'k').put(1, 2, 3, 'b', 'k').get(2, 4, 5, 'a', 'k');
    const r = checkHistory(registerModel, h.ops, { minimize: false });
    assert.equal(r.verdict, 'illegal');
    assert.equal(r.failure?.partition, 'k');
    assert.equal(r.failure?.ops.length, 3);
    assert.match(r.failure!.explanation, /get k -> "a": impossible in this state/);
    assert.match(r.failure!.explanation, /State after it: "b"/);
  });
});

describe('input validation', () => {
  it('rejects duplicate ids and returns before calls', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').get(2, 2, 3, 'a');
    h.ops[1]!.id = 0;
    assert.throws(() => checkHistory(registerModel, h.ops), /duplicate operation id/);
    const h2 = new RegisterHistory().put(1, 5, 1, 'a');
    assert.throws(() => checkHistory(registerModel, h2.ops), /returns .* before it is called/);
  });

  it('rejects an ok get without a result (it would read as unknown and constrain nothing)', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a').get(2, 2, 3, 'a');
    h.ops[1]!.output = undefined;
    assert.throws(() => checkHistory(registerModel, h.ops), /'ok' get needs output.value/);
    h.ops[1]!.output = {};
    assert.throws(() => checkHistory(registerModel, h.ops), /'ok' get needs output.value/);
  });
});
