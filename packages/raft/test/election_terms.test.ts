// Leader election scenarios (Raft paper §5.1, §5.2), in the style of etcd-raft's
// raft_paper_test.go / raft_test.go: Raft state machines stepped directly or through the Network.
// This file: terms (§5.1): stepping down on a newer term, refusing an older one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Raft } from '../src/raft.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { type Message, MessageType } from '../src/types.js';
import { ent, hup, msg, Network, newTestRaft, persist, readMessages } from './network.js';

const MT = MessageType;

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
