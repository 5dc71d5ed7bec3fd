import { raft_serverpb } from '@tskv/proto';

export type RaftMessage = raft_serverpb.IRaftMessage;

/** Delivers raft messages to other stores. Sending never blocks and may silently drop. */
export interface Transport {
  send(msg: RaftMessage): void;
}

/** The store's view of the scheduler (placement driver). */
export interface SchedulerClient {
  /** Leaders report their region periodically and after changes. */
  regionHeartbeat(region: import('@tskv/proto').metapb.IRegion, leader: import('@tskv/proto').metapb.IPeer): void;
}
