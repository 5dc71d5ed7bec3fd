// RawNode API: the Ready / advance cycle, message routing (messages vs persistedMessages), step
// errors, proposals, status and restart, and Config validation.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Config } from '../src/config.js';
import { ConfigInvalidError, ProposalDroppedError, StepLocalMsgError, StepPeerNotFoundError } from '../src/errors.js';
import { RawNode, type Ready } from '../src/raw_node.js';
import { INVALID_ID, StateRole } from '../src/state_role.js';
import type { MemoryStorage } from '../src/storage.js';
import { type Entry, type Message, MessageType, newHardState } from '../src/types.js';
import { ent, msg, newConfig, newStorage } from './network.js';

const MT = MessageType;
const te = new TextEncoder();
const td = new TextDecoder();
const EMPTY = new Uint8Array();

function ids(es: Entry[]): [number, number][] {
  return es.map((e) => [e.index, e.term]);
}

/** Persists what a Ready asks for into `s` (snapshot, entries, hard state). */
function persistReady(s: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) s.applySnapshot(rd.snapshot);
  s.append(rd.entries);
  if (rd.hardState) s.setHardState(rd.hardState);
}

test('single node: campaign -> Ready with soft/hard state and the empty entry; advance -> LightReady commits it', () => {
  const s = newStorage([1]);
  const n = new RawNode(newConfig(1), s);
  assert.equal(n.hasReady(), false, 'a fresh node has nothing to do');
  n.campaign();
  assert.equal(n.hasReady(), true);
  const rd = n.ready();
  assert.deepEqual(rd.softState, { leaderId: 1, raftState: StateRole.Leader });
  assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 0 });
  assert.deepEqual(ids(rd.entries), [[1, 1]]);
  assert.equal(rd.entries[0]!.data.length, 0);
  assert.equal(rd.mustSync, true);
  assert.deepEqual(rd.committedEntries, [], 'nothing commits before the leader persisted its entry');
  assert.deepEqual(rd.messages, []);
  assert.deepEqual(rd.persistedMessages, []);
  persistReady(s, rd);
  const light = n.advance(rd);
  assert.equal(light.commitIndex, 1);
  assert.deepEqual(ids(light.committedEntries), [[1, 1]]);
  assert.deepEqual(light.messages, []);
  s.setCommit(light.commitIndex!);
  n.advanceApply();
  assert.equal(n.status().applied, 1);
  assert.equal(n.hasReady(), false);

  // A proposal: a new entry to persist (no hard state change), committed after advance.
  n.propose(EMPTY, te.encode('foo'));
  const rd2 = n.ready();
  assert.equal(rd2.softState, null);
  assert.equal(rd2.hardState, null, 'term/vote/commit unchanged');
  assert.deepEqual(ids(rd2.entries), [[2, 1]]);
  assert.equal(rd2.mustSync, true);
  persistReady(s, rd2);
  const light2 = n.advance(rd2);
  assert.equal(light2.commitIndex, 2);
  assert.deepEqual(
    light2.committedEntries.map((e) => td.decode(e.data)),
    ['foo'],
  );
  n.advanceApply();
  assert.equal(n.hasReady(), false);
  assert.equal(n.status().applied, 2);
});

test('a Ready with only a commit change does not require sync', () => {
  const s = newStorage([1, 2]);
  const n = new RawNode(newConfig(2), s);
  n.step(msg({ msgType: MT.MsgAppend, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [ent(1, 1)], commit: 0 }));
  const rd = n.ready();
  assert.equal(rd.mustSync, true);
  persistReady(s, rd);
  n.advance(rd);
  n.step(msg({ msgType: MT.MsgHeartbeat, from: 1, to: 2, term: 1, commit: 1 }));
  const rd2 = n.ready();
  assert.deepEqual(rd2.hardState, { term: 1, vote: 0, commit: 1 });
  assert.deepEqual(rd2.entries, []);
  assert.equal(rd2.mustSync, false);
  assert.deepEqual(ids(rd2.committedEntries), [[1, 1]]);
});

test("a non-leader's messages go to persistedMessages (vote and append responses), a leader's to messages", () => {
  const s = newStorage([1, 2, 3]);
  const f = new RawNode(newConfig(2), s);
  f.step(msg({ msgType: MT.MsgRequestVote, from: 1, to: 2, term: 1, index: 0, logTerm: 0 }));
  let rd = f.ready();
  assert.deepEqual(rd.messages, []);
  assert.deepEqual(
    rd.persistedMessages.map((m) => [m.msgType, m.to, m.reject]),
    [[MT.MsgRequestVoteResponse, 1, false]],
  );
  assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 0 });
  assert.equal(rd.mustSync, true, 'the vote must be durable before the response leaves');
  persistReady(s, rd);
  f.advance(rd);
  f.step(msg({ msgType: MT.MsgAppend, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [ent(1, 1)] }));
  rd = f.ready();
  assert.deepEqual(rd.messages, []);
  assert.deepEqual(
    rd.persistedMessages.map((m) => [m.msgType, m.to, m.index]),
    [[MT.MsgAppendResponse, 1, 1]],
  );

  // A candidate's vote requests are persisted messages too (term and self-vote first); once leader,
  // appends go out in `messages`, in parallel with the leader's own write.
  const s1 = newStorage([1, 2, 3]);
  const c = new RawNode(newConfig(1), s1);
  c.campaign();
  rd = c.ready();
  assert.deepEqual(rd.messages, []);
  assert.deepEqual(
    rd.persistedMessages.map((m) => [m.msgType, m.to]),
    [
      [MT.MsgRequestVote, 2],
      [MT.MsgRequestVote, 3],
    ],
  );
  persistReady(s1, rd);
  c.advance(rd);
  c.step(msg({ msgType: MT.MsgRequestVoteResponse, from: 2, to: 1, term: 1 }));
  rd = c.ready();
  assert.equal(rd.softState?.raftState, StateRole.Leader);
  assert.deepEqual(rd.persistedMessages, []);
  assert.deepEqual(rd.messages.map((m) => [m.msgType, m.to]).sort(), [
    [MT.MsgAppend, 2],
    [MT.MsgAppend, 3],
  ]);
  assert.deepEqual(ids(rd.entries), [[1, 1]]);
});

test('step rejects local message types with StepLocalMsgError and leaves the node untouched', () => {
  const n = new RawNode(newConfig(1), newStorage([1, 2, 3]));
  for (const t of [MT.MsgHup, MT.MsgBeat, MT.MsgCheckQuorum, MT.MsgUnreachable, MT.MsgSnapStatus]) {
    assert.throws(() => n.step(msg({ msgType: t, from: 1, to: 1 })), StepLocalMsgError, MT[t]);
  }
  assert.equal(n.raft.state, StateRole.Follower, 'the MsgHup did not start an election');
  assert.equal(n.raft.term, 0);
  assert.equal(n.hasReady(), false);
});

test('step of a response from an unknown peer throws StepPeerNotFoundError; requests from it are still handled', () => {
  const n = new RawNode(newConfig(1), newStorage([1, 2, 3]));
  n.campaign();
  for (const t of [MT.MsgAppendResponse, MT.MsgHeartbeatResponse, MT.MsgRequestVoteResponse, MT.MsgRequestPreVoteResponse]) {
    assert.throws(() => n.step(msg({ msgType: t, from: 9, to: 1, term: 1 })), StepPeerNotFoundError, MT[t]);
  }
  assert.equal(n.raft.state, StateRole.Candidate);
  // A response from a known peer is fine.
  n.step(msg({ msgType: MT.MsgRequestVoteResponse, from: 2, to: 1, term: 1 }));
  assert.equal(n.raft.state, StateRole.Leader);
  // A non-response from an unknown id is stepped (e.g. a vote request of a higher term).
  const f = new RawNode(newConfig(2), newStorage([1, 2, 3]));
  f.step(msg({ msgType: MT.MsgRequestVote, from: 9, to: 2, term: 3 }));
  assert.equal(f.raft.term, 3);
});

test('propose without a leader throws ProposalDroppedError (follower and candidate)', () => {
  const n = new RawNode(newConfig(1), newStorage([1, 2, 3]));
  assert.throws(() => n.propose(EMPTY, te.encode('x')), ProposalDroppedError);
  n.campaign();
  assert.equal(n.raft.state, StateRole.Candidate);
  assert.throws(() => n.propose(EMPTY, te.encode('x')), ProposalDroppedError);
  assert.equal(n.raft.raftLog.lastIndex(), 0);
});

test('a follower forwards proposals to the leader, or throws ProposalDroppedError with disableProposalForwarding', () => {
  const mk = (disable: boolean): RawNode => {
    const n = new RawNode(newConfig(2, 10, 1, { disableProposalForwarding: disable }), newStorage([1, 2, 3]));
    n.step(msg({ msgType: MT.MsgHeartbeat, from: 1, to: 2, term: 1 }));
    n.advance(n.ready());
    assert.equal(n.raft.leaderId, 1);
    return n;
  };
  const fwd = mk(false);
  fwd.propose(EMPTY, te.encode('data'));
  const rd = fwd.ready();
  assert.deepEqual(rd.entries, [], 'the follower does not append it itself');
  const m = rd.persistedMessages[0]!;
  assert.equal(rd.persistedMessages.length, 1);
  assert.deepEqual([m.msgType, m.from, m.to, m.term], [MT.MsgPropose, 2, 1, 0]);
  assert.equal(td.decode(m.entries[0]!.data), 'data');

  const off = mk(true);
  assert.throws(() => off.propose(EMPTY, te.encode('data')), ProposalDroppedError);
  assert.equal(off.hasReady(), false, 'nothing forwarded');
});

test('status() reports per-peer progress only on the leader', () => {
  const nodes = new Map<number, RawNode>();
  const stores = new Map<number, MemoryStorage>();
  for (const id of [1, 2, 3]) {
    stores.set(id, newStorage([1, 2, 3]));
    nodes.set(id, new RawNode(newConfig(id), stores.get(id)!));
  }
  nodes.get(1)!.campaign();
  run(nodes, stores);
  const st = nodes.get(1)!.status();
  assert.equal(st.softState.raftState, StateRole.Leader);
  assert.ok(st.progress);
  assert.deepEqual([...st.progress.keys()].sort(), [1, 2, 3]);
  for (const id of [1, 2, 3]) assert.equal(st.progress.get(id)!.matched, 1, `progress of ${id}`);
  assert.deepEqual(st.confState.voters, [1, 2, 3]);
  assert.equal(st.hardState.commit, 1);
  const fst = nodes.get(2)!.status();
  assert.equal(fst.progress, null);
  assert.equal(fst.softState.leaderId, 1);
  assert.equal(fst.softState.raftState, StateRole.Follower);
  assert.equal(fst.leadTransferee, INVALID_ID);
});

test('state accessors read what the Raft holds; forgetLeader and broadcastAppend act on it', () => {
  const nodes = new Map<number, RawNode>();
  const stores = new Map<number, MemoryStorage>();
  for (const id of [1, 2, 3]) {
    stores.set(id, newStorage([1, 2, 3]));
    nodes.set(id, new RawNode(newConfig(id), stores.get(id)!));
  }
  const l = nodes.get(1)!;
  l.campaign();
  run(nodes, stores);
  l.propose(EMPTY, te.encode('x'));
  run(nodes, stores);
  assert.equal(l.role, StateRole.Leader);
  assert.equal(l.term, l.raft.term);
  assert.equal(l.leaderId, 1);
  assert.equal(l.committed, 2);
  assert.equal(l.applied, 2);
  assert.equal(l.lastIndex(), 2);
  assert.equal(l.logTerm(2), 1);
  assert.equal(l.committedEntryInCurrentTerm(), true);
  assert.equal(l.leadTransferee, INVALID_ID);
  assert.equal(l.pendingConfIndex, l.raft.pendingConfIndex);
  assert.equal(l.progressOf(2)!.matched, 2);
  assert.equal(l.progressOf(9), undefined);
  assert.deepEqual([...l.progresses().keys()].sort(), [1, 2, 3]);
  l.transferLeader(2);
  assert.equal(l.leadTransferee, 2);

  l.broadcastAppend();
  const sent = l
    .ready()
    .messages.filter((m) => m.msgType === MT.MsgAppend)
    .map((m) => m.to);
  assert.deepEqual(sent.sort(), [2, 3]);

  const f = nodes.get(3)!;
  assert.equal(f.leaderId, 1);
  f.forgetLeader();
  assert.equal(f.leaderId, INVALID_ID);
  assert.equal(f.role, StateRole.Follower);
  assert.equal(f.term, l.term, 'in the same term');
});

/** Drives RawNodes through Ready/advance, delivering messages, until no node has anything to do. */
function run(nodes: Map<number, RawNode>, stores: Map<number, MemoryStorage>): void {
  for (let round = 0; round < 1000; round++) {
    const inflight: Message[] = [];
    for (const [id, n] of nodes) {
      if (!n.hasReady()) continue;
      const rd = n.ready();
      inflight.push(...rd.messages);
      persistReady(stores.get(id)!, rd);
      inflight.push(...rd.persistedMessages);
      const light = n.advance(rd);
      if (light.commitIndex !== null) stores.get(id)!.setCommit(light.commitIndex);
      inflight.push(...light.messages);
      n.advanceApply();
    }
    if (inflight.length === 0) return;
    for (const m of inflight) nodes.get(m.to)?.step(m);
  }
  throw new Error('did not quiesce');
}

test('three RawNodes driven only through Ready/advance elect a leader on ticks and commit a proposal everywhere', () => {
  const nodes = new Map<number, RawNode>();
  const stores = new Map<number, MemoryStorage>();
  for (const id of [1, 2, 3]) {
    stores.set(id, newStorage([1, 2, 3]));
    nodes.set(id, new RawNode(newConfig(id, 10, 1, { preVote: true, checkQuorum: true }), stores.get(id)!));
  }
  let leader: RawNode | undefined;
  for (let t = 0; t < 100 && !leader; t++) {
    for (const n of nodes.values()) n.tick();
    run(nodes, stores);
    leader = [...nodes.values()].find((n) => n.raft.state === StateRole.Leader);
  }
  assert.ok(leader, 'a leader was elected');
  leader.propose(EMPTY, te.encode('hello'));
  run(nodes, stores);
  for (const [id, n] of nodes) {
    assert.equal(n.raft.raftLog.committed, 2, `node ${id}`);
    assert.equal(n.status().applied, 2, `node ${id}`);
    assert.equal(stores.get(id)!.hardState().commit, 2, `node ${id} persisted the commit index`);
    assert.equal(td.decode(stores.get(id)!.entries(2, 3)[0]!.data), 'hello');
  }
});

test('restart from storage recovers term, vote and commit; with applied set, applied entries are not re-delivered', () => {
  const mkStore = (): MemoryStorage => {
    const s = newStorage([1, 2, 3]);
    s.append([ent(1, 1, 'a'), ent(2, 1, 'b'), ent(3, 2, 'c'), ent(4, 2, 'd')]);
    s.setHardState(newHardState(2, 3, 3));
    return s;
  };
  const n = new RawNode(newConfig(1, 10, 1, { applied: 2 }), mkStore());
  assert.equal(n.raft.term, 2);
  assert.equal(n.raft.vote, 3);
  assert.equal(n.raft.raftLog.committed, 3);
  assert.equal(n.raft.state, StateRole.Follower);
  assert.equal(n.status().applied, 2);
  assert.deepEqual(n.status().hardState, { term: 2, vote: 3, commit: 3 });
  const rd = n.ready();
  assert.equal(rd.hardState, null, 'the recovered hard state is not handed back');
  assert.deepEqual(rd.entries, [], 'stable entries are not re-persisted');
  assert.deepEqual(
    rd.committedEntries.map((e) => td.decode(e.data)),
    ['c'],
    'only committed entries above applied',
  );
  n.advance(rd);
  assert.equal(n.status().applied, 3);
  assert.equal(n.hasReady(), false);
  // Without `applied`, every committed entry is delivered again (but not the uncommitted one).
  const n0 = new RawNode(newConfig(1), mkStore());
  assert.deepEqual(
    n0.ready().committedEntries.map((e) => td.decode(e.data)),
    ['a', 'b', 'c'],
  );
  // The recovered vote is binding: another candidate of term 2 is refused.
  const n2 = new RawNode(newConfig(1, 10, 1, { applied: 3 }), mkStore());
  n2.step(msg({ msgType: MT.MsgRequestVote, from: 2, to: 1, term: 2, index: 4, logTerm: 2 }));
  assert.deepEqual(
    n2.ready().persistedMessages.map((m) => [m.msgType, m.reject]),
    [[MT.MsgRequestVoteResponse, true]],
  );
});

test('ready() twice without advance throws; advance of a stale Ready throws', () => {
  const n = new RawNode(newConfig(1), newStorage([1]));
  n.campaign();
  const rd = n.ready();
  assert.throws(() => n.ready(), /advance/);
  n.advance(rd);
  n.propose(EMPTY, te.encode('x'));
  assert.throws(() => n.advance(rd), /not the outstanding one/);
  const rd2 = n.ready();
  assert.equal(rd2.number, rd.number + 1);
  n.advance(rd2);
});

test('Config.validate rejects inconsistent settings with ConfigInvalidError', () => {
  const bad: [string, ConstructorParameters<typeof Config>[0], RegExp][] = [
    ['heartbeat == election', { id: 1, electionTick: 10, heartbeatTick: 10 }, /electionTick .* greater than heartbeatTick/],
    ['heartbeat > election', { id: 1, electionTick: 5, heartbeatTick: 6 }, /electionTick .* greater than heartbeatTick/],
    ['leaseBased without checkQuorum', { id: 1, readOnlyOption: 'leaseBased' }, /leaseBased requires checkQuorum/],
    ['id 0', { id: 0 }, /id must be/],
    ['min election below electionTick', { id: 1, electionTick: 10, minElectionTick: 5 }, /minElectionTick/],
    ['min >= max election', { id: 1, electionTick: 10, minElectionTick: 12, maxElectionTick: 12 }, /less than maxElectionTick/],
  ];
  for (const [name, o, re] of bad) {
    assert.throws(
      () => new Config(o).validate(),
      (e: unknown) => e instanceof ConfigInvalidError && re.test(e.message),
      name,
    );
    // Constructing a node validates the config too.
    assert.throws(() => new RawNode(o, newStorage([1])), ConfigInvalidError, name);
  }
  for (const o of [
    { id: 1 },
    { id: 1, readOnlyOption: 'leaseBased' as const, checkQuorum: true },
    { id: 3, electionTick: 2, heartbeatTick: 1 },
  ]) {
    assert.doesNotThrow(() => new Config(o).validate(), JSON.stringify(o));
  }
});
