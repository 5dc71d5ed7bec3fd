// Membership change scenarios: single-step ConfChange and joint consensus ConfChangeV2 driven
// through the RawNode API (propose -> commit -> applyConfChange), learners, and the leader-side
// rules that keep at most one change in flight.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigOptions } from '../src/config.js';
import { ProposalDroppedError, StepPeerNotFoundError } from '../src/errors.js';
import type { Raft } from '../src/raft.js';
import { RawNode } from '../src/raw_node.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import { MemoryStorage } from '../src/storage.js';
import {
  ConfChangeTransition,
  ConfChangeType,
  type ConfState,
  confChange,
  confChangeV2,
  decodeConfChange,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  encodeConfChange,
  isConfChangeV2,
  type Message,
  MessageType,
  newConfState,
} from '../src/types.js';
import { hup, msg, Network, newConfig, newTestRaft, nextEnts, propose, readMessages } from './network.js';

const enc = new TextEncoder();
const { AddNode, AddLearnerNode, RemoveNode } = ConfChangeType;

// ---- a small cluster of RawNodes driven like an application would ----

interface Node {
  rn: RawNode;
  s: MemoryStorage;
  applied: Entry[];
}

class RawCluster {
  readonly nodes = new Map<number, Node>();
  readonly down = new Set<number>();
  private queue: Message[] = [];
  /** Called after each committed entry is applied, before advance(). */
  onApply: ((id: number, e: Entry) => void) | null = null;

  constructor(voters: number[], learners: number[] = [], extra: Partial<ConfigOptions> = {}) {
    for (const id of [...voters, ...learners]) this.addNode(id, newConfState({ voters, learners }), extra);
  }

  /** Starts node `id` with an empty log and configuration `cs` (as an operator would start a joining node). */
  addNode(id: number, cs: ConfState, extra: Partial<ConfigOptions> = {}): Node {
    const s = MemoryStorage.newWithConfState(cs);
    const n = { rn: new RawNode(newConfig(id, 10, 1, extra), s), s, applied: [] };
    this.nodes.set(id, n);
    return n;
  }

  rn(id: number): RawNode {
    return this.nodes.get(id)!.rn;
  }

  raft(id: number): Raft {
    return this.rn(id).raft;
  }

  private send(msgs: Message[]): void {
    this.queue.push(...msgs);
  }

  private apply(id: number, n: Node, ents: Entry[]): void {
    for (const e of ents) {
      if (e.entryType === EntryType.EntryConfChange || e.entryType === EntryType.EntryConfChangeV2) {
        const cs = n.rn.applyConfChange(decodeConfChange(e));
        n.s.setConfState(cs);
      }
      n.applied.push(e);
      this.onApply?.(id, e);
    }
  }

  handleReady(id: number): void {
    const n = this.nodes.get(id)!;
    const rd = n.rn.ready();
    this.send(rd.messages);
    if (rd.snapshot) n.s.applySnapshot(rd.snapshot);
    n.s.append(rd.entries);
    if (rd.hardState) n.s.setHardState(rd.hardState);
    this.send(rd.persistedMessages);
    this.apply(id, n, rd.committedEntries);
    const light = n.rn.advance(rd);
    if (light.commitIndex !== null) n.s.setCommit(light.commitIndex);
    this.send(light.messages);
    this.apply(id, n, light.committedEntries);
    n.rn.advanceApply();
  }

  /** Processes Readies and delivers messages until nothing happens. */
  stabilize(): void {
    for (let round = 0; round < 10_000; round++) {
      let busy = false;
      for (const [id, n] of this.nodes) {
        if (this.down.has(id)) continue;
        while (n.rn.hasReady()) {
          busy = true;
          this.handleReady(id);
        }
      }
      const q = this.queue;
      this.queue = [];
      for (const m of q) {
        busy = true;
        const to = this.nodes.get(m.to);
        if (!to || this.down.has(m.to) || this.down.has(m.from)) continue;
        try {
          to.rn.step(m);
        } catch (e) {
          if (!(e instanceof StepPeerNotFoundError) && !(e instanceof ProposalDroppedError)) throw e;
        }
      }
      if (!busy) return;
    }
    throw new Error('cluster did not stabilize');
  }

  /** One heartbeat interval on `id` (heartbeatTick is 1), then stabilize. */
  heartbeat(id: number): void {
    this.rn(id).tick();
    this.stabilize();
  }

  elect(id: number): void {
    this.rn(id).campaign();
    this.stabilize();
    assert.equal(this.raft(id).state, StateRole.Leader, `node ${id} elected`);
  }

  /** Proposes on `id` and stabilizes; returns the index the proposal got (or -1 if dropped). */
  propose(id: number, data = 'x'): number {
    try {
      this.rn(id).propose(EMPTY_BYTES, enc.encode(data));
    } catch (e) {
      if (e instanceof ProposalDroppedError) return -1;
      throw e;
    }
    const idx = this.raft(id).raftLog.lastIndex();
    this.stabilize();
    return idx;
  }

  proposeConf(id: number, cc: Parameters<RawNode['proposeConfChange']>[1]): number {
    this.rn(id).proposeConfChange(EMPTY_BYTES, cc);
    const idx = this.raft(id).raftLog.lastIndex();
    this.stabilize();
    return idx;
  }

  confState(id: number): ConfState {
    return this.raft(id).prs.confState();
  }

  committed(id: number): number {
    return this.raft(id).raftLog.committed;
  }

  /** Entry `index` as applied on `id`. */
  appliedAt(id: number, index: number): Entry | undefined {
    return this.nodes.get(id)!.applied.find((e) => e.index === index);
  }
}

const voters = (cs: ConfState): number[] => cs.voters;

function isLeaveJoint(e: Entry): boolean {
  if (e.entryType !== EntryType.EntryConfChangeV2) return false;
  const cc = decodeConfChange(e);
  return isConfChangeV2(cc) && cc.transition === ConfChangeTransition.Auto && cc.changes.length === 0;
}

// ---- single-step changes ----

test('AddNode: propose -> commit -> applyConfChange adds a voter on every node, and the quorum grows', () => {
  const c = new RawCluster([1, 2, 3]);
  c.elect(1);
  c.addNode(4, newConfState({ voters: [1, 2, 3, 4] }));
  const idx = c.proposeConf(1, confChange(AddNode, 4));
  c.heartbeat(1); // the leader probes the new peer with its next heartbeat
  for (const id of [1, 2, 3, 4]) {
    assert.deepEqual(voters(c.confState(id)), [1, 2, 3, 4], `node ${id}`);
    assert.equal(c.appliedAt(id, idx)?.entryType, EntryType.EntryConfChange, `node ${id} applied the change`);
  }
  assert.equal(c.nodes.get(1)!.s.initialState().confState.voters.length, 4, 'ConfState returned by applyConfChange persisted');
  assert.ok(c.raft(1).prs.get(4), 'leader tracks the new voter');
  assert.equal(c.committed(4), c.committed(1), 'new node caught up');
  // Four voters: 1 and 2 alone (a majority of the old three) can no longer commit.
  c.down.add(3);
  c.down.add(4);
  const p = c.propose(1, 'needs three');
  assert.ok(p > 0);
  assert.ok(c.committed(1) < p, 'two of four is no quorum');
  c.down.delete(4);
  c.heartbeat(1);
  assert.ok(c.committed(1) >= p, 'three of four commit');
});

test('RemoveNode: after applying the removal the smaller quorum commits', () => {
  const c = new RawCluster([1, 2, 3, 4]);
  c.elect(1);
  c.down.add(4);
  const idx = c.proposeConf(1, confChange(RemoveNode, 4));
  assert.ok(c.committed(1) >= idx);
  for (const id of [1, 2, 3]) assert.deepEqual(voters(c.confState(id)), [1, 2, 3], `node ${id}`);
  assert.equal(c.raft(1).prs.get(4), undefined);
  // With three voters, 1 and 2 are a quorum (they were not among four).
  c.down.add(3);
  const p = c.propose(1);
  assert.equal(c.committed(1), p);
  assert.equal(c.committed(2), p);
});

test('removing a node lets entries waiting for its ack commit with the smaller quorum (etcd TestCommitAfterRemoveNode)', () => {
  const r = newTestRaft(1, [1, 2]);
  r.becomeCandidate();
  r.becomeLeader();
  const cc = confChange(RemoveNode, 2);
  const { entryType, data } = encodeConfChange(cc);
  r.step(msg({ msgType: MessageType.MsgPropose, from: 1, to: 1, entries: [{ entryType, term: 0, index: 0, data, context: EMPTY_BYTES }] }));
  assert.deepEqual(nextEnts(r), [], 'nothing committed without 2');
  const ccIndex = r.raftLog.lastIndex();
  r.step(propose(1, 1, 'hello'));
  // 2 acknowledges up to the conf change only.
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: r.term, index: ccIndex }));
  const ents = nextEnts(r);
  assert.deepEqual(
    ents.map((e) => e.entryType),
    [EntryType.EntryNormal, EntryType.EntryConfChange],
  );
  assert.equal(r.raftLog.committed, ccIndex);
  r.applyConfChange({ transition: ConfChangeTransition.Auto, changes: [{ changeType: RemoveNode, nodeId: 2 }], context: EMPTY_BYTES });
  const after = nextEnts(r);
  assert.deepEqual(
    after.map((e) => new TextDecoder().decode(e.data)),
    ['hello'],
    'the pending proposal commits on applying the removal',
  );
});

test('the leader removed from the configuration steps down, and a remaining voter takes over', () => {
  const c = new RawCluster([1, 2, 3]);
  c.elect(1);
  const idx = c.proposeConf(1, confChange(RemoveNode, 1));
  const old = c.raft(1);
  assert.equal(old.state, StateRole.Follower);
  assert.equal(old.prs.get(1), undefined);
  for (const id of [2, 3]) {
    assert.deepEqual(voters(c.confState(id)), [2, 3], `node ${id} applied the removal`);
    assert.ok(c.committed(id) >= idx);
  }
  assert.throws(() => c.rn(1).propose(EMPTY_BYTES, enc.encode('x')), ProposalDroppedError, 'no leader to forward to');
  // The removed node never campaigns.
  for (let i = 0; i < 50; i++) c.rn(1).tick();
  assert.equal(old.state, StateRole.Follower);
  c.stabilize();
  c.elect(2);
  const p = c.propose(2);
  assert.equal(c.committed(3), p);
});

test('only one conf change may be pending: a second one before the first is applied becomes an empty normal entry', () => {
  const c = new RawCluster([1, 2, 3], [4, 5]);
  c.elect(1);
  const lead = c.rn(1);
  lead.proposeConfChange(EMPTY_BYTES, confChange(AddNode, 4));
  const first = lead.raft.raftLog.lastIndex();
  const pending = lead.raft.pendingConfIndex;
  assert.equal(pending, first);
  lead.proposeConfChange(enc.encode('ctx2'), confChange(AddNode, 5));
  const second = lead.raft.raftLog.lastIndex();
  assert.equal(lead.raft.pendingConfIndex, pending, 'the refused change does not move pendingConfIndex');
  c.stabilize();
  const e = c.appliedAt(1, second)!;
  assert.equal(e.entryType, EntryType.EntryNormal);
  assert.equal(e.data.length, 0);
  assert.equal(new TextDecoder().decode(e.context), 'ctx2', 'the context survives so the proposer learns the outcome');
  for (const id of [1, 2, 3, 4, 5]) {
    assert.deepEqual(voters(c.confState(id)), [1, 2, 3, 4], `node ${id}`);
    assert.deepEqual(c.confState(id).learners, [5], `node ${id}`);
  }
  // Once the first is applied, a new change is accepted.
  c.proposeConf(1, confChange(AddNode, 5));
  assert.deepEqual(voters(c.confState(2)), [1, 2, 3, 4, 5]);
});

test('a new leader refuses conf changes until everything in its log at election is applied', () => {
  const r = newTestRaft(1, [1, 2]);
  r.becomeCandidate();
  r.becomeLeader();
  assert.equal(r.pendingConfIndex, 0);
  const { entryType, data } = encodeConfChange(confChange(AddNode, 3));
  // Give the leader a log tail: elected again at a higher term with uncommitted entries.
  r.step(propose(1, 1));
  readMessages(r);
  r.becomeFollower(r.term + 1, INVALID_ID);
  r.becomeCandidate();
  r.becomeLeader();
  assert.equal(r.pendingConfIndex, 2, 'the tail may hold an unapplied conf change');
  r.step(msg({ msgType: MessageType.MsgPropose, from: 1, to: 1, entries: [{ entryType, term: 0, index: 0, data, context: EMPTY_BYTES }] }));
  assert.equal(r.raftLog.allEntries().at(-1)!.entryType, EntryType.EntryNormal, 'refused');
  readMessages(r);
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
  nextEnts(r); // applies through the tail
  r.step(msg({ msgType: MessageType.MsgPropose, from: 1, to: 1, entries: [{ entryType, term: 0, index: 0, data, context: EMPTY_BYTES }] }));
  assert.equal(r.raftLog.allEntries().at(-1)!.entryType, EntryType.EntryConfChange, 'accepted once applied');
});

// ---- learners ----

test('learners receive entries but count neither for commit nor for votes', () => {
  const c = new RawCluster([1, 2], [3]);
  c.elect(1);
  const p = c.propose(1, 'to learner');
  assert.equal(c.committed(3), p, 'learner received and committed the entry');
  assert.equal(new TextDecoder().decode(c.appliedAt(3, p)!.data), 'to learner');
  assert.ok(c.raft(3).isLearner);
  // Leader + learner is not a quorum of {1, 2}.
  c.down.add(2);
  const q = c.propose(1, 'stuck');
  assert.equal(c.raft(1).prs.get(3)!.matched, q, 'the learner acked');
  assert.ok(c.committed(1) < q, 'but that does not commit');
  // A learner never campaigns.
  for (let i = 0; i < 100; i++) c.rn(3).tick();
  assert.equal(c.raft(3).state, StateRole.Follower);
  assert.equal(c.raft(3).term, c.raft(1).term);

  // A learner's vote is not counted.
  const r = newTestRaft(1, [1, 2], 10, 1, { learners: [3] });
  r.becomeCandidate();
  const reqs = readMessages(r)
    .filter((m) => m.msgType === MessageType.MsgRequestVote)
    .map((m) => m.to);
  assert.deepEqual(reqs, [], 'becomeCandidate alone sends nothing');
  r.becomeFollower(r.term, INVALID_ID);
  r.step(hup(1));
  assert.deepEqual(
    readMessages(r)
      .filter((m) => m.msgType === MessageType.MsgRequestVote)
      .map((m) => m.to),
    [2],
    'votes are requested from voters only',
  );
  r.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 3, to: 1, term: r.term }));
  assert.equal(r.state, StateRole.Candidate);
  r.step(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 2, to: 1, term: r.term }));
  assert.equal(r.state, StateRole.Leader);
});

test('a learner promoted to voter counts for the quorum and may campaign', () => {
  const c = new RawCluster([1, 2], [3]);
  c.elect(1);
  c.proposeConf(1, confChange(AddNode, 3));
  for (const id of [1, 2, 3]) {
    assert.deepEqual(voters(c.confState(id)), [1, 2, 3], `node ${id}`);
    assert.deepEqual(c.confState(id).learners, [], `node ${id}`);
  }
  assert.equal(c.raft(3).isLearner, false);
  assert.equal(c.raft(1).prs.get(3)!.isLearner, false);
  c.down.add(2);
  const p = c.propose(1);
  assert.equal(c.committed(1), p, '1 and 3 are a quorum now');
  c.down.clear();
  c.down.add(1);
  c.elect(3);
});

// ---- joint consensus ----

test('joint consensus: while joint, an entry commits only with a majority of both the incoming and the outgoing voters', () => {
  const r = newTestRaft(1, [1, 2, 3], 10, 1, { learners: [4, 5] });
  r.becomeCandidate();
  r.becomeLeader();
  r.bcastAppend();
  for (const m of readMessages(r)) r.step(msg({ msgType: MessageType.MsgAppendResponse, from: m.to, to: 1, term: r.term, index: 1 }));
  readMessages(r);
  const cs = r.applyConfChange(
    confChangeV2([
      { changeType: AddNode, nodeId: 4 },
      { changeType: AddNode, nodeId: 5 },
      { changeType: RemoveNode, nodeId: 2 },
      { changeType: RemoveNode, nodeId: 3 },
    ]),
  );
  assert.deepEqual(
    [cs.voters, cs.votersOutgoing],
    [
      [1, 4, 5],
      [1, 2, 3],
    ],
  );
  readMessages(r);
  const ack = (from: number, index: number): void =>
    r.step(msg({ msgType: MessageType.MsgAppendResponse, from, to: 1, term: r.term, index }));
  r.step(propose(1, 1));
  readMessages(r);
  const i1 = r.raftLog.lastIndex();
  ack(4, i1);
  ack(5, i1);
  assert.equal(r.raftLog.committed, 1, 'the whole incoming config acked, but only 1 of the outgoing 3');
  ack(2, i1);
  assert.equal(r.raftLog.committed, i1, 'both majorities');
  // And the other way round: the outgoing majority alone is not enough either.
  r.step(propose(1, 1));
  readMessages(r);
  const i2 = r.raftLog.lastIndex();
  ack(2, i2);
  ack(3, i2);
  assert.equal(r.raftLog.committed, i1, 'outgoing majority only');
  ack(5, i2);
  assert.equal(r.raftLog.committed, i2);
});

test('joint consensus with autoLeave: the leader proposes leaving once the joint config is applied', () => {
  const c = new RawCluster([1, 2, 3], [4, 5]);
  c.elect(1);
  const cc = confChangeV2([
    { changeType: AddNode, nodeId: 4 },
    { changeType: AddNode, nodeId: 5 },
    { changeType: AddLearnerNode, nodeId: 2 },
    { changeType: RemoveNode, nodeId: 3 },
  ]);
  let jointIndex = 0;
  let sawJoint = false;
  c.onApply = (id, e) => {
    if (id !== 1 || e.index !== jointIndex) return;
    // Applied but not yet advanced: the leave entry is not proposed before the app applied it.
    sawJoint = true;
    const cs = c.confState(1);
    assert.deepEqual([cs.voters, cs.votersOutgoing, cs.learnersNext, cs.autoLeave], [[1, 4, 5], [1, 2, 3], [2], true]);
    assert.ok(!c.raft(1).raftLog.allEntries().some(isLeaveJoint), 'no leave proposed before the joint config is applied');
  };
  c.rn(1).proposeConfChange(EMPTY_BYTES, cc);
  jointIndex = c.raft(1).raftLog.lastIndex();
  c.stabilize();
  assert.ok(sawJoint);
  const log = c.raft(1).raftLog.allEntries();
  const leave = log.filter(isLeaveJoint);
  assert.equal(leave.length, 1, 'exactly one automatic leave-joint entry');
  assert.ok(leave[0]!.index > jointIndex);
  assert.equal(leave[0]!.term, c.raft(1).term);
  for (const id of [1, 2, 4, 5]) {
    const cs = c.confState(id);
    assert.deepEqual(
      [cs.voters, cs.votersOutgoing, cs.learners, cs.learnersNext, cs.autoLeave],
      [[1, 4, 5], [], [2], [], false],
      `node ${id} left the joint config`,
    );
  }
  // 3 was removed: the new config commits without it, and 2 is a learner.
  c.down.add(3);
  c.down.add(2);
  const p = c.propose(1);
  assert.equal(c.committed(5), p);
});

test('joint consensus with an explicit transition stays joint until an empty ConfChangeV2 is proposed', () => {
  const c = new RawCluster([1, 2, 3], [4]);
  c.elect(1);
  c.proposeConf(
    1,
    confChangeV2(
      [
        { changeType: AddNode, nodeId: 4 },
        { changeType: RemoveNode, nodeId: 3 },
      ],
      ConfChangeTransition.Explicit,
    ),
  );
  // Extra activity does not make it leave.
  c.propose(1);
  for (const id of [1, 2, 3, 4]) {
    const cs = c.confState(id);
    assert.deepEqual([cs.voters, cs.votersOutgoing, cs.autoLeave], [[1, 2, 4], [1, 2, 3], false], `node ${id} still joint`);
  }
  assert.ok(!c.raft(1).raftLog.allEntries().some(isLeaveJoint));
  // A new change is refused while joint.
  const refused = c.proposeConf(1, confChange(RemoveNode, 2));
  assert.equal(c.appliedAt(1, refused)!.entryType, EntryType.EntryNormal);
  assert.deepEqual(c.confState(1).votersOutgoing, [1, 2, 3], 'still joint, 2 still a voter');
  assert.deepEqual(c.confState(1).voters, [1, 2, 4]);
  // The application leaves explicitly.
  const leave = c.proposeConf(1, confChangeV2([]));
  assert.equal(c.appliedAt(1, leave)!.entryType, EntryType.EntryConfChangeV2);
  for (const id of [1, 2, 4]) {
    const cs = c.confState(id);
    assert.deepEqual([cs.voters, cs.votersOutgoing], [[1, 2, 4], []], `node ${id} left`);
  }
});

test('an empty ConfChangeV2 (leave joint) outside a joint config is refused', () => {
  const c = new RawCluster([1, 2, 3]);
  c.elect(1);
  const idx = c.proposeConf(1, confChangeV2([]));
  const e = c.appliedAt(1, idx)!;
  assert.equal(e.entryType, EntryType.EntryNormal, 'turned into a no-op');
  assert.equal(e.data.length, 0);
  for (const id of [1, 2, 3]) assert.deepEqual(voters(c.confState(id)), [1, 2, 3]);
  // Nothing is pending afterwards: a real change goes through.
  c.addNode(4, newConfState({ voters: [1, 2, 3, 4] }));
  c.proposeConf(1, confChange(AddNode, 4));
  assert.deepEqual(voters(c.confState(1)), [1, 2, 3, 4]);
});

test('removing the leadership transferee aborts the transfer', () => {
  const nt = new Network([undefined, undefined, undefined]);
  nt.send(hup(1));
  nt.ignore(MessageType.MsgTimeoutNow);
  const lead = nt.raft(1);
  nt.send(msg({ msgType: MessageType.MsgTransferLeader, from: 3, to: 1 }));
  assert.equal(lead.leadTransferee, 3);
  assert.throws(() => lead.step(propose(1, 1)), ProposalDroppedError, 'proposals are refused during a transfer');
  lead.applyConfChange({ transition: ConfChangeTransition.Auto, changes: [{ changeType: RemoveNode, nodeId: 3 }], context: EMPTY_BYTES });
  assert.equal(lead.leadTransferee, INVALID_ID);
  assert.equal(lead.state, StateRole.Leader);
  lead.step(propose(1, 1));
  assert.equal(lead.raftLog.lastIndex(), 2, 'proposals are accepted again');
});
