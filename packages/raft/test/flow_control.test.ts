// Flow control scenarios: Probe/Replicate/Snapshot progress states, the inflight window, message
// and Ready size limits, and proposal back pressure.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigOptions } from '../src/config.js';
import { ProposalDroppedError } from '../src/errors.js';
import type { Raft } from '../src/raft.js';
import { RawNode } from '../src/raw_node.js';
import type { MemoryStorage } from '../src/storage.js';
import { ProgressState } from '../src/tracker/progress.js';
import { type Entry, type Message, MessageType } from '../src/types.js';
import { entrySize } from '../src/util.js';
import { beat, msg, newConfig, newStorage, newTestRaft, propose, readMessages } from './network.js';

const enc = new TextEncoder();
const bytes = (n: number): Uint8Array => new Uint8Array(n).fill(120);

// ---- helpers ----

/** A leader of `ids` made directly (no messages exchanged yet). */
function leader(ids: number[], extra: Partial<ConfigOptions> = {}): Raft {
  const r = newTestRaft(1, ids, 10, 1, extra);
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  return r;
}

function appResp(from: number, r: Raft, index: number): Message {
  return msg({ msgType: MessageType.MsgAppendResponse, from, to: 1, term: r.term, index });
}

function hbResp(from: number, r: Raft): Message {
  return msg({ msgType: MessageType.MsgHeartbeatResponse, from, to: 1, term: r.term });
}

const appendsTo = (msgs: Message[], to: number): Message[] => msgs.filter((m) => m.msgType === MessageType.MsgAppend && m.to === to);

/** Processes one Ready of a RawNode like an application would; returns what it produced. */
function handleReady(rn: RawNode, s: MemoryStorage): { msgs: Message[]; committed: Entry[][] } {
  const rd = rn.ready();
  if (rd.snapshot) s.applySnapshot(rd.snapshot);
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
  const light = rn.advance(rd);
  if (light.commitIndex !== null) s.setCommit(light.commitIndex);
  rn.advanceApply();
  const committed = [rd.committedEntries, light.committedEntries].filter((c) => c.length > 0);
  return { msgs: [...rd.messages, ...rd.persistedMessages, ...light.messages], committed };
}

/** A RawNode that is leader of `ids` (votes stepped in by hand) and whose empty entry is persisted. */
function rawLeader(ids: number[], extra: Partial<ConfigOptions> = {}): { rn: RawNode; s: MemoryStorage } {
  const s = newStorage(ids);
  const rn = new RawNode(newConfig(1, 10, 1, extra), s);
  rn.campaign();
  handleReady(rn, s);
  for (const id of ids) if (id !== 1) rn.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: id, to: 1, term: rn.raft.term }));
  assert.equal(rn.raft.leaderId, 1);
  handleReady(rn, s);
  return { rn, s };
}

// ---- Probe ----

test('progress moves from Probe to Replicate after the first successful append response', () => {
  const r = leader([1, 2, 3]);
  for (const id of [2, 3]) assert.equal(r.prs.get(id)!.state, ProgressState.Probe);
  r.bcastAppend();
  const msgs = readMessages(r);
  // A rejection keeps probing.
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 3, to: 1, term: r.term, index: 0, reject: true, rejectHint: 0 }));
  assert.equal(r.prs.get(3)!.state, ProgressState.Probe);
  const m2 = appendsTo(msgs, 2)[0]!;
  r.step(appResp(2, r, m2.index + m2.entries.length));
  const pr2 = r.prs.get(2)!;
  assert.equal(pr2.state, ProgressState.Replicate);
  assert.equal(pr2.matched, 1);
  assert.equal(pr2.nextIdx, 2);
  assert.equal(r.prs.get(3)!.state, ProgressState.Probe);
});

test('in Probe state only one MsgAppend is in flight until the follower answers', () => {
  const r = leader([1, 2]);
  const pr2 = r.prs.get(2)!;
  assert.equal(pr2.state, ProgressState.Probe);
  r.step(propose(1, 1));
  let msgs = readMessages(r);
  assert.equal(appendsTo(msgs, 2).length, 1, 'the first proposal sends a probe');
  assert.equal(appendsTo(msgs, 2)[0]!.index, 0);
  assert.ok(pr2.isPaused());
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5; i++) {
      r.step(propose(1, 1));
      assert.equal(readMessages(r).length, 0, `round ${round}: no append while the probe is outstanding`);
    }
    // Heartbeats still go out, but do not unpause.
    r.step(beat(1));
    msgs = readMessages(r);
    assert.deepEqual(
      msgs.map((m) => m.msgType),
      [MessageType.MsgHeartbeat],
    );
    assert.ok(pr2.isPaused());
  }
  // A heartbeat response allows exactly one more append (still a probe from the same index).
  r.step(hbResp(2, r));
  msgs = readMessages(r);
  assert.equal(appendsTo(msgs, 2).length, 1);
  assert.equal(appendsTo(msgs, 2)[0]!.index, 0);
  assert.equal(appendsTo(msgs, 2)[0]!.entries.length, r.raftLog.lastIndex(), 'the probe carries everything from nextIdx');
  assert.ok(pr2.isPaused());
  // A rejection also allows exactly one more append, from the hinted index.
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: r.term, index: 0, reject: true, rejectHint: 0 }));
  assert.equal(appendsTo(readMessages(r), 2).length, 1);
  assert.ok(pr2.isPaused());
});

// ---- Replicate ----

/** Leader of [1,2] with 2 in Replicate after acking the empty entry; maxInflightMsgs = cap. */
function replicatingLeader(cap: number, extra: Partial<ConfigOptions> = {}): Raft {
  const r = leader([1, 2], { maxInflightMsgs: cap, ...extra });
  r.bcastAppend();
  readMessages(r);
  r.step(appResp(2, r, 1));
  readMessages(r);
  assert.equal(r.prs.get(2)!.state, ProgressState.Replicate);
  return r;
}

test('in Replicate state at most maxInflightMsgs appends are outstanding; acks free the window', () => {
  const cap = 4;
  const r = replicatingLeader(cap);
  const pr2 = r.prs.get(2)!;
  for (let i = 0; i < cap; i++) {
    r.step(propose(1, 1));
    const ms = readMessages(r);
    assert.equal(appendsTo(ms, 2).length, 1, `proposal ${i} is sent optimistically`);
  }
  assert.ok(pr2.isPaused(), 'window full');
  assert.equal(pr2.ins.count, cap);
  for (let i = 0; i < 10; i++) {
    r.step(propose(1, 1));
    assert.equal(readMessages(r).length, 0, 'nothing sent while the window is full');
  }
  // Stale acks (at or below matched) free nothing.
  r.step(appResp(2, r, 1));
  assert.equal(readMessages(r).length, 0);
  assert.ok(pr2.isPaused());
  // Acking the first two appends frees two slots: the held-back proposals go out (one append,
  // as the size limit is infinite), which takes one slot.
  r.step(appResp(2, r, 3));
  const ms = appendsTo(readMessages(r), 2);
  assert.equal(ms.length, 1);
  assert.deepEqual(
    ms[0]!.entries.map((e) => e.index),
    Array.from({ length: 10 }, (_, k) => 2 + cap + k),
  );
  assert.equal(pr2.ins.count, cap - 1);
  assert.ok(!pr2.isPaused());
  // Acking everything empties the window.
  r.step(appResp(2, r, r.raftLog.lastIndex()));
  assert.equal(pr2.ins.count, 0);
});

test('a heartbeat response frees one slot of a full inflight window', () => {
  const cap = 3;
  const r = replicatingLeader(cap);
  const pr2 = r.prs.get(2)!;
  for (let i = 0; i < cap; i++) {
    r.step(propose(1, 1));
    readMessages(r);
  }
  assert.ok(pr2.isPaused());
  for (let round = 1; round < 4; round++) {
    // Proposals pile up while the window is full.
    for (let i = 0; i < round; i++) {
      r.step(propose(1, 1));
      assert.equal(readMessages(r).length, 0, `round ${round}`);
    }
    const before = r.raftLog.lastIndex();
    // The follower is alive but its acks were lost: a heartbeat response frees the oldest slot,
    // and the held-back entries are sent in that slot.
    r.step(hbResp(2, r));
    const ms = appendsTo(readMessages(r), 2);
    assert.equal(ms.length, 1, `round ${round}`);
    assert.equal(ms[0]!.entries.length, round, `round ${round}`);
    assert.equal(ms[0]!.entries[round - 1]!.index, before);
    assert.ok(pr2.isPaused(), `round ${round}: full again`);
    assert.equal(pr2.ins.count, cap);
  }
  // A heartbeat response on a window that is not full frees nothing (the empty append it
  // triggers, since the follower is behind, takes no slot).
  r.step(appResp(2, r, pr2.ins.toArray()[0]!));
  readMessages(r);
  assert.equal(pr2.ins.count, cap - 1);
  r.step(hbResp(2, r));
  assert.deepEqual(
    appendsTo(readMessages(r), 2).map((m) => m.entries.length),
    [0],
  );
  assert.equal(pr2.ins.count, cap - 1);
});

// ---- size limits ----

test('maxSizePerMsg limits the entries per MsgAppend, but at least one entry is always sent', () => {
  const one = entrySize({ entryType: 0, term: 0, index: 0, data: bytes(8), context: new Uint8Array(0) });
  const cases: { limit: number; perMsg: number; sizes: number[] }[] = [
    { limit: 2 * one + 1, perMsg: 2, sizes: Array<number>(9).fill(8) },
    { limit: 3 * one, perMsg: 3, sizes: Array<number>(9).fill(8) },
    { limit: 1, perMsg: 1, sizes: Array<number>(5).fill(8) },
    // An entry larger than the limit goes alone.
    { limit: 2 * one + 1, perMsg: 2, sizes: [8, 500, 8, 8] },
  ];
  for (const [i, tt] of cases.entries()) {
    const rr = replicatingLeader(256, { maxSizePerMsg: tt.limit });
    rr.step(
      msg({
        msgType: MessageType.MsgPropose,
        from: 1,
        to: 1,
        entries: tt.sizes.map((n) => ({ entryType: 0, term: 0, index: 0, data: bytes(n), context: new Uint8Array(0) })),
      }),
    );
    // One append per proposal; acks release the rest, as many appends as the window allows.
    const ms = appendsTo(readMessages(rr), 2);
    assert.equal(ms.length, 1, `#${i}`);
    rr.step(appResp(2, rr, ms[0]!.index + ms[0]!.entries.length));
    ms.push(...appendsTo(readMessages(rr), 2));
    const sent = ms.flatMap((m) => m.entries.map((e) => e.index));
    assert.deepEqual(
      sent,
      tt.sizes.map((_, k) => 2 + k),
      `#${i}: every entry sent once, in order`,
    );
    for (const m of ms) {
      const size = m.entries.reduce((a, e) => a + entrySize(e), 0);
      assert.ok(m.entries.length >= 1, `#${i}`);
      assert.ok(m.entries.length === 1 || size <= tt.limit, `#${i}: ${m.entries.length} entries of ${size} bytes exceed ${tt.limit}`);
      assert.ok(m.entries.length <= tt.perMsg, `#${i}`);
    }
    if (tt.sizes.every((n) => n === 8))
      assert.equal(ms.length, Math.ceil(tt.sizes.length / tt.perMsg), `#${i}: messages are filled up to the limit`);
  }
});

test('maxCommittedSizePerReady limits the committed entries handed out per Ready', () => {
  const payload = 100;
  const one = payload + 12;
  const limit = 2 * one + 10;
  const { rn, s } = rawLeader([1], { maxCommittedSizePerReady: limit });
  // Nothing of the setup left over.
  while (rn.hasReady()) handleReady(rn, s);
  rn.proposeBatch(Array.from({ length: 9 }, () => ({ data: bytes(payload) })));
  const batches: Entry[][] = [];
  for (let i = 0; i < 20 && rn.hasReady(); i++) batches.push(...handleReady(rn, s).committed);
  const all = batches.flat();
  assert.deepEqual(
    all.map((e) => e.index),
    [2, 3, 4, 5, 6, 7, 8, 9, 10],
    'every entry delivered once, in order',
  );
  for (const b of batches)
    assert.ok(b.length === 1 || b.reduce((a, e) => a + entrySize(e), 0) <= limit, `batch of ${b.length} exceeds the limit`);
  assert.ok(batches.length >= 5, `paginated into ${batches.length} batches`);
  assert.equal(rn.raft.raftLog.applied, 10);
});

// ---- back pressure ----

test('maxUncommittedEntriesSize drops proposals beyond the limit and frees budget once entries commit', () => {
  const payload = 100;
  const { rn, s } = rawLeader([1, 2, 3], { maxUncommittedEntriesSize: 3 * payload });
  handleReady(rn, s);
  // The leader's empty entry does not count.
  assert.equal(rn.raft.uncommittedSize, 0);
  for (let i = 0; i < 3; i++) rn.propose(new Uint8Array(0), bytes(payload));
  assert.throws(() => rn.propose(new Uint8Array(0), bytes(payload)), ProposalDroppedError);
  // A batch that does not fit is dropped as a whole.
  assert.throws(() => rn.proposeBatch([{ data: bytes(1) }, { data: bytes(1) }]), ProposalDroppedError);
  const last = rn.raft.raftLog.lastIndex();
  assert.equal(last, 4, 'dropped proposals were not appended');
  // Empty proposals are free.
  rn.propose(new Uint8Array(0), new Uint8Array(0));
  handleReady(rn, s);

  // Followers ack the first two proposals: once they are handed out as committed, their budget is free.
  for (const id of [2, 3]) rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: id, to: 1, term: rn.raft.term, index: 3 }));
  const { committed } = handleReady(rn, s);
  assert.deepEqual(
    committed.flat().map((e) => e.index),
    [1, 2, 3],
  );
  assert.equal(rn.raft.uncommittedSize, payload);
  rn.propose(new Uint8Array(0), bytes(payload));
  rn.propose(new Uint8Array(0), bytes(payload));
  assert.throws(() => rn.propose(new Uint8Array(0), bytes(payload)), ProposalDroppedError);
  handleReady(rn, s);
  for (const id of [2, 3])
    rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: id, to: 1, term: rn.raft.term, index: rn.raft.raftLog.lastIndex() }));
  handleReady(rn, s);
  assert.equal(rn.raft.uncommittedSize, 0);
});

test('a single proposal larger than maxUncommittedEntriesSize is accepted when nothing is uncommitted', () => {
  const { rn, s } = rawLeader([1, 2, 3], { maxUncommittedEntriesSize: 100 });
  handleReady(rn, s);
  rn.propose(new Uint8Array(0), bytes(1000));
  assert.equal(rn.raft.raftLog.lastIndex(), 2);
  assert.throws(() => rn.propose(new Uint8Array(0), bytes(1)), ProposalDroppedError, 'but nothing more until it commits');
  handleReady(rn, s);
  for (const id of [2, 3]) rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: id, to: 1, term: rn.raft.term, index: 2 }));
  handleReady(rn, s);
  rn.propose(new Uint8Array(0), bytes(1000));
  assert.equal(rn.raft.raftLog.lastIndex(), 3);
});

test('a new leader starts with an empty uncommitted budget (entries of earlier terms do not count)', () => {
  const payload = 100;
  const { rn, s } = rawLeader([1, 2, 3], { maxUncommittedEntriesSize: 2 * payload });
  handleReady(rn, s);
  rn.propose(new Uint8Array(0), bytes(payload));
  rn.propose(new Uint8Array(0), bytes(payload));
  assert.throws(() => rn.propose(new Uint8Array(0), bytes(payload)), ProposalDroppedError);
  handleReady(rn, s);
  // Re-elected at a higher term with the old entries still uncommitted.
  rn.raft.becomeFollower(rn.raft.term + 1, 0);
  rn.campaign();
  handleReady(rn, s);
  for (const id of [2, 3]) rn.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: id, to: 1, term: rn.raft.term }));
  handleReady(rn, s);
  assert.equal(rn.raft.uncommittedSize, 0);
  rn.propose(new Uint8Array(0), bytes(payload));
  // The old entries commit with the new term's entries and never drive the budget negative.
  for (const id of [2, 3])
    rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: id, to: 1, term: rn.raft.term, index: rn.raft.raftLog.lastIndex() }));
  handleReady(rn, s);
  assert.equal(rn.raft.raftLog.committed, rn.raft.raftLog.lastIndex());
  assert.equal(rn.raft.uncommittedSize, 0);
  rn.propose(new Uint8Array(0), bytes(payload));
  rn.propose(new Uint8Array(0), bytes(payload));
  assert.equal(rn.raft.uncommittedSize, 2 * payload);
});

// ---- unreachable peers and snapshot reports ----

test('MsgUnreachable moves a follower from Replicate to Probe', () => {
  const r = replicatingLeader(256);
  const pr2 = r.prs.get(2)!;
  for (let i = 0; i < 3; i++) {
    r.step(propose(1, 1));
    readMessages(r);
  }
  assert.equal(pr2.nextIdx, 5, 'optimistically advanced');
  r.step(msg({ msgType: MessageType.MsgUnreachable, from: 2, to: 1 }));
  assert.equal(pr2.state, ProgressState.Probe);
  assert.equal(pr2.nextIdx, pr2.matched + 1, 'probing resumes right after what is known to match');
  assert.equal(pr2.ins.count, 0);
  // Now only one append at a time.
  r.step(beat(1));
  readMessages(r);
  r.step(hbResp(2, r));
  assert.equal(appendsTo(readMessages(r), 2).length, 1);
  r.step(propose(1, 1));
  assert.equal(readMessages(r).length, 0);
  // In Probe, MsgUnreachable changes nothing.
  r.step(msg({ msgType: MessageType.MsgUnreachable, from: 2, to: 1 }));
  assert.equal(pr2.state, ProgressState.Probe);
  assert.ok(pr2.isPaused());
});

/** RawNode leader of [1,2,3] whose log is compacted, with 3 (never heard from) in Snapshot state. */
function leaderSnapshottingTo3(): { rn: RawNode; s: MemoryStorage; snapIndex: number } {
  const { rn, s } = rawLeader([1, 2, 3]);
  handleReady(rn, s);
  for (let i = 0; i < 5; i++) rn.propose(new Uint8Array(0), enc.encode(`e${i}`));
  handleReady(rn, s);
  rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: rn.raft.term, index: 6 }));
  while (rn.hasReady()) handleReady(rn, s);
  assert.equal(rn.raft.raftLog.applied, 6);
  s.createSnapshot(6);
  s.compact(6);
  // 3 comes alive; its next index (1) is compacted, so it gets a snapshot.
  rn.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 3, to: 1, term: rn.raft.term }));
  const { msgs } = handleReady(rn, s);
  const snaps = msgs.filter((m) => m.msgType === MessageType.MsgSnapshot && m.to === 3);
  assert.equal(snaps.length, 1);
  assert.equal(snaps[0]!.snapshot!.metadata.index, 6);
  const pr3 = rn.raft.prs.get(3)!;
  assert.equal(pr3.state, ProgressState.Snapshot);
  assert.equal(pr3.pendingSnapshot, 6);
  return { rn, s, snapIndex: 6 };
}

test('ReportSnapshot failure moves Snapshot to Probe, clears pendingSnapshot and pauses until the follower answers', () => {
  const { rn, s } = leaderSnapshottingTo3();
  const pr3 = rn.raft.prs.get(3)!;
  rn.reportSnapshot(3, 'failure');
  assert.equal(pr3.state, ProgressState.Probe);
  assert.equal(pr3.pendingSnapshot, 0);
  assert.equal(pr3.nextIdx, pr3.matched + 1, 'probe from what is known, not past the failed snapshot');
  assert.ok(pr3.isPaused());
  assert.equal(handleReady(rn, s).msgs.filter((m) => m.to === 3).length, 0, 'nothing sent until a response');
  // The next heartbeat response retries: the log is still compacted, so another snapshot.
  rn.step(msg({ msgType: MessageType.MsgHeartbeatResponse, from: 3, to: 1, term: rn.raft.term }));
  assert.equal(handleReady(rn, s).msgs.filter((m) => m.to === 3 && m.msgType === MessageType.MsgSnapshot).length, 1);
  assert.equal(pr3.state, ProgressState.Snapshot);
});

test('ReportSnapshot success resumes probing right after the snapshot', () => {
  const { rn, s, snapIndex } = leaderSnapshottingTo3();
  const pr3 = rn.raft.prs.get(3)!;
  rn.reportSnapshot(3, 'finish');
  assert.equal(pr3.state, ProgressState.Probe);
  assert.equal(pr3.nextIdx, snapIndex + 1);
  assert.ok(pr3.isPaused(), 'wait for the follower to confirm');
  // The follower's response to the snapshot makes it Replicate.
  rn.step(msg({ msgType: MessageType.MsgAppendResponse, from: 3, to: 1, term: rn.raft.term, index: snapIndex }));
  assert.equal(pr3.state, ProgressState.Replicate);
  assert.equal(pr3.matched, snapIndex);
  void s;
  // A snapshot report for a follower not in Snapshot state is ignored.
  rn.reportSnapshot(3, 'failure');
  assert.equal(pr3.state, ProgressState.Replicate);
});
