// The raft configuration of a peer: the store's timing and flow-control settings, and the raft
// options every peer of the store runs with.
import { Config as RaftConfig } from '@tskv/raft';
import type { StoreConfig } from './config.js';
import type { Logger } from './logger.js';

/** The raft Config of peer `peerId`, whose state machine has applied up to `applied`; raft logs through `logger`. */
export function peerRaftConfig(storeCfg: StoreConfig, peerId: number, applied: number, logger: Logger): RaftConfig {
  const raftLogger = {
    debug: (m: string, f?: Record<string, unknown>) => logger.debug(m, f),
    info: (m: string, f?: Record<string, unknown>) => logger.info(m, f),
    warn: (m: string, f?: Record<string, unknown>) => logger.warn(m, f),
    error: (m: string, f?: Record<string, unknown>) => logger.error(m, f),
  };
  return new RaftConfig({
    id: peerId,
    electionTick: storeCfg.raftElectionTicks,
    heartbeatTick: storeCfg.raftHeartbeatTicks,
    applied,
    maxSizePerMsg: storeCfg.raftMaxSizePerMsg,
    maxInflightMsgs: storeCfg.raftMaxInflightMsgs,
    checkQuorum: true,
    preVote: true,
    // Always confirm leadership through raft's safe ReadIndex; the store keeps its own lease
    // on top of those confirmations (see LeaderLease) instead of raft's leaseBased mode, which
    // trusts a leader until check-quorum notices, possibly after others elected anew.
    readOnlyOption: 'safe',
    // A new commit index rides on the next append or heartbeat instead of an extra round of
    // empty appends (and acks) to every follower per commit (TiKV: skip_bcast_commit). Raft
    // still broadcasts while a conf change is pending, and apply.ts after a split.
    skipBcastCommit: true,
    // A busy region's appends do what its heartbeats would; with a thousand regions taking
    // writes the heartbeats were most of the raft messages.
    skipRedundantHeartbeats: true,
    logger: raftLogger,
  });
}
