import { ConfigInvalidError } from './errors.js';
import { type Logger, silentLogger } from './util.js';

/**
 * How read-only queries are served. `safe` confirms leadership with a heartbeat round for every
 * ReadIndex batch; `leaseBased` trusts the leader lease (needs checkQuorum, and bounded clock drift).
 */
export type ReadOnlyOption = 'safe' | 'leaseBased';

export interface ConfigOptions {
  /** This node's id; never 0. */
  id: number;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [electionTick, 2*electionTick)). */
  electionTick?: number;
  /** Ticks between leader heartbeats; must be less than electionTick. */
  heartbeatTick?: number;
  /** The last applied index, when restarting; committed entries at or below it are not re-delivered. */
  applied?: number;
  /** Maximum bytes of entries per MsgAppend (at least one entry is always sent). Infinity for no limit. */
  maxSizePerMsg?: number;
  /** Maximum bytes of committed entries handed out per Ready. */
  maxCommittedSizePerReady?: number;
  /** Maximum bytes of proposed but uncommitted entry payloads on a leader; proposals beyond are dropped. */
  maxUncommittedEntriesSize?: number;
  /** Maximum in-flight MsgAppend per follower in Replicate state. */
  maxInflightMsgs?: number;
  /** A leader steps down if it has not heard from a quorum for an election timeout. */
  checkQuorum?: boolean;
  /** Run a PreVote round before incrementing the term (avoids disruption by partitioned nodes). */
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  /** Do not broadcast a commit index change immediately (it piggybacks on the next append/heartbeat). */
  skipBcastCommit?: boolean;
  /**
   * The leader's periodic heartbeat skips a follower in Replicate state that was sent an append
   * since the last heartbeat, unless a read waits for heartbeat acks: the append reset the
   * follower's election timer and its answer counts for check-quorum. The follower learns commit
   * indexes from the appends (each carries the commit of its sending), and from the first
   * heartbeat after the appends stop. Busy regions then cost no heartbeats.
   */
  skipRedundantHeartbeats?: boolean;
  /** Election timeout range override; 0 means [electionTick, 2*electionTick). */
  minElectionTick?: number;
  maxElectionTick?: number;
  /** Source of randomness for election timeouts (seeded in simulations). Returns [0, 1). */
  random?: () => number;
  logger?: Logger;
}

export class Config {
  id: number;
  electionTick: number;
  heartbeatTick: number;
  applied: number;
  maxSizePerMsg: number;
  maxCommittedSizePerReady: number;
  maxUncommittedEntriesSize: number;
  maxInflightMsgs: number;
  checkQuorum: boolean;
  preVote: boolean;
  readOnlyOption: ReadOnlyOption;
  disableProposalForwarding: boolean;
  skipBcastCommit: boolean;
  skipRedundantHeartbeats: boolean;
  minElectionTick: number;
  maxElectionTick: number;
  random: () => number;
  logger: Logger;

  constructor(o: ConfigOptions) {
    this.id = o.id;
    this.electionTick = o.electionTick ?? 10;
    this.heartbeatTick = o.heartbeatTick ?? 2;
    this.applied = o.applied ?? 0;
    this.maxSizePerMsg = o.maxSizePerMsg ?? 1024 * 1024;
    this.maxCommittedSizePerReady = o.maxCommittedSizePerReady ?? 16 * 1024 * 1024;
    this.maxUncommittedEntriesSize = o.maxUncommittedEntriesSize ?? Infinity;
    this.maxInflightMsgs = o.maxInflightMsgs ?? 256;
    this.checkQuorum = o.checkQuorum ?? false;
    this.preVote = o.preVote ?? false;
    this.readOnlyOption = o.readOnlyOption ?? 'safe';
    this.disableProposalForwarding = o.disableProposalForwarding ?? false;
    this.skipBcastCommit = o.skipBcastCommit ?? false;
    this.skipRedundantHeartbeats = o.skipRedundantHeartbeats ?? false;
    this.minElectionTick = o.minElectionTick ?? 0;
    this.maxElectionTick = o.maxElectionTick ?? 0;
    this.random = o.random ?? Math.random;
    this.logger = o.logger ?? silentLogger;
  }

  minElection(): number {
    return this.minElectionTick === 0 ? this.electionTick : this.minElectionTick;
  }

  maxElection(): number {
    return this.maxElectionTick === 0 ? 2 * this.electionTick : this.maxElectionTick;
  }

  /** Throws ConfigInvalidError naming the first inconsistent setting. */
  validate(): void {
    const intAtLeast = (name: string, v: number, min: number): void => {
      if (!Number.isSafeInteger(v) || v < min) throw new ConfigInvalidError(`${name} must be an integer >= ${min}, got ${v}`);
    };
    intAtLeast('id', this.id, 1);
    intAtLeast('heartbeatTick', this.heartbeatTick, 1);
    intAtLeast('electionTick', this.electionTick, 1);
    if (this.electionTick <= this.heartbeatTick) {
      throw new ConfigInvalidError(`electionTick (${this.electionTick}) must be greater than heartbeatTick (${this.heartbeatTick})`);
    }
    intAtLeast('applied', this.applied, 0);
    intAtLeast('maxInflightMsgs', this.maxInflightMsgs, 1);
    for (const [name, v] of [
      ['maxSizePerMsg', this.maxSizePerMsg],
      ['maxCommittedSizePerReady', this.maxCommittedSizePerReady],
      ['maxUncommittedEntriesSize', this.maxUncommittedEntriesSize],
    ] as const) {
      if (!(v > 0)) throw new ConfigInvalidError(`${name} must be positive, got ${v}`);
    }
    const min = this.minElection();
    const max = this.maxElection();
    if (min < this.electionTick) throw new ConfigInvalidError(`minElectionTick (${min}) must be >= electionTick (${this.electionTick})`);
    if (min >= max) throw new ConfigInvalidError(`minElectionTick (${min}) must be less than maxElectionTick (${max})`);
    if (this.readOnlyOption !== 'safe' && this.readOnlyOption !== 'leaseBased') {
      throw new ConfigInvalidError(`readOnlyOption must be 'safe' or 'leaseBased', got ${String(this.readOnlyOption)}`);
    }
    if (this.readOnlyOption === 'leaseBased' && !this.checkQuorum) {
      throw new ConfigInvalidError(
        'readOnlyOption leaseBased requires checkQuorum: without it a deposed leader may keep serving stale reads',
      );
    }
  }
}
