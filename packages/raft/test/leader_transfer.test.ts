// Leadership transfer (Raft thesis §3.10): the leader catches the transferee up, then sends it
// MsgTimeoutNow so it campaigns at once (bypassing pre-vote and the leader lease).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProposalDroppedError } from '../src/errors.js';
import type { Raft } from '../src/raft.js';
import { RawNode } from '../src/raw_node.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { ConfChangeTransition, ConfChangeType, confChangeV2, MessageType } from '../src/types.js';
import { hup, msg, Network, newTestRaft, propose, readMessages } from './network.js';

const MT = MessageType;
const te = new TextEncoder();

function transfer(transferee: number, to: number) {
  return msg({ msgType: MT.MsgTransferLeader, from: transferee, to });
}

function checkTransferState(r: Raft, state: StateRole, lead: number, label = ''): void {
  assert.equal(r.state, state, `${label} node ${r.id} state ${StateRole[r.state]}`);
  assert.equal(r.leaderId, lead, `${label} node ${r.id} leader`);
  assert.equal(r.leadTransferee, INVALID_ID, `${label} node ${r.id} transferee cleared`);
}

function electedNetwork(extra = {}): Network {
  const nt = new Network([undefined, undefined, undefined], extra);
  nt.send(hup(1));
  assert.equal(nt.raft(1).state, StateRole.Leader);
  return nt;
}

test('transfer to an up-to-date follower: MsgTimeoutNow is sent at once, the transferee wins, the old leader follows', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.delivered = [];
  nt.send(transfer(2, 1));
  const kinds = nt.delivered.map((m) => [m.msgType, m.from, m.to]);
  assert.deepEqual(kinds[1], [MT.MsgTimeoutNow, 1, 2], 'MsgTimeoutNow directly, no catch-up needed');
  checkTransferState(lead, StateRole.Follower, 2);
  checkTransferState(nt.raft(2), StateRole.Leader, 2);
  assert.equal(nt.raft(2).term, 2);
  // The new leader commits its empty entry everywhere, and transfers work back too.
  nt.send(propose(2, 2));
  for (const id of [1, 2, 3]) assert.equal(nt.raft(id).raftLog.committed, 3, `node ${id}`);
  nt.send(transfer(1, 2));
  checkTransferState(lead, StateRole.Leader, 1);
  assert.equal(lead.term, 3);
});

test('transfer to a lagging follower catches it up first, then sends MsgTimeoutNow', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.isolate(3);
  nt.send(propose(1, 1));
  nt.send(propose(1, 1));
  nt.recover();
  assert.equal(lead.prs.get(3)!.matched, 1);
  // Step the request alone: the leader appends to 3 instead of sending MsgTimeoutNow.
  lead.step(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  const out = readMessages(lead);
  assert.deepEqual(
    out.map((m) => [m.msgType, m.to]),
    [[MT.MsgAppend, 3]],
  );
  nt.delivered = [];
  nt.send(...out);
  const seq = nt.delivered.map((m) => MT[m.msgType]);
  const ack = nt.delivered.findIndex((m) => m.msgType === MT.MsgAppendResponse && m.from === 3 && !m.reject && m.index === 3);
  const tn = nt.delivered.findIndex((m) => m.msgType === MT.MsgTimeoutNow);
  assert.ok(ack >= 0 && tn > ack, `MsgTimeoutNow follows the catch-up ack: ${seq.join(',')}`);
  checkTransferState(lead, StateRole.Follower, 3);
  checkTransferState(nt.raft(3), StateRole.Leader, 3);
  assert.equal(nt.raft(3).raftLog.lastIndex(), 4, 'the transferee kept the entries it caught up on');
});

test('transfer that needs a log the follower rejects: the leader backtracks and still completes', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.isolate(3);
  for (let i = 0; i < 5; i++) nt.send(propose(1, 1));
  nt.recover();
  nt.send(transfer(3, 1));
  checkTransferState(lead, StateRole.Follower, 3);
  assert.equal(nt.raft(3).state, StateRole.Leader);
  assert.equal(nt.raft(3).raftLog.committed, 7);
});

test('proposals are dropped while a transfer is in progress (ProposalDroppedError via RawNode, silently via the Network)', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.isolate(3);
  nt.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  const last = lead.raftLog.lastIndex();
  nt.send(propose(1, 1));
  assert.equal(lead.raftLog.lastIndex(), last, 'the network proposal was dropped');
  assert.throws(() => RawNode.fromRaft(lead).propose(new Uint8Array(), te.encode('x')), ProposalDroppedError);
  assert.throws(() => lead.step(propose(1, 1)), ProposalDroppedError);
  assert.equal(lead.raftLog.lastIndex(), last);
  assert.equal(lead.prs.get(1)!.matched, 1);
});

test('a transfer that does not finish within an election timeout is aborted; the leader keeps leading and accepts proposals', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.isolate(3);
  // The leader is well into its election-timeout interval when the request arrives: the transfer
  // gets a full election timeout from the request, not what is left of the interval.
  for (let i = 0; i < lead.electionTimeout - 2; i++) lead.tick();
  readMessages(lead);
  nt.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
  assert.equal(lead.leadTransferee, 3, 'still pending after a heartbeat');
  for (let i = 0; i < lead.electionTimeout - lead.heartbeatTimeout - 1; i++) lead.tick();
  assert.equal(lead.leadTransferee, 3, 'still pending one tick before the election timeout');
  lead.tick();
  checkTransferState(lead, StateRole.Leader, 1);
  assert.equal(lead.term, 1);
  readMessages(lead);
  nt.send(propose(1, 1));
  assert.equal(lead.raftLog.committed, 2, 'proposals are accepted again');
});

test('a second request for the same transferee does not restart the transfer timer', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.isolate(3);
  nt.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3, 'the transfer started');
  for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
  nt.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3, 'the second request keeps the transfer pending');
  for (let i = 0; i < lead.electionTimeout - lead.heartbeatTimeout - 1; i++) lead.tick();
  assert.equal(lead.leadTransferee, 3, "still pending one tick before the first request's deadline");
  lead.tick();
  checkTransferState(lead, StateRole.Leader, 1);
});

test('transfer to self is a no-op, and cancels a pending transfer', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.delivered = [];
  nt.send(transfer(1, 1));
  checkTransferState(lead, StateRole.Leader, 1);
  assert.equal(lead.term, 1);
  assert.ok(!nt.delivered.some((m) => m.msgType === MT.MsgTimeoutNow));
  // Transfer back to self while a transfer to an unreachable node is pending.
  nt.isolate(3);
  nt.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  nt.send(transfer(1, 1));
  checkTransferState(lead, StateRole.Leader, 1);
  nt.send(propose(1, 1));
  assert.equal(lead.raftLog.committed, 2);
});

test('transfer to a learner or to a node outside the configuration is ignored', () => {
  const voters = [1, 2];
  const nt = new Network([
    newTestRaft(1, voters, 10, 1, { learners: [3] }),
    newTestRaft(2, voters, 10, 1, { learners: [3] }),
    newTestRaft(3, voters, 10, 1, { learners: [3] }),
  ]);
  nt.send(hup(1));
  const lead = nt.raft(1);
  assert.equal(lead.state, StateRole.Leader);
  assert.equal(lead.prs.get(3)!.matched, 1, 'the learner is caught up');
  for (const target of [3, 4]) {
    nt.delivered = [];
    nt.send(transfer(target, 1));
    checkTransferState(lead, StateRole.Leader, 1, `transfer to ${target}`);
    assert.deepEqual(
      nt.delivered.map((m) => m.msgType),
      [MT.MsgTransferLeader],
      `transfer to ${target}: nothing sent`,
    );
  }
  // Even a MsgTimeoutNow sent straight to the learner does not make it campaign.
  nt.send(msg({ msgType: MT.MsgTimeoutNow, from: 1, to: 3, term: 1 }));
  assert.equal(nt.raft(3).state, StateRole.Follower);
  assert.equal(nt.raft(3).term, 1);
});

test('a second transfer to another node replaces the first', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.isolate(3);
  nt.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  nt.send(transfer(2, 1));
  checkTransferState(lead, StateRole.Follower, 2);
  assert.equal(nt.raft(2).state, StateRole.Leader);
  assert.equal(nt.raft(3).state, StateRole.Follower);
  assert.equal(nt.raft(3).term, 1, 'the first transferee never got MsgTimeoutNow');
});

test('the transferee campaigns without pre-vote and through the leader lease (transfer context forces the vote)', () => {
  const nt = electedNetwork({ preVote: true, checkQuorum: true });
  // Node 3 heard from the leader just now: it is within its lease.
  assert.equal(nt.raft(3).leaderId, 1);
  assert.equal(nt.raft(3).electionElapsed, 0);
  nt.delivered = [];
  nt.send(transfer(2, 1));
  checkTransferState(nt.raft(1), StateRole.Follower, 2);
  assert.equal(nt.raft(2).state, StateRole.Leader);
  assert.equal(nt.raft(2).term, 2);
  assert.ok(!nt.delivered.some((m) => m.msgType === MT.MsgRequestPreVote), 'no pre-vote round');
  const votes = nt.delivered.filter((m) => m.msgType === MT.MsgRequestVote);
  assert.deepEqual(
    votes.map((m) => [m.from, m.to, m.term]),
    [
      [2, 1],
      [2, 3],
    ].map(([f, t]) => [f, t, 2]),
  );
  for (const v of votes) assert.equal(new TextDecoder().decode(v.context), 'CampaignTransfer');
  // Contrast: an ordinary election of node 3 now is held off by the lease (and pre-vote).
  nt.send(hup(3));
  assert.equal(nt.raft(2).state, StateRole.Leader);
  assert.equal(nt.raft(2).term, 2);
});

test('a candidate ignores MsgTimeoutNow; a follower receiving it campaigns at once', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeCandidate();
  readMessages(r);
  r.step(msg({ msgType: MT.MsgTimeoutNow, from: 2, to: 1, term: 1 }));
  assert.equal(r.term, 1);
  assert.deepEqual(readMessages(r), []);
  const f = newTestRaft(1, [1, 2, 3], 10, 1, { preVote: true });
  f.becomeFollower(1, 2);
  f.step(msg({ msgType: MT.MsgTimeoutNow, from: 2, to: 1, term: 1 }));
  assert.equal(f.state, StateRole.Candidate);
  assert.equal(f.term, 2);
});

test('a follower forwards MsgTransferLeader to the leader (for itself and for another node)', () => {
  // The follower asks for itself (etcd TestLeaderTransferToUpToDateNodeFromFollower).
  const nt = electedNetwork();
  nt.send(transfer(2, 2));
  checkTransferState(nt.raft(1), StateRole.Follower, 2);
  assert.equal(nt.raft(2).state, StateRole.Leader);
  // RawNode.transferLeader(3) called on follower 1: the request reaches leader 2 on behalf of 3.
  const follower = nt.raft(1);
  RawNode.fromRaft(follower).transferLeader(3);
  const fwd = readMessages(follower);
  assert.deepEqual(
    fwd.map((m) => [m.msgType, m.to, m.from]),
    [[MT.MsgTransferLeader, 2, 3]],
    'forwarded on behalf of the transferee',
  );
  nt.send(...fwd);
  assert.equal(nt.raft(3).state, StateRole.Leader);
  checkTransferState(nt.raft(2), StateRole.Follower, 3);
  checkTransferState(follower, StateRole.Follower, 3);
  // Without a known leader the request is dropped.
  const lone = newTestRaft(1, [1, 2, 3]);
  lone.step(transfer(2, 1));
  assert.deepEqual(readMessages(lone), []);
});

test('removing the transferee from the configuration aborts the transfer', () => {
  const nt = electedNetwork();
  const lead = nt.raft(1);
  nt.isolate(3);
  nt.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  lead.applyConfChange(confChangeV2([{ changeType: ConfChangeType.RemoveNode, nodeId: 3 }], ConfChangeTransition.Auto));
  checkTransferState(lead, StateRole.Leader, 1);
});
