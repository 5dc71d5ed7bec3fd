// Public API of @tskv/raft.
export { RawNode } from './raw_node.js';
export type { Ready, LightReady, Status, ProgressStatus, SnapshotStatus } from './raw_node.js';
export { Raft } from './raft.js';
export type { CampaignType } from './raft.js';
export { StateRole, INVALID_ID, INVALID_INDEX, softStateEqual } from './state_role.js';
export type { SoftState } from './state_role.js';
export { Config } from './config.js';
export type { ConfigOptions, ReadOnlyOption } from './config.js';
export type { ReadState } from './read_only.js';
export { MemoryStorage } from './storage.js';
export type { Storage, RaftState } from './storage.js';
export { RaftLog } from './raft_log.js';
export { ProgressState, Progress } from './tracker/progress.js';
export { Inflights } from './tracker/inflights.js';
export { ProgressTracker } from './tracker/tracker.js';
export { MajorityConfig, VoteResult } from './quorum/majority.js';
export { JointConfig } from './quorum/joint.js';
export {
  RaftError,
  CompactedError,
  UnavailableError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  ProposalDroppedError,
  StepLocalMsgError,
  StepPeerNotFoundError,
  ConfChangeError,
  ConfigInvalidError,
  StoreError,
} from './errors.js';
export * from './types.js';
export { entrySize, limitSize, isLocalMsg, isResponseMsg, describeMessage, silentLogger } from './util.js';
export type { Logger } from './util.js';
