// Validated configuration changes (etcd confchange semantics). The Changer never mutates the
// tracker: it returns a new TrackerConfig and ProgressMap which the caller installs with
// ProgressTracker.applyConf only if no error was thrown.
import { ConfChangeError } from '../errors.js';
import { MajorityConfig } from '../quorum/majority.js';
import { Progress } from '../tracker/progress.js';
import { cloneTrackerConfig, type ProgressMap, type ProgressTracker, type TrackerConfig } from '../tracker/tracker.js';
import { type ConfChangeSingle, ConfChangeType } from '../types.js';

export class Changer {
  private readonly tracker: ProgressTracker;
  private readonly lastIndex: number;

  /** `lastIndex` is the leader's last log index; new peers are probed from lastIndex + 1. */
  constructor(tracker: ProgressTracker, lastIndex: number) {
    this.tracker = tracker;
    this.lastIndex = lastIndex;
  }

  /**
   * Enters a joint config: copies the incoming voters to the outgoing half, then applies `ccs` to
   * the incoming half, giving C_{new,old} of the Raft thesis (section 4.3).
   */
  enterJoint(autoLeave: boolean, ccs: ConfChangeSingle[]): [TrackerConfig, ProgressMap] {
    const [cfg, prs] = this.checkAndCopy();
    if (cfg.voters.isJoint()) throw new ConfChangeError('config is already joint');
    // An empty config may be built by simple changes (bootstrap), but cannot go joint.
    if (cfg.voters.incoming.size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    cfg.voters.outgoing = cfg.voters.incoming.clone();
    this.apply(cfg, prs, ccs);
    cfg.autoLeave = autoLeave;
    return this.finish(cfg, prs);
  }

  /**
   * Leaves the joint config: drops the outgoing half (C_{new,old} -> C_new), turns the staged
   * learnersNext into learners and forgets peers that are in neither the incoming voters nor learners.
   */
  leaveJoint(): [TrackerConfig, ProgressMap] {
    const [cfg, prs] = this.checkAndCopy();
    if (!cfg.voters.isJoint()) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of cfg.learnersNext) cfg.learners.add(id);
    cfg.learnersNext.clear();
    for (const id of cfg.voters.outgoing.ids) {
      if (!cfg.voters.incoming.ids.has(id) && !cfg.learners.has(id)) prs.delete(id);
    }
    cfg.voters.outgoing = new MajorityConfig();
    cfg.autoLeave = false;
    return this.finish(cfg, prs);
  }

  /**
   * Applies changes that together add or remove at most one voter of a non-joint config (any
   * number of learner changes is fine). Anything bigger needs enterJoint.
   */
  simple(ccs: ConfChangeSingle[]): [TrackerConfig, ProgressMap] {
    const [cfg, prs] = this.checkAndCopy();
    if (cfg.voters.isJoint()) throw new ConfChangeError("can't apply simple config change in joint config");
    this.apply(cfg, prs, ccs);
    if (symdiff(this.tracker.config.voters.incoming.ids, cfg.voters.incoming.ids) > 1) {
      throw new ConfChangeError('more than one voter changed without entering joint config');
    }
    return this.finish(cfg, prs);
  }

  // Changes to voters always go to the incoming half; the outgoing half is frozen while joint.
  private apply(cfg: TrackerConfig, prs: ProgressMap, ccs: ConfChangeSingle[]): void {
    for (const cc of ccs) {
      // Node id 0 marks a change the application decided not to apply: ignore it.
      if (cc.nodeId === 0) continue;
      switch (cc.changeType) {
        case ConfChangeType.AddNode:
          this.makeVoter(cfg, prs, cc.nodeId);
          break;
        case ConfChangeType.AddLearnerNode:
          this.makeLearner(cfg, prs, cc.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          remove(cfg, prs, cc.nodeId);
          break;
        default:
          throw new ConfChangeError(`unexpected conf change type ${String(cc.changeType)}`);
      }
    }
    if (cfg.voters.incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  /** Adds id as a voter in the incoming half, or promotes a learner. */
  private makeVoter(cfg: TrackerConfig, prs: ProgressMap, id: number): void {
    if (!prs.has(id)) prs.set(id, this.newProgress());
    cfg.voters.incoming.ids.add(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
  }

  /**
   * Adds id as a learner, or demotes a voter. A voter of the outgoing half cannot be a learner at
   * the same time, so its demotion is staged in learnersNext until leaveJoint.
   */
  private makeLearner(cfg: TrackerConfig, prs: ProgressMap, id: number): void {
    if (!prs.has(id)) {
      prs.set(id, this.newProgress());
      cfg.learners.add(id);
      return;
    }
    if (cfg.learners.has(id)) return;
    // Demote, keeping the existing progress.
    cfg.voters.incoming.ids.delete(id);
    cfg.learnersNext.delete(id);
    if (cfg.voters.outgoing.ids.has(id)) cfg.learnersNext.add(id);
    else cfg.learners.add(id);
  }

  private newProgress(): Progress {
    const pr = new Progress(this.lastIndex + 1, this.tracker.maxInflight);
    // Counts as active so that check-quorum does not depose the leader before the peer can respond.
    pr.recentActive = true;
    return pr;
  }

  /** Copies the tracker's config (deeply) and progress map (shallowly), after validating them. */
  private checkAndCopy(): [TrackerConfig, ProgressMap] {
    checkInvariants(this.tracker.config, this.tracker.progress);
    return [cloneTrackerConfig(this.tracker.config), new Map(this.tracker.progress)];
  }

  /**
   * Brings the isLearner flags in line with the new config and validates the result. Progress
   * objects still shared with the tracker are cloned before the flag is changed.
   */
  private finish(cfg: TrackerConfig, prs: ProgressMap): [TrackerConfig, ProgressMap] {
    const old = this.tracker.progress;
    for (const [id, pr] of prs) {
      const learner = cfg.learners.has(id);
      if (pr.isLearner === learner) continue;
      if (old.get(id) === pr) {
        const copy = pr.clone();
        copy.isLearner = learner;
        prs.set(id, copy);
      } else {
        pr.isLearner = learner;
      }
    }
    checkInvariants(cfg, prs);
    return [cfg, prs];
  }
}

/** Removes id as a voter or learner from the incoming config; keeps its progress while it is an outgoing voter. */
function remove(cfg: TrackerConfig, prs: ProgressMap, id: number): void {
  if (!prs.has(id)) return;
  cfg.voters.incoming.ids.delete(id);
  cfg.learners.delete(id);
  cfg.learnersNext.delete(id);
  if (!cfg.voters.outgoing.ids.has(id)) prs.delete(id);
}

/** Checks that a config and progress map are consistent; used on both the Changer's input and output. */
function checkInvariants(cfg: TrackerConfig, prs: ProgressMap): void {
  // The empty config is allowed: it is the starting point of bootstrap and restore.
  const { incoming, outgoing } = cfg.voters;
  for (const id of incoming.ids) if (!prs.has(id)) throw new ConfChangeError(`no progress for voter ${id}`);
  for (const id of outgoing.ids) if (!prs.has(id)) throw new ConfChangeError(`no progress for outgoing voter ${id}`);
  for (const id of cfg.learners) {
    const pr = prs.get(id);
    if (pr === undefined) throw new ConfChangeError(`no progress for learner ${id}`);
    if (outgoing.ids.has(id)) throw new ConfChangeError(`${id} is in learners and outgoing voters`);
    if (incoming.ids.has(id)) throw new ConfChangeError(`${id} is in learners and incoming voters`);
    if (!pr.isLearner) throw new ConfChangeError(`${id} is in learners, but is not marked as learner`);
  }
  for (const id of cfg.learnersNext) {
    const pr = prs.get(id);
    if (pr === undefined) throw new ConfChangeError(`no progress for learner(next) ${id}`);
    // A staged learner was staged because it is still an outgoing voter.
    if (!outgoing.ids.has(id)) throw new ConfChangeError(`${id} is in learnersNext, but not in outgoing voters`);
    if (incoming.ids.has(id)) throw new ConfChangeError(`${id} is in learnersNext and incoming voters`);
    if (pr.isLearner) throw new ConfChangeError(`${id} is in learnersNext, but is already marked as learner`);
  }
  if (!cfg.voters.isJoint()) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError('learnersNext must be empty when not joint');
    if (cfg.autoLeave) throw new ConfChangeError('autoLeave must be false when not joint');
  }
}

/** |a \ b| + |b \ a| */
function symdiff(a: Set<number>, b: Set<number>): number {
  let n = 0;
  for (const id of a) if (!b.has(id)) n++;
  for (const id of b) if (!a.has(id)) n++;
  return n;
}

/** Space-separated "Type(id)" list, e.g. "AddNode(1) RemoveNode(2)". */
export function describeChanges(ccs: ConfChangeSingle[]): string {
  return ccs.map((cc) => `${ConfChangeType[cc.changeType] ?? cc.changeType}(${cc.nodeId})`).join(' ');
}
