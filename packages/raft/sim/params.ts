// Per-seed parameters: the raft configuration, network quality, workload mix and fault rates are
// all drawn from the seed, so different seeds explore different corners (tiny messages and
// windows, lossy networks, pre-vote on/off, ...), while one seed always means one exact run.
import { deriveSeed, Prng } from '@tskv/util';

/**
 * 'default' is the everyday mix. 'chaos' is a targeted fault schedule for hunting rare
 * interleavings such as Figure 8 of the Raft paper: one entry per append, frequent crashes,
 * forced elections and message loss, no pre-vote or check-quorum to soften elections.
 */
export type Profile = 'default' | 'chaos';

/** Virtual time units per tick: message delays are fractions of a tick. */
export const TICK = 10;

export interface SimParams {
  seed: number;
  nodes: number;
  profile: Profile;
  /** Every node id that exists; those beyond the initial voters join through conf changes. */
  universe: number[];
  initialVoters: number[];

  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxUncommittedEntriesSize: number;
  maxCommittedSizePerReady: number;
  skipBcastCommit: boolean;

  /** Per node id: virtual time between its ticks (clocks drift apart). */
  tickInterval: number[];

  lossRate: number;
  dupRate: number;
  maxDelay: number;
  longDelayRate: number;
  longDelayMax: number;
  snapshotFlakyRate: number;
  unreachableReportRate: number;

  /** Mean virtual time between client actions, and their mix. */
  clientGap: number;
  weights: { propose: number; read: number; confChange: number; transfer: number; campaign: number };
  maxPad: number;

  /** Mean virtual time between fault actions, and their mix. */
  faultGap: number;
  faultWeights: { crash: number; partition: number; isolate: number; oneWay: number; heal: number };
  /** Probability that a crash strikes in the middle of the node's next Ready instead of now. */
  midReadyCrashRate: number;
  maxDown: number;
  downTime: [number, number];
  partitionTime: [number, number];

  /** Snapshot + compact once this many entries were applied since the last snapshot. */
  compactEvery: number;
  compactKeep: number;
}

export function makeParams(seed: number, nodes: number, profile: Profile = 'default'): SimParams {
  const r = new Prng(deriveSeed(seed, 1));
  const universe = Array.from({ length: nodes + 2 }, (_, i) => i + 1);
  const initialVoters = universe.slice(0, nodes);
  const chaos = profile === 'chaos';
  const electionTick = chaos ? r.int(3, 6) : r.int(5, 12);
  const heartbeatTick = r.int(1, Math.min(3, electionTick - 1) + 1);
  const tickInterval = [0, ...universe.map(() => TICK + r.int(-2, 3))];
  return {
    seed,
    nodes,
    profile,
    universe,
    initialVoters,
    electionTick,
    heartbeatTick,
    preVote: chaos ? false : r.chance(0.5),
    checkQuorum: chaos ? false : r.chance(0.5),
    maxSizePerMsg: chaos ? 1 : r.pick([1, 64, 256, 1024 * 1024]),
    maxInflightMsgs: r.pick([1, 2, 4, 256]),
    maxUncommittedEntriesSize: r.pick([Infinity, Infinity, 200, 1000]),
    maxCommittedSizePerReady: r.pick([1, 100, 16 * 1024 * 1024]),
    skipBcastCommit: r.chance(0.3),
    tickInterval,
    lossRate: chaos ? r.pick([0.05, 0.1, 0.2]) : r.pick([0, 0.01, 0.05, 0.1]),
    dupRate: r.pick([0, 0.02, 0.05]),
    maxDelay: r.pick([2, 5, 10]),
    longDelayRate: r.pick([0, 0.02, 0.1]),
    longDelayMax: r.pick([20, 60]),
    snapshotFlakyRate: r.pick([0, 0.1]),
    unreachableReportRate: r.pick([0, 0.3]),
    clientGap: r.pick([3, 6, 12]),
    weights: chaos
      ? { propose: 10, read: 2, confChange: 1, transfer: 2, campaign: 4 }
      : { propose: 10, read: 3, confChange: r.pick([0, 1, 2]), transfer: r.pick([0, 0.5, 1]), campaign: r.pick([0, 0.3, 1]) },
    maxPad: r.pick([0, 8, 40]),
    faultGap: chaos ? r.pick([15, 30]) : r.pick([40, 80, 200]),
    faultWeights: chaos
      ? { crash: 6, partition: 2, isolate: 2, oneWay: 1, heal: 2 }
      : { crash: 3, partition: 2, isolate: 2, oneWay: 1, heal: 3 },
    midReadyCrashRate: r.pick([0.2, 0.5]),
    maxDown: chaos ? nodes : Math.max(1, nodes - r.int(1, 3)),
    downTime: chaos ? [5, 8 * TICK] : [2 * TICK, 40 * TICK],
    partitionTime: [3 * TICK, 50 * TICK],
    compactEvery: chaos ? 1000 : r.pick([5, 20, 80]),
    compactKeep: r.pick([0, 3]),
  };
}

/** Short human summary for traces and failure reports. */
export function describeParams(p: SimParams): string {
  return (
    `nodes=${p.nodes} profile=${p.profile} election=${p.electionTick} heartbeat=${p.heartbeatTick} preVote=${p.preVote} ` +
    `checkQuorum=${p.checkQuorum} maxSizePerMsg=${p.maxSizePerMsg} inflight=${p.maxInflightMsgs} ` +
    `uncommitted=${p.maxUncommittedEntriesSize} committedPerReady=${p.maxCommittedSizePerReady} skipBcastCommit=${p.skipBcastCommit} ` +
    `loss=${p.lossRate} dup=${p.dupRate} delay<=${p.maxDelay} long=${p.longDelayRate}/${p.longDelayMax} compactEvery=${p.compactEvery}`
  );
}
