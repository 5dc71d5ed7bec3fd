// The leader's (and candidate's) bookkeeping of the configuration, per-peer progress and votes.

import { JointConfig } from '../quorum/joint.js';
import type { AckedIndexer, VoteResult } from '../quorum/majority.js';
import type { ConfState } from '../types.js';
import type { Progress } from './progress.js';

/**
 * The active membership. Invariants (enforced by the Changer): learners are disjoint from both
 * voter halves; learnersNext is a subset of voters.outgoing (voters demoted during a joint change,
 * which become learners on leaving it); learnersNext is empty and autoLeave false when not joint.
 */
export interface TrackerConfig {
  voters: JointConfig;
  learners: Set<number>;
  learnersNext: Set<number>;
  /** Leave the joint config automatically once it is committed. */
  autoLeave: boolean;
}

export function newTrackerConfig(): TrackerConfig {
  return { voters: new JointConfig(), learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

/** Deep copy: the sets are fresh, so the copy can be mutated without affecting `c`. */
export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: c.voters.clone(),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** Progress of every voter and learner, by id. Invariant: keys = voters.ids() ∪ learners. */
export type ProgressMap = Map<number, Progress>;

const sortedArray = (s: Iterable<number>): number[] => Array.from(s).sort((a, b) => a - b);

export class ProgressTracker {
  config: TrackerConfig = newTrackerConfig();
  progress: ProgressMap = new Map();
  /** Votes received in the current (pre-)election: id -> granted. */
  votes: Map<number, boolean> = new Map();
  readonly maxInflight: number;
  // Created once and reads this.progress on each call, so it survives applyConf.
  private readonly matchIndexer: AckedIndexer;

  constructor(maxInflight: number) {
    this.maxInflight = maxInflight;
    this.matchIndexer = { ackedIndex: (id: number) => this.progress.get(id)?.matched };
  }

  get(id: number): Progress | undefined {
    return this.progress.get(id);
  }

  /** The configuration as a ConfState, with sorted id lists. */
  confState(): ConfState {
    return {
      voters: this.config.voters.incoming.slice(),
      learners: sortedArray(this.config.learners),
      votersOutgoing: this.config.voters.outgoing.slice(),
      learnersNext: sortedArray(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  /** Exactly one voter and not joint: such a node can commit and win elections alone. */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  /** The largest index replicated on a quorum of voters (per the joint config). No allocation. */
  committed(): number {
    return this.config.voters.committedIndex(this.matchIndexer);
  }

  /**
   * Whether a quorum of voters was active since the last call, from the view of `perspectiveOf`
   * (normally the leader itself, which always counts as active). Clears recentActive of every other
   * peer so the next call measures the next interval.
   */
  quorumRecentlyActive(perspectiveOf: number): boolean {
    const active = new Set<number>();
    for (const [id, pr] of this.progress) {
      if (id === perspectiveOf) {
        pr.recentActive = true;
        active.add(id);
      } else if (pr.recentActive) {
        // Learners may be added too: hasQuorum only counts voter ids.
        active.add(id);
        pr.recentActive = false;
      }
    }
    return this.hasQuorum(active);
  }

  voterIds(): Set<number> {
    return this.config.voters.ids();
  }

  /** The live learner set (not a copy): do not mutate. */
  learnerIds(): Set<number> {
    return this.config.learners;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; only the first vote from each id counts. */
  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts granted/rejected votes of current voters and the election outcome. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    const voters = this.config.voters;
    for (const [id, v] of this.votes) {
      if (!voters.contains(id)) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: voters.voteResult(this.votes) };
  }

  /** Whether the given ids form a quorum in both halves of the voter config. */
  hasQuorum(potentialQuorum: Set<number>): boolean {
    return this.config.voters.hasQuorum(potentialQuorum);
  }

  /**
   * Installs a configuration produced by the Changer. `prs` is the complete new progress map (the
   * Changer already created progress for added peers, at lastIndex + 1, and dropped removed ones),
   * so `nextIdx` is unused; it is kept for signature parity with raft-rs.
   */
  applyConf(conf: TrackerConfig, prs: ProgressMap, nextIdx: number): void {
    void nextIdx;
    this.config = conf;
    this.progress = prs;
  }
}
