// ReadQueue: reads wait for their ReadState, then for the apply to reach their read index.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { raft_cmdpb } from '@tskv/proto';
import { newReadContext, ReadQueue } from '../src/peer_reads.js';

type Resp = raft_cmdpb.IRaftCmdResponse;
const req = (tag: string): raft_cmdpb.IRaftCmdRequest => ({
  header: { regionId: 1 },
  requests: [{ cmdType: raft_cmdpb.CmdType.Get, get: { key: Buffer.from(tag) } }],
});
const tagOf = (r: { req: raft_cmdpb.IRaftCmdRequest }): string => Buffer.from(r.req.requests![0]!.get!.key!).toString();
const noop = (): void => {};

test('read contexts are unique and carry the peer id', () => {
  const a = newReadContext(7);
  const b = newReadContext(7);
  assert.equal(a.length, 12);
  assert.equal(new DataView(a.buffer).getUint32(0), 7);
  assert.notDeepEqual(a, b);
});

test('a batch waits for the ReadState of its context, then for the apply of the read index', () => {
  const q = new ReadQueue();
  assert.equal(q.isEmpty, true);
  const ctx1 = newReadContext(1);
  const ctx2 = newReadContext(1);
  q.awaitIndex(
    ctx1,
    [
      { req: req('a'), cb: noop },
      { req: req('b'), cb: noop },
    ],
    100,
    1,
  );
  q.awaitIndex(ctx2, [{ req: req('c'), cb: noop }], 200, 1);
  assert.equal(q.awaitingIndexCount, 2);
  assert.equal(q.isEmpty, false);
  assert.equal(q.onReadState(9, newReadContext(1)), null, 'an unknown context moves nothing');
  assert.equal(q.onReadState(10, ctx1), 100, 'returns when the request was issued');
  assert.equal(q.onReadState(10, ctx1), null, 'a ReadState is taken once');
  assert.equal(q.awaitingIndexCount, 1);
  assert.equal(q.awaitingApplyCount, 2);
  assert.deepEqual(q.takeApplied(9), [], 'not applied yet');
  const served = q.takeApplied(10);
  assert.deepEqual(served.map(tagOf), ['a', 'b']);
  assert.ok(served.every((r) => r.readIndex === 10));
  assert.equal(q.awaitingApplyCount, 0);
});

test('lease reads wait only for the apply of the commit index; reads are taken from the front in order', () => {
  const q = new ReadQueue();
  q.addLeaseRead({ req: req('x'), cb: noop }, 12, 1);
  q.addLeaseRead({ req: req('y'), cb: noop }, 15, 1);
  q.addLeaseRead({ req: req('z'), cb: noop }, 13, 1);
  assert.deepEqual(q.takeApplied(14).map(tagOf), ['x'], 'y blocks z behind it');
  assert.deepEqual(q.takeApplied(15).map(tagOf), ['y', 'z']);
  assert.equal(q.isEmpty, true);
});

test('failAwaitingIndex answers only reads without a ReadState; failAll answers the rest', () => {
  const q = new ReadQueue();
  const got: string[] = [];
  const cb = (tag: string) => (r: Resp) => got.push(`${tag}:${r.header?.error?.message}`);
  const ctx = newReadContext(1);
  q.awaitIndex(ctx, [{ req: req('a'), cb: cb('a') }], 1, 1);
  q.addLeaseRead({ req: req('b'), cb: cb('b') }, 3, 1);
  q.failAwaitingIndex({ header: { error: { message: 'not leader' } }, responses: [] });
  assert.deepEqual(got, ['a:not leader']);
  assert.equal(q.onReadState(5, ctx), null);
  q.awaitIndex(newReadContext(1), [{ req: req('c'), cb: cb('c') }], 2, 1);
  q.failAll({ header: { error: { message: 'stopped' } }, responses: [] });
  assert.deepEqual(got, ['a:not leader', 'c:stopped', 'b:stopped']);
  assert.equal(q.isEmpty, true);
});
