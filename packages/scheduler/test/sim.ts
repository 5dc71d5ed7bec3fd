// A synthetic cluster for the pure scheduling modules: stores that heartbeat (or stop), regions
// whose leaders heartbeat, and a leader that carries out what the answers ask the way the
// raftstore does (a learner added, promoted, a peer removed, the leadership moved; conf_ver
// raised by each membership change). No sockets, no timers: time is `now`, moved by hand.
import assert from 'node:assert/strict';
import { eraftpb, metapb } from '@tskv/proto';
import { findPeer, findPeerById } from '@tskv/util';
import { ClusterState } from '../src/cluster_state.js';
import { resolveConfig, type SchedulerConfig } from '../src/config.js';
import { isVoter, roleOf } from '../src/meta.js';
import type { Operator, StepRequest } from '../src/operator.js';
import { OperatorController, type OperatorEnd } from '../src/operator_controller.js';
import { storeIsLive } from '../src/schedulers/context.js';
import { buildContext, type SchedulingContext, schedule } from '../src/schedulers/index.js';

const MiB = 1024 * 1024;

export class Sim {
  readonly cfg: SchedulerConfig;
  readonly state = new ClusterState();
  readonly ops: OperatorController;
  readonly ended: { op: Operator; how: OperatorEnd; why: string }[] = [];
  now = 10_000_000;
  private nextId = 10_000;
  /** Stores that stopped heartbeating. */
  readonly silent = new Set<number>();
  /** Every region view the leaders reported, for invariant checks. */
  readonly history: metapb.IRegion[] = [];

  constructor(cfg: Partial<SchedulerConfig> = {}) {
    this.cfg = resolveConfig({ maxStoreDownTimeMs: 60_000, storeDisconnectMs: 20_000, ...cfg });
    this.ops = new OperatorController(this.cfg.operatorTimeoutMs, { ended: (op, how, why) => this.ended.push({ op, how, why }) });
    this.state.bootstrapped = true;
  }

  id(): number {
    return this.nextId++;
  }

  addStores(...ids: number[]): void {
    for (const id of ids) {
      this.state.putStore({ id, address: `127.0.0.1:${20000 + id}`, state: metapb.StoreState.Up }, this.now);
      this.state.storeHeartbeat({ storeId: id }, this.now);
    }
  }

  /** Every store not silenced heartbeats now. */
  heartbeatStores(): void {
    for (const id of this.state.stores.keys()) if (!this.silent.has(id)) this.state.storeHeartbeat({ storeId: id }, this.now);
  }

  /** A region with a voter on each store (leader on the first unless given), reported once. */
  addRegion(id: number, stores: number[], opts: { leaderStore?: number; start?: string; end?: string; sizeMiB?: number } = {}): void {
    const peers = stores.map((s) => ({ id: this.id(), storeId: s, role: metapb.PeerRole.Voter }));
    const region: metapb.IRegion = {
      id,
      startKey: Buffer.from(opts.start ?? `k${String(id).padStart(6, '0')}`),
      endKey: Buffer.from(opts.end ?? `k${String(id).padStart(6, '0')}~`),
      regionEpoch: { confVer: 1, version: 1 },
      peers,
    };
    const leaderStore = opts.leaderStore ?? stores[0]!;
    const leader = findPeer(region, leaderStore)!;
    const upd = this.state.updateRegion(region, { leader, approximateSize: (opts.sizeMiB ?? 0) * MiB }, this.now);
    assert.equal(upd.kind, 'ok');
  }

  region(id: number): metapb.IRegion {
    return this.state.regions.get(id)!.region;
  }

  leaderStore(id: number): number {
    return Number(this.state.regions.get(id)!.leader!.storeId);
  }

  storesOf(id: number): number[] {
    return (this.region(id).peers ?? []).map((p) => Number(p.storeId)).sort((a, b) => a - b);
  }

  context(): SchedulingContext {
    return buildContext(this.state, this.ops, this.cfg, this.now, () => this.id());
  }

  /** One scheduling round. */
  round(): Operator[] {
    return schedule(this.context());
  }

  /** The region's leader heartbeats: returns what the scheduler asks. */
  heartbeat(id: number): StepRequest | null {
    const info = this.state.regions.get(id)!;
    const upd = this.state.updateRegion(
      info.region,
      { leader: info.leader!, pendingPeers: info.pendingPeers, approximateSize: info.approximateSize },
      this.now,
    );
    assert.equal(upd.kind, 'ok');
    return this.ops.dispatch(
      upd.info,
      this.now,
      (s) => storeIsLive(this.state, this.cfg, this.now, s),
      this.cfg.pausedRegions.includes(id),
    );
  }

  /** Carries out an answer as the region's leader would (the raftstore's rules, simplified). */
  apply(id: number, req: StepRequest): void {
    const info = this.state.regions.get(id)!;
    const region = metapb.Region.decode(metapb.Region.encode(info.region).finish());
    const peers = region.peers;
    if (req.transferLeader) {
      const to = findPeerById(region, req.transferLeader!.peer!.id!);
      assert.ok(to && isVoter(to), 'leadership goes to a voter of the region');
      info.leader = { ...to };
      return;
    }
    const c = req.changePeer!;
    const p = c.peer!;
    const T = eraftpb.ConfChangeType;
    if (c.changeType === T.RemoveNode) {
      assert.notEqual(p.id, info.leader!.id, 'the scheduler never asks to remove the leader');
      region.peers = peers.filter((x) => x.id !== p.id);
    } else {
      const existing = findPeerById(region, p.id!);
      assert.ok(!peers.some((x) => x.storeId === p.storeId && x.id !== p.id), `never two peers of region ${id} on store ${p.storeId}`);
      const role = c.changeType === T.AddLearnerNode ? metapb.PeerRole.Learner : metapb.PeerRole.Voter;
      if (existing) {
        existing.role = role;
        existing.isLearner = role === metapb.PeerRole.Learner;
      } else peers.push(metapb.Peer.create({ id: p.id!, storeId: p.storeId!, role, isLearner: role === metapb.PeerRole.Learner }));
    }
    region.regionEpoch!.confVer = Number(region.regionEpoch!.confVer) + 1;
    const upd = this.state.updateRegion(region, { leader: info.leader!, approximateSize: info.approximateSize }, this.now);
    assert.equal(upd.kind, 'ok');
    this.history.push(region);
  }

  /** Heartbeats every region with an operator and carries out what comes back, until no answer carries anything. */
  settle(maxHeartbeats = 200): void {
    for (let i = 0; i < maxHeartbeats; i++) {
      let any = false;
      for (const op of [...this.ops.all()]) {
        const req = this.heartbeat(op.regionId);
        if (req) {
          any = true;
          this.apply(op.regionId, req);
        }
      }
      if (!any) return;
    }
    assert.fail('operators did not settle');
  }

  /** Rounds (each followed by settle) until a round makes nothing; returns every operator made. */
  runUntilQuiet(maxRounds = 100): Operator[] {
    const all: Operator[] = [];
    for (let i = 0; i < maxRounds; i++) {
      this.now += this.cfg.scheduleIntervalMs;
      this.heartbeatStores();
      const made = this.round();
      all.push(...made);
      this.settle();
      // Heartbeat every region once more so the finished operators are seen done.
      for (const op of [...this.ops.all()]) this.heartbeat(op.regionId);
      if (made.length === 0 && this.ops.size === 0) return all;
    }
    assert.fail('scheduling did not converge');
  }

  /** Replicas per store. */
  regionCounts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const id of this.state.stores.keys()) out.set(id, 0);
    for (const info of this.state.regions.values())
      for (const p of info.region.peers ?? []) out.set(Number(p.storeId), (out.get(Number(p.storeId)) ?? 0) + 1);
    return out;
  }

  leaderCounts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const id of this.state.stores.keys()) out.set(id, 0);
    for (const info of this.state.regions.values()) out.set(Number(info.leader!.storeId), (out.get(Number(info.leader!.storeId)) ?? 0) + 1);
    return out;
  }
}

/** Roles of a region's peers by store, e.g. {1: 'Voter', 4: 'Learner'}. */
export function rolesByStore(r: metapb.IRegion): Record<number, string> {
  const out: Record<number, string> = {};
  for (const p of r.peers ?? []) out[Number(p.storeId)] = metapb.PeerRole[roleOf(p)]!;
  return out;
}
