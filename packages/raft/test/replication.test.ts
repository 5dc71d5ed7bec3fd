// Log replication scenarios (Raft paper §5.3, §5.4.2): what the leader sends, when entries commit,
// how followers check and repair their logs, and how fast a divergent follower is brought in line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@tskv/util';
import type { Raft } from '../src/raft.js';
import { StateRole } from '../src/state_role.js';
import type { MemoryStorage } from '../src/storage.js';
import { type Entry, type Message, MessageType } from '../src/types.js';
import { beat, ent, hup, msg, Network, newStorage, newTestRaft, nextEnts, persist, propose, readMessages } from './network.js';

const dec = new TextDecoder();

// ---- helpers ----

/** A storage for `voters` holding entries 1..terms.length with those terms. */
function storageWithTerms(voters: number[], terms: number[], term = 0, commit = 0): MemoryStorage {
  const s = newStorage(voters);
  s.append(terms.map((t, i) => ent(i + 1, t)));
  if (term > 0 || commit > 0) s.setHardState({ term, vote: 0, commit });
  return s;
}

function logTerms(r: Raft): number[] {
  return r.raftLog.allEntries().map((e) => e.term);
}

function idxTerm(es: readonly Entry[]): [number, number][] {
  return es.map((e) => [e.index, e.term]);
}

/** The follower's successful reply to a MsgAppend. */
function acceptAndReply(m: Message): Message {
  assert.equal(m.msgType, MessageType.MsgAppend);
  return msg({ msgType: MessageType.MsgAppendResponse, from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

/** Makes r leader of its term+1 directly, and gets its empty entry committed by every follower. */
function becomeLeaderAndCommitNoop(r: Raft): void {
  r.becomeCandidate();
  r.becomeLeader();
  r.bcastAppend();
  for (const m of readMessages(r)) {
    assert.ok(m.msgType === MessageType.MsgAppend && m.entries.length === 1 && m.entries[0]!.data.length === 0, 'noop append');
    r.step(acceptAndReply(m));
  }
  readMessages(r);
  nextEnts(r);
  assert.equal(r.raftLog.committed, r.raftLog.lastIndex(), 'noop committed');
}

const byTo = (a: Message, b: Message): number => a.to - b.to;

// ---- §5.3: the leader appends and replicates ----

test('leader appends a proposal to its log and sends it in MsgAppend to every follower (§5.3)', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  becomeLeaderAndCommitNoop(r);
  const li = r.raftLog.lastIndex();
  r.step(propose(1, 1, 'some data'));
  assert.equal(r.raftLog.lastIndex(), li + 1);
  assert.deepEqual(idxTerm(r.raftLog.unstableEntries()), [[li + 1, r.term]]);
  assert.equal(dec.decode(r.raftLog.unstableEntries()[0]!.data), 'some data');
  const msgs = readMessages(r).sort(byTo);
  assert.equal(r.raftLog.committed, li, 'not committed before followers acknowledge');
  assert.deepEqual(
    msgs.map((m) => m.to),
    [2, 3],
  );
  for (const m of msgs) {
    assert.equal(m.msgType, MessageType.MsgAppend);
    assert.equal(m.term, r.term);
    assert.equal(m.index, li, 'prev index');
    assert.equal(m.logTerm, r.term, 'prev term');
    assert.equal(m.commit, li);
    assert.deepEqual(idxTerm(m.entries), [[li + 1, r.term]]);
    assert.equal(dec.decode(m.entries[0]!.data), 'some data');
  }
});

test('leader commits an entry once a majority stored it and tells followers in the next appends (§5.3)', () => {
  const r = newTestRaft(1, [1, 2, 3]);
  becomeLeaderAndCommitNoop(r);
  const li = r.raftLog.lastIndex();
  r.step(propose(1, 1, 'some data'));
  for (const m of readMessages(r)) r.step(acceptAndReply(m));
  assert.equal(r.raftLog.committed, li + 1);
  const ents = nextEnts(r);
  assert.deepEqual(idxTerm(ents), [[li + 1, r.term]]);
  assert.equal(dec.decode(ents[0]!.data), 'some data');
  const msgs = readMessages(r).sort(byTo);
  assert.deepEqual(
    msgs.map((m) => [m.to, m.msgType, m.commit]),
    [
      [2, MessageType.MsgAppend, li + 1],
      [3, MessageType.MsgAppend, li + 1],
    ],
  );
});

test('leader commits exactly when a majority (itself included) acknowledged (§5.3)', () => {
  const cases: { size: number; acceptors: number[]; wack: boolean }[] = [
    { size: 1, acceptors: [], wack: true },
    { size: 3, acceptors: [], wack: false },
    { size: 3, acceptors: [2], wack: true },
    { size: 3, acceptors: [2, 3], wack: true },
    { size: 5, acceptors: [], wack: false },
    { size: 5, acceptors: [2], wack: false },
    { size: 5, acceptors: [2, 3], wack: true },
    { size: 5, acceptors: [2, 3, 4], wack: true },
    { size: 5, acceptors: [2, 3, 4, 5], wack: true },
  ];
  for (const [i, tt] of cases.entries()) {
    const ids = Array.from({ length: tt.size }, (_, k) => k + 1);
    const r = newTestRaft(1, ids);
    becomeLeaderAndCommitNoop(r);
    const li = r.raftLog.lastIndex();
    r.step(propose(1, 1));
    for (const m of readMessages(r)) if (tt.acceptors.includes(m.to)) r.step(acceptAndReply(m));
    assert.equal(r.raftLog.committed > li, tt.wack, `#${i} size=${tt.size} acceptors=${tt.acceptors}`);
  }
});

test("leader's own entries count towards the quorum only after onPersistEntries", () => {
  const r = newTestRaft(1, [1, 2, 3]);
  becomeLeaderAndCommitNoop(r);
  const li = r.raftLog.lastIndex();
  r.step(propose(1, 1));
  const msgs = r.msgs.splice(0); // take the appends without persisting the leader's log
  const to2 = msgs.find((m) => m.to === 2)!;
  r.step(acceptAndReply(to2));
  assert.equal(r.prs.get(1)!.matched, li, 'leader has not persisted the entry');
  assert.equal(r.raftLog.committed, li, 'one follower + an unpersisted leader is no majority');
  persist(r); // onPersistEntries(li+1)
  assert.equal(r.prs.get(1)!.matched, li + 1);
  assert.equal(r.raftLog.committed, li + 1, 'committed as soon as the leader persisted');
  // The commit was broadcast right away.
  const out = readMessages(r);
  assert.ok(
    out.some((m) => m.to === 3 && m.msgType === MessageType.MsgAppend && m.commit === li + 1),
    'commit broadcast after persisting',
  );

  // Without the leader, two followers form a majority: the entry commits before the leader's
  // own write finished, but is handed out for applying only once persisted locally.
  r.step(propose(1, 1));
  for (const m of r.msgs.splice(0)) r.step(acceptAndReply(m));
  assert.equal(r.raftLog.committed, li + 2, 'followers 2 and 3 are a majority');
  assert.equal(r.raftLog.persisted, li + 1);
  assert.deepEqual(idxTerm(r.raftLog.nextEntries() ?? []), [[li + 1, r.term]], 'not applied before it is persisted locally');
  persist(r);
  assert.deepEqual(idxTerm(r.raftLog.nextEntries() ?? []), [
    [li + 1, r.term],
    [li + 2, r.term],
  ]);
});

test('committing an entry commits every preceding entry, including those of earlier leaders (§5.3)', () => {
  const cases: number[][] = [[], [2], [1, 1], [1, 2]];
  for (const [i, terms] of cases.entries()) {
    const s = storageWithTerms([1, 2, 3], terms, 2);
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: s });
    r.becomeCandidate();
    r.becomeLeader();
    assert.equal(r.term, 3);
    r.step(propose(1, 1));
    for (const m of readMessages(r)) r.step(acceptAndReply(m));
    const li = terms.length;
    const got = idxTerm(nextEnts(r));
    const want: [number, number][] = [...terms.map((t, k): [number, number] => [k + 1, t]), [li + 1, 3], [li + 2, 3]];
    assert.deepEqual(got, want, `#${i}`);
  }
});

test('follower commits up to min(leader commit, last new entry) and delivers those entries (§5.3)', () => {
  const cases: { ents: Entry[]; commit: number }[] = [
    { ents: [ent(1, 1, 'some data')], commit: 1 },
    { ents: [ent(1, 1, 'some data'), ent(2, 1, 'some data2')], commit: 2 },
    { ents: [ent(1, 1, 'some data2'), ent(2, 1, 'some data')], commit: 1 },
    { ents: [ent(1, 1, 'some data'), ent(2, 1, 'some data2')], commit: 1 },
    // The leader committed more than it sent: only what we hold can be committed.
    { ents: [ent(1, 1, 'some data')], commit: 5 },
  ];
  for (const [i, tt] of cases.entries()) {
    const r = newTestRaft(1, [1, 2, 3]);
    r.becomeFollower(1, 2);
    r.step(msg({ msgType: MessageType.MsgAppend, from: 2, to: 1, term: 1, logTerm: 0, index: 0, entries: tt.ents, commit: tt.commit }));
    const want = Math.min(tt.commit, tt.ents.length);
    assert.equal(r.raftLog.committed, want, `#${i}`);
    const got = nextEnts(r);
    assert.deepEqual(
      got.map((e) => dec.decode(e.data)),
      tt.ents.slice(0, want).map((e) => dec.decode(e.data)),
      `#${i}`,
    );
    const resp = readMessages(r);
    assert.deepEqual(
      resp.map((m) => [m.msgType, m.to, m.index, m.reject]),
      [[MessageType.MsgAppendResponse, 2, tt.ents.length, false]],
      `#${i}`,
    );
  }
});

test(
  'follower accepts an append only if it holds the entry at prev index with prev term; ' + 'else rejects with a hint (log matching, §5.3)',
  () => {
    // Follower log: (1,1) (2,2), commit 1.
    const cases: { term: number; index: number; windex: number; wreject: boolean; whint: number; whintTerm: number }[] = [
      // Before the commit index: answered with the commit index, never rejected.
      { term: 0, index: 0, windex: 1, wreject: false, whint: 0, whintTerm: 0 },
      { term: 1, index: 1, windex: 1, wreject: false, whint: 0, whintTerm: 0 },
      { term: 2, index: 2, windex: 2, wreject: false, whint: 0, whintTerm: 0 },
      // Term mismatch at index 2: the hint is the last index with term <= 1.
      { term: 1, index: 2, windex: 2, wreject: true, whint: 1, whintTerm: 1 },
      // Beyond the log: the hint is our last index.
      { term: 2, index: 3, windex: 3, wreject: true, whint: 2, whintTerm: 2 },
      { term: 3, index: 7, windex: 7, wreject: true, whint: 2, whintTerm: 2 },
    ];
    for (const [i, tt] of cases.entries()) {
      const s = storageWithTerms([1, 2, 3], [1, 2], 2, 1);
      const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: s });
      r.becomeFollower(2, 2);
      r.step(msg({ msgType: MessageType.MsgAppend, from: 2, to: 1, term: 2, logTerm: tt.term, index: tt.index }));
      const msgs = readMessages(r);
      assert.equal(msgs.length, 1, `#${i}`);
      const m = msgs[0]!;
      assert.deepEqual(
        [m.msgType, m.term, m.index, m.reject, m.rejectHint, m.reject ? m.logTerm : 0],
        [MessageType.MsgAppendResponse, 2, tt.windex, tt.wreject, tt.whint, tt.whintTerm],
        `#${i}`,
      );
      assert.deepEqual(logTerms(r), [1, 2], `#${i}: a rejected append changes nothing`);
    }
  },
);

test('follower deletes a conflicting suffix and appends the new entries (§5.3)', () => {
  // Follower log: (1,1) (2,2).
  const cases: { index: number; term: number; ents: Entry[]; wents: [number, number][]; wunstable: [number, number][] }[] = [
    {
      index: 2,
      term: 2,
      ents: [ent(3, 3)],
      wents: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      wunstable: [[3, 3]],
    },
    {
      index: 1,
      term: 1,
      ents: [ent(2, 3), ent(3, 4)],
      wents: [
        [1, 1],
        [2, 3],
        [3, 4],
      ],
      wunstable: [
        [2, 3],
        [3, 4],
      ],
    },
    // Entries already present: nothing to do.
    {
      index: 0,
      term: 0,
      ents: [ent(1, 1)],
      wents: [
        [1, 1],
        [2, 2],
      ],
      wunstable: [],
    },
    {
      index: 0,
      term: 0,
      ents: [ent(1, 1), ent(2, 2)],
      wents: [
        [1, 1],
        [2, 2],
      ],
      wunstable: [],
    },
    // Conflict at the very first entry.
    { index: 0, term: 0, ents: [ent(1, 3)], wents: [[1, 3]], wunstable: [[1, 3]] },
    // A match followed by a conflict: only the conflicting suffix is replaced.
    {
      index: 0,
      term: 0,
      ents: [ent(1, 1), ent(2, 4), ent(3, 4)],
      wents: [
        [1, 1],
        [2, 4],
        [3, 4],
      ],
      wunstable: [
        [2, 4],
        [3, 4],
      ],
    },
  ];
  for (const [i, tt] of cases.entries()) {
    const s = storageWithTerms([1, 2, 3], [1, 2], 2);
    const r = newTestRaft(1, [1, 2, 3], 10, 1, { storage: s });
    r.becomeFollower(2, 2);
    r.step(msg({ msgType: MessageType.MsgAppend, from: 2, to: 1, term: 2, logTerm: tt.term, index: tt.index, entries: tt.ents }));
    assert.deepEqual(idxTerm(r.raftLog.allEntries()), tt.wents, `#${i}`);
    assert.deepEqual(idxTerm(r.raftLog.unstableEntries()), tt.wunstable, `#${i}`);
    const resp = readMessages(r);
    assert.equal(resp[0]!.reject, false, `#${i}`);
    assert.equal(resp[0]!.index, tt.index + tt.ents.length, `#${i}`);
    // After persisting, storage agrees with the raft log.
    assert.deepEqual(idxTerm(s.entries(1, s.lastIndex() + 1)), tt.wents, `#${i}: storage`);
  }
});

// etcd TestLeaderSyncFollowerLog: the divergent follower logs of Raft paper Figure 7.
test('leader forces every divergent follower log to match its own (Figure 7)', () => {
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const term = 8;
  const followers: number[][] = [
    [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one entry
    [1, 1, 1, 4], // (b) missing many
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) one extra uncommitted entry
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
    [1, 1, 1, 4, 4, 4, 4], // (e) divergent tail of term 4
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) long divergent tail of terms 2, 3
    [], // empty
  ];
  for (const [i, fterms] of followers.entries()) {
    const lead = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 2, 3], leaderTerms, term, leaderTerms.length) });
    const follower = newTestRaft(2, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 2, 3], fterms, term - 1) });
    // Node 3 is down; it votes for 1 (the follower may have a more up-to-date log and refuse).
    const nt = new Network([lead, follower, null]);
    nt.send(hup(1));
    nt.send(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 3, to: 1, term: term + 1 }));
    assert.equal(lead.state, StateRole.Leader, `#${i}`);
    nt.send(propose(1, 1));
    const want = [...leaderTerms, term + 1, term + 1];
    assert.deepEqual(logTerms(lead), want, `#${i}`);
    assert.deepEqual(logTerms(follower), want, `#${i}: follower log converged`);
    assert.equal(follower.raftLog.committed, want.length, `#${i}: follower committed everything`);
    assert.equal(lead.raftLog.committed, want.length, `#${i}`);
  }
});

// ---- §5.4.2: only entries of the current term commit by counting replicas ----

test('an old-term entry stored on a majority is not committed until an entry of the current term commits (Figure 8)', () => {
  // Figure 8 (c): S1 was leader of term 2 and wrote (2,2) to S2; S5 was leader of term 3 and
  // wrote (2,3) only locally. S1 is elected for term 4 and re-replicates (2,2) to S3.
  const voters = [1, 2, 3, 4, 5];
  const logs = [[1, 2], [1, 2], [1], [1], [1, 3]];
  // The term-4 entry (index 3) is lost in transit; everything else gets through. With
  // maxSizePerMsg 1 every append carries a single entry, so this drops exactly that entry.
  const loseTerm4Entry = (m: Message): boolean => {
    if (m.msgType === MessageType.MsgAppend) m.entries = m.entries.filter((e) => e.index !== 3);
    return true;
  };
  const mk = (): Raft[] =>
    logs.map((t, i) => newTestRaft(i + 1, voters, 10, 1, { storage: storageWithTerms(voters, t, 3, 1), maxSizePerMsg: 1 }));
  {
    const rs = mk();
    const nt = new Network(rs);
    nt.isolate(5);
    nt.msgHook = loseTerm4Entry;
    nt.send(hup(1));
    const s1 = nt.raft(1);
    assert.equal(s1.state, StateRole.Leader);
    assert.equal(s1.term, 4);
    assert.deepEqual(logTerms(s1), [1, 2, 4]);
    assert.deepEqual(logTerms(nt.raft(3)), [1, 2], 'S3 received the old entry');
    assert.ok(s1.prs.get(2)!.matched >= 2 && s1.prs.get(3)!.matched >= 2, 'index 2 is on S1, S2, S3');
    assert.equal(s1.raftLog.committed, 1, 'index 2 (term 2) is on a majority but must not be committed by counting');

    // Figure 8 (d): had S1 crashed now, S5 could win term 5 and overwrite index 2 everywhere —
    // which is exactly why it was not committed.
    const nt2 = new Network([null, nt.raft(2), nt.raft(3), nt.raft(4), rs[4]!]);
    nt2.send(hup(5)); // term 4: everyone already voted for S1
    nt2.send(hup(5)); // term 5
    assert.equal(rs[4]!.state, StateRole.Leader);
    for (const id of [2, 3, 4, 5]) assert.deepEqual(logTerms(nt2.raft(id)).slice(0, 2), [1, 3], `S${id} index 2 overwritten`);
  }
  {
    // Figure 8 (e): once the term-4 entry reaches a majority, it and everything before commits.
    const rs = mk();
    const nt = new Network(rs);
    nt.isolate(5);
    nt.msgHook = loseTerm4Entry;
    nt.send(hup(1));
    const s1 = nt.raft(1);
    assert.equal(s1.raftLog.committed, 1);
    nt.msgHook = null;
    nt.send(beat(1)); // heartbeat responses make the leader send the held-back entry
    assert.equal(s1.raftLog.committed, 3);
    assert.deepEqual(idxTerm(nextEnts(s1)), [
      [1, 1],
      [2, 2],
      [3, 4],
    ]);
  }
});

test('a leader with old-term entries acked by a quorum commits them only with its own term (direct)', () => {
  const s = storageWithTerms([1, 2, 3, 4, 5], [1, 2], 3, 1);
  const r = newTestRaft(1, [1, 2, 3, 4, 5], 10, 1, { storage: s });
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  assert.equal(r.term, 4);
  for (const id of [2, 3]) r.step(msg({ msgType: MessageType.MsgAppendResponse, from: id, to: 1, term: 4, index: 2 }));
  assert.equal(r.prs.committed(), 2, 'index 2 is on a quorum');
  assert.equal(r.raftLog.committed, 1, 'but it is of term 2');
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 2, to: 1, term: 4, index: 3 }));
  assert.equal(r.raftLog.committed, 1, 'index 3 (term 4) is only on two of five');
  r.step(msg({ msgType: MessageType.MsgAppendResponse, from: 3, to: 1, term: 4, index: 3 }));
  assert.equal(r.raftLog.committed, 3);
});

// ---- fast backtracking ----

/** Runs leader (terms L, term T) against follower (terms F) until they converge; counts rejections. */
function syncAndCountRejections(
  L: number[],
  F: number[],
  T: number,
  lcommit: number,
): { rejections: number; lead: Raft; follower: Raft; appends: number } {
  const lead = newTestRaft(1, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 2, 3], L, T, lcommit) });
  const follower = newTestRaft(2, [1, 2, 3], 10, 1, { storage: storageWithTerms([1, 2, 3], F, Math.max(0, ...F)) });
  const nt = new Network([lead, follower, null]);
  nt.send(hup(1));
  nt.send(msg({ msgType: MessageType.MsgRequestVoteResponse, from: 3, to: 1, term: T + 1 }));
  assert.equal(lead.state, StateRole.Leader);
  const rejections = nt.delivered.filter((m) => m.msgType === MessageType.MsgAppendResponse && m.from === 2 && m.reject).length;
  const appends = nt.delivered.filter((m) => m.msgType === MessageType.MsgAppend && m.to === 2).length;
  return { rejections, lead, follower, appends };
}

const rep = (t: number, n: number): number[] => Array<number>(n).fill(t);

test('fast backtracking: rejections are bounded by the conflicting terms, not the conflicting entries', () => {
  const cases: { name: string; L: number[]; F: number[]; T: number; want: number }[] = [
    // 60 divergent entries in three interleaved terms on each side: one rejection per term.
    {
      name: 'interleaved terms',
      L: [...rep(1, 20), ...rep(3, 20), ...rep(5, 20), ...rep(7, 20)],
      F: [...rep(1, 20), ...rep(2, 20), ...rep(4, 20), ...rep(6, 20)],
      T: 7,
      want: 3,
    },
    // A long stale tail of one old term, beyond the leader's last index.
    { name: 'long stale tail', L: [...rep(1, 5), ...rep(3, 3)], F: [...rep(1, 5), ...rep(2, 100)], T: 3, want: 1 },
    // A follower far behind in a matching log: one rejection, then everything in one append.
    { name: 'lagging follower', L: [...rep(1, 5), ...rep(2, 100)], F: rep(1, 5), T: 2, want: 1 },
    // Divergent tail of several terms all below the leader's tail.
    {
      name: 'several old terms',
      L: [...rep(1, 10), ...rep(5, 90)],
      F: [...rep(1, 10), ...rep(2, 30), ...rep(3, 30), ...rep(4, 30)],
      T: 5,
      want: 1,
    },
  ];
  for (const tt of cases) {
    const { rejections, lead, follower } = syncAndCountRejections(tt.L, tt.F, tt.T, 1);
    assert.deepEqual(logTerms(follower), logTerms(lead), `${tt.name}: converged`);
    assert.equal(rejections, tt.want, `${tt.name}: rejections`);
  }
});

test('fast backtracking and log convergence on random divergent logs', () => {
  const stats: number[] = [];
  for (let seed = 1; seed <= 40; seed++) {
    const rand = mulberry32(seed);
    const int = (n: number): number => Math.floor(rand() * n);
    // Common prefix, then two divergent suffixes written by disjoint sets of leaders (terms), as
    // in any valid Raft history.
    const prefix: number[] = [];
    let t = 1;
    for (let n = int(20); n > 0; n--) {
      if (rand() < 0.2) t++;
      prefix.push(t);
    }
    const lsuf: number[] = [];
    const fsuf: number[] = [];
    let nt = t;
    for (let k = int(6); k > 0; k--) {
      nt += 1 + int(2);
      const into = rand() < 0.5 ? lsuf : fsuf;
      for (let n = 1 + int(30); n > 0; n--) into.push(nt);
    }
    // Node 1 must be electable: its log must hold everything committed (the prefix) — it does.
    const L = [...prefix, ...lsuf];
    const F = [...prefix, ...fsuf];
    const T = Math.max(nt, 1);
    const { rejections, lead, follower } = syncAndCountRejections(L, F, T, prefix.length);
    assert.deepEqual(logTerms(follower), logTerms(lead), `seed ${seed}: converged`);
    assert.deepEqual(logTerms(lead).slice(0, L.length), L, `seed ${seed}: leader kept its log`);
    // Each rejection moves the probe to a strictly lower leader term of the divergent suffix, and
    // each answer names a strictly lower follower term (at most one of them in the common prefix).
    const dl = new Set(lsuf).size;
    const df = new Set(fsuf).size;
    const bound = Math.min(dl, df + 1);
    assert.ok(
      rejections <= bound,
      `seed ${seed}: ${rejections} rejections > ${bound} (leader terms ${dl}, follower terms ${df}, ` +
        `divergent entries ${lsuf.length + fsuf.length})`,
    );
    // The first probe is at the leader's last entry; if that is divergent it must be rejected.
    if (lsuf.length > 0) assert.ok(rejections >= 1, `seed ${seed}: a divergent follower must be rejected at least once`);
    stats.push(rejections);
  }
  assert.ok(
    stats.some((n) => n >= 2),
    `some seeds need several rejections: ${stats}`,
  );
});

// ---- heartbeats ----

test('heartbeat carries min(follower matched, leader commit) so a lagging follower never commits past its log', () => {
  const nt = new Network([undefined, undefined, undefined]);
  nt.send(hup(1));
  nt.cut(1, 3);
  for (let i = 0; i < 5; i++) nt.send(propose(1, 1));
  const lead = nt.raft(1);
  assert.equal(lead.raftLog.committed, 6);
  assert.equal(lead.prs.get(3)!.matched, 1);
  lead.step(beat(1));
  const hbs = readMessages(lead)
    .filter((m) => m.msgType === MessageType.MsgHeartbeat)
    .sort(byTo);
  assert.deepEqual(
    hbs.map((m) => [m.to, m.commit]),
    [
      [2, 6],
      [3, 1],
    ],
  );
  // Node 3 (log ends at 1) accepts its heartbeat without error and commits only what it has.
  const n3 = nt.raft(3);
  n3.step(hbs[1]!);
  assert.equal(n3.raftLog.committed, 1);
  assert.deepEqual(
    readMessages(n3).map((m) => [m.msgType, m.to]),
    [[MessageType.MsgHeartbeatResponse, 1]],
  );
  // Once healed, the response makes the leader catch 3 up.
  nt.recover();
  nt.send(beat(1));
  assert.equal(n3.raftLog.committed, 6);
  assert.deepEqual(logTerms(n3), logTerms(lead));
});

test('followers learn the commit index from appends and heartbeats after a proposal commits', () => {
  const nt = new Network([undefined, undefined, undefined]);
  nt.send(hup(1));
  nt.send(propose(1, 1, 'a'));
  for (const id of [1, 2, 3]) assert.equal(nt.raft(id).raftLog.committed, 2, `node ${id}`);
  // With skipBcastCommit the commit index travels with the next heartbeat instead.
  const nt2 = new Network([undefined, undefined, undefined], { skipBcastCommit: true });
  nt2.send(hup(1));
  nt2.send(propose(1, 1, 'a'));
  assert.equal(nt2.raft(1).raftLog.committed, 2);
  assert.equal(nt2.raft(2).raftLog.committed, 1, 'not broadcast immediately');
  nt2.send(beat(1));
  for (const id of [2, 3]) assert.equal(nt2.raft(id).raftLog.committed, 2, `node ${id} after heartbeat`);
});

test('skipRedundantHeartbeats: a follower sent an append since the last heartbeat gets none, unless a read waits for acks', () => {
  const heartbeatsTo = (nt: Network, f: () => void): number[] => {
    const to: number[] = [];
    nt.msgHook = (m) => {
      if (m.msgType === MessageType.MsgHeartbeat) to.push(m.to);
      return true;
    };
    f();
    nt.msgHook = null;
    return to.sort();
  };
  for (const skip of [false, true]) {
    const nt = new Network([undefined, undefined, undefined], { skipBcastCommit: true, skipRedundantHeartbeats: skip });
    nt.send(hup(1));
    nt.send(beat(1)); // no append since the election's: both get one
    // An append to both since the last heartbeat: skipped (with the option).
    nt.send(propose(1, 1, 'a'));
    assert.deepEqual(
      heartbeatsTo(nt, () => nt.send(beat(1))),
      skip ? [] : [2, 3],
    );
    // Nothing sent since: the heartbeat goes, and carries the commit the appends did not.
    assert.equal(nt.raft(2).raftLog.committed, skip ? 1 : 2);
    assert.deepEqual(
      heartbeatsTo(nt, () => nt.send(beat(1))),
      [2, 3],
    );
    for (const id of [2, 3]) assert.equal(nt.raft(id).raftLog.committed, 2, `node ${id} learns the commit from the heartbeat`);
    // Only a follower in Replicate state is skipped: one probed (after a rejection, say) is not.
    nt.raft(1).prs.get(3)!.becomeProbe();
    nt.drop(3, 1, 1); // its answer to the probe is lost: it stays in Probe
    nt.send(propose(1, 1, 'b'));
    assert.deepEqual(
      heartbeatsTo(nt, () => nt.send(beat(1))),
      skip ? [3] : [2, 3],
    );
    nt.recover();
    // A read waiting for heartbeat acks: everyone gets the heartbeat with its context.
    nt.send(propose(1, 1, 'c'));
    nt.ignore(MessageType.MsgHeartbeatResponse);
    nt.send(msg({ msgType: MessageType.MsgReadIndex, from: 1, to: 1, entries: [ent(0, 0, 'read')] }));
    nt.recover();
    assert.deepEqual(
      heartbeatsTo(nt, () => nt.send(beat(1))),
      [2, 3],
    );
  }
});
