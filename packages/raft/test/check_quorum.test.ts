// CheckQuorum (Raft thesis §6.2 / §9.6): a leader that has not heard from a quorum for an election
// timeout steps down, and followers that heard from a leader within the election timeout (the leader
// lease) ignore vote requests, so a partitioned node cannot depose a healthy leader.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Raft } from '../src/raft.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { MessageType } from '../src/types.js';
import { hup, msg, Network, newTestRaft, propose, readMessages } from './network.js';

const MT = MessageType;

/** Ticks `id` once and delivers what it sends through the network's filters. */
function tickAndDeliver(nt: Network, id: number): void {
  const r = nt.raft(id);
  r.tick();
  nt.send(...nt.filter(readMessages(r)));
}

function tickAll(nt: Network, rounds: number): void {
  for (let i = 0; i < rounds; i++) for (const id of nt.peers.keys()) if (nt.peers.get(id)) tickAndDeliver(nt, id);
}

function leaderOf(voters: number[], extra: Parameters<typeof newTestRaft>[4] = {}): Raft {
  const r = newTestRaft(1, voters, 10, 1, { checkQuorum: true, ...extra });
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  return r;
}

test('leader steps down after an election timeout without hearing from a quorum', () => {
  const r = leaderOf([1, 2, 3]);
  for (let i = 0; i < r.electionTimeout - 1; i++) r.tick();
  assert.equal(r.state, StateRole.Leader, 'no check before the election timeout');
  r.tick();
  assert.equal(r.state, StateRole.Follower);
  assert.equal(r.term, 1, 'stepping down does not change the term');
  assert.equal(r.leaderId, INVALID_ID);
  // Without checkQuorum the same leader keeps leading forever.
  const n = newTestRaft(1, [1, 2, 3]);
  n.becomeCandidate();
  n.becomeLeader();
  for (let i = 0; i < 10 * n.electionTimeout; i++) n.tick();
  assert.equal(n.state, StateRole.Leader);
});

test('leader stays leader while a quorum is active, and activity must be renewed every interval', () => {
  const r = leaderOf([1, 2, 3]);
  for (let i = 0; i < 5 * r.electionTimeout; i++) {
    r.step(msg({ msgType: MT.MsgHeartbeatResponse, from: 2, to: 1, term: r.term }));
    r.tick();
  }
  assert.equal(r.state, StateRole.Leader, 'one active follower + leader is a quorum of 3');
  // Node 2 falls silent: the next check (at most one election timeout away) deposes the leader,
  // since activity seen before the previous check does not count.
  let ticks = 0;
  while (r.state === StateRole.Leader) {
    r.tick();
    ticks++;
    assert.ok(ticks <= r.electionTimeout, 'stepped down within one election timeout');
  }
  assert.equal(r.state, StateRole.Follower);
});

test('check quorum counts voters only: an active learner does not keep the leader in place', () => {
  const r = leaderOf([1, 2, 3], { learners: [4] });
  for (let i = 0; i < r.electionTimeout; i++) {
    r.step(msg({ msgType: MT.MsgHeartbeatResponse, from: 4, to: 1, term: r.term }));
    r.tick();
  }
  assert.equal(r.state, StateRole.Follower);
  // In a 2-voter group, the leader needs the other voter (2 of 2).
  const r2 = leaderOf([1, 2]);
  for (let i = 0; i < r2.electionTimeout; i++) {
    r2.step(msg({ msgType: MT.MsgAppendResponse, from: 2, to: 1, term: r2.term, index: 1 }));
    r2.tick();
  }
  assert.equal(r2.state, StateRole.Leader);
});

test('network: a leader keeps leading with an active quorum, steps down when partitioned, and the majority elects a new one', () => {
  const nt = new Network([undefined, undefined, undefined], { checkQuorum: true });
  nt.send(hup(1));
  tickAll(nt, 50);
  assert.equal(nt.raft(1).state, StateRole.Leader);
  assert.equal(nt.raft(1).term, 1);
  // Losing one follower leaves a quorum.
  nt.isolate(3);
  tickAll(nt, 50);
  assert.equal(nt.raft(1).state, StateRole.Leader);
  assert.equal(nt.raft(1).term, 1);
  assert.equal(nt.raft(2).term, 1, 'the follower with a live leader never campaigns');
  // Now the leader itself is cut off.
  nt.recover();
  nt.isolate(1);
  // Activity seen before isolation may still pass one check; the next one fails.
  let ticks = 0;
  while (nt.raft(1).state === StateRole.Leader) {
    tickAll(nt, 1);
    assert.ok(++ticks <= 2 * nt.raft(1).electionTimeout, 'old leader stepped down within two election timeouts');
  }
  assert.ok(ticks > nt.raft(1).electionTimeout, `stepped down after ${ticks} ticks: the first check still saw the pre-partition activity`);
  tickAll(nt, 40);
  const newLeader = [2, 3].find((id) => nt.raft(id).state === StateRole.Leader);
  assert.ok(newLeader !== undefined, 'the majority side elected a leader');
  assert.ok(nt.raft(newLeader).term > 1);
  // Healing: the old leader follows the new one.
  nt.recover();
  tickAll(nt, 5);
  assert.equal(nt.raft(1).leaderId, newLeader);
  assert.equal(nt.raft(1).term, nt.raft(newLeader).term);
});

test('leader lease: a follower ignores higher-term vote requests while it heard from a leader within the election timeout', () => {
  for (const t of [MT.MsgRequestVote, MT.MsgRequestPreVote]) {
    const cases: { checkQuorum: boolean; leader: number; elapsed: number; ignored: boolean }[] = [
      { checkQuorum: true, leader: 2, elapsed: 0, ignored: true },
      { checkQuorum: true, leader: 2, elapsed: 9, ignored: true },
      { checkQuorum: true, leader: 2, elapsed: 10, ignored: false }, // lease expired
      { checkQuorum: true, leader: INVALID_ID, elapsed: 0, ignored: false }, // no leader, no lease
      { checkQuorum: false, leader: 2, elapsed: 0, ignored: false }, // lease only with checkQuorum
    ];
    for (const c of cases) {
      const r = newTestRaft(1, [1, 2, 3], 10, 1, { checkQuorum: c.checkQuorum, preVote: t === MT.MsgRequestPreVote });
      r.becomeFollower(1, c.leader);
      r.electionElapsed = c.elapsed;
      r.step(msg({ msgType: t, from: 3, to: 1, term: 2, index: 0, logTerm: 0 }));
      const label = `${MT[t]}, ${JSON.stringify(c)}`;
      const ms = readMessages(r);
      if (c.ignored) {
        assert.deepEqual(ms, [], label);
        assert.equal(r.term, 1, label);
        assert.equal(r.leaderId, c.leader, label);
      } else {
        assert.deepEqual(
          ms.map((m) => [m.to, m.reject]),
          [[3, false]],
          label,
        );
        assert.equal(r.term, t === MT.MsgRequestVote ? 2 : 1, label);
        assert.equal(r.vote, t === MT.MsgRequestVote ? 3 : INVALID_ID, label);
      }
    }
  }
});

test('leader stickiness: a candidate cannot depose a live leader under checkQuorum, but can once the lease expired', () => {
  const nt = new Network([undefined, undefined, undefined], { checkQuorum: true });
  nt.send(hup(1));
  const [a, b, c] = [1, 2, 3].map((id) => nt.raft(id)) as [Raft, Raft, Raft];
  assert.equal(a.state, StateRole.Leader);
  nt.send(hup(3));
  assert.equal(a.state, StateRole.Leader, 'leader kept its role');
  assert.equal(a.term, 1);
  assert.equal(b.term, 1, 'follower within the lease ignored the vote request');
  assert.equal(b.vote, 1, 'still its vote of term 1');
  assert.equal(b.leaderId, 1);
  assert.equal(c.state, StateRole.Candidate);
  assert.equal(c.term, 2);
  // Node 2's lease runs out (no heartbeats reach it), without its own timer firing.
  b.randomizedElectionTimeout = b.electionTimeout + 1;
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  assert.equal(b.state, StateRole.Follower);
  nt.send(hup(3));
  assert.equal(c.state, StateRole.Leader);
  assert.equal(c.term, 3);
  assert.equal(b.vote, 3);
  assert.equal(a.state, StateRole.Follower, 'old leader follows the new leader of the higher term');
  assert.equal(a.leaderId, 3);
  assert.equal(a.term, 3);
});

test('without checkQuorum the same vote request deposes the live leader (contrast to stickiness)', () => {
  const nt = new Network([undefined, undefined, undefined]);
  nt.send(hup(1));
  nt.send(hup(3));
  assert.equal(nt.raft(3).state, StateRole.Leader);
  assert.equal(nt.raft(3).term, 2);
  assert.equal(nt.raft(1).state, StateRole.Follower);
});

test(
  'a lower-term heartbeat or append always gets a MsgAppendResponse carrying the higher term (§5.1), ' + 'whatever checkQuorum/preVote',
  () => {
    const cases: { checkQuorum: boolean; preVote: boolean; reply: boolean }[] = [
      { checkQuorum: true, preVote: false, reply: true },
      { checkQuorum: false, preVote: true, reply: true },
      { checkQuorum: false, preVote: false, reply: true },
    ];
    for (const c of cases) {
      for (const t of [MT.MsgHeartbeat, MT.MsgAppend]) {
        const r = newTestRaft(1, [1, 2, 3], 10, 1, { checkQuorum: c.checkQuorum, preVote: c.preVote });
        r.becomeFollower(5, 3);
        r.step(msg({ msgType: t, from: 2, to: 1, term: 3 }));
        const label = `${MT[t]}, ${JSON.stringify(c)}`;
        const ms = readMessages(r);
        if (c.reply)
          assert.deepEqual(
            ms.map((m) => [m.msgType, m.to, m.term, m.reject]),
            [[MT.MsgAppendResponse, 2, 5, false]],
            label,
          );
        else assert.deepEqual(ms, [], label);
        assert.equal(r.term, 5, label);
        assert.equal(r.leaderId, 3, `${label}: the stale leader is not adopted`);
      }
    }
  },
);

test('a stale leader learns the new term from the MsgAppendResponse to its heartbeat and steps down', () => {
  const nt = new Network([undefined, undefined, undefined], { checkQuorum: true });
  nt.send(hup(1));
  const a = nt.raft(1);
  nt.isolate(1);
  // 2 and 3 stop hearing from 1 and elect 2 at term 2 (both are out of their lease).
  for (const id of [2, 3]) {
    const r = nt.raft(id);
    r.randomizedElectionTimeout = r.electionTimeout + (id === 2 ? 0 : 5);
  }
  for (let i = 0; i < 10; i++) for (const id of [3, 2]) tickAndDeliver(nt, id);
  assert.equal(nt.raft(2).state, StateRole.Leader);
  assert.equal(nt.raft(2).term, 2);
  assert.equal(a.state, StateRole.Leader, 'the partitioned leader has not noticed yet');
  assert.equal(a.term, 1);
  nt.recover();
  // The old leader's next heartbeat is answered with the higher term.
  readMessages(a);
  a.step(msg({ msgType: MT.MsgBeat, from: 1, to: 1 }));
  nt.send(...readMessages(a));
  assert.equal(a.state, StateRole.Follower);
  assert.equal(a.term, 2);
  assert.ok(nt.delivered.some((m) => m.msgType === MT.MsgAppendResponse && m.from === 3 && m.to === 1 && m.term === 2));
});

test(
  'free stuck candidate: a candidate ignored by leased followers deposes the leader via its reply, ' +
    'then wins (etcd TestFreeStuckCandidateWithCheckQuorum)',
  () => {
    const nt = new Network([undefined, undefined, undefined], { checkQuorum: true });
    const [a, b, c] = [1, 2, 3].map((id) => nt.raft(id)) as [Raft, Raft, Raft];
    nt.send(hup(1));
    assert.equal(a.state, StateRole.Leader);
    nt.isolate(1);
    nt.send(hup(3));
    assert.equal(b.state, StateRole.Follower);
    assert.equal(c.state, StateRole.Candidate);
    assert.equal(c.term, b.term + 1);
    // Vote again: still stuck, and the term keeps climbing.
    nt.send(hup(3));
    assert.equal(b.state, StateRole.Follower);
    assert.equal(c.state, StateRole.Candidate);
    assert.equal(c.term, b.term + 2);
    nt.recover();
    nt.send(msg({ msgType: MT.MsgHeartbeat, from: 1, to: 3, term: a.term }));
    // The leader is disrupted so that the stuck peer is freed.
    assert.equal(a.state, StateRole.Follower);
    assert.equal(a.term, c.term);
    // Vote again: a no longer has a leader (no lease) and votes; c wins.
    nt.send(hup(3));
    assert.equal(c.state, StateRole.Leader);
    assert.equal(a.leaderId, 3);
    // b was kept in the lease by the old leader; it follows c once it receives c's append.
    assert.equal(b.leaderId, 3);
    assert.equal(b.term, c.term);
  },
);

test('with preVote and checkQuorum, the same partitioned node stays a pre-candidate and the leader is not disturbed', () => {
  const nt = new Network([undefined, undefined, undefined], { checkQuorum: true, preVote: true });
  const [a, b, c] = [1, 2, 3].map((id) => nt.raft(id)) as [Raft, Raft, Raft];
  nt.send(hup(1));
  nt.isolate(1);
  nt.send(hup(3));
  nt.send(hup(3));
  assert.equal(c.state, StateRole.PreCandidate);
  assert.equal(c.term, 1);
  assert.equal(b.leaderId, 1);
  nt.recover();
  nt.send(msg({ msgType: MT.MsgHeartbeat, from: 1, to: 3, term: a.term }));
  assert.equal(a.state, StateRole.Leader);
  assert.equal(a.term, 1);
  assert.equal(c.state, StateRole.Follower);
  assert.equal(c.leaderId, 1);
  nt.send(propose(1, 1));
  for (const r of [a, b, c]) assert.equal(r.raftLog.committed, 2, `node ${r.id}`);
});
