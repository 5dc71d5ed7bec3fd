// The Storage raft reads, over the node's MemoryStorage ("the disk"). Two additions to plain
// MemoryStorage, both what a real application (TiKV-style) does:
// - a snapshot is (re)generated on demand when the stored one is too old or predates the
//   recipient joining (a snapshot whose ConfState lacks the recipient is refused by it, and the
//   leader would resend it forever);
// - snapshot generation randomly reports "temporarily unavailable", exercising raft's retry.

import type { Entry } from '../src/index.js';
import {
  type ConfState,
  type MemoryStorage,
  type RaftState,
  type Snapshot,
  SnapshotTemporarilyUnavailableError,
  type Storage,
} from '../src/index.js';

export interface SnapshotSource {
  /** Creates a snapshot of the state machine as of now in the MemoryStorage. */
  regenerate(): void;
  /** True when this request should fail as temporarily unavailable. */
  flaky(): boolean;
}

export function inConf(cs: ConfState, id: number): boolean {
  return cs.voters.includes(id) || cs.learners.includes(id) || cs.votersOutgoing.includes(id) || cs.learnersNext.includes(id);
}

export class SimStorage implements Storage {
  constructor(
    readonly mem: MemoryStorage,
    private readonly source: SnapshotSource,
  ) {}

  initialState(): RaftState {
    return this.mem.initialState();
  }

  entries(low: number, high: number, maxSize?: number): Entry[] {
    return this.mem.entries(low, high, maxSize);
  }

  term(idx: number): number {
    return this.mem.term(idx);
  }

  firstIndex(): number {
    return this.mem.firstIndex();
  }

  lastIndex(): number {
    return this.mem.lastIndex();
  }

  snapshot(requestIndex: number, to: number): Snapshot {
    if (this.source.flaky()) throw new SnapshotTemporarilyUnavailableError();
    const cur = this.mem.snapshotData().metadata;
    if (cur.index < requestIndex || !inConf(cur.confState, to)) this.source.regenerate();
    return this.mem.snapshot(requestIndex, to);
  }
}
