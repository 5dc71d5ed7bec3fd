// Leader election scenarios (Raft paper §5.2, §5.4.1), in the style of etcd-raft's
// raft_paper_test.go / raft_test.go: Raft state machines stepped directly or through the Network.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@tskv/util';
import type { Raft } from '../src/raft.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { type Message, MessageType, newHardState } from '../src/types.js';
import { ent, hup, msg, Network, newStorage, newTestRaft, nextEnts, type PeerSlot, persist, propose, readMessages } from './network.js';

const MT = MessageType;

/** A Raft whose stable log holds entries with the given terms (index 1..n) and whose hard state term is `term`. */
function raftWithLog(
  id: number,
  voters: number[],
  terms: number[],
  term = terms.length ? terms[terms.length - 1]! : 0,
  extra: Parameters<typeof newTestRaft>[4] = {},
): Raft {
  const s = newStorage(voters);
  s.append(terms.map((t, i) => ent(i + 1, t)));
  if (term > 0) s.setHardState(newHardState(term, 0, 0));
  return newTestRaft(id, voters, 10, 1, { ...extra, storage: s });
}

function tickN(r: Raft, n: number): void {
  for (let i = 0; i < n; i++) r.tick();
}

function byTo(ms: Message[]): Message[] {
  return [...ms].sort((a, b) => a.to - b.to);
}

function voteResp(from: number, term: number, reject: boolean): Message {
  return msg({ msgType: MT.MsgRequestVoteResponse, from, to: 1, term, reject });
}

// ---- §5.2: starting an election ----

test('follower starts an election once its randomized election timeout [et, 2et) elapses (many seeds)', () => {
  const et = 10;
  const seen = new Set<number>();
  for (let seed = 1; seed <= 300; seed++) {
    const r = newTestRaft(1, [1, 2, 3], et, 1, { random: mulberry32(seed) });
    const drawn = r.randomizedElectionTimeout;
    assert.ok(drawn >= et && drawn < 2 * et, `seed ${seed}: randomized timeout ${drawn} outside [${et}, ${2 * et})`);
    let ticks = 0;
    while (r.state === StateRole.Follower) {
      r.tick();
      ticks++;
      assert.ok(ticks < 2 * et, `seed ${seed}: no election after ${ticks} ticks`);
    }
    assert.equal(ticks, drawn, `seed ${seed}: election after ${ticks} ticks, timeout was ${drawn}`);
    assert.equal(r.state, StateRole.Candidate, `seed ${seed}`);
    assert.equal(r.term, 1, `seed ${seed}`);
    // The next timeout (drawn by becomeCandidate's reset) is in range as well.
    assert.ok(
      r.randomizedElectionTimeout >= et && r.randomizedElectionTimeout < 2 * et,
      `seed ${seed}: candidate timeout ${r.randomizedElectionTimeout}`,
    );
    seen.add(ticks);
  }
  // Randomization really spreads timeouts: every value of [et, 2et) occurs over 300 seeds.
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  );
});

test('custom minElectionTick/maxElectionTick bound the randomized timeout', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { random: mulberry32(seed), minElectionTick: 15, maxElectionTick: 18 });
    for (let i = 0; i < 5; i++) {
      const t = r.randomizedElectionTimeout;
      assert.ok(t >= 15 && t < 18, `seed ${seed}: timeout ${t} outside [15, 18)`);
      seen.add(t);
      r.becomeFollower(r.term + 1, INVALID_ID);
    }
  }
  assert.deepEqual([...seen].sort(), [15, 16, 17]);
});

test('§5.2 follower that hears from the leader every tick never starts an election', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeFollower(1, 2);
  for (let i = 0; i < 100; i++) {
    r.tick();
    r.step(msg({ msgType: MT.MsgHeartbeat, from: 2, to: 1, term: 1 }));
  }
  assert.equal(r.state, StateRole.Follower);
  assert.equal(r.term, 1);
  assert.equal(r.leaderId, 2);
  assert.ok(
    readMessages(r).every((m) => m.msgType === MT.MsgHeartbeatResponse),
    'only heartbeat responses',
  );
});

test('§5.2 candidate increments its term, votes for itself and sends RequestVote to every other voter (not learners)', () => {
  const r = raftWithLog(1, [1, 2, 3, 4, 5], [1, 1, 2], 2, { learners: [6] });
  tickN(r, 2 * r.electionTimeout);
  assert.equal(r.state, StateRole.Candidate);
  assert.equal(r.term, 3);
  assert.equal(r.vote, 1);
  assert.equal(r.leaderId, INVALID_ID);
  const ms = byTo(readMessages(r));
  assert.deepEqual(
    ms.map((m) => [m.msgType, m.from, m.to, m.term, m.logTerm, m.index]),
    [2, 3, 4, 5].map((to) => [MT.MsgRequestVote, 1, to, 3, 2, 3]),
  );
  // Term and vote are part of the hard state the application persists before the requests leave.
  const hs = r.hardState();
  assert.equal(hs.term, 3);
  assert.equal(hs.vote, 1);
});

test('§5.2 election timeout as a candidate starts a new election with a higher term', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeCandidate();
  assert.equal(r.term, 1);
  readMessages(r);
  const timeout = r.randomizedElectionTimeout;
  tickN(r, timeout - 1);
  assert.equal(r.term, 1, 'no new election before the timeout');
  assert.equal(readMessages(r).length, 0);
  r.tick();
  assert.equal(r.state, StateRole.Candidate);
  assert.equal(r.term, 2);
  assert.equal(r.vote, 1);
  const ms = byTo(readMessages(r));
  assert.deepEqual(
    ms.map((m) => [m.msgType, m.to, m.term]),
    [
      [MT.MsgRequestVote, 2, 2],
      [MT.MsgRequestVote, 3, 2],
    ],
  );
});

test('leader does not start elections on ticks; it sends heartbeats', () => {
  const nt = new Network([undefined, undefined, undefined]);
  nt.send(hup(1));
  const r = nt.raft(1);
  assert.equal(r.state, StateRole.Leader);
  readMessages(r);
  let beats = 0;
  for (let i = 0; i < 50; i++) {
    r.tick();
    beats += readMessages(r).filter((m) => m.msgType === MT.MsgHeartbeat).length;
  }
  assert.equal(r.state, StateRole.Leader);
  assert.equal(r.term, 1);
  assert.equal(beats, 50 * 2, 'heartbeatTick=1: one heartbeat per follower per tick');
});

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

// ---- stepping down ----

test('§5.2 candidate steps down on AppendEntries or heartbeat from a leader of the same or higher term (table)', () => {
  for (const t of [MT.MsgAppend, MT.MsgHeartbeat]) {
    for (const term of [1, 2]) {
      for (const pre of [false, true]) {
        const r = newTestRaft(1, [1, 2, 3], 10, 1, { preVote: pre });
        r.becomeFollower(1, INVALID_ID);
        r.step(hup(1));
        assert.equal(r.state, pre ? StateRole.PreCandidate : StateRole.Candidate);
        const myTerm = r.term; // 2 for a candidate, 1 for a pre-candidate
        const mterm = myTerm + term - 1;
        readMessages(r);
        r.step(msg({ msgType: t, from: 2, to: 1, term: mterm }));
        const label = `${MT[t]} term ${mterm}, ${pre ? 'pre-candidate' : 'candidate'} at term ${myTerm}`;
        assert.equal(r.state, StateRole.Follower, label);
        assert.equal(r.term, mterm, label);
        assert.equal(r.leaderId, 2, label);
        // And the message is then handled as a follower would.
        const want = t === MT.MsgAppend ? MT.MsgAppendResponse : MT.MsgHeartbeatResponse;
        assert.deepEqual(
          readMessages(r).map((m) => [m.msgType, m.to, m.reject]),
          [[want, 2, false]],
          label,
        );
      }
    }
  }
});

test('§5.1 a higher-term message makes any role a follower at that term (table)', () => {
  const roles: [string, (r: Raft) => void][] = [
    ['follower', (r) => r.becomeFollower(1, 2)],
    [
      'pre-candidate',
      (r) => {
        r.becomeFollower(1, INVALID_ID);
        r.becomePreCandidate();
      },
    ],
    ['candidate', (r) => r.becomeCandidate()],
    [
      'leader',
      (r) => {
        r.becomeCandidate();
        r.becomeLeader();
      },
    ],
  ];
  const msgs: [MessageType, number][] = [
    [MT.MsgAppend, 2],
    [MT.MsgHeartbeat, 2],
    [MT.MsgRequestVote, INVALID_ID],
    [MT.MsgAppendResponse, INVALID_ID],
    [MT.MsgHeartbeatResponse, INVALID_ID],
    [MT.MsgRequestVoteResponse, INVALID_ID],
    [MT.MsgRequestPreVoteResponse, INVALID_ID], // a rejection carrying a higher term
  ];
  for (const [role, setup] of roles) {
    for (const [t, wantLeader] of msgs) {
      const r = newTestRaft(1, [1, 2, 3]);
      setup(r);
      assert.equal(r.term, 1);
      readMessages(r);
      const reject = t === MT.MsgRequestPreVoteResponse || t === MT.MsgRequestVoteResponse;
      r.step(msg({ msgType: t, from: 2, to: 1, term: 5, reject, index: 10, logTerm: 4 }));
      const label = `${role} gets ${MT[t]} at term 5`;
      assert.equal(r.state, StateRole.Follower, label);
      assert.equal(r.term, 5, label);
      assert.equal(r.leaderId, wantLeader, label);
      if (t === MT.MsgRequestVote) assert.equal(r.vote, 2, `${label}: the up-to-date candidate gets the vote`);
      else assert.equal(r.vote, INVALID_ID, `${label}: the vote of the old term is forgotten`);
    }
  }
});

test('§5.1 a node rejects messages of a lower term in every role, answering requests with its term (table)', () => {
  const roles: [string, (r: Raft) => void][] = [
    ['follower', (r) => r.becomeFollower(3, 2)],
    [
      'candidate',
      (r) => {
        r.becomeFollower(2, INVALID_ID);
        r.becomeCandidate();
      },
    ],
    [
      'leader',
      (r) => {
        r.becomeFollower(2, INVALID_ID);
        r.becomeCandidate();
        r.becomeLeader();
      },
    ],
  ];
  const stale: Partial<Message>[] = [
    { msgType: MT.MsgAppend, index: 0, logTerm: 0, entries: [ent(1, 2)], commit: 1 },
    { msgType: MT.MsgHeartbeat, commit: 1 },
    { msgType: MT.MsgRequestVote, index: 10, logTerm: 2 },
    { msgType: MT.MsgRequestVoteResponse },
    { msgType: MT.MsgAppendResponse, index: 1 },
    { msgType: MT.MsgHeartbeatResponse },
    { msgType: MT.MsgTimeoutNow },
  ];
  for (const [role, setup] of roles) {
    for (const fields of stale) {
      const r = newTestRaft(1, [1, 2, 3]);
      setup(r);
      assert.equal(r.term, 3);
      persist(r);
      readMessages(r);
      const before = {
        state: r.state,
        term: r.term,
        vote: r.vote,
        lead: r.leaderId,
        last: r.raftLog.lastIndex(),
        commit: r.raftLog.committed,
      };
      r.step(msg({ ...fields, from: 2, to: 1, term: 2 }));
      const label = `${role} at term 3 gets ${MT[fields.msgType!]} at term 2`;
      assert.deepEqual(
        { state: r.state, term: r.term, vote: r.vote, lead: r.leaderId, last: r.raftLog.lastIndex(), commit: r.raftLog.committed },
        before,
        label,
      );
      // Requests (append, heartbeat, vote) are answered with the current term so the stale
      // sender catches up (§5.1); responses and MsgTimeoutNow are dropped silently.
      const replies = readMessages(r).map((m) => [m.msgType, m.to, m.term, m.reject]);
      const expected =
        fields.msgType === MT.MsgAppend || fields.msgType === MT.MsgHeartbeat
          ? [[MT.MsgAppendResponse, 2, 3, false]]
          : fields.msgType === MT.MsgRequestVote
            ? [[MT.MsgRequestVoteResponse, 2, 3, true]]
            : [];
      assert.deepEqual(replies, expected, `${label}: reply`);
    }
  }
});

test('a vote request from a candidate with a lower term is rejected with the higher term, even if the voter has not voted', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  r.becomeFollower(2, INVALID_ID);
  r.step(msg({ msgType: MT.MsgRequestVote, from: 2, to: 1, term: 1, index: 5, logTerm: 1 }));
  assert.equal(r.vote, INVALID_ID);
  assert.equal(r.term, 2);
  assert.deepEqual(
    readMessages(r).map((m) => [m.msgType, m.to, m.term, m.reject]),
    [[MT.MsgRequestVoteResponse, 2, 2, true]],
  );
  // Network level: a stale candidate cannot win against nodes at a higher term; it learns
  // their term from the rejections and steps down.
  const nt = new Network([undefined, undefined, undefined]);
  for (const id of [2, 3]) nt.raft(id).becomeFollower(5, INVALID_ID);
  nt.send(hup(1));
  assert.equal(nt.raft(1).state, StateRole.Follower);
  assert.equal(nt.raft(1).term, 5);
  assert.equal(nt.raft(2).vote, INVALID_ID);
  assert.equal(nt.raft(3).vote, INVALID_ID);
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

// ---- learners, single node, leader's empty entry ----

test('learners never campaign: not on ticks, not on MsgHup, not on MsgTimeoutNow', () => {
  const r = newTestRaft(2, [1], 10, 1, { learners: [2] });
  assert.equal(r.isLearner, true);
  tickN(r, 100);
  r.step(hup(2));
  r.step(msg({ msgType: MT.MsgTimeoutNow, from: 1, to: 2, term: 0 }));
  assert.equal(r.state, StateRole.Follower);
  assert.equal(r.term, 0);
  assert.deepEqual(readMessages(r), []);
  // A learner in a network with a leader just follows.
  const l = newTestRaft(1, [1], 10, 1, { learners: [2] });
  const nt = new Network([l, newTestRaft(2, [1], 10, 1, { learners: [2] })]);
  nt.send(hup(1));
  nt.send(propose(1, 1));
  const learner = nt.raft(2);
  assert.equal(learner.state, StateRole.Follower);
  assert.equal(learner.raftLog.committed, 2);
  tickN(learner, 100);
  assert.equal(learner.state, StateRole.Follower);
});

test('a single-node cluster becomes leader immediately and commits its empty entry once persisted', () => {
  const r = newTestRaft(1, [1]);
  r.step(hup(1));
  assert.equal(r.state, StateRole.Leader);
  assert.equal(r.term, 1);
  assert.equal(r.vote, 1);
  assert.equal(r.raftLog.lastIndex(), 1);
  // The leader counts its own log only once it is durable.
  assert.equal(r.raftLog.committed, 0, 'nothing commits before persistence');
  assert.deepEqual(readMessages(r), [], 'nobody to send to');
  assert.equal(r.raftLog.committed, 1);
  const applied = nextEnts(r);
  assert.deepEqual(
    applied.map((e) => [e.index, e.term, e.data.length]),
    [[1, 1, 0]],
  );
  // Via ticks too: a single voter elects itself when its timeout fires, without pre-vote delay.
  const p = newTestRaft(1, [1], 10, 1, { preVote: true });
  tickN(p, p.randomizedElectionTimeout);
  assert.equal(p.state, StateRole.Leader);
  assert.equal(p.term, 1);
});

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
