// What a store reports for metrics, status pages and tests. Optional hooks: the raft worker reports
// each round once (never per message), so an observer costs one call per round on the hot path,
// and a store without an observer pays nothing. Snapshots of its state are asked for
// (Store.stats, Store.regionStatus), never pushed.
import type { metapb } from '@tskv/proto';
import type { RaftLogGcStats } from './raft_log_gc.js';
import type { RaftDropReason } from './raft_msg_filter.js';
import type { RaftWorkerStats } from './raft_worker.js';
import type { SnapPurpose, SnapStats } from './snap/index.js';

/** What one raft worker round did and how long its parts took (milliseconds, performance.now()). */
export interface RoundStats {
  /** The whole round: handle mail, persist, apply, hand off. */
  durationMs: number;
  /** The round's raft-engine write (entries and hard states, fsynced when durable); 0 if none. */
  appendMs: number;
  /** The apply phase: staging committed entries and the kv write; 0 if nothing was applied. */
  applyMs: number;
  /** Client and admin commands taken from the mailboxes this round (reads included). */
  proposals: number;
  entriesPersisted: number;
  entriesApplied: number;
}

export interface StoreObserver {
  /** Called after every raft worker round. Must not throw (it is caught and logged) and be cheap. */
  onRound?(r: RoundStats): void;
}

/** One region as the store sees it (for status pages and tools). */
export interface RegionStatus {
  regionId: number;
  peerId: number;
  /** The region as this peer knows it (empty peers: uninitialized, waiting for a snapshot). */
  region: metapb.IRegion;
  leader: metapb.IPeer | null;
  isLeader: boolean;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  truncatedIndex: number;
  hibernating: boolean;
  applyingSnapshot: boolean;
}

/** A store's counts and its workers' counters, as they stand now (copies; metrics, tests). */
export interface StoreRuntimeStats {
  /** Regions with a peer on this store. */
  regions: number;
  /** Regions whose leader is this store's peer. */
  leaders: number;
  /** Peers not ticking (idle regions). */
  hibernating: number;
  /** Peers applying a received snapshot. */
  applyingSnapshots: number;
  /** Snapshots registered now, by purpose (generating, sending, receiving, applying). */
  snapshotsInUse: Record<SnapPurpose, number>;
  /** Initialized regions in the store's range index. */
  ranges: number;
  /** Regions whose peer was destroyed here. */
  tombstones: number;
  /** Inbound raft messages refused before reaching a peer, by reason (since start). */
  raftDrops: Map<RaftDropReason, number>;
  raftWorker: RaftWorkerStats;
  snap: SnapStats;
  logGc: RaftLogGcStats;
  /** Split checks run. */
  splitChecks: number;
  /** Region compactions after deletions (DeleteCompactor). */
  deleteCompactions: number;
}
