// ReadIndex scenarios (Raft thesis §6.4): safe reads confirmed by a heartbeat round, forwarding
// from followers, postponement until the leader commits in its term, and lease-based reads.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Raft } from '../src/raft.js';
import { StateRole } from '../src/state_role.js';
import { type Message, MessageType, newEntry } from '../src/types.js';
import { beat, ent, hup, msg, Network, newStorage, newTestRaft, propose, readMessages } from './network.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function readReq(from: number, to: number, ctx: string): Message {
  return msg({ msgType: MessageType.MsgReadIndex, from, to, entries: [newEntry({ data: enc.encode(ctx) })] });
}

function states(r: Raft): [number, string][] {
  return r.readStates.map((rs) => [rs.index, dec.decode(rs.requestCtx)]);
}

const countOf = (msgs: Message[], t: MessageType): number => msgs.filter((m) => m.msgType === t).length;

/** A 3-node network with 1 as leader and `n` proposals committed. */
function cluster(n = 0, extra = {}): Network {
  const nt = new Network([undefined, undefined, undefined], extra);
  nt.send(hup(1));
  for (let i = 0; i < n; i++) nt.send(propose(1, 1));
  return nt;
}

test('safe ReadIndex: the leader answers after a quorum acknowledged a heartbeat carrying the request context', () => {
  const nt = cluster(3);
  const lead = nt.raft(1);
  const committed = lead.raftLog.committed;
  assert.equal(committed, 4);
  const before = nt.delivered.length;
  nt.send(readReq(1, 1, 'ctx1'));
  assert.deepEqual(states(lead), [[committed, 'ctx1']]);
  const traffic = nt.delivered.slice(before);
  const hbs = traffic.filter((m) => m.msgType === MessageType.MsgHeartbeat);
  assert.deepEqual(
    hbs.map((m) => [m.to, dec.decode(m.context)]).sort(),
    [
      [2, 'ctx1'],
      [3, 'ctx1'],
    ],
    'one heartbeat round with the context',
  );
  assert.equal(countOf(traffic, MessageType.MsgHeartbeatResponse), 2);
  assert.equal(lead.readOnly.pendingReadCount(), 0);
});

test('safe ReadIndex: the read index is the commit index when the request arrived, not when it was confirmed', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeCandidate();
  r.becomeLeader();
  r.bcastAppend();
  for (const m of readMessages(r)) r.step(msg({ msgType: MessageType.MsgAppendResponse, from: m.to, to: 1, term: r.term, index: 1 }));
  readMessages(r);
  assert.equal(r.raftLog.committed, 1);
  // An uncommitted entry is in the log when the request arrives...
  r.step(propose(1, 1));
  readMessages(r);
  assert.equal(r.raftLog.lastIndex(), 2);
  r.step(readReq(1, 1, 'x'));
  const hbs = readMessages(r).filter((m) => m.msgType === MessageType.MsgHeartbeat);
  assert.equal(hbs.length, 2);
  // ...and commits while the heartbeats are in flight.
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: r.term, index: 2 }));
  assert.equal(r.raftLog.committed, 2);
  assert.equal(r.readStates.length, 0);
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 2, to: 1, term: r.term, context: hbs[0]!.context }));
  assert.deepEqual(states(r), [[1, 'x']]);
});

test('safe ReadIndex: no answer without a quorum of acks; a later heartbeat round confirms it', () => {
  const nt = cluster(1);
  const lead = nt.raft(1);
  nt.isolate(1);
  nt.send(readReq(1, 1, 'ctx'));
  assert.equal(lead.readStates.length, 0, 'isolated leader cannot confirm leadership');
  assert.equal(lead.readOnly.pendingReadCount(), 1);
  nt.send(beat(1));
  assert.equal(lead.readStates.length, 0);
  nt.recover();
  // Regular heartbeats carry the latest pending context.
  nt.send(beat(1));
  assert.deepEqual(states(lead), [[2, 'ctx']]);
  assert.equal(lead.readOnly.pendingReadCount(), 0);
});

test('safe ReadIndex: in five nodes one follower ack is not enough, two are', () => {
  const nt = new Network([undefined, undefined, undefined, undefined, undefined]);
  nt.send(hup(1));
  const lead = nt.raft(1);
  for (const id of [3, 4, 5]) nt.cut(1, id);
  nt.send(readReq(1, 1, 'a'));
  assert.equal(lead.readStates.length, 0, 'leader + 1 of 5');
  nt.recover();
  nt.cut(1, 4);
  nt.cut(1, 5);
  nt.send(beat(1));
  assert.deepEqual(states(lead), [[1, 'a']], 'leader + 2 of 5');
});

test('learner acks do not count towards the read quorum; a learner can forward reads', () => {
  const peers = [
    newTestRaft(1, [1, 2], 10, 1, { learners: [3] }),
    newTestRaft(2, [1, 2], 10, 1, { learners: [3] }),
    newTestRaft(3, [1, 2], 10, 1, { learners: [3] }),
  ];
  const nt = new Network(peers);
  nt.send(hup(1));
  const lead = nt.raft(1);
  assert.equal(lead.state, StateRole.Leader);
  assert.equal(nt.raft(3).raftLog.committed, 1);
  nt.cut(1, 2);
  nt.send(readReq(1, 1, 'a'));
  assert.ok(
    nt.delivered.some((m) => m.msgType === MessageType.MsgHeartbeatResponse && m.from === 3 && dec.decode(m.context) === 'a'),
    'the learner acked',
  );
  assert.equal(lead.readStates.length, 0, 'leader + learner is no quorum of voters');
  nt.recover();
  nt.send(readReq(3, 3, 'b'));
  assert.deepEqual(states(nt.raft(3)), [[1, 'b']], 'forwarded from the learner');
  assert.deepEqual(states(lead), [[1, 'a']], 'the earlier request was released by the same round');
});

test('follower forwards MsgReadIndex to the leader and turns MsgReadIndexResp into a ReadState', () => {
  const nt = cluster(2);
  const before = nt.delivered.length;
  nt.send(readReq(2, 2, 'from2'));
  const f = nt.raft(2);
  assert.deepEqual(states(f), [[3, 'from2']]);
  assert.equal(nt.raft(1).readStates.length, 0, 'the answer went to the follower, not the leader');
  const traffic = nt.delivered.slice(before);
  assert.ok(
    traffic.some((m) => m.msgType === MessageType.MsgReadIndex && m.from === 2 && m.to === 1),
    'forwarded',
  );
  assert.ok(
    traffic.some((m) => m.msgType === MessageType.MsgReadIndexResp && m.from === 1 && m.to === 2 && m.index === 3),
    'answered',
  );
  // Requests from different nodes interleaved with proposals get the commit index of their time.
  nt.send(readReq(3, 3, 'from3'));
  nt.send(propose(1, 1));
  nt.send(readReq(2, 2, 'again'));
  assert.deepEqual(states(nt.raft(3)), [[3, 'from3']]);
  assert.deepEqual(states(f), [
    [3, 'from2'],
    [4, 'again'],
  ]);
});

test('a follower that knows no leader drops a read request', () => {
  const r = newTestRaft(2, [1, 2, 3]);
  r.step(readReq(2, 2, 'x'));
  assert.equal(readMessages(r).length, 0);
  assert.equal(r.readStates.length, 0);
});

test('ReadIndex requests before the leader committed an entry of its term are postponed, then answered', () => {
  // Node 1 has not learned that index 2 was committed (commit 1); 2 and 3 know (commit 2).
  const peers = [1, 2, 3].map((id) => {
    const s = newStorage([1, 2, 3]);
    s.append([ent(1, 1), ent(2, 1)]);
    s.setHardState({ term: 1, vote: 0, commit: id === 1 ? 1 : 2 });
    return newTestRaft(id, [1, 2, 3], 10, 1, { storage: s });
  });
  const nt = new Network(peers);
  nt.ignore(MessageType.MsgAppend); // the new leader cannot commit in its term
  nt.send(hup(1));
  const lead = nt.raft(1);
  assert.equal(lead.state, StateRole.Leader);
  assert.equal(lead.raftLog.committed, 1);
  nt.send(beat(1)); // followers learn the leader from its heartbeats (the appends are still lost)
  assert.equal(nt.raft(2).leaderId, 1);
  assert.equal(lead.raftLog.committed, 1);
  const before = nt.delivered.length;
  nt.send(readReq(1, 1, 'early'));
  nt.send(readReq(2, 2, 'early2'));
  assert.equal(lead.readStates.length, 0, 'answering now could return the stale commit index 1');
  assert.equal(lead.pendingReadIndexMessages.length, 2);
  assert.ok(!nt.delivered.slice(before).some((m) => m.msgType === MessageType.MsgHeartbeat), 'no heartbeat round for a postponed request');

  nt.recover();
  nt.send(beat(1)); // the heartbeat responses let the leader replicate and commit its empty entry
  assert.equal(lead.raftLog.committed, 3);
  assert.equal(lead.raftLog.termOrZero(3), lead.term);
  assert.deepEqual(states(lead), [[3, 'early']]);
  assert.deepEqual(states(nt.raft(2)), [[3, 'early2']]);
  assert.equal(lead.pendingReadIndexMessages.length, 0);
  // Now requests are served directly.
  nt.send(readReq(1, 1, 'late'));
  assert.deepEqual(states(lead), [
    [3, 'early'],
    [3, 'late'],
  ]);
});

test('lease-based ReadIndex answers immediately on the leader, without a heartbeat round', () => {
  const nt = cluster(2, { readOnlyOption: 'leaseBased', checkQuorum: true });
  const lead = nt.raft(1);
  assert.equal(lead.state, StateRole.Leader);
  const before = nt.delivered.length;
  nt.send(readReq(1, 1, 'lease'));
  assert.deepEqual(states(lead), [[3, 'lease']]);
  assert.equal(nt.delivered.length - before, 1, 'only the request itself was delivered');
  assert.equal(lead.readOnly.pendingReadCount(), 0);
  // Forwarded from a follower: answered by the leader without a heartbeat round.
  const b2 = nt.delivered.length;
  nt.send(readReq(2, 2, 'lease2'));
  assert.deepEqual(states(nt.raft(2)), [[3, 'lease2']]);
  assert.deepEqual(
    nt.delivered.slice(b2).map((m) => m.msgType),
    [MessageType.MsgReadIndex, MessageType.MsgReadIndex, MessageType.MsgReadIndexResp],
  );
});

test('lease-based ReadIndex is also postponed until the leader committed an entry of its term', () => {
  const nt = new Network([undefined, undefined, undefined], { readOnlyOption: 'leaseBased', checkQuorum: true });
  nt.ignore(MessageType.MsgAppend);
  nt.send(hup(1));
  const lead = nt.raft(1);
  nt.send(readReq(1, 1, 'x'));
  assert.equal(lead.readStates.length, 0);
  nt.recover();
  nt.send(beat(1));
  assert.deepEqual(states(lead), [[1, 'x']]);
});

test('a single voter answers ReadIndex immediately', () => {
  const r = newTestRaft(1, [1]);
  r.step(hup(1));
  assert.equal(r.state, StateRole.Leader);
  readMessages(r); // persists: commits the empty entry
  assert.equal(r.raftLog.committed, 1);
  r.step(readReq(1, 1, 'solo'));
  assert.deepEqual(states(r), [[1, 'solo']]);
  assert.equal(readMessages(r).length, 0, 'no messages needed');
});

test('several pending requests are all released, in order, by a quorum ack of the latest context', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeCandidate();
  r.becomeLeader();
  r.bcastAppend();
  for (const m of readMessages(r)) r.step(msg({ msgType: MessageType.MsgAppendResponse, from: m.to, to: 1, term: r.term, index: 1 }));
  readMessages(r);
  const ctxOf: Message[] = [];
  const commitAt: number[] = [];
  for (const [i, c] of ['a', 'b', 'c', 'd'].entries()) {
    commitAt.push(r.raftLog.committed);
    r.step(readReq(1, 1, c));
    ctxOf.push(readMessages(r).find((m) => m.msgType === MessageType.MsgHeartbeat && m.to === 2)!);
    // Commit a new entry between requests, so each has a different read index.
    r.step(propose(1, 1));
    readMessages(r);
    r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
    readMessages(r);
    assert.equal(r.raftLog.committed, 2 + i);
  }
  assert.equal(r.readOnly.pendingReadCount(), 4);
  // An ack of b's heartbeat releases a and b only.
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 3, to: 1, term: r.term, context: ctxOf[1]!.context }));
  assert.deepEqual(states(r), [
    [commitAt[0]!, 'a'],
    [commitAt[1]!, 'b'],
  ]);
  // A late ack of a's heartbeat does nothing more.
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 2, to: 1, term: r.term, context: ctxOf[0]!.context }));
  assert.equal(r.readStates.length, 2);
  // The ack of the latest context releases the rest.
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 2, to: 1, term: r.term, context: ctxOf[3]!.context }));
  assert.deepEqual(states(r), [
    [commitAt[0]!, 'a'],
    [commitAt[1]!, 'b'],
    [commitAt[2]!, 'c'],
    [commitAt[3]!, 'd'],
  ]);
  assert.deepEqual(commitAt, [1, 2, 3, 4]);
  assert.equal(r.readOnly.pendingReadCount(), 0);
});

test('pending reads are dropped when the leader steps down', () => {
  const nt = cluster(1);
  const lead = nt.raft(1);
  nt.isolate(1);
  nt.send(readReq(1, 1, 'lost'));
  assert.equal(lead.readOnly.pendingReadCount(), 1);
  // Another node takes over; the old leader learns the new term and steps down.
  nt.recover();
  nt.isolate(1);
  nt.send(hup(2));
  assert.equal(nt.raft(2).state, StateRole.Leader);
  nt.recover();
  nt.send(beat(2));
  assert.equal(lead.state, StateRole.Follower);
  assert.equal(lead.readOnly.pendingReadCount(), 0);
  assert.equal(lead.readStates.length, 0, 'a deposed leader never answers');
});
