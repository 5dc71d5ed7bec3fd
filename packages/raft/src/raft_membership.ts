// Membership: what a new configuration means for this node (learner status, a removed leader's
// step-down, commits under the new quorum), and restoring a snapshot, which brings the log and the
// configuration of its index. Raft keeps thin methods over these.

import { confStateEquivalent, restore as restoreConf } from './confchange/restore.js';
import { StoreError } from './errors.js';
import type { Raft } from './raft.js';
import { INVALID_ID, StateRole } from './state_role.js';
import { ProgressTracker } from './tracker/tracker.js';
import type { ConfState, Snapshot } from './types.js';

/** Reacts to a new configuration: learner status, stepping down if removed, commit with the new quorum. */
export function postConfChange(r: Raft): ConfState {
  const cs = r.prs.confState();
  const pr = r.prs.get(r.id);
  r.isLearner = pr?.isLearner ?? false;
  if ((pr === undefined || r.isLearner) && r.state === StateRole.Leader) {
    // Removed or demoted leader: make sure the others learn that the change committed, and
    // step down once a quorum of them acknowledged it (maybeStepDownAfterRemoval).
    r.stepDownAfterCommit = r.raftLog.committed;
    r.bcastAppend();
    r.maybeStepDownAfterRemoval();
    return cs;
  }
  if (r.state !== StateRole.Leader || cs.voters.length === 0) return cs;
  if (r.maybeCommit()) {
    // The quorum may have shrunk, committing more entries.
    r.bcastAppend();
  } else {
    // Probe new peers now rather than waiting for the next heartbeat.
    for (const id of r.prs.progress.keys()) if (id !== r.id) r.maybeSendAppend(id, false);
  }
  if (r.leadTransferee !== INVALID_ID && !r.prs.config.voters.contains(r.leadTransferee)) r.abortLeaderTransfer();
  return cs;
}

/** Steps down a removed leader once a quorum of the new configuration knows the commit index. */
export function maybeStepDownAfterRemoval(r: Raft): void {
  if (r.stepDownAfterCommit === 0 || r.state !== StateRole.Leader) return;
  const acked = new Set<number>();
  for (const [id, pr] of r.prs.progress) if (pr.committedIndex >= r.stepDownAfterCommit) acked.add(id);
  if (!r.prs.hasQuorum(acked)) return;
  r.logger.info('raft: removed leader steps down; the new configuration knows the change committed', {
    raftId: r.id,
    term: r.term,
  });
  r.becomeFollower(r.term, INVALID_ID);
}

/** Installs a snapshot from the leader; false if it is stale or already covered by the log. */
export function restore(r: Raft, snap: Snapshot): boolean {
  const meta = snap.metadata;
  if (meta.index < r.raftLog.committed) return false;
  if (r.state !== StateRole.Follower) {
    // Only a follower of the snapshot sender's term gets here; anything else is a bug.
    r.logger.warn('raft: non-follower attempted to restore snapshot', { raftId: r.id, state: StateRole[r.state] });
    r.becomeFollower(r.term + 1, INVALID_ID);
    return false;
  }
  const cs = meta.confState;
  const inConf = cs.voters.includes(r.id) || cs.learners.includes(r.id) || cs.votersOutgoing.includes(r.id);
  if (!inConf) {
    r.logger.warn('raft: attempted to restore snapshot but it is not in the ConfState', { raftId: r.id, confState: cs });
    return false;
  }
  if (r.raftLog.matchTerm(meta.index, meta.term)) {
    // Our log already has the snapshot's last entry: just fast-forward the commit index.
    r.logger.info('raft: fast-forwarded commit to snapshot', { raftId: r.id, index: meta.index, term: meta.term });
    r.raftLog.commitTo(meta.index);
    return false;
  }
  r.raftLog.restore(snap);
  r.prs = new ProgressTracker(r.prs.maxInflight);
  restoreConf(r.prs, r.raftLog.lastIndex(), cs);
  const newCs = r.postConfChange();
  if (!confStateEquivalent(newCs, cs))
    throw new StoreError(`conf state after snapshot restore differs: ${JSON.stringify(newCs)} vs ${JSON.stringify(cs)}`);
  return true;
}
