import type { metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';

export type RaftMessage = raft_serverpb.IRaftMessage;
export type SnapshotChunk = raft_serverpb.ISnapshotChunk;

/**
 * Delivers raft messages to other stores. Sending never blocks and may silently drop. A
 * MsgSnapshot carries only metadata: the transport streams the snapshot's files with it, using
 * the sending store's `SnapshotEndpoint.snapshotChunks`, hands the stream to the receiving store's
 * `receiveSnapshot`, and reports the outcome back with `reportSnapshotStatus`.
 */
export interface Transport {
  send(msg: RaftMessage): void;
}

/** What a store offers transports for snapshots (see Transport). */
export interface SnapshotEndpoint {
  snapshotChunks(msg: RaftMessage): AsyncIterable<SnapshotChunk>;
  receiveSnapshot(chunks: AsyncIterable<SnapshotChunk>): Promise<void>;
  reportSnapshotStatus(regionId: number, toPeerId: number, ok: boolean): void;
}

/** What the scheduler asks a region's leader to do (one at a time, like PD's operators). */
export interface SchedulerOperator {
  changePeer?: raft_cmdpb.IChangePeerRequest;
  changePeerV2?: raft_cmdpb.IChangePeerV2Request;
  transferLeader?: raft_cmdpb.ITransferLeaderRequest;
  /** Split at these keys (an admin split): the leader gets ids with askBatchSplit and proposes a BatchSplit. */
  splitRegion?: { splitKeys: Uint8Array[] };
}

/** What a leader reports about its region besides the region itself. */
export interface RegionStats {
  /** Peers that are far behind (need a snapshot, or are receiving one). */
  pendingPeers: metapb.IPeer[];
  /** From the last split check (0 until one ran). */
  approximateSize: number;
  approximateKeys: number;
  /** Applied since the previous heartbeat of the region. */
  bytesWritten?: number;
  keysWritten?: number;
  /** Served by reads since the previous heartbeat: keys returned, their key and value bytes. */
  bytesRead?: number;
  keysRead?: number;
}

/** What a store reports about itself. */
export interface StoreStats {
  storeId: number;
  regionCount: number;
  leaderCount: number;
  hibernatingCount: number;
  applyingSnapshotCount: number;
  /** Bytes of snapshot files on disk. */
  snapshotBytes: number;
}

/** The store's view of the scheduler (placement driver). */
export interface SchedulerClient {
  /**
   * Leaders report their region periodically. The answer may carry an operator, which the
   * leader carries out by proposing the admin command (the scheduler repeats it until done).
   */
  regionHeartbeat(
    region: metapb.IRegion,
    leader: metapb.IPeer,
    stats?: RegionStats,
  ): SchedulerOperator | null | undefined | Promise<SchedulerOperator | null | undefined>;
  /** Every store reports itself periodically. */
  storeHeartbeat?(stats: StoreStats): void | Promise<void>;
  /** The scheduler's view of a region (a peer that hears from no leader checks it is still a member). */
  getRegionById?(regionId: number): Promise<{ region: metapb.IRegion; leader: metapb.IPeer | null } | null>;
  getRegionByKey?(key: Uint8Array): Promise<{ region: metapb.IRegion; leader: metapb.IPeer | null } | null>;
  /** Fresh cluster-unique ids (regions, peers). */
  allocIds?(count: number): Promise<number[]>;
  /** A timestamp, strictly increasing across calls. */
  tso?(): Promise<number>;
  /** Ids for `count` new regions split off `region` (a region id and one peer id per peer). */
  askBatchSplit?(region: metapb.IRegion, count: number): Promise<{ newRegionId: number; newPeerIds: number[] }[]>;
  /** The regions a split produced (the original, shrunk, first). */
  reportBatchSplit?(regions: metapb.IRegion[]): void;
}
