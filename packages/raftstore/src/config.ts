/** Store configuration; every field has a production default and tests shrink the timings. */
export interface StoreConfig {
  storeId: number;
  /** One raft tick. Election timeout = raftBaseTickMs * raftElectionTicks. */
  raftBaseTickMs: number;
  raftElectionTicks: number;
  raftHeartbeatTicks: number;
  /** fsync the raft engine write of each round (group commit). Off only for benchmarks. */
  syncLog: boolean;
  /** 'readIndex' confirms leadership per read batch; 'lease' serves reads from the leader lease. */
  readMode: 'readIndex' | 'lease';
  /** Requests not answered within this time get a Timeout error (the outcome is then unknown). */
  requestTimeoutMs: number;
  /** How often leaders consider compacting their raft log (raft-log GC). */
  raftLogGcTickMs: number;
  /** Compact when applied - truncated exceeds this many entries. */
  raftLogGcCountLimit: number;
  /** Compact when the log appended since the last compaction exceeds this many bytes. */
  raftLogGcSizeLimit: number;
  /** Below this many compactable entries a compaction is not worth a proposal. */
  raftLogGcThreshold: number;
  splitCheckTickMs: number;
  /** A region larger than this is split (keys of about regionSplitSize each, TiKV's policy). */
  regionMaxSize: number;
  regionSplitSize: number;
  /** Check a region again only after this many bytes were written to it (0: regionSplitSize / 16). */
  regionSplitCheckDiff: number;
  /** A region whose applied commands deleted this many keys since its last compaction is compacted (0: never). */
  compactDeletesThreshold: number;
  schedulerHeartbeatTickMs: number;
  /** Max bytes of entries per MsgAppend. */
  raftMaxSizePerMsg: number;
  raftMaxInflightMsgs: number;
  /**
   * Hibernate idle regions: a leader whose region is idle (everything replicated, committed and
   * applied, nothing pending) for hibernateIdleTicks stops ticking and heartbeats and tells its
   * followers, which stop ticking too. Any message or request wakes a peer.
   */
  hibernateRegions: boolean;
  hibernateIdleTicks: number;
  /**
   * A peer that has had no leader for this long asks the scheduler whether it is still a member
   * of its region, and destroys itself if a newer membership left it out.
   */
  maxLeaderMissingMs: number;
  /** Snapshot files live in `<dataDir>/snap`; data chunks on the wire are at most this big. */
  snapChunkBytes: number;
  snapMaxConcurrentGenerating: number;
  snapMaxConcurrentReceiving: number;
  /** Bytes of kv writes per batch when applying a snapshot (memory stays bounded). */
  snapApplyBatchBytes: number;
  /** How often unused snapshot files are collected, and how old an unused received one must be. */
  snapGcTickMs: number;
  snapStaleAgeMs: number;
}

export function storeConfig(o: Partial<StoreConfig> & { storeId: number }): StoreConfig {
  const c: StoreConfig = {
    raftBaseTickMs: 100,
    raftElectionTicks: 10,
    raftHeartbeatTicks: 2,
    syncLog: true,
    readMode: 'readIndex',
    requestTimeoutMs: 5000,
    raftLogGcTickMs: 10_000,
    raftLogGcCountLimit: 72_000,
    raftLogGcSizeLimit: 72 * 1024 * 1024,
    raftLogGcThreshold: 50,
    splitCheckTickMs: 10_000,
    regionMaxSize: 144 * 1024 * 1024,
    regionSplitSize: 96 * 1024 * 1024,
    regionSplitCheckDiff: 0,
    compactDeletesThreshold: 10_000,
    schedulerHeartbeatTickMs: 10_000,
    raftMaxSizePerMsg: 1024 * 1024,
    raftMaxInflightMsgs: 256,
    hibernateRegions: true,
    hibernateIdleTicks: 20,
    maxLeaderMissingMs: 120_000,
    snapChunkBytes: 1024 * 1024,
    snapMaxConcurrentGenerating: 2,
    snapMaxConcurrentReceiving: 4,
    snapApplyBatchBytes: 1024 * 1024,
    snapGcTickMs: 60_000,
    snapStaleAgeMs: 10 * 60_000,
    ...o,
  };
  if (!(c.storeId > 0)) throw new Error(`storeId must be positive, got ${c.storeId}`);
  if (c.raftHeartbeatTicks >= c.raftElectionTicks) throw new Error('raftHeartbeatTicks must be less than raftElectionTicks');
  if (!(c.raftBaseTickMs > 0)) throw new Error('raftBaseTickMs must be positive');
  if (!(c.raftLogGcCountLimit > 0)) throw new Error('raftLogGcCountLimit must be positive');
  if (!(c.snapChunkBytes >= 1024)) throw new Error('snapChunkBytes must be at least 1024');
  if (!(c.regionSplitSize > 0 && c.regionSplitSize <= c.regionMaxSize)) throw new Error('need 0 < regionSplitSize <= regionMaxSize');
  return c;
}
