// Inbound raft messages that must never reach a peer: structurally incomplete ones, ones meant for
// another store, and stale ones (the predicates below; raft_msg_handler.ts acts on them). Each drop
// is counted by reason (metrics read `counts`) and logged at most once per reason every few
// seconds: a misbehaving or misconfigured sender can send thousands a second, and a log line each
// would be the real outage.
import { eraftpb, type metapb } from '@tskv/proto';
import type { Logger } from './logger.js';
import type { Peer } from './peer.js';
import type { RaftMessage } from './transport.js';

export type RaftDropReason =
  /** No region id, no raft message, no sender or target peer, or no region epoch. */
  | 'malformed'
  /** The target peer is on another store (a stale address book, or a mis-routed message). */
  | 'store_mismatch'
  /** For an older peer of the region than this store's, or one this store destroyed. */
  | 'stale_peer'
  /** From a peer outside the region's membership, with an epoch no newer than ours. */
  | 'not_member'
  /** For a region this store has no peer of, of a kind that does not start one (or overlapping one here). */
  | 'no_peer';

/** Reasons worth a warning: a healthy cluster never produces them. The rest are debug lines. */
const WARN: ReadonlySet<RaftDropReason> = new Set(['malformed', 'store_mismatch']);
const LOG_EVERY_MS = 10_000;

export class RaftMessageDrops {
  readonly counts = new Map<RaftDropReason, number>();
  private readonly lastLog = new Map<RaftDropReason, number>();

  constructor(private readonly logger: () => Logger) {}

  drop(reason: RaftDropReason, msg: RaftMessage, detail: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    const now = Date.now();
    if (now - (this.lastLog.get(reason) ?? -Infinity) < LOG_EVERY_MS) return;
    this.lastLog.set(reason, now);
    const fields = {
      reason,
      regionId: msg?.regionId ?? 0,
      from: msg?.fromPeer?.id ?? 0,
      fromStore: msg?.fromPeer?.storeId ?? 0,
      to: msg?.toPeer?.id ?? 0,
      detail,
      dropped: this.counts.get(reason),
    };
    if (WARN.has(reason)) this.logger().warn('raft message dropped', fields);
    else this.logger().debug('raft message dropped', fields);
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

/**
 * What is wrong with a message's structure, or null. Every message a store sends names the region,
 * both peers (with their stores) and the sender's epoch (peer.ts, raft_msg_handler.ts); one that
 * does not cannot be routed or judged stale, so it is not guessed at.
 */
export function malformedReason(msg: RaftMessage, storeId: number): { reason: RaftDropReason; detail: string } | null {
  if (!msg || typeof msg !== 'object') return { reason: 'malformed', detail: 'not a message' };
  if (!msg.regionId) return { reason: 'malformed', detail: 'missing region_id' };
  if (!msg.toPeer?.id) return { reason: 'malformed', detail: 'missing to_peer' };
  if (!msg.fromPeer?.id || !msg.fromPeer.storeId) return { reason: 'malformed', detail: 'missing from_peer' };
  if (!msg.regionEpoch) return { reason: 'malformed', detail: 'missing region_epoch' };
  if (!msg.isTombstone && !msg.message) return { reason: 'malformed', detail: 'missing message' };
  if (msg.toPeer.storeId !== storeId)
    return { reason: 'store_mismatch', detail: `to_peer.store_id ${msg.toPeer.storeId ?? 0}, this is store ${storeId}` };
  return null;
}

const confVer = (epoch: metapb.IRegionEpoch | null | undefined): number => epoch?.confVer ?? 0;

/**
 * The sender is outside this store's membership of the region, which is newer than the one the
 * message carries: the sender was removed and missed it (it is told so).
 */
export function isFromRemovedPeer(peer: Peer, msg: RaftMessage): boolean {
  const from = msg.fromPeer?.id;
  return !!from && peer.isInitialized() && !peer.isMember(from) && confVer(msg.regionEpoch) < confVer(peer.region.regionEpoch);
}

/**
 * The sender is outside the membership at the same conf version: it cannot be a member not heard
 * of yet (that membership would have a newer conf version), so it is bogus or mis-routed, and
 * stepping it could make raft follow a leader that is not one.
 */
export function isFromNonMember(peer: Peer, msg: RaftMessage): boolean {
  const from = msg.fromPeer?.id;
  return !!from && peer.isInitialized() && !peer.isMember(from) && confVer(msg.regionEpoch) === confVer(peer.region.regionEpoch);
}

/**
 * For a newer peer of the region than this store's, from a newer membership (or this store's peer
 * is uninitialized, so it knows no membership): this store's peer was removed and missed it. Peer
 * ids only grow and a store holds one peer of a region.
 */
export function isForNewerPeer(peer: Peer, msg: RaftMessage): boolean {
  const to = msg.toPeer?.id ?? 0;
  return to > peer.peerId && (!peer.isInitialized() || confVer(msg.regionEpoch) > confVer(peer.region.regionEpoch));
}

/**
 * For a region whose peer this store destroyed, from no newer membership than the destroyed
 * peer's: stale. (Not "only as a newer peer id": TinyKV's scenarios re-add a removed peer under its
 * old id.)
 */
export function isStaleForTombstone(msg: RaftMessage, tombstone: { epoch: metapb.IRegionEpoch }): boolean {
  return confVer(msg.regionEpoch) <= confVer(tombstone.epoch);
}

/** The message kinds that may start a peer on a store that has none of the region. */
export function startsPeer(type: eraftpb.MessageType | null | undefined): boolean {
  const T = eraftpb.MessageType;
  return (
    type === T.MsgHeartbeat || type === T.MsgAppend || type === T.MsgSnapshot || type === T.MsgRequestVote || type === T.MsgRequestPreVote
  );
}
