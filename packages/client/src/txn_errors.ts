// The errors of transactions. WriteConflictError, TxnAbortedError and LockNotResolvedError are
// retryable: the transaction did not commit and running it again from a new start timestamp may
// succeed (TxnClient.runTxn does so).
import { showKey } from './bytes.js';
import { ClientError } from './errors.js';

/**
 * The prewrite of `key` met a write committed at `conflictTs` >= our `startTs` (another
 * transaction wrote the key after we began, or rolled us back there): we did not commit, and
 * our locks were rolled back.
 */
export class WriteConflictError extends ClientError {
  constructor(
    readonly key: Uint8Array,
    readonly conflictTs: bigint,
    readonly startTs: bigint,
    readonly primary: Uint8Array,
  ) {
    super(
      `write conflict on key ${showKey(key)}: transaction ${startTs} met a write committed at ${conflictTs} ` +
        `(primary ${showKey(primary)}); run the transaction again`,
      true,
    );
  }
}

/**
 * The transaction cannot commit: it was rolled back (e.g. its primary lock outlived its TTL and
 * a reader rolled it back) before its primary key was committed.
 */
export class TxnAbortedError extends ClientError {
  constructor(
    message: string,
    readonly startTs: bigint,
  ) {
    super(message, true);
  }
}

/**
 * A lock of another transaction that is still alive (its TTL not passed, its primary neither
 * committed nor rolled back) was in the way until the operation's deadline.
 */
export class LockNotResolvedError extends ClientError {
  constructor(
    what: string,
    readonly key: Uint8Array,
    readonly lockTs: bigint,
    readonly primary: Uint8Array,
    readonly lockTtlMs: bigint,
  ) {
    super(
      `${what}: key ${showKey(key)} is locked by transaction ${lockTs} (primary ${showKey(primary)}, TTL ${lockTtlMs} ms), ` +
        'still alive at the deadline',
      true,
    );
  }
}

/** The transaction was committed or rolled back already: it takes no more operations. */
export class TxnFinishedError extends ClientError {
  constructor(message: string) {
    super(message, false);
  }
}

/** Whether running the whole transaction again (from a new start timestamp) may succeed. */
export function isTxnRetryable(e: unknown): boolean {
  return e instanceof WriteConflictError || e instanceof TxnAbortedError || e instanceof LockNotResolvedError;
}
