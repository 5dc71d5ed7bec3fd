// Typed errors of the raft library. Callers branch on the class (or `code`), never on messages.

export abstract class RaftError extends Error {
  abstract readonly code: string;
}

/** The requested index is older than the storage's first index: it was compacted away. */
export class CompactedError extends RaftError {
  readonly code = 'Compacted';
  constructor() {
    super('requested index is unavailable due to compaction');
  }
}

/** The requested index is newer than anything in storage. */
export class UnavailableError extends RaftError {
  readonly code = 'Unavailable';
  constructor() {
    super('requested entry at index is unavailable');
  }
}

/** The snapshot offered is older than the storage's current snapshot. */
export class SnapshotOutOfDateError extends RaftError {
  readonly code = 'SnapshotOutOfDate';
  constructor() {
    super('requested index is older than the existing snapshot');
  }
}

/** The storage is still producing a snapshot; raft retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  readonly code = 'SnapshotTemporarilyUnavailable';
  constructor() {
    super('snapshot is temporarily unavailable');
  }
}

/** The proposal was not accepted: no leader known, leadership being transferred, forwarding disabled, or back pressure. */
export class ProposalDroppedError extends RaftError {
  readonly code = 'ProposalDropped';
  constructor(reason = 'raft proposal dropped') {
    super(reason);
  }
}

/** A local message (MsgHup, MsgBeat, ...) was handed to RawNode.step, which only takes network messages. */
export class StepLocalMsgError extends RaftError {
  readonly code = 'StepLocalMsg';
  constructor() {
    super('raft: cannot step raft local message');
  }
}

/** A response arrived from a peer that is not in the configuration. */
export class StepPeerNotFoundError extends RaftError {
  readonly code = 'StepPeerNotFound';
  constructor() {
    super('raft: cannot step as peer not found');
  }
}

/** A configuration change is invalid (e.g. removes every voter, or leaves a joint state that does not exist). */
export class ConfChangeError extends RaftError {
  readonly code = 'ConfChangeError';
  constructor(reason: string) {
    super(`raft: conf change error: ${reason}`);
  }
}

/** The Config is inconsistent; the message names the offending fields. */
export class ConfigInvalidError extends RaftError {
  readonly code = 'ConfigInvalid';
  constructor(reason: string) {
    super(`raft: invalid config: ${reason}`);
  }
}

/** The storage returned an error raft cannot recover from (a bug or corruption in the caller's storage). */
export class StoreError extends RaftError {
  readonly code = 'Store';
  constructor(reason: string) {
    super(`raft: storage error: ${reason}`);
  }
}
