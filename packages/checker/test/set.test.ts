// Hand-written set (list-append) histories with known verdicts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, searchPartition, setModel } from '../src/index.js';
import { SetHistory } from './helpers.js';

const verdict = (h: SetHistory): string => checkHistory(setModel, h.ops).verdict;

describe('set model: linearizable histories', () => {
  it('sequential appends and reads; order and duplicates in a read are ignored', () => {
    const h = new SetHistory().read(1, 0, 1, []).append(1, 2, 3, 'a').append(2, 4, 5, 'b').read(3, 6, 7, ['b', 'a', 'a']);
    assert.equal(verdict(h), 'ok');
  });

  it('a read concurrent with an append may or may not contain it', () => {
    const h = new SetHistory().append(1, 0, 10, 'a').read(2, 1, 2, []).read(3, 3, 4, ['a']).read(2, 11, 12, ['a']);
    assert.equal(verdict(h), 'ok');
  });

  it('concurrent appends become visible in some single order', () => {
    const h = new SetHistory()
      .append(1, 0, 10, 'a')
      .append(2, 0, 10, 'b')
      .read(3, 1, 2, ['b'])
      .read(4, 3, 4, ['a', 'b'])
      .read(3, 11, 12, ['a', 'b']);
    assert.equal(verdict(h), 'ok');
  });

  it('an unknown append that later appears, and one that never does', () => {
    const h = new SetHistory()
      .append(1, 0, 1, 'a')
      .appendUnknown(2, 2, 'b')
      .appendUnknown(2, 3, 'c')
      .read(3, 4, 5, ['a'])
      .read(3, 50, 51, ['a', 'b']);
    assert.equal(verdict(h), 'ok');
    // Unpruned search: c never takes effect.
    assert.equal(searchPartition(setModel, h.ops, Infinity).verdict, 'ok');
  });

  it('an unknown read constrains nothing', () => {
    const h = new SetHistory().append(1, 0, 1, 'a').readUnknown(2, 2).read(3, 3, 4, ['a']);
    assert.equal(verdict(h), 'ok');
  });
});

describe('set model: non-linearizable histories', () => {
  it('a read missing an acknowledged append that completed before the read began', () => {
    const h = new SetHistory().append(1, 0, 1, 'a').append(1, 2, 3, 'b').read(2, 4, 5, ['b']);
    assert.equal(verdict(h), 'illegal');
  });

  it('a read containing an element whose append was invoked after the read returned', () => {
    const h = new SetHistory().read(2, 0, 1, ['a']).append(1, 2, 3, 'a');
    assert.equal(verdict(h), 'illegal');
    const h2 = new SetHistory().read(2, 0, 1, ['a']).appendUnknown(1, 2, 'a');
    assert.equal(verdict(h2), 'illegal');
  });

  it('an element never appended', () => {
    assert.equal(verdict(new SetHistory().append(1, 0, 1, 'a').read(2, 2, 3, ['a', 'x'])), 'illegal');
  });

  it('an element disappearing (sets only grow)', () => {
    const h = new SetHistory().append(1, 0, 10, 'a').read(2, 1, 2, ['a']).read(2, 3, 4, []);
    assert.equal(verdict(h), 'illegal');
  });

  it('two readers seeing concurrent appends in opposite orders', () => {
    const h = new SetHistory().append(1, 0, 100, 'a').append(2, 0, 100, 'b').read(3, 10, 20, ['a']).read(4, 10, 20, ['b']);
    assert.equal(verdict(h), 'illegal');
  });

  it('the explanation shows the set state', () => {
    const r = checkHistory(setModel, new SetHistory().append(1, 0, 1, 'a').append(1, 2, 3, 'b').read(2, 4, 5, ['b']).ops, {
      minimize: false,
    });
    assert.equal(r.verdict, 'illegal');
    assert.match(r.failure!.explanation, /State after it: \{"a", "b"\}/);
  });
});
