// An in-process tour of the raft library: a 3-node group over MemoryStorage, messages passed in
// memory, every node driven through the full Ready / advance protocol. Each step is checked;
// any FAIL makes the process exit 1. Deterministic: election timeouts come from seeded PRNGs.
//
//   node packages/raft/dist/bin/demo.js        (or `npm start` at the repo root)
import { mulberry32 } from '@tskv/util';
import {
  ConfChangeType,
  type ConfState,
  confChange,
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  newConfState,
  RawNode,
  type Snapshot,
  StateRole,
} from '../src/index.js';

// ---------------------------------------------------------------------------------------------
// Output

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string): string => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const green = (s: string): string => paint(32, s);
const red = (s: string): string => paint(31, s);
const dim = (s: string): string => paint(2, s);
const bold = (s: string): string => paint(1, s);

let checks = 0;
let failures = 0;

function check(ok: boolean, what: string, detail = ''): boolean {
  checks++;
  if (!ok) failures++;
  console.log(`  ${ok ? green('OK  ') : red('FAIL')} ${what}${detail ? dim(`  (${detail})`) : ''}`);
  return ok;
}

function step(n: number, title: string): void {
  console.log(`\n${bold(`${n}. ${title}`)}`);
}

function note(s: string): void {
  console.log(`  ${dim('·')} ${s}`);
}

const ticksText = (n: number): string => (n === 1 ? '1 tick' : `${n} ticks`);
const roleName = (r: StateRole): string => StateRole[r] ?? String(r);

// ---------------------------------------------------------------------------------------------
// The in-process cluster

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One member: the raft node, its "disk", and a toy state machine (the list of applied commands). */
class Member {
  applied = 0;
  values: string[] = [];
  confState: ConfState;

  constructor(
    readonly id: number,
    readonly node: RawNode,
    readonly store: DemoStorage,
  ) {
    this.confState = store.initialState().confState;
  }

  get role(): StateRole {
    return this.node.raft.state;
  }

  get term(): number {
    return this.node.raft.term;
  }

  get leaderId(): number {
    return this.node.raft.leaderId;
  }
}

/**
 * MemoryStorage that, like a real store, makes a fresh snapshot when raft asks for one and the
 * stored one is older than what the state machine has applied. A stale snapshot can be useless:
 * one taken before node 4 was added does not list node 4, and node 4 would refuse to install it.
 */
class DemoStorage extends MemoryStorage {
  member: Member | null = null;

  override snapshot(requestIndex: number, to: number): Snapshot {
    const m = this.member;
    if (m && m.applied > this.snapshotData().metadata.index) {
      this.createSnapshot(m.applied, m.confState, encodeState(m));
      note(`node ${m.id} made a fresh snapshot at index ${m.applied} for node ${to}`);
    }
    return super.snapshot(requestIndex, to);
  }
}

function encodeState(m: Member): Uint8Array {
  return enc.encode(JSON.stringify({ values: m.values }));
}

class Cluster {
  readonly members = new Map<number, Member>();
  /** Nodes cut off from the network: everything to or from them is dropped. */
  readonly isolated = new Set<number>();
  private outbox: Message[] = [];
  ticks = 0;

  /** Adds a node. `voters` empty means a brand-new node that learns its configuration from the leader. */
  add(id: number, voters: number[]): Member {
    const store = new DemoStorage();
    // A founding member starts from the group's configuration; a new one starts blank.
    // (what MemoryStorage.newWithConfState does, which cannot construct a subclass).
    if (voters.length > 0) store.setConfState(newConfState({ voters }));
    // preVote + checkQuorum, as a production deployment would: an isolated leader steps down, and
    // a node rejoining after a partition cannot disrupt the group with a higher term.
    const node = new RawNode(
      { id, electionTick: 10, heartbeatTick: 1, preVote: true, checkQuorum: true, random: mulberry32(id * 7919) },
      store,
    );
    const m = new Member(id, node, store);
    store.member = m;
    this.members.set(id, m);
    return m;
  }

  get(id: number): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** The unique leader of the highest term among the given nodes, if any. */
  leader(among: Iterable<number> = this.members.keys()): Member | undefined {
    let best: Member | undefined;
    for (const id of among) {
      const m = this.get(id);
      if (m.role === StateRole.Leader && (!best || m.term > best.term)) best = m;
    }
    return best;
  }

  private send(msgs: Message[]): void {
    for (const m of msgs) this.outbox.push(m);
  }

  private applyEntries(m: Member, ents: Entry[]): void {
    for (const e of ents) {
      if (e.entryType === EntryType.EntryNormal) {
        // Empty entries are the no-ops new leaders append; they carry no command.
        if (e.data.length > 0) m.values.push(dec.decode(e.data));
      } else {
        const cc = decodeConfChange(e);
        m.confState = m.node.applyConfChange(cc);
        // Persist the new configuration with the log, so snapshots taken later carry it.
        m.store.setConfState(m.confState);
      }
      m.applied = e.index;
    }
  }

  /** Restores the toy state machine from a snapshot the leader sent. */
  private applySnapshot(m: Member, snap: Snapshot): void {
    m.store.applySnapshot(snap);
    const state = JSON.parse(dec.decode(snap.data)) as { values: string[] };
    m.values = state.values;
    m.applied = snap.metadata.index;
    m.confState = snap.metadata.confState;
    note(
      `node ${m.id} installed a snapshot at index ${snap.metadata.index} (${m.values.length} values, ` +
        `voters [${m.confState.voters.join(',')}] learners [${m.confState.learners.join(',')}])`,
    );
  }

  /** Handles one Ready in the order raw_node.ts documents. */
  private handleReady(m: Member): void {
    const rd = m.node.ready();
    if (rd.softState) {
      const ss = rd.softState;
      const extra = ss.raftState === StateRole.Leader ? '' : ss.leaderId ? `, leader ${ss.leaderId}` : '';
      note(`node ${m.id} is now ${roleName(ss.raftState)} (term ${m.term}${extra})`);
    }
    this.send(rd.messages); // 1. a leader may send before persisting
    if (rd.snapshot) this.applySnapshot(m, rd.snapshot); // 2. persist
    if (rd.entries.length > 0) m.store.append(rd.entries);
    if (rd.hardState) m.store.setHardState(rd.hardState);
    this.send(rd.persistedMessages); // 3. only after persisting
    this.applyEntries(m, rd.committedEntries); // 4. apply
    const light = m.node.advance(rd); // 5.
    if (light.commitIndex !== null) m.store.setCommit(light.commitIndex);
    this.send(light.messages);
    this.applyEntries(m, light.committedEntries);
    m.node.advanceApply();
  }

  private deliver(msg: Message): void {
    if (this.isolated.has(msg.from) || this.isolated.has(msg.to)) {
      if (msg.msgType === MessageType.MsgSnapshot) this.members.get(msg.from)?.node.reportSnapshot(msg.to, 'failure');
      return;
    }
    const to = this.members.get(msg.to);
    if (!to) return; // not started yet: like a network error
    to.node.step(msg);
    // The in-memory transport "finishes sending" a snapshot as soon as it is delivered.
    if (msg.msgType === MessageType.MsgSnapshot) this.get(msg.from).node.reportSnapshot(msg.to, 'finish');
  }

  /** Runs Ready handling and delivery until the group is quiet. */
  pump(): void {
    for (let round = 0; round < 10_000; round++) {
      for (const m of this.members.values()) while (m.node.hasReady()) this.handleReady(m);
      if (this.outbox.length === 0) return;
      const msgs = this.outbox;
      this.outbox = [];
      for (const msg of msgs) this.deliver(msg);
    }
    throw new Error('cluster did not quiesce');
  }

  tick(): void {
    this.ticks++;
    for (const m of this.members.values()) m.node.tick();
    this.pump();
  }

  /** Ticks until cond holds; returns the ticks it took, or -1 after maxTicks. */
  tickUntil(cond: () => boolean, maxTicks = 200): number {
    for (let i = 0; i <= maxTicks; i++) {
      if (cond()) return i;
      this.tick();
    }
    return -1;
  }

  propose(on: Member, value: string): void {
    on.node.propose(new Uint8Array(0), enc.encode(value));
    this.pump();
  }

  /** Takes an application snapshot at the applied index and drops the log before it. */
  compact(m: Member): void {
    if (m.applied <= m.store.firstIndex()) return;
    m.store.createSnapshot(m.applied, m.confState, encodeState(m));
    m.store.compact(m.applied);
    note(`node ${m.id} took a snapshot at index ${m.applied} and compacted its log (first index now ${m.store.firstIndex()})`);
  }
}

const sameValues = (a: string[], b: string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const sorted = (xs: number[]): string => [...xs].sort((a, b) => a - b).join(',');

function describeValues(vs: string[]): string {
  return vs.length <= 6 ? `[${vs.join(', ')}]` : `[${vs.slice(0, 2).join(', ')}, … ${vs.slice(-2).join(', ')}] (${vs.length})`;
}

// ---------------------------------------------------------------------------------------------
// The tour

function run(): void {
  const started = Date.now();
  const c = new Cluster();
  const ids = [1, 2, 3];
  for (const id of ids) c.add(id, ids);
  console.log(bold('raft demo: 3 nodes in one process (MemoryStorage, in-memory network, preVote + checkQuorum)'));

  // 1 -----------------------------------------------------------------------------------------
  step(1, 'Leader election (no one is told to campaign: the first election timeout decides)');
  const t1 = c.tickUntil(() => c.leader() !== undefined);
  const l1 = c.leader();
  check(t1 >= 0 && l1 !== undefined, `a leader was elected after ${ticksText(t1)}`, l1 ? `node ${l1.id}, term ${l1.term}` : 'none');
  if (!l1) return;
  const leaders = ids.filter((id) => c.get(id).role === StateRole.Leader);
  check(leaders.length === 1, 'exactly one leader', `leaders: ${leaders.join(',')}`);
  check(
    ids.every((id) => c.get(id).leaderId === l1.id && c.get(id).term === l1.term),
    `every node follows node ${l1.id} in term ${l1.term}`,
  );

  // 2 -----------------------------------------------------------------------------------------
  step(2, `Proposals on leader ${l1.id}, committed and applied on all nodes`);
  for (const v of ['x=1', 'y=2', 'z=3', 'x=4', 'y=5']) c.propose(l1, v);
  const want2 = ['x=1', 'y=2', 'z=3', 'x=4', 'y=5'];
  for (const id of ids) {
    const m = c.get(id);
    check(sameValues(m.values, want2), `node ${id} applied ${describeValues(m.values)}`, `applied index ${m.applied}`);
  }

  // 3 -----------------------------------------------------------------------------------------
  step(3, `Leader ${l1.id} "crashes" (isolated from the network); the others elect a new leader`);
  c.isolated.add(l1.id);
  const rest = ids.filter((id) => id !== l1.id);
  // Still leader in its own eyes: it accepts this proposal but can never commit it.
  c.propose(l1, 'lost=1');
  note(`node ${l1.id} accepted "lost=1" at index ${l1.node.raft.raftLog.lastIndex()} while cut off (it cannot reach a quorum)`);
  const t3 = c.tickUntil(() => c.leader(rest) !== undefined && l1.role !== StateRole.Leader);
  const l2 = c.leader(rest);
  check(t3 >= 0 && l2 !== undefined, `a new leader was elected after ${ticksText(t3)}`, l2 ? `node ${l2.id}, term ${l2.term}` : 'none');
  if (!l2) return;
  check(
    l2.term > l1.term || l1.role !== StateRole.Leader,
    `old leader ${l1.id} stepped down (checkQuorum)`,
    `it is ${roleName(l1.role)}, term ${l1.term}`,
  );
  check(l2.id !== l1.id && l2.term > 1, `new leader is node ${l2.id} at a higher term`, `term ${l2.term}`);
  for (const v of ['z=6', 'x=7', 'y=8']) c.propose(l2, v);
  const want3 = [...want2, 'z=6', 'x=7', 'y=8'];
  for (const id of rest) check(sameValues(c.get(id).values, want3), `node ${id} applied the new writes`, describeValues(c.get(id).values));
  check(sameValues(l1.values, want2), `isolated node ${l1.id} did not apply them (nor "lost=1")`, describeValues(l1.values));
  // Compact the live nodes so the returning node can only catch up through a snapshot.
  for (const id of rest) c.compact(c.get(id));

  // 4 -----------------------------------------------------------------------------------------
  step(4, `Node ${l1.id} rejoins and catches up`);
  c.isolated.delete(l1.id);
  const t4 = c.tickUntil(() => l1.applied === l2.applied && l1.leaderId === l2.id, 100);
  check(t4 >= 0, `node ${l1.id} caught up after ${ticksText(t4)}`, `applied index ${l1.applied}, leader ${l1.leaderId}`);
  check(
    c.leader() === l2 && l2.role === StateRole.Leader,
    `node ${l2.id} is still the leader (preVote: the rejoining node did not disrupt it)`,
    `term ${l2.term}`,
  );
  check(sameValues(l1.values, want3), `node ${l1.id} has the writes it missed`, describeValues(l1.values));
  check(!l1.values.includes('lost=1'), `the uncommitted "lost=1" was discarded`);
  check(l1.store.lastIndex() === l2.store.lastIndex(), `node ${l1.id}'s log matches the leader's`, `last index ${l1.store.lastIndex()}`);

  // 5 -----------------------------------------------------------------------------------------
  const target = l1.id;
  step(5, `Leadership transfer from node ${l2.id} to node ${target}`);
  const termBefore = l2.term;
  l2.node.transferLeader(target);
  c.pump();
  const t5 = c.tickUntil(() => c.leader()?.id === target, 20);
  const l3 = c.leader();
  check(t5 >= 0 && l3?.id === target, `node ${target} is the leader`, `after ${ticksText(t5)} more, term ${l3?.term}`);
  if (!l3) return;
  check(l3.term === termBefore + 1, 'the transfer took exactly one new term', `${termBefore} -> ${l3.term}`);
  check(
    ids.every((id) => c.get(id).leaderId === target),
    `all nodes follow node ${target}`,
  );
  c.propose(l3, 'after-transfer=9');
  const want5 = [...want3, 'after-transfer=9'];
  check(
    ids.every((id) => sameValues(c.get(id).values, want5)),
    'a write through the new leader is applied everywhere',
  );

  // 6 -----------------------------------------------------------------------------------------
  step(6, 'Membership change: node 4 joins as a learner, then becomes a voter');
  c.compact(l3); // so node 4 must start from a snapshot, as a real new replica would
  const n4 = c.add(4, []); // a blank node: no configuration, it learns it from the leader
  l3.node.proposeConfChange(new Uint8Array(0), confChange(ConfChangeType.AddLearnerNode, 4));
  c.pump();
  const t6 = c.tickUntil(() => n4.applied === l3.applied, 50);
  check(t6 >= 0, `node 4 caught up as a learner`, `after ${ticksText(t6)}, applied index ${n4.applied}`);
  for (const id of [...ids, 4]) {
    const cs = c.get(id).confState;
    check(
      sorted(cs.voters) === '1,2,3' && sorted(cs.learners) === '4',
      `node ${id} sees voters [${sorted(cs.voters)}] learners [${sorted(cs.learners)}]`,
    );
  }
  check(n4.node.raft.isLearner && n4.role === StateRole.Follower, 'node 4 knows it is a learner (it will never campaign)');
  check(sameValues(n4.values, want5), 'node 4 has the whole state', describeValues(n4.values));
  c.propose(l3, 'learner-sees=10');
  check(n4.values.at(-1) === 'learner-sees=10', 'new writes reach the learner');

  l3.node.proposeConfChange(new Uint8Array(0), confChange(ConfChangeType.AddNode, 4));
  c.pump();
  c.tickUntil(() => n4.applied === l3.applied, 20);
  for (const id of [...ids, 4]) {
    const cs = c.get(id).confState;
    check(sorted(cs.voters) === '1,2,3,4' && cs.learners.length === 0, `node ${id} sees voters [${sorted(cs.voters)}]`);
  }
  check(n4.confState.voters.includes(4) && !n4.node.raft.isLearner, 'node 4 knows it is a voter now');
  // With 4 voters a quorum is 3: cut two off and a write must not commit; heal and it does.
  const [a, b] = ids.filter((id) => id !== l3.id);
  c.isolated.add(a!);
  c.isolated.add(b!);
  const commitBefore = l3.node.raft.raftLog.committed;
  c.propose(l3, 'needs-3-of-4=11');
  check(l3.node.raft.raftLog.committed === commitBefore, `with nodes ${a},${b} cut off (2 of 4 voters left) the write does not commit`);
  c.isolated.clear();
  const t7 = c.tickUntil(() => [...c.members.values()].every((m) => m.values.at(-1) === 'needs-3-of-4=11'), 30);
  check(t7 >= 0, 'after healing it commits on all 4 nodes', `after ${ticksText(t7)}`);

  // Summary -----------------------------------------------------------------------------------
  console.log(`\n${bold('Final state')}`);
  for (const m of c.members.values()) {
    const r = m.node.raft;
    console.log(
      `  node ${m.id}: ${roleName(m.role).padEnd(8)} term ${r.term}  commit ${r.raftLog.committed}  applied ${m.applied}  ` +
        `log [${m.store.firstIndex()}..${m.store.lastIndex()}]  values ${m.values.length}`,
    );
  }
  const all = [...c.members.values()];
  check(
    all.every((m) => sameValues(m.values, all[0]!.values)),
    'all 4 state machines are identical',
  );
  console.log(dim(`\n${c.ticks} ticks, ${Date.now() - started} ms`));
}

try {
  run();
} catch (e) {
  failures++;
  console.log(`  ${red('FAIL')} unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
}
if (failures > 0) {
  console.log(red(`\n${failures} of ${checks} checks FAILED`));
  process.exitCode = 1;
} else {
  console.log(green(`\nall ${checks} checks OK`));
}
