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
  raftLogGcTickMs: number;
  splitCheckTickMs: number;
  schedulerHeartbeatTickMs: number;
  /** Max bytes of entries per MsgAppend. */
  raftMaxSizePerMsg: number;
  raftMaxInflightMsgs: number;
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
    splitCheckTickMs: 10_000,
    schedulerHeartbeatTickMs: 10_000,
    raftMaxSizePerMsg: 1024 * 1024,
    raftMaxInflightMsgs: 256,
    ...o,
  };
  if (!(c.storeId > 0)) throw new Error(`storeId must be positive, got ${c.storeId}`);
  if (c.raftHeartbeatTicks >= c.raftElectionTicks) throw new Error('raftHeartbeatTicks must be less than raftElectionTicks');
  if (!(c.raftBaseTickMs > 0)) throw new Error('raftBaseTickMs must be positive');
  return c;
}
