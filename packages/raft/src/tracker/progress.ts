// The leader's view of one follower's log replication.
import { Inflights } from './inflights.js';

/** Sentinel meaning "no index" (e.g. no pending snapshot request). */
const INVALID_INDEX = 0;

export enum ProgressState {
  /** Leader does not know the follower's log end: sends one MsgAppend per heartbeat and waits. */
  Probe = 0,
  /** Follower is known to match: leader streams entries optimistically, bounded by `ins`. */
  Replicate = 1,
  /** Follower needs a snapshot; replication is paused until it is applied or fails. */
  Snapshot = 2,
}

export class Progress {
  /** Highest index known to be replicated on the follower. Invariant: matched < nextIdx. */
  matched = 0;
  /** Index of the next entry to send. */
  nextIdx: number;
  state: ProgressState = ProgressState.Probe;
  /** Probe only: a probe is outstanding, so nothing more is sent until a response or heartbeat. */
  paused = false;
  /** Snapshot only: index of the snapshot being sent (0 after it was reported failed). */
  pendingSnapshot = 0;
  /** Index at which the follower asked for a snapshot (INVALID_INDEX = none). */
  pendingRequestSnapshot = INVALID_INDEX;
  /** Set by any message from the follower; cleared on every check-quorum round. */
  recentActive = false;
  ins: Inflights;
  isLearner = false;
  /** The follower's committed index as last reported. */
  committedIndex = 0;
  /** An append went to the follower since the last periodic heartbeat (Config.skipRedundantHeartbeats). */
  appendSinceHeartbeat = false;

  constructor(nextIdx: number, insSize: number) {
    this.nextIdx = nextIdx;
    this.ins = new Inflights(insSize);
  }

  private resetState(state: ProgressState): void {
    this.paused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.ins.reset();
  }

  /** Back to a fresh Probe at nextIdx, forgetting everything learned (used when becoming leader). */
  reset(nextIdx: number): void {
    this.matched = 0;
    this.nextIdx = nextIdx;
    this.state = ProgressState.Probe;
    this.paused = false;
    this.pendingSnapshot = 0;
    this.pendingRequestSnapshot = INVALID_INDEX;
    this.recentActive = false;
    this.appendSinceHeartbeat = false;
    this.ins.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // The snapshot was delivered (or failed: pendingSnapshot = 0), so probe right after it.
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.nextIdx = Math.max(this.matched + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.nextIdx = this.matched + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.nextIdx = this.matched + 1;
  }

  becomeSnapshot(snapshotIdx: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIdx;
  }

  snapshotFailure(): void {
    this.pendingSnapshot = 0;
  }

  /** In Snapshot state and the follower has caught up to the snapshot through normal acks. */
  isSnapshotCaughtUp(): boolean {
    return this.state === ProgressState.Snapshot && this.matched >= this.pendingSnapshot;
  }

  /**
   * Handles an ack up to n. Returns false if n is stale (not above matched); nextIdx is still
   * raised past n either way.
   */
  maybeUpdate(n: number): boolean {
    const updated = this.matched < n;
    if (updated) {
      this.matched = n;
      this.paused = false;
    }
    if (this.nextIdx < n + 1) this.nextIdx = n + 1;
    return updated;
  }

  /** Replicate: assume the entries up to n will be accepted. */
  optimisticUpdate(n: number): void {
    this.nextIdx = n + 1;
  }

  /**
   * Handles a rejection of the append at index `rejected`, with the follower's hint that it may
   * match up to `matchHint`. `requestSnapshot` (non-zero) means the follower asked for a snapshot.
   * Returns false if the rejection is stale (out of order) and was ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number, requestSnapshot: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // Entries up to matched are known to be on the follower, so a rejection at or below it is
      // stale -- except a snapshot request exactly at matched, which is genuine.
      if (rejected < this.matched || (rejected === this.matched && requestSnapshot === INVALID_INDEX)) {
        return false;
      }
      if (requestSnapshot === INVALID_INDEX) this.nextIdx = this.matched + 1;
      else this.pendingRequestSnapshot = requestSnapshot;
      return true;
    }

    // Probe/Snapshot send one append at a time at nextIdx-1, so any other rejection is stale.
    // A snapshot request is never considered stale.
    if ((this.nextIdx === 0 || this.nextIdx - 1 !== rejected) && requestSnapshot === INVALID_INDEX) {
      return false;
    }
    if (requestSnapshot === INVALID_INDEX) {
      // Jump back to the hint, but never below what is known to match.
      this.nextIdx = Math.min(rejected, matchHint + 1);
      if (this.nextIdx < this.matched + 1) this.nextIdx = this.matched + 1;
    } else if (this.pendingRequestSnapshot === INVALID_INDEX) {
      // Do not move nextIdx for a snapshot request; remember the first one.
      this.pendingRequestSnapshot = requestSnapshot;
    }
    this.paused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.paused;
      case ProgressState.Replicate:
        return this.ins.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Called after sending an append whose last entry is `last`. */
  updateState(last: number): void {
    switch (this.state) {
      case ProgressState.Replicate:
        this.optimisticUpdate(last);
        this.ins.add(last);
        return;
      case ProgressState.Probe:
        this.pause();
        return;
      case ProgressState.Snapshot:
        throw new Error(`updating progress state in unhandled state ${ProgressState[this.state]}`);
    }
  }

  updateCommitted(committedIndex: number): void {
    if (committedIndex > this.committedIndex) this.committedIndex = committedIndex;
  }

  clone(): Progress {
    const p = new Progress(this.nextIdx, 0);
    p.matched = this.matched;
    p.state = this.state;
    p.paused = this.paused;
    p.pendingSnapshot = this.pendingSnapshot;
    p.pendingRequestSnapshot = this.pendingRequestSnapshot;
    p.recentActive = this.recentActive;
    p.ins = this.ins.clone();
    p.isLearner = this.isLearner;
    p.committedIndex = this.committedIndex;
    return p;
  }

  /** E.g. "StateReplicate match=5 next=6 learner inflight=2[full]". */
  toString(): string {
    let s = `State${ProgressState[this.state]} match=${this.matched} next=${this.nextIdx}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (this.pendingRequestSnapshot > 0) s += ` pendingRequestSnap=${this.pendingRequestSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.ins.count > 0) s += ` inflight=${this.ins.count}${this.ins.full() ? '[full]' : ''}`;
    return s;
  }
}
