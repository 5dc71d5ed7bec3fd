// Public API of @tskv/raft.

export type { ConfigOptions, ReadOnlyOption } from './config.js';
export { Config } from './config.js';
export {
  CompactedError,
  ConfChangeError,
  ConfigInvalidError,
  ProposalDroppedError,
  RaftError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  StepLocalMsgError,
  StepPeerNotFoundError,
  StoreError,
  UnavailableError,
} from './errors.js';
export { JointConfig } from './quorum/joint.js';
export { MajorityConfig, VoteResult } from './quorum/majority.js';
export { Raft } from './raft.js';
export type { CampaignType } from './raft_election.js';
export { RaftLog } from './raft_log.js';
export type { LightReady, ProgressStatus, Ready, SnapshotStatus, Status } from './raw_node.js';
export { RawNode } from './raw_node.js';
export type { ReadState } from './read_only.js';
export type { SoftState } from './state_role.js';
export { INVALID_ID, INVALID_INDEX, StateRole, softStateEqual } from './state_role.js';
export type { RaftState, Storage } from './storage.js';
export { MemoryStorage } from './storage.js';
export { Inflights } from './tracker/inflights.js';
export { Progress, ProgressState } from './tracker/progress.js';
export { ProgressTracker } from './tracker/tracker.js';
export * from './types.js';
export type { Logger } from './util.js';
export { describeMessage, entrySize, isLocalMsg, isResponseMsg, limitSize, silentLogger } from './util.js';
