import type { EngineSnapshot } from '@tskv/engine';
import type { metapb, raft_cmdpb } from '@tskv/proto';
import type { Snapshot } from '@tskv/raft';
import type { RaftMessage } from './transport.js';

export type CmdCallback = (resp: raft_cmdpb.IRaftCmdResponse) => void;

/**
 * A region's data at a read index (see Store.snapshotRead): the owner closes `snapshot`. `term`
 * is the leader term the read was confirmed in: a command that read this view and proposes a
 * write sends it in the header, and the write is refused if leadership changed meanwhile.
 */
export interface RegionSnapshot {
  region: metapb.IRegion;
  snapshot: EngineSnapshot;
  term: number;
}

export type SnapshotCallback = (s: RegionSnapshot) => void;

/** What a peer's mailbox holds. */
export type PeerMsg =
  | { kind: 'raft'; msg: RaftMessage }
  /** A command; a read with `onSnapshot` is answered with a region snapshot instead (errors still go to `cb`). */
  | { kind: 'cmd'; req: raft_cmdpb.IRaftCmdRequest; cb: CmdCallback; onSnapshot?: SnapshotCallback; forWrite?: boolean }
  | { kind: 'tick' }
  /** Time to consider compacting the raft log (leaders only act). */
  | { kind: 'raftLogGcTick' }
  /** The region worker finished generating a snapshot (null: it failed; raft asks again). */
  | { kind: 'snapGenerated'; snap: Snapshot | null }
  /** The region worker finished applying the snapshot the peer accepted. */
  | { kind: 'snapApplied'; index: number }
  /** The files of the generated snapshot (term, index) are gone: drop it if it is the current one. */
  | { kind: 'snapMissing'; term: number; index: number }
  /** The transport finished (ok) or gave up (!ok) sending a snapshot to a peer. */
  | { kind: 'snapStatus'; toPeerId: number; ok: boolean }
  /** The transport could not deliver to a peer (its store is unreachable); does not wake the peer. */
  | { kind: 'unreachable'; toPeerId: number }
  /** A newer member of the region says this peer was removed (is_tombstone message). */
  | { kind: 'gcPeer'; msg: RaftMessage }
  /** The leader hibernates (see StoreConfig.hibernateRegions); does not wake the peer. */
  | { kind: 'hibernate'; msg: RaftMessage }
  /** The store of the sleeping region's leader is unreachable (Store.reportStoreUnreachable). */
  | { kind: 'leaderStoreUnreachable'; storeId: number };
