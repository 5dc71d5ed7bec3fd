// Deliberately broken Raft variants, to prove the simulation catches real safety bugs. Each is a
// Raft subclass run through RawNode.fromRaft, selected by name so worker threads can build them.
import { type Config, type Message, MessageType, newMessage, Raft, RawNode, type Storage } from '../src/index.js';
import type { NodeFactory } from './node.js';

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

/**
 * Serves ReadIndex from its own commit index without confirming leadership (lease reads without
 * check-quorum): a deposed leader that has not heard of its successor answers stale reads.
 */
export class UnconfirmedReadsRaft extends Raft {
  constructor(c: Config, s: Storage) {
    super(c, s);
    const ReadOnly = this.readOnly.constructor as new (option: 'safe' | 'leaseBased') => Raft['readOnly'];
    this.readOnly = new ReadOnly('leaseBased');
  }
}

/**
 * Accepts an append whose previous entry does not match its log (the consistency check of
 * §5.3 skipped), splicing the leader's entries onto a different prefix.
 */
export class NoConsistencyCheckRaft extends Raft {
  override handleAppendEntries(m: Message): void {
    const log = this.raftLog;
    if (m.entries.length > 0 && m.index >= log.committed && m.index <= log.lastIndex() && !log.matchTerm(m.index, m.logTerm)) {
      const last = log.append(m.entries);
      log.commitTo(Math.min(m.commit, last));
      this.send(newMessage({ msgType: MessageType.MsgAppendResponse, to: m.from, index: last, commit: log.committed }));
      return;
    }
    super.handleAppendEntries(m);
  }
}

/** Forgets whom it voted for when it restarts (the vote is not durable): two leaders per term. */
export class ForgetVoteRaft extends Raft {
  constructor(c: Config, s: Storage) {
    super(c, s);
    this.vote = 0;
  }
}

const wrap =
  (R: new (c: Config, s: Storage) => Raft): NodeFactory =>
  (cfg, storage, applied) =>
    RawNode.fromRaft(new R(cfg, storage), applied);

export const BUGS = {
  figure8: wrap(CommitByCountingRaft),
  noElectionRestriction: wrap(NoElectionRestrictionRaft),
  unconfirmedReads: wrap(UnconfirmedReadsRaft),
  forgetVote: wrap(ForgetVoteRaft),
  noConsistencyCheck: wrap(NoConsistencyCheckRaft),
} satisfies Record<string, NodeFactory>;

export type BugName = keyof typeof BUGS;

export function isBugName(s: string): s is BugName {
  return Object.hasOwn(BUGS, s);
}
