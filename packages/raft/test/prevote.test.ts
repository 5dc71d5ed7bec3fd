// PreVote (Raft thesis §9.6): a node first asks whether it could win an election at term+1, and only
// increments its term if a majority says yes, so a partitioned node cannot disrupt a healthy group.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Raft } from '../src/raft.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { type Message, MessageType, newHardState } from '../src/types.js';
import { ent, hup, msg, Network, newStorage, newTestRaft, propose, readMessages } from './network.js';

const MT = MessageType;

function byTo(ms: Message[]): Message[] {
  return [...ms].sort((a, b) => a.to - b.to);
}

/** Ticks `id` once and delivers what it sends through the network's filters. */
function tickAndDeliver(nt: Network, id: number): void {
  const r = nt.raft(id);
  r.tick();
  nt.send(...nt.filter(readMessages(r)));
}

function preVoteRaft(id: number, voters: number[], term = 0, terms: number[] = []): Raft {
  const s = newStorage(voters);
  s.append(terms.map((t, i) => ent(i + 1, t)));
  if (term > 0) s.setHardState(newHardState(term, 0, 0));
  return newTestRaft(id, voters, 10, 1, { preVote: true, storage: s });
}

test('pre-candidate does not increase its term or change its vote, and asks for votes at term+1', () => {
  const r = preVoteRaft(1, [1, 2, 3], 4, [1, 4]);
  r.becomeFollower(4, 2);
  r.vote = 3;
  while (r.state === StateRole.Follower) r.tick();
  assert.equal(r.state, StateRole.PreCandidate);
  assert.equal(r.term, 4, 'term unchanged');
  assert.equal(r.vote, 3, 'vote unchanged');
  assert.equal(r.leaderId, INVALID_ID, 'the old leader is forgotten');
  assert.deepEqual(r.hardState(), { term: 4, vote: 3, commit: 0 }, 'nothing new to persist');
  const ms = byTo(readMessages(r));
  assert.deepEqual(
    ms.map((m) => [m.msgType, m.to, m.term, m.logTerm, m.index]),
    [
      [MT.MsgRequestPreVote, 2, 5, 4, 2],
      [MT.MsgRequestPreVote, 3, 5, 4, 2],
    ],
  );
  // Another timeout without answers: a new pre-vote round, still at the same term.
  const timeout = r.randomizedElectionTimeout;
  for (let i = 0; i < 2 * timeout; i++) r.tick();
  assert.equal(r.state, StateRole.PreCandidate);
  assert.equal(r.term, 4);
  assert.ok(readMessages(r).every((m) => m.msgType === MT.MsgRequestPreVote && m.term === 5));
});

test('pre-candidate becomes a candidate (term+1, self vote) once a majority grants the pre-vote', () => {
  const r = preVoteRaft(1, [1, 2, 3, 4, 5]);
  r.step(hup(1));
  assert.equal(r.state, StateRole.PreCandidate);
  readMessages(r);
  r.step(msg({ msgType: MT.MsgRequestPreVoteResponse, from: 2, to: 1, term: 1 }));
  assert.equal(r.state, StateRole.PreCandidate, 'two of five is not a majority');
  assert.equal(r.term, 0, 'a granted pre-vote carrying term+1 does not move the term');
  r.step(msg({ msgType: MT.MsgRequestPreVoteResponse, from: 3, to: 1, term: 1 }));
  assert.equal(r.state, StateRole.Candidate);
  assert.equal(r.term, 1);
  assert.equal(r.vote, 1);
  const ms = byTo(readMessages(r));
  assert.deepEqual(
    ms.map((m) => [m.msgType, m.to, m.term]),
    [2, 3, 4, 5].map((to) => [MT.MsgRequestVote, to, 1]),
  );
  // The candidate counts fresh votes: pre-votes do not carry over.
  r.step(msg({ msgType: MT.MsgRequestVoteResponse, from: 2, to: 1, term: 1 }));
  assert.equal(r.state, StateRole.Candidate);
  r.step(msg({ msgType: MT.MsgRequestVoteResponse, from: 3, to: 1, term: 1 }));
  assert.equal(r.state, StateRole.Leader);
  // End to end over the network.
  const nt = new Network([undefined, undefined, undefined], { preVote: true });
  nt.send(hup(1));
  assert.equal(nt.raft(1).state, StateRole.Leader);
  assert.equal(nt.raft(1).term, 1);
  assert.ok(
    nt.delivered.some((m) => m.msgType === MT.MsgRequestPreVote),
    'a pre-vote round happened',
  );
});

test('a pre-candidate counts only pre-vote responses, a candidate only vote responses', () => {
  const r = preVoteRaft(1, [1, 2, 3], 2);
  r.step(hup(1));
  assert.equal(r.state, StateRole.PreCandidate);
  r.step(msg({ msgType: MT.MsgRequestVoteResponse, from: 2, to: 1, term: 2 }));
  r.step(msg({ msgType: MT.MsgRequestVoteResponse, from: 3, to: 1, term: 2 }));
  assert.equal(r.state, StateRole.PreCandidate);
  assert.equal(r.term, 2);
  // And the reverse: a candidate does not count pre-vote grants of its term.
  const c = newTestRaft(1, [1, 2, 3]);
  c.step(hup(1));
  assert.equal(c.state, StateRole.Candidate);
  c.step(msg({ msgType: MT.MsgRequestPreVoteResponse, from: 2, to: 1, term: 1 }));
  c.step(msg({ msgType: MT.MsgRequestPreVoteResponse, from: 3, to: 1, term: 1 }));
  assert.equal(c.state, StateRole.Candidate);
  c.step(msg({ msgType: MT.MsgRequestVoteResponse, from: 3, to: 1, term: 1 }));
  assert.equal(c.state, StateRole.Leader);
});

test('pre-vote is granted for a future term without recording a vote or resetting the election timer', () => {
  const r = preVoteRaft(1, [1, 2, 3], 1);
  r.becomeFollower(1, INVALID_ID);
  r.vote = 3; // already voted for 3 at term 1
  r.electionElapsed = 5;
  r.step(msg({ msgType: MT.MsgRequestPreVote, from: 2, to: 1, term: 2, index: 0, logTerm: 0 }));
  assert.deepEqual(
    readMessages(r).map((m) => [m.msgType, m.to, m.term, m.reject]),
    [[MT.MsgRequestPreVoteResponse, 2, 2, false]],
  );
  assert.equal(r.term, 1);
  assert.equal(r.vote, 3);
  assert.equal(r.electionElapsed, 5);
  assert.equal(r.state, StateRole.Follower);
  // At the voter's own term a pre-vote is a request for a term the voter already voted in: rejected.
  r.step(msg({ msgType: MT.MsgRequestPreVote, from: 2, to: 1, term: 1, index: 0, logTerm: 0 }));
  assert.deepEqual(
    readMessages(r).map((m) => [m.msgType, m.term, m.reject]),
    [[MT.MsgRequestPreVoteResponse, 1, true]],
  );
  // A follower with a known leader still grants a future-term pre-vote (no checkQuorum lease here).
  const f = preVoteRaft(1, [1, 2, 3], 1);
  f.becomeFollower(1, 3);
  f.step(msg({ msgType: MT.MsgRequestPreVote, from: 2, to: 1, term: 2 }));
  assert.deepEqual(
    readMessages(f).map((m) => m.reject),
    [false],
  );
  assert.equal(f.leaderId, 3, 'the leader is not forgotten');
});

test('MsgRequestPreVote and MsgRequestVote at a lower term get a rejection carrying the higher term', () => {
  for (const preVote of [false, true]) {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { preVote });
    r.becomeFollower(5, INVALID_ID);
    r.step(msg({ msgType: MT.MsgRequestPreVote, from: 2, to: 1, term: 3, index: 10, logTerm: 3 }));
    assert.deepEqual(
      readMessages(r).map((m) => [m.msgType, m.to, m.term, m.reject]),
      [[MT.MsgRequestPreVoteResponse, 2, 5, true]],
      `preVote=${preVote}`,
    );
    r.step(msg({ msgType: MT.MsgRequestVote, from: 2, to: 1, term: 3, index: 10, logTerm: 3 }));
    assert.deepEqual(
      readMessages(r).map((m) => [m.msgType, m.to, m.term, m.reject]),
      [[MT.MsgRequestVoteResponse, 2, 5, true]],
      `preVote=${preVote}`,
    );
    assert.equal(r.vote, INVALID_ID, 'no vote recorded');
    assert.equal(r.term, 5);
  }
});

test('a pre-vote rejection from a higher-term node makes the pre-candidate a follower at that term', () => {
  const r = preVoteRaft(1, [1, 2, 3, 4, 5], 2);
  r.step(hup(1));
  assert.equal(r.state, StateRole.PreCandidate);
  // One rejection of five is not a loss by itself; the higher term is what matters.
  r.step(msg({ msgType: MT.MsgRequestPreVoteResponse, from: 2, to: 1, term: 7, reject: true }));
  assert.equal(r.state, StateRole.Follower);
  assert.equal(r.term, 7);
  assert.equal(r.vote, INVALID_ID);
  // End to end: a stale node learns the term from the rejection, then can pre-campaign usefully.
  const nt = new Network([preVoteRaft(1, [1, 2, 3], 1), preVoteRaft(2, [1, 2, 3], 4), preVoteRaft(3, [1, 2, 3], 4)]);
  nt.send(hup(1));
  assert.equal(nt.raft(1).state, StateRole.Follower);
  assert.equal(nt.raft(1).term, 4);
  nt.send(hup(1));
  assert.equal(nt.raft(1).state, StateRole.Leader);
  assert.equal(nt.raft(1).term, 5);
});

test('a pre-candidate rejected by a majority at its own term returns to follower without changing its term', () => {
  // Voters 2 and 3 have a longer log at the same term.
  const voters = [1, 2, 3];
  const nt = new Network([preVoteRaft(1, voters, 1, [1]), preVoteRaft(2, voters, 1, [1, 1]), preVoteRaft(3, voters, 1, [1, 1])]);
  nt.send(hup(1));
  const r = nt.raft(1);
  assert.equal(r.state, StateRole.Follower);
  assert.equal(r.term, 1);
  for (const id of [2, 3]) {
    assert.equal(nt.raft(id).term, 1, `node ${id}: a rejected pre-vote leaves no trace`);
    assert.equal(nt.raft(id).vote, INVALID_ID, `node ${id}`);
  }
});

/**
 * 3 nodes, 1 leader; node 3 is isolated for many election timeouts while the leader commits more
 * entries, then rejoins and campaigns.
 */
function partitionAndRejoin(preVote: boolean): Network {
  const nt = new Network([undefined, undefined, undefined], { preVote });
  nt.send(hup(1));
  assert.equal(nt.raft(1).state, StateRole.Leader);
  nt.isolate(3);
  nt.send(propose(1, 1));
  nt.send(propose(1, 1));
  const r3 = nt.raft(3);
  for (let i = 0; i < 5 * r3.electionTimeout; i++) tickAndDeliver(nt, 3);
  nt.recover();
  nt.send(hup(3));
  return nt;
}

test('with preVote, a partitioned node rejoining does not disrupt the leader (term unchanged)', () => {
  const nt = partitionAndRejoin(true);
  const r3 = nt.raft(3);
  assert.equal(r3.term, 1, 'the isolated node never incremented its term');
  assert.equal(r3.state, StateRole.Follower, 'its pre-vote was rejected');
  const lead = nt.raft(1);
  assert.equal(lead.state, StateRole.Leader);
  assert.equal(lead.term, 1);
  assert.equal(nt.raft(2).term, 1);
  // The leader then brings node 3 up to date.
  nt.send(propose(1, 1));
  assert.equal(r3.raftLog.committed, lead.raftLog.committed);
  assert.equal(r3.leaderId, 1);
});

test('without preVote, a partitioned node rejoining disrupts the leader (term bumped, leader deposed)', () => {
  const nt = partitionAndRejoin(false);
  const r3 = nt.raft(3);
  assert.ok(r3.term > 2, `isolated node inflated its term to ${r3.term}`);
  const lead = nt.raft(1);
  assert.notEqual(lead.state, StateRole.Leader, 'old leader stepped down on the higher term');
  assert.equal(lead.term, r3.term);
  assert.equal(nt.raft(2).term, r3.term);
  // Node 3's log is behind, so it could not win: nobody leads until another election.
  assert.notEqual(r3.state, StateRole.Leader);
  for (const id of [1, 2, 3]) assert.equal(nt.raft(id).leaderId, INVALID_ID, `node ${id}`);
});

test('preVote with the whole group down to a minority: pre-candidates never inflate the term', () => {
  const nt = new Network([undefined, undefined, undefined, undefined, undefined], { preVote: true });
  nt.send(hup(1));
  for (const id of [1, 2, 3]) nt.isolate(id);
  for (let i = 0; i < 100; i++) for (const id of [1, 2, 3, 4, 5]) tickAndDeliver(nt, id);
  for (const id of [2, 3]) assert.equal(nt.raft(id).term, 1, `node ${id}`);
  // 4 and 5 can talk to each other but are no majority of five.
  for (const id of [4, 5]) {
    assert.equal(nt.raft(id).term, 1, `node ${id}`);
    assert.notEqual(nt.raft(id).state, StateRole.Leader, `node ${id}`);
  }
  nt.recover();
  nt.send(hup(4));
  assert.equal(nt.raft(4).state, StateRole.Leader);
  assert.equal(nt.raft(4).term, 2);
});
