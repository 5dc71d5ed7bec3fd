// Snapshot scenarios: a leader whose log was compacted catches followers up with MsgSnapshot,
// followers restore (or refuse) snapshots, and a RawNode hands a snapshot to the application.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigOptions } from '../src/config.js';
import type { Raft } from '../src/raft.js';
import { RawNode } from '../src/raw_node.js';
import { StateRole } from '../src/state_role.js';
import { MemoryStorage } from '../src/storage.js';
import { ProgressState } from '../src/tracker/progress.js';
import { type Message, MessageType, newConfState, newSnapshot, type Snapshot } from '../src/types.js';
import { beat, ent, hup, msg, Network, newConfig, newStorage, newTestRaft, nextEnts, propose, readMessages, storageOf } from './network.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function snapMsg(from: number, to: number, term: number, snap: Snapshot): Message {
  return msg({ msgType: MessageType.MsgSnapshot, from, to, term, snapshot: snap });
}

function snap(index: number, term: number, voters: number[], learners: number[] = [], data = ''): Snapshot {
  return newSnapshot(index, term, newConfState({ voters, learners }), enc.encode(data));
}

/** A follower of term `term` whose storage holds entries with `terms`, committed up to `commit`. */
function followerWithLog(id: number, voters: number[], terms: number[], term: number, commit: number): Raft {
  const s = newStorage(voters);
  s.append(terms.map((t, i) => ent(i + 1, t)));
  s.setHardState({ term, vote: 0, commit });
  const r = newTestRaft(id, voters, 10, 1, { storage: s });
  r.becomeFollower(term, 1);
  return r;
}

/**
 * Leader 1 of [1,2,3] (direct steps) with `n` entries committed by 1 and 2 only, applied, and the
 * log compacted at `compactAt` after a snapshot there. Node 3 acked only the empty entry.
 */
function compactedLeader(n: number, compactAt: number, extra: Partial<ConfigOptions> = {}): Raft {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, extra);
  r.becomeCandidate();
  r.becomeLeader();
  r.bcastAppend();
  for (const m of readMessages(r)) r.step(msg({ msgType: MessageType.MsgAppendResponse, from: m.to, to: 1, term: r.term, index: 1 }));
  readMessages(r);
  for (let i = 0; i < n; i++) r.step(propose(1, 1, `e${i}`));
  readMessages(r);
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
  readMessages(r);
  nextEnts(r);
  assert.equal(r.raftLog.applied, n + 1);
  const s = storageOf(r);
  s.createSnapshot(compactAt, undefined, enc.encode(`state@${compactAt}`));
  s.compact(compactAt);
  // 3 is known only up to the empty entry; probe it from there.
  r.step(msg({ msgType: MessageType.MsgUnreachable, from: 3, to: 1 }));
  const pr3 = r.prs.get(3)!;
  assert.equal(pr3.state, ProgressState.Probe);
  assert.equal(pr3.nextIdx, 2);
  return r;
}

const snapshotsTo = (msgs: Message[], to: number): Message[] => msgs.filter((m) => m.msgType === MessageType.MsgSnapshot && m.to === to);

// ---- leader side ----

test('leader sends a snapshot to a follower whose next entries were compacted; the follower restores it and catches up', () => {
  const nt = new Network([undefined, undefined, undefined]);
  nt.send(hup(1));
  nt.cut(1, 3);
  for (let i = 0; i < 10; i++) nt.send(propose(1, 1, `v${i}`));
  const lead = nt.raft(1);
  nextEnts(lead);
  assert.equal(lead.raftLog.applied, 11);
  const ls = storageOf(lead);
  ls.createSnapshot(8, undefined, enc.encode('state@8'));
  ls.compact(8);
  assert.equal(lead.raftLog.firstIndex(), 9);

  const seen: [string, ProgressState, number][] = [];
  nt.msgHook = (m) => {
    if (m.from === 1 && m.to === 3 && (m.msgType === MessageType.MsgSnapshot || m.msgType === MessageType.MsgAppend)) {
      const pr = lead.prs.get(3)!;
      seen.push([MessageType[m.msgType], pr.state, m.msgType === MessageType.MsgSnapshot ? m.snapshot!.metadata.index : m.entries.length]);
    }
    return true;
  };
  nt.recover();
  nt.send(beat(1));
  const n3 = nt.raft(3);
  // The first append (from the optimistic next index) is rejected; the retry from the known match
  // needs compacted entries, so a snapshot is sent instead; then the remaining entries.
  const snaps = seen.filter(([t]) => t === 'MsgSnapshot');
  assert.deepEqual(snaps, [['MsgSnapshot', ProgressState.Snapshot, 8]]);
  const afterSnap = seen.slice(seen.findIndex(([t]) => t === 'MsgSnapshot') + 1);
  assert.ok(afterSnap.length > 0);
  assert.equal(afterSnap[0]![1], ProgressState.Probe, 'back to Probe after the follower acknowledged the snapshot');
  assert.equal(afterSnap[0]![2], 3, 'entries 9..11 follow the snapshot');
  assert.equal(lead.prs.get(3)!.state, ProgressState.Replicate);
  assert.equal(lead.prs.get(3)!.matched, 11);
  // Follower state.
  assert.equal(n3.raftLog.firstIndex(), 9);
  assert.equal(n3.raftLog.committed, 11);
  assert.equal(n3.raftLog.lastIndex(), 11);
  const s3 = storageOf(n3);
  assert.equal(dec.decode(s3.snapshotData().data), 'state@8');
  assert.deepEqual(s3.initialState().confState.voters, [1, 2, 3]);
  assert.deepEqual(
    s3.entries(9, 12).map((e) => dec.decode(e.data)),
    ['v7', 'v8', 'v9'],
  );
  // Replication to 3 continues normally.
  nt.send(propose(1, 1, 'after'));
  assert.equal(n3.raftLog.committed, 12);
});

test('progress goes Probe -> Snapshot (paused) -> Probe -> Replicate around a snapshot', () => {
  const r = compactedLeader(6, 5);
  const pr3 = r.prs.get(3)!;
  r.step(propose(1, 1));
  let out = readMessages(r);
  assert.deepEqual(
    snapshotsTo(out, 3).map((m) => [m.snapshot!.metadata.index, m.snapshot!.metadata.term]),
    [[5, 1]],
  );
  assert.equal(pr3.state, ProgressState.Snapshot);
  assert.equal(pr3.pendingSnapshot, 5);
  // While the snapshot is pending nothing else is sent to 3, not even after heartbeat responses.
  for (let i = 0; i < 3; i++) r.step(propose(1, 1));
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 3, to: 1, term: r.term }));
  out = readMessages(r);
  assert.equal(out.filter((m) => m.to === 3 && m.msgType !== MessageType.MsgHeartbeat).length, 0, 'paused in Snapshot state');
  // The follower installed it and acks the snapshot index.
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 3, to: 1, term: r.term, index: 5 }));
  assert.equal(pr3.state, ProgressState.Probe);
  assert.equal(pr3.pendingSnapshot, 0);
  out = readMessages(r).filter((m) => m.to === 3);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.msgType, MessageType.MsgAppend);
  assert.equal(out[0]!.index, 5, 'appends resume right after the snapshot');
  assert.equal(out[0]!.entries.at(-1)!.index, r.raftLog.lastIndex());
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 3, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
  assert.equal(pr3.state, ProgressState.Replicate);
  assert.equal(pr3.matched, r.raftLog.lastIndex());
});

test('SnapshotTemporarilyUnavailable: no snapshot is sent and the progress stays in Probe; it is retried later', () => {
  const r = compactedLeader(6, 5);
  const pr3 = r.prs.get(3)!;
  storageOf(r).triggerSnapUnavailable();
  r.step(propose(1, 1));
  let out = readMessages(r);
  assert.equal(out.filter((m) => m.to === 3).length, 0, 'nothing sent to 3');
  assert.equal(pr3.state, ProgressState.Probe);
  assert.equal(pr3.pendingSnapshot, 0);
  // The next response from 3 retries, and now the storage has it.
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 3, to: 1, term: r.term }));
  out = readMessages(r);
  assert.deepEqual(
    snapshotsTo(out, 3).map((m) => m.snapshot!.metadata.index),
    [5],
  );
  assert.equal(pr3.state, ProgressState.Snapshot);
});

test('a follower that was not recently active does not get a snapshot until it responds', () => {
  const r = compactedLeader(6, 5, { checkQuorum: true });
  const pr3 = r.prs.get(3)!;
  // A check-quorum round in which only 2 was heard from clears 3's recentActive.
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 2, to: 1, term: r.term }));
  r.step(msg({ msgType: MessageType.MsgCheckQuorum, from: 1, to: 1 }));
  assert.equal(r.state, StateRole.Leader);
  assert.equal(pr3.recentActive, false);
  readMessages(r);
  r.step(propose(1, 1));
  assert.equal(readMessages(r).filter((m) => m.to === 3).length, 0, 'no snapshot for an inactive follower');
  assert.equal(pr3.state, ProgressState.Probe);
  r.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 3, to: 1, term: r.term }));
  assert.equal(snapshotsTo(readMessages(r), 3).length, 1, 'sent once it is heard from');
  assert.equal(pr3.state, ProgressState.Snapshot);
});

// ---- follower side ----

test('a follower restores a snapshot: log, commit index and configuration come from it', () => {
  const r = newTestRaft(2, [1, 2]);
  r.becomeFollower(2, 1);
  const sn = snap(11, 2, [1, 2, 3], [], 'data');
  r.step(snapMsg(1, 2, 2, sn));
  assert.equal(r.raftLog.lastIndex(), 11);
  assert.equal(r.raftLog.term(11), 2);
  assert.equal(r.raftLog.committed, 11);
  assert.deepEqual(r.prs.confState().voters, [1, 2, 3]);
  assert.equal(r.raftLog.unstableSnapshot(), sn, 'to be persisted by the application');
  const out = readMessages(r); // persists the snapshot
  assert.deepEqual(
    out.map((m) => [m.msgType, m.to, m.index, m.reject]),
    [[MessageType.MsgAppendResponse, 1, 11, false]],
  );
  const s = storageOf(r);
  assert.equal(s.firstIndex(), 12);
  assert.equal(dec.decode(s.snapshotData().data), 'data');
  assert.equal(r.raftLog.persisted, 11);
  // The same snapshot again changes nothing.
  r.step(snapMsg(1, 2, 2, sn));
  assert.equal(r.raftLog.unstableSnapshot(), null);
  assert.deepEqual(
    readMessages(r).map((m) => m.index),
    [11],
  );
  // Appends continue after it.
  r.step(msg({ msgType: MessageType.MsgAppend, from: 1, to: 2, term: 2, index: 11, logTerm: 2, entries: [ent(12, 2)], commit: 12 }));
  assert.equal(r.raftLog.committed, 12);
});

test('a snapshot that makes this node a learner is restored with learner status', () => {
  const r = newTestRaft(3, [1, 2, 3]);
  r.becomeFollower(2, 1);
  r.step(snapMsg(1, 3, 2, snap(11, 2, [1, 2], [3])));
  assert.equal(r.raftLog.committed, 11);
  assert.ok(r.isLearner);
  assert.ok(!r.promotable());
  assert.deepEqual(r.prs.confState().learners, [3]);
});

test('a snapshot older than the commit index is ignored', () => {
  const r = followerWithLog(2, [1, 2], [1, 1, 1], 1, 3);
  r.step(snapMsg(1, 2, 1, snap(2, 1, [1, 2])));
  assert.equal(r.raftLog.unstableSnapshot(), null);
  assert.equal(r.raftLog.committed, 3);
  assert.equal(r.raftLog.lastIndex(), 3);
  assert.deepEqual(
    readMessages(r).map((m) => [m.msgType, m.index, m.reject]),
    [[MessageType.MsgAppendResponse, 3, false]],
    'tells the leader its commit index',
  );

  // Also when the follower itself compacted past it (it could not even check the term there).
  const s = newStorage([1, 2]);
  s.applySnapshot(snap(5, 1, [1, 2]));
  s.append([ent(6, 1), ent(7, 1)]);
  s.setHardState({ term: 1, vote: 0, commit: 7 });
  const c = newTestRaft(2, [1, 2], 10, 1, { storage: s });
  c.becomeFollower(1, 1);
  c.step(snapMsg(1, 2, 1, snap(3, 1, [1, 2])));
  assert.equal(c.raftLog.unstableSnapshot(), null);
  assert.equal(c.raftLog.committed, 7);
  assert.equal(c.raftLog.firstIndex(), 6);
  assert.deepEqual(
    readMessages(c).map((m) => m.index),
    [7],
  );
});

test('a snapshot whose last entry is already in the log only fast-forwards the commit index', () => {
  const r = followerWithLog(2, [1, 2], [1, 1, 1, 1, 1], 1, 1);
  r.step(snapMsg(1, 2, 1, snap(3, 1, [1, 2])));
  assert.equal(r.raftLog.unstableSnapshot(), null, 'not installed');
  assert.equal(r.raftLog.committed, 3);
  assert.equal(r.raftLog.lastIndex(), 5, 'entries after the snapshot are kept');
  assert.equal(r.raftLog.firstIndex(), 1);
  assert.deepEqual(
    readMessages(r).map((m) => m.index),
    [3],
  );
  // Same index, different term: the log diverges there, so the snapshot replaces it.
  const r2 = followerWithLog(2, [1, 2], [1, 1, 1, 1, 1], 2, 1);
  r2.step(snapMsg(1, 2, 2, snap(3, 2, [1, 2])));
  assert.ok(r2.raftLog.unstableSnapshot());
  assert.equal(r2.raftLog.lastIndex(), 3);
  assert.equal(r2.raftLog.term(3), 2);
  assert.equal(r2.raftLog.committed, 3);
});

test('a snapshot whose configuration does not contain this node is rejected', () => {
  const r = followerWithLog(2, [1, 2, 3], [1, 1], 1, 1);
  r.step(snapMsg(1, 2, 1, snap(11, 1, [1, 3])));
  assert.equal(r.raftLog.unstableSnapshot(), null);
  assert.equal(r.raftLog.committed, 1);
  assert.equal(r.raftLog.lastIndex(), 2);
  assert.deepEqual(r.prs.confState().voters, [1, 2, 3]);
  assert.deepEqual(
    readMessages(r).map((m) => m.index),
    [1],
  );
});

// ---- through RawNode ----

test('RawNode: Ready carries the snapshot; after MemoryStorage.applySnapshot the entries after it are delivered as committed', () => {
  const s = MemoryStorage.newWithConfState(newConfState({ voters: [1, 2] }));
  const rn = new RawNode(newConfig(2, 10, 1), s);
  const sn = snap(5, 1, [1, 2], [], 'state@5');
  rn.step(snapMsg(1, 2, 1, sn));
  rn.step(
    msg({
      msgType: MessageType.MsgAppend,
      from: 1,
      to: 2,
      term: 1,
      index: 5,
      logTerm: 1,
      entries: [ent(6, 1, 'six'), ent(7, 1, 'seven')],
      commit: 7,
    }),
  );
  assert.ok(rn.hasReady());
  const rd = rn.ready();
  assert.equal(rd.snapshot, sn);
  assert.deepEqual(
    rd.entries.map((e) => e.index),
    [6, 7],
  );
  assert.equal(rd.hardState?.commit, 7);
  assert.ok(rd.mustSync);
  assert.deepEqual(rd.committedEntries, [], 'nothing is applied before the snapshot and entries are persisted');
  assert.deepEqual(rd.messages, [], 'a follower sends only after persisting');
  assert.deepEqual(
    rd.persistedMessages.map((m) => [m.msgType, m.index]),
    [
      [MessageType.MsgAppendResponse, 5],
      [MessageType.MsgAppendResponse, 7],
    ],
  );
  s.applySnapshot(rd.snapshot!);
  s.append(rd.entries);
  s.setHardState(rd.hardState!);
  const light = rn.advance(rd);
  assert.deepEqual(
    light.committedEntries.map((e) => [e.index, dec.decode(e.data)]),
    [
      [6, 'six'],
      [7, 'seven'],
    ],
  );
  rn.advanceApply();
  assert.equal(rn.raft.raftLog.applied, 7);
  assert.equal(rn.hasReady(), false);
  assert.equal(s.firstIndex(), 6);
  assert.equal(dec.decode(s.snapshotData().data), 'state@5');
  // A restart from this storage resumes after the snapshot.
  const restarted = new RawNode(newConfig(2, 10, 1, { applied: 7 }), s);
  assert.equal(restarted.raft.raftLog.committed, 7);
  assert.equal(restarted.raft.raftLog.firstIndex(), 6);
  assert.deepEqual(restarted.raft.prs.confState().voters, [1, 2]);
});

test('RawNode: a snapshot alone is applied first; entries appended later are delivered in later Readies', () => {
  const s = MemoryStorage.newWithConfState(newConfState({ voters: [1, 2] }));
  const rn = new RawNode(newConfig(2, 10, 1), s);
  rn.step(snapMsg(1, 2, 3, snap(10, 2, [1, 2])));
  let rd = rn.ready();
  assert.equal(rd.snapshot?.metadata.index, 10);
  assert.deepEqual(rd.committedEntries, []);
  s.applySnapshot(rd.snapshot!);
  if (rd.hardState) s.setHardState(rd.hardState);
  let light = rn.advance(rd);
  assert.deepEqual(light.committedEntries, []);
  rn.advanceApply();
  assert.equal(rn.raft.raftLog.applied, 10);
  rn.step(msg({ msgType: MessageType.MsgAppend, from: 1, to: 2, term: 3, index: 10, logTerm: 2, entries: [ent(11, 3, 'x')], commit: 11 }));
  rd = rn.ready();
  assert.equal(rd.snapshot, null);
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
  light = rn.advance(rd);
  assert.deepEqual(
    [...rd.committedEntries, ...light.committedEntries].map((e) => e.index),
    [11],
  );
});
