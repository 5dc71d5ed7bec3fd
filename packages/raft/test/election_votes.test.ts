// Leader election scenarios (Raft paper §5.2, §5.4), in the style of etcd-raft's
// raft_paper_test.go / raft_test.go: Raft state machines stepped directly or through the Network.
// This file: how votes are cast and counted, and who can win (§5.2, §5.4.1, §5.4.2).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Raft } from '../src/raft.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { type Message, MessageType } from '../src/types.js';
import { raftWithLog } from './election_helpers.js';
import { hup, msg, Network, newTestRaft, type PeerSlot, readMessages } from './network.js';

const MT = MessageType;

function voteResp(from: number, term: number, reject: boolean): Message {
  return msg({ msgType: MT.MsgRequestVoteResponse, from, to: 1, term, reject });
}

// ---- §5.2: winning, losing, splitting ----

test('§5.2 candidate outcome by vote pattern (table)', () => {
  const cases: { size: number; votes: [number, boolean][]; want: StateRole }[] = [
    { size: 1, votes: [], want: StateRole.Leader },
    {
      size: 3,
      votes: [
        [2, true],
        [3, true],
      ],
      want: StateRole.Leader,
    },
    { size: 3, votes: [[2, true]], want: StateRole.Leader },
    {
      size: 3,
      votes: [
        [2, false],
        [3, true],
      ],
      want: StateRole.Leader,
    },
    {
      size: 5,
      votes: [
        [2, true],
        [3, true],
        [4, true],
        [5, true],
      ],
      want: StateRole.Leader,
    },
    {
      size: 5,
      votes: [
        [2, true],
        [3, true],
        [4, true],
      ],
      want: StateRole.Leader,
    },
    {
      size: 5,
      votes: [
        [2, true],
        [3, true],
      ],
      want: StateRole.Leader,
    },
    {
      size: 5,
      votes: [
        [2, false],
        [3, true],
        [4, false],
        [5, true],
      ],
      want: StateRole.Leader,
    },
    // A majority of rejections: back to follower.
    {
      size: 3,
      votes: [
        [2, false],
        [3, false],
      ],
      want: StateRole.Follower,
    },
    {
      size: 5,
      votes: [
        [2, false],
        [3, false],
        [4, false],
        [5, false],
      ],
      want: StateRole.Follower,
    },
    {
      size: 5,
      votes: [
        [2, true],
        [3, false],
        [4, false],
        [5, false],
      ],
      want: StateRole.Follower,
    },
    {
      size: 5,
      votes: [
        [2, false],
        [3, false],
        [4, false],
      ],
      want: StateRole.Follower,
    },
    // Neither: stays candidate.
    { size: 3, votes: [], want: StateRole.Candidate },
    { size: 3, votes: [[2, false]], want: StateRole.Candidate },
    { size: 5, votes: [[2, true]], want: StateRole.Candidate },
    {
      size: 5,
      votes: [
        [2, false],
        [3, false],
      ],
      want: StateRole.Candidate,
    },
    {
      size: 5,
      votes: [
        [2, true],
        [3, false],
        [4, false],
      ],
      want: StateRole.Candidate,
    },
    { size: 5, votes: [], want: StateRole.Candidate },
    // Duplicate grants from one voter count once.
    {
      size: 5,
      votes: [
        [2, true],
        [2, true],
        [2, true],
      ],
      want: StateRole.Candidate,
    },
  ];
  for (const [i, c] of cases.entries()) {
    const ids = Array.from({ length: c.size }, (_, k) => k + 1);
    const r = newTestRaft(1, ids);
    r.step(hup(1));
    for (const [from, granted] of c.votes) r.step(voteResp(from, 1, !granted));
    const label = `case ${i}: ${c.size} nodes, votes ${JSON.stringify(c.votes)}`;
    assert.equal(r.state, c.want, `${label}: state ${StateRole[r.state]}, want ${StateRole[c.want]}`);
    assert.equal(r.term, 1, label);
    assert.equal(r.leaderId, c.want === StateRole.Leader ? 1 : INVALID_ID, label);
  }
});

test('§5.2 elections over the network: black-holed peers and peers with newer logs (table)', () => {
  const newer = (id: number, n: number): Raft =>
    raftWithLog(
      id,
      Array.from({ length: n }, (_, k) => k + 1),
      [1],
      1,
    );
  const cases: { name: string; slots: PeerSlot[]; want: StateRole; term: number }[] = [
    { name: '3 live', slots: [undefined, undefined, undefined], want: StateRole.Leader, term: 1 },
    { name: '2 of 3 live', slots: [undefined, undefined, null], want: StateRole.Leader, term: 1 },
    { name: '1 of 3 live', slots: [undefined, null, null], want: StateRole.Candidate, term: 1 },
    { name: '2 of 4 live', slots: [undefined, null, null, undefined], want: StateRole.Candidate, term: 1 },
    { name: '3 of 5 live', slots: [undefined, null, null, undefined, undefined], want: StateRole.Leader, term: 1 },
    // Three voters have a longer log at the same term: they reject, and the candidate steps down.
    { name: 'newer logs', slots: [undefined, newer(2, 5), newer(3, 5), newer(4, 5), undefined], want: StateRole.Follower, term: 1 },
  ];
  for (const c of cases) {
    const nt = new Network(c.slots);
    nt.send(hup(1));
    const r = nt.raft(1);
    assert.equal(r.state, c.want, `${c.name}: state ${StateRole[r.state]}`);
    assert.equal(r.term, c.term, c.name);
  }
});

/** Nodes 1 and 3 campaign at once; 2 hears 1 first and 4 hears 3 first. Returns after the network is quiet. */
function splitVote(nt: Network): void {
  const r1 = nt.raft(1);
  const r3 = nt.raft(3);
  r1.step(hup(1));
  r3.step(hup(3));
  const m1 = readMessages(r1);
  const m3 = readMessages(r3);
  const first = [...m1.filter((m) => m.to === 2), ...m3.filter((m) => m.to === 4)];
  const rest = [...m1.filter((m) => m.to !== 2), ...m3.filter((m) => m.to !== 4)];
  nt.send(...first, ...rest);
}

test(
  '§5.2 split vote with an outstanding voter: both candidates stay candidates; ' + 'the next timeout elects a leader at a higher term',
  () => {
    // Five voters, node 5 unreachable: each candidate has 2 grants and 2 rejections, node 5 could still decide.
    const nt = new Network([undefined, undefined, undefined, undefined, null]);
    const [r1, r2, r3, r4] = [1, 2, 3, 4].map((id) => nt.raft(id)) as [Raft, Raft, Raft, Raft];
    splitVote(nt);
    assert.equal(r1.state, StateRole.Candidate);
    assert.equal(r3.state, StateRole.Candidate);
    assert.equal(r2.vote, 1);
    assert.equal(r4.vote, 3);
    for (const r of [r1, r2, r3, r4]) assert.equal(r.term, 1, `node ${r.id}`);
    // Node 1 times out first (node 3's timer is pushed out): a new election at term 2 wins.
    r3.randomizedElectionTimeout = 100;
    while (r1.term === 1) r1.tick();
    nt.send(...readMessages(r1));
    assert.equal(r1.state, StateRole.Leader);
    assert.equal(r1.term, 2);
    for (const r of [r2, r3, r4]) {
      assert.equal(r.state, StateRole.Follower, `node ${r.id}`);
      assert.equal(r.term, 2, `node ${r.id}`);
      assert.equal(r.leaderId, 1, `node ${r.id}`);
    }
  },
);

test('split vote with every vote counted: both candidates lose (etcd VoteLost) and step down at the same term', () => {
  const nt = new Network([undefined, undefined, undefined, undefined]);
  splitVote(nt);
  for (const id of [1, 3]) {
    const r = nt.raft(id);
    assert.equal(r.state, StateRole.Follower, `node ${id}: 2 of 4 votes cannot win`);
    assert.equal(r.term, 1, `node ${id}`);
    assert.equal(r.vote, id, `node ${id} keeps its vote for the term`);
  }
  nt.send(hup(2));
  assert.equal(nt.raft(2).state, StateRole.Leader);
  assert.equal(nt.raft(2).term, 2);
});

// ---- one vote per term ----

test('§5.2 each server votes for at most one candidate per term (table)', () => {
  const cases: { vote: number; from: number; reject: boolean }[] = [
    { vote: INVALID_ID, from: 2, reject: false },
    { vote: INVALID_ID, from: 3, reject: false },
    { vote: 2, from: 2, reject: false }, // a repeated request from the same candidate is granted again
    { vote: 3, from: 3, reject: false },
    { vote: 2, from: 3, reject: true },
    { vote: 3, from: 2, reject: true },
  ];
  for (const c of cases) {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, INVALID_ID);
    r.vote = c.vote;
    r.step(msg({ msgType: MT.MsgRequestVote, from: c.from, to: 1, term: 1, index: 0, logTerm: 0 }));
    const ms = readMessages(r);
    const label = `voted ${c.vote}, request from ${c.from}`;
    assert.deepEqual(
      ms.map((m) => [m.msgType, m.to, m.term, m.reject]),
      [[MT.MsgRequestVoteResponse, c.from, 1, c.reject]],
      label,
    );
    assert.equal(r.vote, c.vote === INVALID_ID ? c.from : c.vote, label);
  }
});

test('§5.2 first-come-first-served: a voter grants the first candidate of a term and rejects the second', () => {
  const nt = new Network([undefined, undefined, undefined, undefined, undefined]);
  const r2 = nt.raft(2);
  const r3 = nt.raft(3);
  r2.step(hup(2));
  r3.step(hup(3));
  const m2 = readMessages(r2);
  const m3 = readMessages(r3);
  const toVoter = (ms: Message[]): Message => ms.find((m) => m.to === 1)!;
  const v = nt.raft(1);
  v.step(toVoter(m2));
  v.step(toVoter(m3));
  const resp = readMessages(v);
  assert.deepEqual(
    resp.map((m) => [m.to, m.reject]),
    [
      [2, false],
      [3, true],
    ],
  );
  assert.equal(v.vote, 2);
  // The vote survives a restart: it is in the persisted hard state.
  assert.equal(v.raftLog.store.initialState().hardState.vote, 2);
});

test('a follower with a known leader does not vote for another candidate at the same term', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeFollower(1, 2);
  r.step(msg({ msgType: MT.MsgRequestVote, from: 3, to: 1, term: 1 }));
  assert.deepEqual(
    readMessages(r).map((m) => [m.msgType, m.reject]),
    [[MT.MsgRequestVoteResponse, true]],
  );
  assert.equal(r.vote, INVALID_ID);
});

// ---- §5.4.1 election restriction ----

test('§5.4.1 voter rejects a candidate whose log is less up-to-date (table over lastTerm/lastIndex)', () => {
  // The voter's log: terms [1, 2, 2] => last entry (index 3, term 2).
  const cases: { logTerm: number; index: number; grant: boolean }[] = [
    { logTerm: 0, index: 0, grant: false },
    { logTerm: 1, index: 1, grant: false },
    { logTerm: 1, index: 3, grant: false },
    { logTerm: 1, index: 9, grant: false }, // longer log, older last term
    { logTerm: 2, index: 1, grant: false },
    { logTerm: 2, index: 2, grant: false },
    { logTerm: 2, index: 3, grant: true }, // identical
    { logTerm: 2, index: 4, grant: true }, // same term, longer
    { logTerm: 3, index: 1, grant: true }, // newer last term, shorter
    { logTerm: 3, index: 3, grant: true },
    { logTerm: 3, index: 7, grant: true },
  ];
  for (const t of [MT.MsgRequestVote, MT.MsgRequestPreVote]) {
    for (const c of cases) {
      const r = raftWithLog(1, [1, 2, 3], [1, 2, 2], 3, { preVote: t === MT.MsgRequestPreVote });
      r.step(msg({ msgType: t, from: 2, to: 1, term: 4, index: c.index, logTerm: c.logTerm }));
      const label = `${MT[t]} with last (term ${c.logTerm}, index ${c.index}) vs voter (2, 3)`;
      const ms = readMessages(r);
      assert.equal(ms.length, 1, label);
      assert.equal(ms[0]!.msgType, t === MT.MsgRequestVote ? MT.MsgRequestVoteResponse : MT.MsgRequestPreVoteResponse, label);
      assert.equal(ms[0]!.reject, !c.grant, label);
      if (t === MT.MsgRequestVote) {
        // A real vote request raises the term either way; only a grant records the vote.
        assert.equal(r.term, 4, label);
        assert.equal(ms[0]!.term, 4, label);
        assert.equal(r.vote, c.grant ? 2 : INVALID_ID, label);
      } else {
        assert.equal(r.term, 3, `${label}: pre-vote never changes the voter's term`);
        assert.equal(r.vote, INVALID_ID, label);
        assert.equal(ms[0]!.term, c.grant ? 4 : 3, label);
      }
    }
  }
});

test('§5.4.1 a node with a stale log cannot become leader; an up-to-date one then wins', () => {
  // Node 1 missed the entry committed by 2 and 3.
  const nt = new Network([raftWithLog(1, [1, 2, 3], [1], 1), raftWithLog(2, [1, 2, 3], [1, 1], 1), raftWithLog(3, [1, 2, 3], [1, 1], 1)]);
  nt.send(hup(1));
  assert.notEqual(nt.raft(1).state, StateRole.Leader);
  assert.equal(nt.raft(2).vote, INVALID_ID);
  assert.equal(nt.raft(3).vote, INVALID_ID);
  nt.send(hup(2));
  assert.equal(nt.raft(2).state, StateRole.Leader);
  assert.equal(nt.raft(1).leaderId, 2);
  // The leader's log wins: node 1 gets entry 2 and the leader's empty entry.
  assert.equal(nt.raft(1).raftLog.lastIndex(), 3);
  assert.equal(nt.raft(1).raftLog.committed, 3);
});

// ---- §5.4.2 the new leader's empty entry ----

test('§5.4.2 a new leader appends an empty entry of its own term and commits earlier entries through it', () => {
  const voters = [1, 2, 3];
  const nt = new Network([raftWithLog(1, voters, [1, 2], 2), raftWithLog(2, voters, [1, 2], 2), raftWithLog(3, voters, [1], 2)]);
  nt.send(hup(1));
  const lead = nt.raft(1);
  assert.equal(lead.state, StateRole.Leader);
  assert.equal(lead.term, 3);
  const last = lead.raftLog.lastIndex();
  assert.equal(last, 3);
  const e = lead.raftLog.slice(3, 4)[0]!;
  assert.equal(e.term, 3);
  assert.equal(e.data.length, 0);
  for (const id of voters) {
    const r = nt.raft(id);
    assert.equal(r.raftLog.committed, 3, `node ${id} commits through the empty entry`);
    assert.equal(r.raftLog.lastTerm(), 3, `node ${id}`);
  }
});
