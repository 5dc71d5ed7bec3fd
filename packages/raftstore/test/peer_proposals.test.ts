// ProposalQueue: proposals answered in index order at apply, overwritten ones StaleCommand.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { raft_cmdpb } from '@tskv/proto';
import { ProposalQueue } from '../src/peer_proposals.js';

type Resp = raft_cmdpb.IRaftCmdResponse;

function recorder() {
  const got = new Map<string, Resp>();
  const cb = (name: string) => (r: Resp) => {
    assert.ok(!got.has(name), `${name} answered twice`);
    got.set(name, r);
  };
  return { got, cb };
}

const stale = (r: Resp | undefined): boolean => !!r?.header?.error?.staleCommand;

test('take returns the proposal at the applied index when its term matches, after answering the ones before it stale', () => {
  const q = new ProposalQueue();
  const { got, cb } = recorder();
  q.push(5, 2, cb('a'));
  q.push(6, 2, cb('b'));
  q.push(8, 2, cb('c'));
  assert.deepEqual(q.indexes(), [5, 6, 8]);
  assert.equal(q.take(4, 2), null, 'an entry below every proposal answers none');
  assert.equal(q.length, 3);
  const b = q.take(6, 2);
  assert.ok(stale(got.get('a')), 'the proposal at 5 was passed over: its entry was overwritten');
  assert.ok(b, 'the proposal at 6 is returned, not answered');
  assert.equal(got.has('b'), false);
  assert.deepEqual(q.indexes(), [8]);
  assert.equal(q.take(8, 3), null, 'applied with another term: overwritten');
  assert.ok(stale(got.get('c')));
  assert.equal(q.length, 0);
});

test('a proposal at an index already proposed (a re-elected leader with a shorter log) answers the overwritten ones', () => {
  const q = new ProposalQueue();
  const { got, cb } = recorder();
  q.push(10, 3, cb('old10'));
  q.push(11, 3, cb('old11'));
  q.push(12, 3, cb('old12'));
  q.push(11, 5, cb('new11'));
  assert.ok(stale(got.get('old11')) && stale(got.get('old12')));
  assert.equal(got.has('old10'), false);
  assert.deepEqual(q.indexes(), [10, 11], 'still sorted');
  assert.equal(q.take(11, 5) !== null, true);
  assert.ok(stale(got.get('old10')));
});

test('failAll answers every proposal once and empties the queue', () => {
  const q = new ProposalQueue();
  const { got, cb } = recorder();
  q.push(1, 1, cb('x'));
  q.push(2, 1, cb('y'));
  const resp: Resp = { header: { error: { message: 'gone' } }, responses: [] };
  q.failAll(resp);
  assert.equal(got.get('x'), resp);
  assert.equal(got.get('y'), resp);
  assert.equal(q.length, 0);
  q.failAll(resp); // nothing left to answer twice
});
