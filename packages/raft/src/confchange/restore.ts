// Rebuilding the tracker's configuration from a ConfState (snapshot restore, node restart).
import { ConfChangeError } from '../errors.js';
import { ProgressTracker } from '../tracker/tracker.js';
import { type ConfChangeSingle, ConfChangeType, type ConfState } from '../types.js';
import { Changer } from './changer.js';

const cc = (changeType: ConfChangeType, nodeId: number): ConfChangeSingle => ({ changeType, nodeId });

/**
 * Replaces tracker.config and tracker.progress with the configuration described by `cs`, with fresh
 * progress (next = lastIndex + 1) for every peer. Votes are left alone.
 *
 * The state is reached through ordinary Changer steps starting from an empty config, so it passes
 * the same validation as live changes: for a joint `cs`, the outgoing voters are added one by one,
 * then a single enterJoint removes them, adds the incoming voters and the learners (learnersNext
 * ends up staged because those ids are outgoing voters). E.g. voters=(1 2 3) learners=(5)
 * outgoing=(1 2 4 6) learnersNext=(4) becomes add 1, add 2, add 4, add 6, then
 * enterJoint(remove 1 2 4 6, add 1 2 3, learner 5, learner 4).
 *
 * Throws ConfChangeError if `cs` is invalid (no voters but learners, overlapping or duplicate ids,
 * learnersNext that are not outgoing voters, ...); the tracker is untouched in that case.
 */
export function restore(tracker: ProgressTracker, lastIndex: number, cs: ConfState): void {
  // Build on a scratch tracker so a failure leaves `tracker` as it was.
  const scratch = new ProgressTracker(tracker.maxInflight);
  const step = (f: (c: Changer) => ReturnType<Changer['simple']>): void => {
    const [cfg, prs] = f(new Changer(scratch, lastIndex));
    scratch.applyConf(cfg, prs, lastIndex + 1);
  };

  if (cs.votersOutgoing.length === 0) {
    // Not joint: one simple change per peer.
    for (const id of cs.voters) step((c) => c.simple([cc(ConfChangeType.AddNode, id)]));
    for (const id of cs.learners) step((c) => c.simple([cc(ConfChangeType.AddLearnerNode, id)]));
    for (const id of cs.learnersNext) step((c) => c.simple([cc(ConfChangeType.AddLearnerNode, id)]));
    if (cs.autoLeave) throw new ConfChangeError('autoLeave must be false when not joint');
  } else {
    for (const id of cs.votersOutgoing) step((c) => c.simple([cc(ConfChangeType.AddNode, id)]));
    const incoming: ConfChangeSingle[] = [];
    for (const id of cs.votersOutgoing) incoming.push(cc(ConfChangeType.RemoveNode, id));
    for (const id of cs.voters) incoming.push(cc(ConfChangeType.AddNode, id));
    for (const id of cs.learners) incoming.push(cc(ConfChangeType.AddLearnerNode, id));
    for (const id of cs.learnersNext) incoming.push(cc(ConfChangeType.AddLearnerNode, id));
    step((c) => c.enterJoint(cs.autoLeave, incoming));
  }

  // The steps accept some inputs that do not describe a config (a learner also listed as a voter
  // silently demotes it, duplicates collapse, ...): insist on an exact round trip.
  const got = scratch.confState();
  if (!confStateEquivalent(got, cs)) {
    throw new ConfChangeError(`ConfState ${describe(cs)} is not a valid configuration (restores as ${describe(got)})`);
  }
  tracker.config = scratch.config;
  tracker.progress = scratch.progress;
}

/** Whether two ConfStates describe the same configuration, ignoring the order of ids. */
export function confStateEquivalent(a: ConfState, b: ConfState): boolean {
  return (
    a.autoLeave === b.autoLeave &&
    sameIds(a.voters, b.voters) &&
    sameIds(a.learners, b.learners) &&
    sameIds(a.votersOutgoing, b.votersOutgoing) &&
    sameIds(a.learnersNext, b.learnersNext)
  );
}

// Compares as sorted multisets, so duplicates are significant.
function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.slice().sort((p, q) => p - q);
  const y = b.slice().sort((p, q) => p - q);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function describe(cs: ConfState): string {
  return (
    `{voters:[${cs.voters}] learners:[${cs.learners}] outgoing:[${cs.votersOutgoing}] learnersNext:[${cs.learnersNext}] ` +
    `autoLeave:${cs.autoLeave}}`
  );
}
