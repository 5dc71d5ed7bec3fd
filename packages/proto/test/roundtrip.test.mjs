import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb } from '../dist/index.js';

test('Message round-trips with 64-bit fields as plain numbers', () => {
  const msg = {
    msgType: eraftpb.MessageType.MsgAppend,
    to: 2,
    from: 1,
    term: 7,
    logTerm: 6,
    index: 2 ** 40 + 3,
    commit: 2 ** 33,
    entries: [{ entryType: eraftpb.EntryType.EntryConfChangeV2, term: 7, index: 2 ** 40 + 4, data: new Uint8Array([9, 8]) }],
    snapshot: { data: new Uint8Array([1]), metadata: { index: 5, term: 2, confState: { voters: [1, 2, 3], learners: [4] } } },
    reject: true,
    rejectHint: 11,
    requestSnapshot: 12,
    context: new Uint8Array([3]),
  };
  const decoded = eraftpb.Message.decode(eraftpb.Message.encode(msg).finish());
  assert.equal(decoded.index, 2 ** 40 + 3);
  assert.equal(typeof decoded.term, 'number');
  assert.equal(decoded.commit, 2 ** 33);
  assert.equal(decoded.logTerm, 6);
  assert.equal(decoded.entries[0].entryType, eraftpb.EntryType.EntryConfChangeV2);
  assert.equal(decoded.entries[0].index, 2 ** 40 + 4);
  assert.deepEqual([...decoded.entries[0].data], [9, 8]);
  assert.deepEqual(decoded.snapshot.metadata.confState.voters, [1, 2, 3]);
  assert.equal(decoded.reject, true);
  assert.equal(decoded.rejectHint, 11);
  assert.equal(decoded.requestSnapshot, 12);
});

test('defaults of absent 64-bit fields are numbers, not Long', () => {
  const decoded = eraftpb.HardState.decode(eraftpb.HardState.encode({}).finish());
  assert.equal(decoded.term, 0);
  assert.equal(decoded.vote, 0);
  assert.equal(typeof decoded.commit, 'number');
});

test('every raft message type is present with raft-rs numbering', () => {
  const names = [
    'MsgHup',
    'MsgBeat',
    'MsgPropose',
    'MsgAppend',
    'MsgAppendResponse',
    'MsgRequestVote',
    'MsgRequestVoteResponse',
    'MsgSnapshot',
    'MsgHeartbeat',
    'MsgHeartbeatResponse',
    'MsgUnreachable',
    'MsgSnapStatus',
    'MsgCheckQuorum',
    'MsgTransferLeader',
    'MsgTimeoutNow',
    'MsgReadIndex',
    'MsgReadIndexResp',
    'MsgRequestPreVote',
    'MsgRequestPreVoteResponse',
  ];
  names.forEach((n, i) => {
    assert.equal(eraftpb.MessageType[n], i, n);
  });
});

test('ConfChangeV2 carries its changes and transition', () => {
  const cc = {
    transition: eraftpb.ConfChangeTransition.Explicit,
    changes: [{ changeType: eraftpb.ConfChangeType.AddLearnerNode, nodeId: 4 }],
    context: new Uint8Array([1]),
  };
  const d = eraftpb.ConfChangeV2.decode(eraftpb.ConfChangeV2.encode(cc).finish());
  assert.equal(d.transition, eraftpb.ConfChangeTransition.Explicit);
  assert.equal(d.changes[0].nodeId, 4);
  assert.equal(d.changes[0].changeType, eraftpb.ConfChangeType.AddLearnerNode);
});
