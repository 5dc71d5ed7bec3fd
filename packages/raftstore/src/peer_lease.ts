// Leases: the leader's read lease (readMode 'lease'), and the vote grace of a restarted peer that
// keeps other leaders' leases sound.
import { eraftpb } from '@tskv/proto';
import { EMPTY_BYTES, type Message } from '@tskv/raft';

/**
 * The leader lease. A ReadIndex requested at time t was confirmed by a quorum whose heartbeat
 * responses were sent after t; each of those followers then refuses votes for an election timeout
 * (raft's check-quorum lease), so no other leader can exist before t + electionTimeout. The lease
 * ends earlier by a margin for timer lag, and with any term change. Reads inside it are served at
 * the commit index without a heartbeat round.
 *
 * Leader transfer: MsgTimeoutNow makes the transferee campaign with the transfer context, and
 * voters grant that vote even inside their lease. The message, and the vote requests it causes,
 * may arrive any time later, also after the transfer timed out, and the vote is granted as long
 * as the voter is still in this term. So no lease read in a term once a transfer has started in
 * it (`noteTransfer`): reads go through ReadIndex, which needs a quorum in this term.
 *
 * Membership changes keep the lease: the confirming quorum belongs to the configuration of that
 * moment, and every quorum of the next configuration intersects it (raft changes one voter at a
 * time or goes through a joint configuration). Each later change is proposed only after the
 * previous one is applied here, so after t, and the quorum that committed it heard this leader
 * after t; the quorums of the configuration it makes intersect that one. So every configuration
 * since t needs the vote of a peer that refuses votes until after the lease.
 *
 * Splits: a lease read takes the commit index as its read index and is checked against the region
 * again when served (Peer.serveReads). If a split was committed when the read was accepted, it is
 * applied by the time the read is served, which is then refused (EpochNotMatch). If not, no other
 * store knew it was committed (commit indexes come from this leader), so no peer of a new region
 * existed elsewhere, and the new regions' writes all come after the split: the moved keys read
 * here hold the parent's state up to the split.
 */
export class LeaderLease {
  private expiry = 0;
  /** The term of the confirmation that set `expiry`. */
  private term = 0;
  /** The last term in which this peer, as leader, started a leader transfer. */
  private transferTerm = 0;
  private served = 0;

  /** `lengthMs`: 0 turns lease reads off (readMode is not 'lease'). */
  constructor(readonly lengthMs: number) {}

  get enabled(): boolean {
    return this.lengthMs > 0;
  }

  /** Reads served inside the lease, without a heartbeat round (observability and tests). */
  get reads(): number {
    return this.served;
  }

  countRead(): void {
    this.served++;
  }

  /**
   * Raft's transferee in `term` (0: none). A transfer starts only when raft steps a
   * MsgTransferLeader, so the peer calls this after every step that can carry one.
   */
  noteTransfer(term: number, transferee: number): void {
    if (transferee !== 0) this.transferTerm = term;
  }

  /** A read index requested at `issuedAt` was confirmed by a quorum in `term`. */
  renew(issuedAt: number, term: number): void {
    const until = issuedAt + this.lengthMs;
    if (term !== this.term || until > this.expiry) this.expiry = until;
    this.term = term;
  }

  /** No longer leader. */
  expire(): void {
    this.expiry = 0;
  }

  /**
   * Whether a read at `now` in `term` may be served from the lease, as far as the lease goes: the
   * leader must also have committed an entry of its term (its commit index is then current).
   */
  covers(term: number, now: number): boolean {
    return this.enabled && term === this.term && term !== this.transferTerm && now < this.expiry;
  }
}

/** The context of the vote requests of a transferee's campaign (raft's CampaignTransfer). */
const CAMPAIGN_TRANSFER = Buffer.from('CampaignTransfer');

/**
 * Followers refuse votes for an election timeout after they last heard the leader, which is what
 * a leader lease counts on, but raft does so only while it knows that leader. A Raft created from
 * disk knows none and would grant a vote (or pre-vote) at once: a follower restarted just after
 * confirming a lease, with a candidate cut off from the leader long enough for its own election
 * timer to have run out, could elect another leader inside the lease. So for its first election
 * timeout such a peer ignores the vote requests raft ignores inside a lease: of a higher term and
 * not a transfer's. It started after anything it confirmed, so this outlasts the lease.
 */
export class VoteGrace {
  /** `ticks`: how long the grace lasts (0: none, for a peer that never took part in an election). */
  constructor(private ticks: number) {}

  get active(): boolean {
    return this.ticks > 0;
  }

  tick(): void {
    if (this.ticks > 0) this.ticks--;
  }

  /** Whether to ignore `m`, received in `term`: a vote request raft would ignore inside a lease. */
  ignores(m: Message, term: number): boolean {
    if (this.ticks === 0) return false;
    const t = m.msgType;
    if (t !== eraftpb.MessageType.MsgRequestVote && t !== eraftpb.MessageType.MsgRequestPreVote) return false;
    return m.term > term && Buffer.compare(m.context ?? EMPTY_BYTES, CAMPAIGN_TRANSFER) !== 0;
  }
}
