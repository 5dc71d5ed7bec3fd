// Safety invariants, checked incrementally so they can run after every simulation step:
//   election-safety       at most one leader per term;
//   log-matching          entries with equal (index, term) have equal log prefixes, on every node
//                         that ever held them, and every node's committed prefix is the cluster's;
//   leader-completeness   an entry committed in term T is in the log of every leader of a term > T;
//   state-machine-safety  no two nodes apply different entries (or reach different states) at an index;
//   linearizable-read     a ReadIndex answer covers every write acknowledged before the request.
// durability and liveness are checked at the end of a run (cluster.ts).
import type { Snapshot } from '../src/index.js';
import { BOOT_PREFIX } from './hash.js';
import type { LogShadow, LogView, PendingWrite } from './shadow.js';
import { BOOT_SM_HASH } from './state_machine.js';

export type Invariant =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'linearizable-read'
  | 'durability'
  | 'liveness'
  | 'library-error';

export class Violation extends Error {
  constructor(
    readonly invariant: Invariant,
    readonly detail: string,
  ) {
    super(`[${invariant}] ${detail}`);
  }
}

interface LeaderRecord {
  term: number;
  id: number;
  /** The leader's log at election from `from` (one past the commit index then) to `last`. */
  from: number;
  last: number;
  hashes: number[];
}

interface ReadRecord {
  node: number;
  /** Highest log index of a proposal acknowledged before the request was made. */
  minIndex: number;
  served: boolean;
}

const TERM_LIMIT = 2 ** 21;
const key = (index: number, term: number): number => {
  if (term >= TERM_LIMIT) throw new Error(`sim: term ${term} too large for the entry registry`);
  return index * TERM_LIMIT + term;
};

export class Checker {
  /** Highest commit index any node has shown; [1, globalCommit] is the committed log. */
  globalCommit = 1;
  private readonly cTerm: number[] = [0, 1];
  private readonly cHash: number[] = [0, BOOT_PREFIX];
  /** The term of the node on which the commit of each index was first seen (>= the real commit term). */
  private readonly cCommitTerm: number[] = [0, 0];
  /** (index, term) -> prefix hash, for every entry any node ever wrote. */
  private readonly registry = new Map<number, number>([[key(1, 1), BOOT_PREFIX]]);
  /** Leaders by descending term. */
  private readonly leaders: LeaderRecord[] = [];
  private readonly leaderByTerm = new Map<number, LeaderRecord>();
  private readonly appliedDigest: number[] = [0, 0];
  private readonly smHash: number[] = [0, BOOT_SM_HASH];
  readonly acked = new Map<number, number>();
  maxAckedIndex = 0;
  private readonly reads = new Map<number, ReadRecord>();
  readonly stats = { leaders: 0, readsServed: 0, snapshotsInstalled: 0 };

  // ---- log matching ----

  /** Hashes what node `id` is about to persist and checks it against every other log. */
  prepareWrite(id: number, shadow: LogShadow, snapshot: Snapshot | null, entries: Parameters<LogShadow['prepare']>[2]): PendingWrite {
    let snapHash = 0;
    if (snapshot) {
      const { index, term } = snapshot.metadata;
      const h = this.registry.get(key(index, term));
      if (h === undefined)
        throw new Violation('log-matching', `node ${id} received a snapshot at (index ${index}, term ${term}), an entry no node ever had`);
      if (index <= this.globalCommit && h !== this.cHash[index]) {
        throw new Violation(
          'state-machine-safety',
          `node ${id} received a snapshot at (index ${index}, term ${term}) ` +
            `that is not of the committed log (committed entry ${index} has term ${this.cTerm[index]})`,
        );
      }
      snapHash = h;
      this.stats.snapshotsInstalled++;
    }
    const w = shadow.prepare(snapshot, snapHash, entries);
    for (let i = 0; i < w.hashes.length; i++) {
      const index = w.first + i;
      const term = w.terms[i]!;
      const k = key(index, term);
      const prev = this.registry.get(k);
      if (prev === undefined) this.registry.set(k, w.hashes[i]!);
      else if (prev !== w.hashes[i]) {
        throw new Violation(
          'log-matching',
          `node ${id} holds entry (index ${index}, term ${term}) that differs from another node's (index ${index}, ` +
            `term ${term}) in itself or in a preceding entry`,
        );
      }
    }
    return w;
  }

  // ---- election safety and leader completeness ----

  /** Node `id` is leader of `term` with log `view`. */
  noteLeader(id: number, term: number, view: LogView): void {
    const rec = this.leaderByTerm.get(term);
    if (rec) {
      if (rec.id !== id) throw new Violation('election-safety', `nodes ${rec.id} and ${id} were both leader of term ${term}`);
      return;
    }
    // Every entry committed in an earlier term must be in the new leader's log. Committed
    // entries form a prefix, so checking the prefix hash of the last such index covers them all.
    let k = this.globalCommit;
    while (k > 1 && this.cCommitTerm[k]! >= term) k--;
    if (k >= view.base) {
      if (k > view.last()) {
        throw new Violation(
          'leader-completeness',
          `node ${id} became leader of term ${term} with last index ${view.last()}, ` +
            `missing committed entry ${k} (term ${this.cTerm[k]}, committed by term ${this.cCommitTerm[k]})`,
        );
      }
      if (view.hashAt(k) !== this.cHash[k]) {
        throw new Violation(
          'leader-completeness',
          `node ${id} became leader of term ${term} with a log that differs from the committed log at or before index ${k} ` +
            `(committed entry ${k} has term ${this.cTerm[k]})`,
        );
      }
    }
    const from = this.globalCommit + 1;
    const last = view.last();
    const hashes: number[] = [];
    for (let i = from; i <= last; i++) hashes.push(view.hashAt(i)!);
    const r: LeaderRecord = { term, id, from, last, hashes };
    this.leaderByTerm.set(term, r);
    let at = this.leaders.findIndex((x) => x.term < term);
    if (at < 0) at = this.leaders.length;
    this.leaders.splice(at, 0, r);
    this.stats.leaders++;
  }

  /**
   * Node `id` (in `term`) has commit index `commit` over durable log `shadow`. Checks its committed
   * prefix against the cluster's, and extends the cluster's when it is the first to commit more.
   */
  noteCommit(id: number, term: number, commit: number, shadow: LogShadow): void {
    const h = shadow.hashAt(commit);
    if (h === undefined)
      throw new Violation('library-error', `node ${id} has commit index ${commit} outside its log [${shadow.base}, ${shadow.last()}]`);
    const gc = this.globalCommit;
    if (commit <= gc) {
      if (h !== this.cHash[commit])
        throw new Violation(
          'log-matching',
          `node ${id}'s committed log up to ${commit} differs from the committed log seen on other nodes`,
        );
      return;
    }
    if (gc >= shadow.base && shadow.hashAt(gc) !== this.cHash[gc]) {
      throw new Violation(
        'log-matching',
        `node ${id} committed up to ${commit}, but its log differs from the committed log at or before ${gc}`,
      );
    }
    for (let i = gc + 1; i <= commit; i++) {
      this.cTerm[i] = shadow.termAt(i)!;
      this.cHash[i] = shadow.hashAt(i)!;
      this.cCommitTerm[i] = term;
    }
    this.globalCommit = commit;
    // Leaders of later terms elected before this commit was seen must hold it too.
    for (const l of this.leaders) {
      if (l.term <= term) break;
      if (commit > l.last) {
        throw new Violation(
          'leader-completeness',
          `entry ${commit} (term ${this.cTerm[commit]}) was committed in term ${term}, but node ${l.id}, ` +
            `leader of later term ${l.term}, had last index ${l.last}`,
        );
      }
      if (l.hashes[commit - l.from] !== this.cHash[commit]) {
        throw new Violation(
          'leader-completeness',
          `entry ${commit} (term ${this.cTerm[commit]}) was committed in term ${term}, but node ${l.id}, ` +
            `leader of later term ${l.term}, had a different log there`,
        );
      }
    }
  }

  // ---- state machine safety ----

  onApply(id: number, index: number, digest: number, smHashAfter: number): void {
    const d = this.appliedDigest[index];
    if (d === undefined) {
      this.appliedDigest[index] = digest;
      this.smHash[index] = smHashAfter;
      return;
    }
    if (d !== digest)
      throw new Violation('state-machine-safety', `node ${id} applied a different entry at index ${index} than another node did`);
    if (this.smHash[index] !== smHashAfter)
      throw new Violation('state-machine-safety', `node ${id}'s state machine after index ${index} differs from another node's`);
  }

  onSnapshotRestore(id: number, index: number, smHashAt: number): void {
    const h = this.smHash[index];
    if (h === undefined) this.smHash[index] = smHashAt;
    else if (h !== smHashAt) {
      throw new Violation(
        'state-machine-safety',
        `node ${id} restored a snapshot at ${index} whose state differs from the state other nodes reached there`,
      );
    }
  }

  // ---- client observations ----

  onAck(proposal: number, index: number): void {
    this.acked.set(proposal, index);
    if (index > this.maxAckedIndex) this.maxAckedIndex = index;
  }

  onReadRequest(read: number, node: number): void {
    this.reads.set(read, { node, minIndex: this.maxAckedIndex, served: false });
  }

  /** Node `id` answers read `read` at readIndex `index`, having applied at least that far. */
  onReadServed(read: number, id: number, index: number, applied: number): void {
    const r = this.reads.get(read);
    if (!r) throw new Error(`sim: unknown read ${read}`);
    if (index < r.minIndex || applied < r.minIndex) {
      throw new Violation(
        'linearizable-read',
        `read ${read} on node ${id} got read index ${index} (applied ${applied}), ` +
          `but a write at index ${r.minIndex} was acknowledged before the read was issued`,
      );
    }
    if (!r.served) this.stats.readsServed++;
    r.served = true;
  }
}
