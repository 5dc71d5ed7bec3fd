// A deterministic discrete-event simulation of one Raft group. Virtual time advances from event
// to event (ticks, message deliveries, client and fault actions, restarts); each processed event
// is one step, after which every invariant is checked. All randomness comes from the seed.
import { deriveSeed, Prng } from '@tskv/util';
import type { Logger } from '../src/index.js';
import { type Message, MessageType, ProposalDroppedError, StateRole, StepPeerNotFoundError } from '../src/index.js';
import { Checker, type Invariant, Violation } from './checker.js';
import { describeMessage as describe, rawLogger } from './format.js';
import { checkFinalState, describeNodes, neededNodes, quiescentLeader } from './healing.js';
import { type NetworkSink, SimNetwork } from './network.js';
import { defaultFactory, type NodeEnv, type NodeFactory, SimNode } from './node.js';
import { describeParams, makeParams, type Profile, type SimParams, TICK } from './params.js';
import { EventQueue } from './queue.js';
import { Workload, type WorkloadHost } from './workload.js';

export interface SimOptions {
  seed: number;
  /** 3 or 5 voters initially; by default odd seeds get 5, even seeds 3. */
  nodes?: number;
  /** Steps (events) of the faulty phase, before the final healing phase. */
  steps?: number;
  profile?: Profile;
  factory?: NodeFactory;
  /** Print a trace of every event. */
  verbose?: boolean;
  /** Also print raft's own log lines in the trace. */
  raftLog?: boolean;
  log?: (line: string) => void;
}

export interface SimStats {
  steps: number;
  time: number;
  committed: number;
  leaders: number;
  proposals: number;
  acked: number;
  readsServed: number;
  confChanges: number;
  crashes: number;
  partitions: number;
  snapshotsInstalled: number;
  messages: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  ok: boolean;
  invariant?: Invariant;
  /** The failure, with seed, step and virtual time. */
  error?: string;
  stats: SimStats;
}

export const DEFAULT_STEPS = 4000;
/** Bound on the healing phase: a leader must emerge and everyone catch up within this much virtual time. */
const FINAL_TIME = 600 * TICK;

type SimEvent =
  | { kind: 'tick'; node: number; inc: number; at: number; seq: number }
  | { kind: 'deliver'; msg: Message; at: number; seq: number }
  | { kind: 'client' | 'fault'; at: number; seq: number }
  | { kind: 'restart'; node: number; at: number; seq: number }
  | { kind: 'heal'; gen: number; at: number; seq: number }
  | { kind: 'report'; node: number; peer: number; what: 'snapFinish' | 'snapFailure' | 'unreachable'; at: number; seq: number };

export class Cluster implements NodeEnv, NetworkSink, WorkloadHost {
  readonly params: SimParams;
  readonly checker = new Checker();
  readonly factory: NodeFactory;
  readonly network: SimNetwork;
  readonly nodes: SimNode[];
  readonly rand: Prng;
  readonly raftLogger: Logger | undefined;
  trace: ((line: string) => void) | null;
  private readonly workload: Workload;
  private readonly faultRand: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly steps: number;
  private now = 0;
  private step = 0;
  private final = false;
  private partitionGen = 0;

  constructor(readonly opts: SimOptions) {
    const nodes = opts.nodes ?? (opts.seed % 2 === 1 ? 5 : 3);
    this.params = makeParams(opts.seed, nodes, opts.profile ?? 'default');
    this.steps = opts.steps ?? DEFAULT_STEPS;
    this.factory = opts.factory ?? defaultFactory;
    const log = opts.log ?? ((l: string) => console.log(l));
    this.trace = opts.verbose ? (l) => log(`[t=${this.now} s=${this.step}] ${l}`) : null;
    this.raftLogger = opts.raftLog ? rawLogger(log) : undefined;
    this.rand = new Prng(deriveSeed(opts.seed, 2));
    this.faultRand = new Prng(deriveSeed(opts.seed, 3));
    this.network = new SimNetwork(this.params, new Prng(deriveSeed(opts.seed, 4)), this);
    this.workload = new Workload(this, new Prng(deriveSeed(opts.seed, 5)));
    this.nodes = this.params.universe.map((id) => new SimNode(id, this, this.params.initialVoters.includes(id)));
  }

  // ---- NodeEnv / NetworkSink / WorkloadHost ----

  seedFor(id: number, incarnation: number): number {
    return deriveSeed(this.opts.seed, 100, id, incarnation);
  }

  send(msgs: Message[]): void {
    if (msgs.length === 0) return;
    if (this.trace) for (const m of msgs) this.trace(`send ${describe(m)}`);
    this.network.send(this.now, msgs);
  }

  deliverAt(at: number, msg: Message): void {
    this.queue.push({ kind: 'deliver', msg, at });
  }

  /** What the transport tells the sender: failed snapshots always, other failures sometimes. */
  dropped(m: Message, why: string): void {
    this.trace?.(`drop (${why}) ${describe(m)}`);
    if (m.msgType === MessageType.MsgSnapshot) this.report(m.from, m.to, 'snapFailure');
    else if (why !== 'loss' && this.rand.chance(this.params.unreachableReportRate)) this.report(m.from, m.to, 'unreachable');
  }

  private report(node: number, peer: number, what: 'snapFinish' | 'snapFailure' | 'unreachable'): void {
    this.queue.push({ kind: 'report', node, peer, what, at: this.now + 1 + this.rand.int(0, 5) });
  }

  acked(node: SimNode, proposal: number, index: number): void {
    this.trace?.(`node ${node.id} acknowledged proposal ${proposal} at index ${index}`);
    this.checker.onAck(proposal, index);
  }

  crashed(n: SimNode): void {
    const [lo, hi] = this.params.downTime;
    this.queue.push({ kind: 'restart', node: n.id, at: this.now + (this.final ? 1 : this.faultRand.int(lo, hi)) });
  }

  crashNode(n: SimNode): void {
    n.crash();
    this.crashed(n);
  }

  scheduleHeal(after: number): void {
    this.queue.push({ kind: 'heal', gen: ++this.partitionGen, at: this.now + after });
  }

  private node(id: number): SimNode | undefined {
    return this.nodes[id - 1];
  }

  // ---- running ----

  run(): SimResult {
    try {
      this.trace?.(`seed ${this.opts.seed}: ${describeParams(this.params)}`);
      for (const n of this.nodes) this.startNode(n);
      this.queue.push({ kind: 'client', at: 1 });
      this.queue.push({ kind: 'fault', at: this.params.faultGap });
      while (this.step < this.steps) this.stepOnce();
      this.heal();
      return this.result();
    } catch (e) {
      const v = e instanceof Violation ? e : new Violation('library-error', e instanceof Error ? (e.stack ?? e.message) : String(e));
      this.trace?.(`VIOLATION ${v.message}`);
      return this.result(v);
    }
  }

  private startNode(n: SimNode): void {
    n.start();
    this.trace?.(
      `node ${n.id} starts (incarnation ${n.incarnation}, applied ${n.sm.applied}, log [${n.mem.firstIndex()}, ` +
        `${n.mem.lastIndex()}], hs ${JSON.stringify(n.mem.hardState())})`,
    );
    this.scheduleTick(n);
    n.process();
  }

  private scheduleTick(n: SimNode): void {
    this.queue.push({ kind: 'tick', node: n.id, inc: n.incarnation, at: this.now + this.params.tickInterval[n.id]! });
  }

  private stepOnce(): void {
    const ev = this.queue.pop();
    if (!ev) throw new Error('sim: event queue ran dry');
    this.now = ev.at;
    this.step++;
    this.handle(ev);
    this.checkStep();
  }

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const n = this.node(ev.node)!;
        if (!n.raw || n.incarnation !== ev.inc) return;
        n.raw.tick();
        n.process();
        if (n.alive && n.incarnation === ev.inc) this.scheduleTick(n);
        return;
      }
      case 'deliver':
        this.deliver(ev.msg);
        return;
      case 'client':
        if (this.final) return;
        this.workload.clientAction();
        this.queue.push({ kind: 'client', at: this.now + 1 + this.rand.int(0, 2 * this.params.clientGap) });
        return;
      case 'fault':
        if (this.final) return;
        this.workload.faultAction();
        this.queue.push({ kind: 'fault', at: this.now + 1 + this.faultRand.int(0, 2 * this.params.faultGap) });
        return;
      case 'restart': {
        const n = this.node(ev.node)!;
        if (!n.alive && !n.retired) this.startNode(n);
        return;
      }
      case 'heal':
        if (ev.gen === this.partitionGen && !this.final) {
          this.network.heal();
          this.trace?.('network healed');
        }
        return;
      case 'report': {
        const n = this.node(ev.node)!;
        if (!n.raw) return;
        this.trace?.(`node ${n.id} transport report: ${ev.what} for ${ev.peer}`);
        if (ev.what === 'unreachable') n.raw.reportUnreachable(ev.peer);
        else n.raw.reportSnapshot(ev.peer, ev.what === 'snapFinish' ? 'finish' : 'failure');
        n.process();
        return;
      }
    }
  }

  private deliver(m: Message): void {
    const n = this.node(m.to);
    if (!n?.raw) {
      this.dropped(m, 'receiver down');
      return;
    }
    if (this.network.blocked(m.from, m.to)) {
      this.dropped(m, 'partition');
      return;
    }
    this.trace?.(`recv ${describe(m)}`);
    if (m.msgType === MessageType.MsgSnapshot) this.report(m.from, m.to, 'snapFinish');
    try {
      n.raw.step(m);
    } catch (e) {
      // A forwarded proposal the leader cannot take, or a response from a removed peer: both
      // are ordinary outcomes a real server would log and ignore.
      if (!(e instanceof ProposalDroppedError) && !(e instanceof StepPeerNotFoundError)) throw e;
    }
    n.process();
  }

  /** The per-step invariants over every live node. */
  private checkStep(): void {
    for (const n of this.nodes) {
      const raw = n.raw;
      if (!raw) continue;
      const r = raw.raft;
      if (r.state === StateRole.Leader) this.checker.noteLeader(n.id, r.term, n.shadow);
      const c = r.raftLog.committed;
      if (c < n.lastCommit) throw new Violation('durability', `node ${n.id}'s commit index went back from ${n.lastCommit} to ${c}`);
      n.lastCommit = c;
      this.checker.noteCommit(n.id, r.term, c, n.shadow);
    }
  }

  // ---- the end of a run: heal, converge, check durability and liveness ----

  private heal(): void {
    this.final = true;
    this.trace?.('=== healing: no more faults or client requests; every node restarts and the network heals ===');
    this.network.heal();
    this.network.calm = true;
    for (const n of this.nodes) {
      n.armedCrash = null;
      if (!n.alive) this.startNode(n);
    }
    const deadline = this.now + FINAL_TIME;
    for (let i = 0; ; i++) {
      if (i % 10 === 0) this.retireNonMembers();
      const leader = quiescentLeader(this.nodes);
      if (leader) {
        this.trace?.(`converged: node ${leader.id} leads term ${leader.raw!.raft.term}, every voter applied ${leader.sm.applied}`);
        checkFinalState(this.nodes, leader, this.checker);
        return;
      }
      if (this.now > deadline) {
        throw new Violation(
          'liveness',
          `no stable leader with every voter caught up ${FINAL_TIME / TICK} ticks after healing: ${describeNodes(this.nodes)}`,
        );
      }
      this.stepOnce();
    }
  }

  /**
   * Shuts down nodes nobody needs any more, as etcd members do once they learn of their removal
   * (otherwise a removed node that never heard of it keeps campaigning); restarts a node that is
   * needed again.
   */
  private retireNonMembers(): void {
    const needed = neededNodes(this.nodes);
    for (const n of this.nodes) {
      if (!needed.has(n.id) && n.alive) {
        this.trace?.(`node ${n.id} is not a member any more: shut down`);
        n.crash();
        n.retired = true;
      } else if (needed.has(n.id) && n.retired) {
        n.retired = false;
        this.startNode(n);
      }
    }
  }

  private result(v?: Violation): SimResult {
    const w = this.workload;
    const stats: SimStats = {
      steps: this.step,
      time: this.now,
      committed: this.checker.globalCommit,
      leaders: this.checker.stats.leaders,
      proposals: w.proposals,
      acked: this.checker.acked.size,
      readsServed: this.checker.stats.readsServed,
      confChanges: w.confChanges,
      crashes: w.crashes,
      partitions: w.partitions,
      snapshotsInstalled: this.checker.stats.snapshotsInstalled,
      messages: this.network.sent,
    };
    const base: SimResult = { seed: this.opts.seed, nodes: this.params.nodes, ok: !v, stats };
    if (!v) return base;
    return {
      ...base,
      invariant: v.invariant,
      error: `seed ${this.opts.seed} step ${this.step} t=${this.now}${this.final ? ' (healing phase)' : ''}: ${v.message}`,
    };
  }
}

/** Runs one seed. */
export function simulate(opts: SimOptions): SimResult {
  return new Cluster(opts).run();
}
