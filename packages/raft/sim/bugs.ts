// Deliberately broken Raft variants, to prove the simulation catches real safety bugs. Each is a
// Raft subclass run through RawNode.fromRaft, selected by name so worker threads can build them.
import { Config, Raft, RawNode, Storage } from '../src/index.js';
import { NodeFactory } from './node.js';

/**
 * Figure 8 of the Raft paper: commits whatever a quorum has replicated, forgetting that a leader
 * may only commit entries of its own term by counting replicas (§5.4.2). An old-term entry it
 * commits this way can later be overwritten by a candidate with a newer last term.
 */
export class CommitByCountingRaft extends Raft {
  override maybeCommit(): boolean {
    const mci = this.prs.committed();
    if (mci <= this.raftLog.committed) return false;
    this.raftLog.commitTo(mci);
    return true;
  }
}

/** Grants votes regardless of the candidate's log (§5.4.1's election restriction removed). */
export class NoElectionRestrictionRaft extends Raft {
  protected override isCandidateLogUpToDate(): boolean {
    return true;
  }
}

const wrap =
  (R: new (c: Config, s: Storage) => Raft): NodeFactory =>
  (cfg, storage, applied) =>
    RawNode.fromRaft(new R(cfg, storage), applied);

export const BUGS = {
  figure8: wrap(CommitByCountingRaft),
  noElectionRestriction: wrap(NoElectionRestrictionRaft),
} satisfies Record<string, NodeFactory>;

export type BugName = keyof typeof BUGS;

export function isBugName(s: string): s is BugName {
  return Object.prototype.hasOwnProperty.call(BUGS, s);
}
