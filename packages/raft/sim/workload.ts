// Random client traffic and faults. Client actions go to random live nodes (followers forward or
// drop them, as real clients would experience); membership changes are planned against the
// current leader's configuration so they are always valid where they land in the log.
import type { Prng } from '@tskv/util';
import {
  type ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  type ConfChangeV2,
  type ConfState,
  confChange,
  EMPTY_BYTES,
  ProposalDroppedError,
  StateRole,
} from '../src/index.js';
import type { Checker } from './checker.js';
import type { SimNetwork } from './network.js';
import type { CrashPoint, SimNode } from './node.js';
import type { SimParams } from './params.js';
import { encodeProposal, encodeReadCtx } from './state_machine.js';

export interface WorkloadHost {
  readonly params: SimParams;
  readonly checker: Checker;
  readonly network: SimNetwork;
  readonly nodes: readonly SimNode[];
  /** Crashes `n` now and schedules its restart. */
  crashNode(n: SimNode): void;
  /** Heals the current partition after `after` virtual time, unless a newer one replaced it. */
  scheduleHeal(after: number): void;
  trace: ((line: string) => void) | null;
}

const CRASH_POINTS: CrashPoint[] = ['beforePersist', 'afterPersist', 'beforeAdvance'];
const MIN_VOTERS = 2;

export class Workload {
  private nextProposal = 1;
  private nextRead = 1;
  proposals = 0;
  dropped = 0;
  reads = 0;
  confChanges = 0;
  crashes = 0;
  partitions = 0;

  constructor(
    private readonly h: WorkloadHost,
    private readonly rand: Prng,
  ) {}

  private live(): SimNode[] {
    return this.h.nodes.filter((n) => n.alive);
  }

  // ---- client ----

  clientAction(): void {
    const live = this.live();
    if (live.length === 0) return;
    const w = this.h.params.weights;
    switch (this.rand.weighted([w.propose, w.read, w.confChange, w.transfer, w.campaign])) {
      case 0:
        this.propose(this.rand.pick(live));
        return;
      case 1:
        this.read(this.rand.pick(live));
        return;
      case 2:
        this.changeMembership(live);
        return;
      case 3: {
        const n = this.rand.pick(live);
        const to = this.rand.pick(this.h.params.universe);
        this.h.trace?.(`client: node ${n.id} transferLeader(${to})`);
        n.raw!.transferLeader(to);
        n.process();
        return;
      }
      default: {
        const n = this.rand.pick(live);
        this.h.trace?.(`client: node ${n.id} campaign()`);
        n.raw!.campaign();
        n.process();
      }
    }
  }

  private propose(n: SimNode): void {
    const count = this.rand.chance(0.2) ? this.rand.int(2, 4) : 1;
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(this.nextProposal++);
    const data = ids.map((id) => encodeProposal(id, this.rand.int(0, this.h.params.maxPad + 1)));
    this.proposals += count;
    try {
      if (count === 1) n.raw!.propose(EMPTY_BYTES, data[0]!);
      else n.raw!.proposeBatch(data.map((d) => ({ data: d })));
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.dropped += count;
      this.h.trace?.(`client: proposals ${ids} to node ${n.id} dropped (${e.message})`);
      return;
    }
    for (const id of ids) n.pendingProposals.add(id);
    this.h.trace?.(`client: node ${n.id} proposed ${ids}`);
    n.process();
  }

  private read(n: SimNode): void {
    const id = this.nextRead++;
    this.reads++;
    this.h.checker.onReadRequest(id, n.id);
    this.h.trace?.(`client: node ${n.id} readIndex #${id} (acked through ${this.h.checker.maxAckedIndex})`);
    n.raw!.readIndex(encodeReadCtx(id));
    n.process();
  }

  private changeMembership(live: SimNode[]): void {
    // A change is valid only against the configuration it is appended after. A leader accepts a
    // conf change only when everything in its log is applied, so its current configuration is
    // exactly that one. (Forwarded changes are limited to adding a voter, valid in any config.)
    let leader: SimNode | null = null;
    for (const n of live) {
      if (n.raw!.raft.state === StateRole.Leader && (!leader || n.raw!.raft.term > leader.raw!.raft.term)) leader = n;
    }
    if (!leader) return;
    if (this.rand.chance(0.2)) {
      const n = this.rand.pick(live);
      const id = this.rand.pick(this.h.params.universe);
      this.proposeConfChange(n, confChange(ConfChangeType.AddNode, id), `AddNode(${id}) via node ${n.id}`);
      return;
    }
    const cs = leader.raw!.raft.prs.confState();
    if (cs.votersOutgoing.length > 0) return; // joint: the leader leaves it by itself (autoLeave)
    const plan = this.plan(cs, leader.id);
    if (plan.length === 0) return;
    const desc = plan.map((c) => `${ConfChangeType[c.changeType]}(${c.nodeId})`).join(',');
    if (plan.length === 1 && this.rand.chance(0.5)) {
      this.proposeConfChange(leader, confChange(plan[0]!.changeType, plan[0]!.nodeId), `ConfChange ${desc}`);
      return;
    }
    // V2: several changes (or Implicit) enter a joint config that is left automatically.
    const transition =
      plan.length > 1 && this.rand.chance(0.5)
        ? ConfChangeTransition.Auto
        : this.rand.pick([ConfChangeTransition.Auto, ConfChangeTransition.Implicit]);
    const cc: ConfChangeV2 = { transition, changes: plan, context: EMPTY_BYTES };
    this.proposeConfChange(leader, cc, `ConfChangeV2(${ConfChangeTransition[transition]}) ${desc}`);
  }

  private proposeConfChange(n: SimNode, cc: Parameters<NonNullable<SimNode['raw']>['proposeConfChange']>[1], desc: string): void {
    this.confChanges++;
    try {
      n.raw!.proposeConfChange(EMPTY_BYTES, cc);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.h.trace?.(`client: ${desc} dropped (${e.message})`);
      return;
    }
    this.h.trace?.(`client: node ${n.id} proposed ${desc}`);
    n.process();
  }

  /**
   * 1-3 changes to distinct nodes that keep at least MIN_VOTERS voters and leave the current
   * leader alone, as TiKV does (it refuses to remove or demote the leader; leadership is moved
   * first). Removing the leader is safe but not always live: if the removed leader crashes before
   * any member of the new configuration learns that leaving the joint state committed, members
   * still joint need votes from removed nodes whose logs are longer (seeds 9242 and 12906 with
   * leader removal allowed). The library steps a removed leader down only once a quorum of the new
   * configuration knows the commit, which closes the crash-free variant of that gap.
   */
  private plan(cs: ConfState, leader: number): ConfChangeSingle[] {
    const voters = new Set(cs.voters);
    const learners = new Set(cs.learners);
    const want = this.rand.chance(0.6) ? 1 : this.rand.int(2, 4);
    const touched = new Set<number>();
    const out: ConfChangeSingle[] = [];
    for (let tries = 0; out.length < want && tries < 10; tries++) {
      const id = this.rand.pick(this.h.params.universe);
      if (touched.has(id) || id === leader) continue;
      let type: ConfChangeType;
      if (voters.has(id)) {
        if (voters.size <= MIN_VOTERS) continue;
        type = this.rand.chance(0.5) ? ConfChangeType.RemoveNode : ConfChangeType.AddLearnerNode;
        voters.delete(id);
        if (type === ConfChangeType.AddLearnerNode) learners.add(id);
      } else if (learners.has(id)) {
        type = this.rand.chance(0.5) ? ConfChangeType.RemoveNode : ConfChangeType.AddNode;
        learners.delete(id);
        if (type === ConfChangeType.AddNode) voters.add(id);
      } else {
        type = this.rand.chance(0.5) ? ConfChangeType.AddNode : ConfChangeType.AddLearnerNode;
        (type === ConfChangeType.AddNode ? voters : learners).add(id);
      }
      touched.add(id);
      out.push({ changeType: type, nodeId: id });
    }
    return out;
  }

  // ---- faults ----

  faultAction(): void {
    const p = this.h.params;
    const fw = p.faultWeights;
    const net = this.h.network;
    switch (this.rand.weighted([fw.crash, fw.partition, fw.isolate, fw.oneWay, fw.heal])) {
      case 0: {
        const live = this.live();
        const down = this.h.nodes.length - live.length;
        if (live.length === 0 || down >= p.maxDown) return;
        const n = this.rand.pick(live);
        this.crashes++;
        if (this.rand.chance(p.midReadyCrashRate)) {
          n.armedCrash = this.rand.pick(CRASH_POINTS);
          this.h.trace?.(`fault: node ${n.id} will crash inside its next Ready (${n.armedCrash})`);
        } else {
          this.h.trace?.(`fault: node ${n.id} crashes`);
          this.h.crashNode(n);
        }
        return;
      }
      case 1: {
        const ids = this.rand.shuffle([...p.universe]);
        const a = this.rand.int(1, ids.length);
        const groups = [ids.slice(0, a), ids.slice(a)];
        if (this.rand.chance(0.3) && groups[1]!.length > 1) groups.push(groups[1]!.splice(0, 1));
        net.partition(groups);
        this.partitions++;
        this.h.trace?.(`fault: partition ${net.describe()}`);
        this.h.scheduleHeal(this.rand.int(p.partitionTime[0], p.partitionTime[1]));
        return;
      }
      case 2: {
        const id = this.rand.pick(p.universe);
        net.partition([[id], p.universe.filter((x) => x !== id)]);
        this.partitions++;
        this.h.trace?.(`fault: isolate node ${id}`);
        this.h.scheduleHeal(this.rand.int(p.partitionTime[0], p.partitionTime[1]));
        return;
      }
      case 3: {
        const from = this.rand.pick(p.universe);
        const to = this.rand.pick(p.universe.filter((x) => x !== from));
        net.cut(from, to);
        this.h.trace?.(`fault: one-way cut ${from}->${to}`);
        this.h.scheduleHeal(this.rand.int(p.partitionTime[0], p.partitionTime[1]));
        return;
      }
      default:
        this.h.trace?.('fault: heal network');
        net.heal();
    }
  }
}
