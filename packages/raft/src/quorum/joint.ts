// Joint consensus configuration: two majority configs that must BOTH agree. Outside a joint
// transition the outgoing half is empty, and an empty MajorityConfig is neutral for every decision.
import { type AckedIndexer, MajorityConfig, VoteResult } from './majority.js';

export class JointConfig {
  incoming: MajorityConfig;
  outgoing: MajorityConfig;

  constructor(incoming: MajorityConfig = new MajorityConfig(), outgoing: MajorityConfig = new MajorityConfig()) {
    this.incoming = incoming;
    this.outgoing = outgoing;
  }

  /** Union of the voters of both halves (a fresh set). */
  ids(): Set<number> {
    const s = new Set(this.incoming.ids);
    for (const id of this.outgoing.ids) s.add(id);
    return s;
  }

  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  contains(id: number): boolean {
    return this.incoming.ids.has(id) || this.outgoing.ids.has(id);
  }

  /** The largest index committed by both halves. Number.MAX_SAFE_INTEGER if both are empty. */
  committedIndex(l: AckedIndexer): number {
    const i = this.incoming.committedIndex(l);
    // Skip the outgoing half entirely in the common non-joint case.
    if (this.outgoing.size === 0) return i;
    const o = this.outgoing.committedIndex(l);
    return Math.min(i, o);
  }

  /** Won only if both halves win; Lost if either loses; Pending otherwise. */
  voteResult(votes: Map<number, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === VoteResult.Lost || r2 === VoteResult.Lost) return VoteResult.Lost;
    // One won, the other is pending.
    return VoteResult.Pending;
  }

  hasQuorum(ids: Set<number>): boolean {
    return this.incoming.hasQuorum(ids) && this.outgoing.hasQuorum(ids);
  }

  /** E.g. "(1 2 3)&&(1 2 4)", or "(1 2 3)" when not joint. */
  toString(): string {
    return this.outgoing.size > 0 ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }

  clone(): JointConfig {
    return new JointConfig(this.incoming.clone(), this.outgoing.clone());
  }
}
