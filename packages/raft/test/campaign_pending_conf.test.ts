// A node must not campaign while a committed conf change is still unapplied: until the application
// applies it, the node's configuration (whose votes it would count) is not the committed one. The
// guard scans the committed, unapplied log tail, so it holds on followers too, not only on a leader
// that proposed the change.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError } from '../src/errors.js';
import type { Raft } from '../src/raft.js';
import { StateRole } from '../src/state_role.js';
import {
  ConfChangeType,
  confChange,
  confChangeV2,
  EMPTY_BYTES,
  type Entry,
  encodeConfChange,
  type Message,
  MessageType,
  newConfState,
  newHardState,
  newSnapshot,
} from '../src/types.js';
import { ent, msg, newStorage, newTestRaft, persist, readMessages } from './network.js';

const MT = MessageType;
const VOTE_REQUESTS = new Set([MT.MsgRequestVote, MT.MsgRequestPreVote]);

function confEntry(index: number, term: number, v2: boolean): Entry {
  const cc = v2 ? confChangeV2([{ changeType: ConfChangeType.AddNode, nodeId: 4 }]) : confChange(ConfChangeType.AddNode, 4);
  const { entryType, data } = encodeConfChange(cc);
  return { entryType, term, index, data, context: EMPTY_BYTES };
}

/**
 * Follower 1 of {1, 2, 3} at term 1 whose log is [normal, conf change, normal], all committed,
 * applied up to `applied`.
 */
function follower(applied: number, opts: { preVote: boolean; v2?: boolean }): Raft {
  const s = newStorage([1, 2, 3]);
  s.append([ent(1, 1), confEntry(2, 1, opts.v2 ?? false), ent(3, 1)]);
  s.setHardState(newHardState(1, 0, 3));
  const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: s, applied, preVote: opts.preVote });
  assert.equal(r.raftLog.committed, 3);
  assert.equal(r.raftLog.applied, applied);
  return r;
}

/** Ticks well past any randomized election timeout ([et, 2et)), collecting what was sent. */
function tickPastElection(r: Raft): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < 2 * r.electionTimeout + 1; i++) {
    r.tick();
    out.push(...readMessages(r));
  }
  return out;
}

const voteRequests = (ms: Message[]): Message[] => ms.filter((m) => VOTE_REQUESTS.has(m.msgType));

for (const preVote of [false, true]) {
  for (const v2 of [false, true]) {
    test(
      `follower with a committed, unapplied ${v2 ? 'ConfChangeV2' : 'ConfChange'} does not campaign on election timeout ` +
        `(preVote=${preVote})`,
      () => {
        const r = follower(1, { preVote, v2 });
        const sent = tickPastElection(r);
        assert.deepEqual(
          voteRequests(sent).map((m) => MT[m.msgType]),
          [],
          'no vote requests',
        );
        assert.equal(r.state, StateRole.Follower);
        assert.equal(r.term, 1, 'the term did not move');
        assert.equal(r.vote, 0, 'voted for nobody');
      },
    );
  }

  test(`follower whose committed conf change is applied campaigns on election timeout (preVote=${preVote})`, () => {
    const r = follower(2, { preVote });
    const sent = voteRequests(tickPastElection(r));
    const want = preVote ? MT.MsgRequestPreVote : MT.MsgRequestVote;
    assert.ok(sent.length >= 2, `vote requests sent: ${sent.map((m) => MT[m.msgType])}`);
    assert.deepEqual([...new Set(sent.map((m) => m.msgType))], [want]);
    assert.deepEqual([...new Set(sent.map((m) => m.to))].sort(), [2, 3]);
    assert.equal(r.state, preVote ? StateRole.PreCandidate : StateRole.Candidate);
  });

  test(`a refused follower campaigns once the application catches up with the conf change (preVote=${preVote})`, () => {
    const r = follower(1, { preVote });
    assert.deepEqual(voteRequests(tickPastElection(r)), []);
    r.commitApply(2);
    assert.ok(voteRequests(tickPastElection(r)).length >= 2, 'campaigns once the change is applied');
  });
}

test('follower with a committed, unapplied conf change ignores MsgTimeoutNow (no transfer campaign)', () => {
  const r = follower(1, { preVote: false });
  r.becomeFollower(1, 2);
  r.step(msg({ msgType: MT.MsgTimeoutNow, from: 2, to: 1, term: 1 }));
  assert.deepEqual(voteRequests(readMessages(r)), []);
  assert.equal(r.state, StateRole.Follower);
  assert.equal(r.term, 1);
});

test('follower that received a conf change from the leader and has not applied it does not campaign when the leader goes silent', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, { preVote: true });
  const cc = confEntry(2, 1, false);
  r.step(msg({ msgType: MT.MsgAppend, from: 2, to: 1, term: 1, index: 0, logTerm: 0, commit: 0, entries: [ent(1, 1), cc] }));
  r.step(msg({ msgType: MT.MsgAppend, from: 2, to: 1, term: 1, index: 2, logTerm: 1, commit: 2, entries: [] }));
  persist(r);
  assert.equal(r.raftLog.committed, 2);
  assert.equal(r.raftLog.applied, 0);
  assert.deepEqual(voteRequests(tickPastElection(r)), []);
  assert.equal(r.state, StateRole.Follower);
});

test('follower that persisted a snapshot but has not applied it yet still campaigns (entries under the snapshot are not scanned)', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, { preVote: false });
  const snap = newSnapshot(5, 1, newConfState({ voters: [1, 2, 3] }));
  r.step(msg({ msgType: MT.MsgSnapshot, from: 2, to: 1, term: 1, snapshot: snap }));
  r.step(msg({ msgType: MT.MsgAppend, from: 2, to: 1, term: 1, index: 5, logTerm: 1, commit: 6, entries: [ent(6, 1)] }));
  persist(r);
  readMessages(r);
  // The snapshot is durable (no longer unstable) but the application has not applied it.
  assert.equal(r.raftLog.unstableSnapshot(), null);
  assert.equal(r.raftLog.applied, 0);
  assert.equal(r.raftLog.committed, 6);
  assert.equal(r.raftLog.firstIndex(), 6);
  assert.ok(voteRequests(tickPastElection(r)).length >= 2);
});

test('a conf change after a persisted, unapplied snapshot still blocks campaigning', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, { preVote: false });
  const snap = newSnapshot(5, 1, newConfState({ voters: [1, 2, 3] }));
  r.step(msg({ msgType: MT.MsgSnapshot, from: 2, to: 1, term: 1, snapshot: snap }));
  r.step(
    msg({ msgType: MT.MsgAppend, from: 2, to: 1, term: 1, index: 5, logTerm: 1, commit: 7, entries: [ent(6, 1), confEntry(7, 1, true)] }),
  );
  persist(r);
  readMessages(r);
  assert.equal(r.raftLog.committed, 7);
  assert.deepEqual(voteRequests(tickPastElection(r)), []);
});

test('the scan pages through a long unapplied tail (one entry per page) and finds a conf change at its end', () => {
  const s = newStorage([1, 2, 3]);
  const ents: Entry[] = [];
  for (let i = 1; i <= 20; i++) ents.push(ent(i, 1, 'x'));
  ents.push(confEntry(21, 1, false));
  s.append(ents);
  s.setHardState(newHardState(1, 0, 21));
  const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: s, applied: 1, maxCommittedSizePerReady: 1 });
  const slice = r.raftLog.slice.bind(r.raftLog);
  let pages = 0;
  r.raftLog.slice = (lo, hi, maxSize) => {
    pages++;
    return slice(lo, hi, maxSize);
  };
  assert.deepEqual(voteRequests(tickPastElection(r)), []);
  assert.ok(pages >= 20, `scanned in ${pages} pages`);
});

test('the unapplied tail is read only when campaigning, not on every tick', () => {
  const r = follower(1, { preVote: false });
  let reads = 0;
  const slice = r.raftLog.slice.bind(r.raftLog);
  r.raftLog.slice = (lo, hi, maxSize) => {
    reads++;
    return slice(lo, hi, maxSize);
  };
  for (let i = 0; i < r.randomizedElectionTimeout - 1; i++) r.tick();
  assert.equal(reads, 0, 'no scan before the election timeout');
  r.tick();
  assert.equal(reads, 1, 'one scan at the timeout');
});

test('a compacted unapplied tail refuses the campaign instead of throwing', () => {
  const r = follower(1, { preVote: false });
  r.raftLog.slice = () => {
    throw new CompactedError();
  };
  assert.deepEqual(voteRequests(tickPastElection(r)), []);
  assert.equal(r.state, StateRole.Follower);
});
