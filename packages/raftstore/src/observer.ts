// Optional hooks for metrics: the raft worker reports each round once (never per message), so an
// observer costs one call per round on the hot path. A store without an observer pays nothing.

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
  region: import('@tskv/proto').metapb.IRegion;
  leader: import('@tskv/proto').metapb.IPeer | null;
  isLeader: boolean;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  truncatedIndex: number;
  hibernating: boolean;
  applyingSnapshot: boolean;
}
