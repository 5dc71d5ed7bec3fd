// Operators: what the scheduler wants done to one region, as a sequence of steps the region's
// leader carries out one at a time (each an admin command it proposes). A step is known done
// only from what a later heartbeat shows (the region's peers, leader and range), never from the
// store saying so, so a lost answer or a crashed leader just means the step is handed out again.
import { eraftpb, metapb, type schedulerpb } from '@tskv/proto';
import { compareBytes, type Epoch, epochOf, findPeerById } from '@tskv/util';
import type { RegionInfo, StoreLoad } from './cluster_state.js';
import { endKey, learnerPeer, roleOf, showKey, startKey, voterPeer } from './meta.js';

export type Step =
  /** Add a learner (it receives the data without counting in the quorum). */
  | { type: 'add-learner'; peer: metapb.IPeer }
  /** Turn a caught-up learner into a voter. */
  | { type: 'promote-learner'; peer: metapb.IPeer }
  /** Remove a peer (never while it is the leader: the leader is moved off it first). */
  | { type: 'remove-peer'; peer: metapb.IPeer }
  | { type: 'transfer-leader'; fromStoreId: number; to: metapb.IPeer }
  /** Split the region at these keys (ascending, strictly inside it): the leader proposes a BatchSplit. */
  | { type: 'split-region'; keys: Uint8Array[] };

/** Which scheduler made the operator (a metrics label, and which concurrency limit it counts against). */
export type OperatorKind =
  | 'add-replica'
  | 'replace-replica'
  | 'remove-replica'
  | 'promote-learner'
  | 'remove-learner'
  | 'balance-leader'
  | 'balance-region'
  | AdminOperatorKind;

/** Operators an operator asked for (the admin API), not a scheduler. */
export type AdminOperatorKind = 'admin-split-region' | 'admin-transfer-leader' | 'admin-add-peer' | 'admin-remove-peer';

/** Admin operators count against no scheduler's concurrency limit. */
export type OperatorCategory = 'replica' | 'leader' | 'region' | 'admin';

export function categoryOf(kind: OperatorKind): OperatorCategory {
  if (kind.startsWith('admin-')) return 'admin';
  return kind === 'balance-leader' ? 'leader' : kind === 'balance-region' ? 'region' : 'replica';
}

export interface Operator {
  /** Unique among this scheduler's operators (given by OperatorController.add; 0 until then). */
  id: number;
  regionId: number;
  kind: OperatorKind;
  steps: Step[];
  /** The first step not yet seen done. */
  current: number;
  createdMs: number;
  /** When the current step began (creation, or the previous step seen done): the timeout counts from here. */
  progressMs: number;
  /** The region's epoch when the operator was made. */
  epoch: Epoch;
}

/** What goes into a heartbeat answer for one step. */
export interface StepRequest {
  changePeer?: schedulerpb.IChangePeer;
  transferLeader?: schedulerpb.ITransferLeader;
  splitRegion?: schedulerpb.ISplitRegion;
}

export function newOperator(info: RegionInfo, kind: OperatorKind, steps: Step[], now: number): Operator {
  return { id: 0, regionId: Number(info.region.id), kind, steps, current: 0, createdMs: now, progressMs: now, epoch: epochOf(info.region) };
}

/** Whether the key lies strictly inside the region (after its start, before its end): a split there makes a boundary. */
export function strictlyInside(key: Uint8Array, region: metapb.IRegion): boolean {
  const e = endKey(region);
  return compareBytes(key, startKey(region)) > 0 && (e.length === 0 || compareBytes(key, e) < 0);
}

/** The region's peer with the id of a step's peer. */
function peerOf(info: RegionInfo, peer: metapb.IPeer): metapb.IPeer | undefined {
  return findPeerById(info.region, Number(peer.id));
}

/** Whether the region, as last reported, shows the step carried out. */
export function stepDone(step: Step, info: RegionInfo): boolean {
  switch (step.type) {
    case 'add-learner': {
      // Done once the peer is in and caught up (not pending): promoting a learner that still
      // waits for its snapshot would add a voter that cannot vote yet.
      const p = peerOf(info, step.peer);
      return !!p && !info.pendingPeers.some((x) => Number(x.id) === Number(step.peer.id));
    }
    case 'promote-learner': {
      const p = peerOf(info, step.peer);
      return !!p && roleOf(p) === metapb.PeerRole.Voter;
    }
    case 'remove-peer':
      return !peerOf(info, step.peer);
    case 'transfer-leader':
      return Number(info.leader?.id) === Number(step.to.id);
    case 'split-region':
      // The region keeps its id and the leftmost part: the keys are boundaries once none is inside it.
      return step.keys.every((k) => !strictlyInside(k, info.region));
  }
}

/** Whether the operator's splits are all seen done: the version change they cause is its own. */
function splitsDone(op: Operator, info: RegionInfo): boolean {
  const splits = op.steps.filter((s) => s.type === 'split-region');
  return splits.length > 0 && splits.every((s) => stepDone(s, info));
}

/** Membership changes the steps make (each raises conf_ver by one). */
export function confChanges(op: Operator): number {
  return op.steps.filter((s) => s.type !== 'transfer-leader' && s.type !== 'split-region').length;
}

/**
 * Why the operator no longer fits the region (null: it does). A split or merge (version) makes
 * its plan meaningless; a conf_ver beyond what its own steps explain means something else changed
 * the membership meanwhile.
 */
export function staleness(op: Operator, info: RegionInfo): string | null {
  const e = epochOf(info.region);
  if (e.version !== op.epoch.version && !splitsDone(op, info)) return `region version changed from ${op.epoch.version} to ${e.version}`;
  if (e.confVer > op.epoch.confVer + confChanges(op))
    return `conf_ver ${e.confVer} is beyond the operator's own changes (from ${op.epoch.confVer})`;
  return null;
}

export function stepRequest(step: Step): StepRequest {
  const T = eraftpb.ConfChangeType;
  switch (step.type) {
    case 'add-learner':
      return { changePeer: { changeType: T.AddLearnerNode, peer: learnerPeer(Number(step.peer.id), Number(step.peer.storeId)) } };
    case 'promote-learner':
      return { changePeer: { changeType: T.AddNode, peer: voterPeer(Number(step.peer.id), Number(step.peer.storeId)) } };
    case 'remove-peer':
      return { changePeer: { changeType: T.RemoveNode, peer: { ...step.peer } } };
    case 'transfer-leader':
      return { transferLeader: { peer: { ...step.to } } };
    case 'split-region':
      return { splitRegion: { keys: step.keys } };
  }
}

/**
 * How the steps not yet done will change each store's load once carried out. The balancers add
 * this to the reported loads so operators in flight count as done: otherwise every tick until the
 * first finishes would pick the same source and target again and overshoot.
 */
export function influence(op: Operator, info: RegionInfo, score: number): Map<number, StoreLoad> {
  const out = new Map<number, StoreLoad>();
  const at = (store: number): StoreLoad => {
    let l = out.get(store);
    if (!l) {
      l = { regions: 0, leaders: 0, score: 0 };
      out.set(store, l);
    }
    return l;
  };
  for (let i = op.current; i < op.steps.length; i++) {
    const s = op.steps[i]!;
    if (s.type === 'add-learner' && !peerOf(info, s.peer)) {
      at(Number(s.peer.storeId)).regions++;
      at(Number(s.peer.storeId)).score += score;
    } else if (s.type === 'remove-peer' && peerOf(info, s.peer)) {
      at(Number(s.peer.storeId)).regions--;
      at(Number(s.peer.storeId)).score -= score;
    } else if (s.type === 'transfer-leader' && Number(info.leader?.id) !== Number(s.to.id)) {
      at(s.fromStoreId).leaders--;
      at(Number(s.to.storeId)).leaders++;
    }
  }
  return out;
}

export function describeStep(s: Step): string {
  switch (s.type) {
    case 'add-learner':
      return `add learner ${s.peer.id} on store ${s.peer.storeId}`;
    case 'promote-learner':
      return `promote learner ${s.peer.id} on store ${s.peer.storeId}`;
    case 'remove-peer':
      return `remove peer ${s.peer.id} on store ${s.peer.storeId}`;
    case 'transfer-leader':
      return `transfer leader from store ${s.fromStoreId} to peer ${s.to.id} on store ${s.to.storeId}`;
    case 'split-region':
      return `split at ${s.keys.map(showKey).join(', ')}`;
  }
}

export function describe(op: Operator): string {
  return `${op.kind} region ${op.regionId}: ${op.steps.map(describeStep).join(', then ')}`;
}

/** A JSON-friendly view (the /status page, the admin API, logs). */
export function operatorSummary(op: Operator, now: number): Record<string, unknown> {
  return {
    id: op.id,
    regionId: op.regionId,
    kind: op.kind,
    step: op.current,
    steps: op.steps.map(describeStep),
    createdMs: op.createdMs,
    ageMs: now - op.createdMs,
    sinceProgressMs: now - op.progressMs,
  };
}
