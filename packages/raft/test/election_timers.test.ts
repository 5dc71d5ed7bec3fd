// Leader election scenarios (Raft paper §5.2), in the style of etcd-raft's
// raft_paper_test.go / raft_test.go: Raft state machines stepped directly or through the Network.
// This file: when a node campaigns (its election timer, learners, a single voter).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@tskv/util';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { MessageType } from '../src/types.js';
import { byTo, raftWithLog, tickN } from './election_helpers.js';
import { hup, msg, Network, newTestRaft, nextEnts, propose, readMessages } from './network.js';

const MT = MessageType;

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

// ---- learners, single node ----

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
