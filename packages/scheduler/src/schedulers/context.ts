// What every scheduler works from: the cluster state, the pending operators, the config, the
// time, and the stores' loads with the operators in flight counted as done. Plus the store
// health rules they share, so "down", "live" and "may receive a replica" mean the same thing in
// every scheduler.
import { metapb } from '@tskv/proto';
import { type ClusterState, type RegionInfo, regionScore, type StoreInfo, type StoreLoad } from '../cluster_state.js';
import type { SchedulerConfig } from '../config.js';
import { isJoint } from '../meta.js';
import { influence, type Operator } from '../operator.js';
import type { OperatorController } from '../operator_controller.js';

export interface SchedulingContext {
  readonly cfg: SchedulerConfig;
  readonly now: number;
  readonly state: ClusterState;
  readonly ops: OperatorController;
  /** A fresh peer id (the caller has reserved enough for one tick). */
  readonly allocId: () => number;
  /** Per store, with every pending operator's remaining effect added. */
  readonly loads: Map<number, StoreLoad>;
}

export function buildContext(
  state: ClusterState,
  ops: OperatorController,
  cfg: SchedulerConfig,
  now: number,
  allocId: () => number,
): SchedulingContext {
  const loads = state.storeLoads();
  const ctx: SchedulingContext = { cfg, now, state, ops, allocId, loads };
  for (const op of ops.all()) {
    const info = state.regions.get(op.regionId);
    if (info) addInfluence(ctx, op, info);
  }
  return ctx;
}

/** Counts a new (or pending) operator's effect in the loads, so the next choice this tick sees it. */
export function addInfluence(ctx: SchedulingContext, op: Operator, info: RegionInfo): void {
  for (const [store, d] of influence(op, info, regionScore(info))) {
    const l = ctx.loads.get(store);
    if (!l) continue;
    l.regions += d.regions;
    l.leaders += d.leaders;
    l.score += d.score;
  }
}

export function loadOf(ctx: SchedulingContext, storeId: number): StoreLoad {
  return ctx.loads.get(storeId) ?? { regions: 0, leaders: 0, score: 0 };
}

/** Silent for longer than maxStoreDownTimeMs (counting from when this scheduler came to know it). */
export function isDown(s: StoreInfo, cfg: SchedulerConfig, now: number): boolean {
  return now - Math.max(s.lastHeartbeatMs, s.knownSinceMs) > cfg.maxStoreDownTimeMs;
}

/** Heard from recently: a store never heard from since this scheduler started is not. */
export function isConnected(s: StoreInfo, cfg: SchedulerConfig, now: number): boolean {
  return s.lastHeartbeatMs > 0 && now - s.lastHeartbeatMs <= Math.min(cfg.storeDisconnectMs, cfg.maxStoreDownTimeMs);
}

/** Up and connected: its peers count as live voters, it may take a leadership. */
export function storeIsLive(state: ClusterState, cfg: SchedulerConfig, now: number, storeId: number): boolean {
  const s = state.stores.get(storeId);
  return !!s && (s.meta.state ?? metapb.StoreState.Up) === metapb.StoreState.Up && isConnected(s, cfg, now);
}

export function isLive(ctx: SchedulingContext, storeId: number): boolean {
  return storeIsLive(ctx.state, ctx.cfg, ctx.now, storeId);
}

function lowSpace(s: StoreInfo, cfg: SchedulerConfig): boolean {
  const cap = Number(s.stats?.capacity ?? 0);
  if (cap <= 0) return false;
  const avail = Number(s.stats?.available ?? 0);
  return (cap - avail) / cap > cfg.lowSpaceRatio;
}

/** May receive a new replica: live, not busy, not short of space. */
export function canReceive(ctx: SchedulingContext, storeId: number): boolean {
  const s = ctx.state.stores.get(storeId);
  return !!s && isLive(ctx, storeId) && !s.stats?.isBusy && !lowSpace(s, ctx.cfg);
}

/**
 * The store's replicas must move: it is gone (unknown, tombstone), being taken out (offline) or
 * down for longer than maxStoreDownTimeMs.
 */
export function mustEvacuate(ctx: SchedulingContext, storeId: number): boolean {
  const s = ctx.state.stores.get(storeId);
  if (!s) return true;
  const st = s.meta.state ?? metapb.StoreState.Up;
  if (st !== metapb.StoreState.Up) return true;
  return isDown(s, ctx.cfg, ctx.now);
}

/** A region the schedulers may plan for: heard from since the start (its leader is known), no operator, not paused, not joint. */
export function schedulable(ctx: SchedulingContext, info: RegionInfo): boolean {
  if (!info.leader || info.lastHeartbeatMs === 0) return false;
  if (ctx.ops.get(Number(info.region.id))) return false;
  if (ctx.cfg.pausedRegions.includes(Number(info.region.id))) return false;
  return !isJoint(info.region);
}

export function storesOf(info: RegionInfo): Set<number> {
  return new Set((info.region.peers ?? []).map((p) => Number(p.storeId)));
}

export function isPending(info: RegionInfo, peerId: number | null | undefined): boolean {
  return info.pendingPeers.some((p) => Number(p.id) === Number(peerId));
}

/**
 * Whether the voters left after removing `removeId` (and adding `addStoreId` as a voter, if any)
 * keep a quorum of live ones: a membership the live stores cannot commit in is a dead region.
 */
export function keepsQuorum(
  ctx: SchedulingContext,
  voters: { id?: number | null; storeId?: number | null }[],
  removeId: number | null,
  addStoreId: number | null = null,
): boolean {
  const after = voters.filter((v) => Number(v.id) !== removeId).map((v) => Number(v.storeId));
  if (addStoreId !== null) after.push(addStoreId);
  const live = after.filter((s) => isLive(ctx, s)).length;
  return after.length > 0 && live >= Math.floor(after.length / 2) + 1;
}
