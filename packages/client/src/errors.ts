// The errors of the client. Every error the client throws is a ClientError; `retryable` says
// whether trying the same operation again later may succeed.
import type { errorpb } from '@tskv/proto';

export class ClientError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The arguments are wrong (an empty key, a limit below zero...): never sent. */
export class InvalidArgumentError extends ClientError {
  constructor(message: string) {
    super(message, false);
  }
}

/**
 * The store answered the request with an `error` (not a region error): the request itself is
 * bad, retrying it cannot help. Thrown at once.
 */
export class RequestError extends ClientError {
  constructor(
    message: string,
    readonly storeId: number,
  ) {
    super(message, false);
  }
}

/**
 * The operation did not succeed before its deadline: every attempt met a retryable condition
 * (region errors, stores unreachable, the scheduler unreachable). The message says what was
 * tried last; `regionError` is the last region error, if the last failure was one.
 */
export class RegionUnavailableError extends ClientError {
  constructor(
    message: string,
    readonly attempts: number,
    readonly regionError: errorpb.IError | null,
  ) {
    super(message, true);
  }
}

/** A store could not be reached or its stream failed (the request's outcome is unknown). */
export class StoreUnavailableError extends ClientError {
  constructor(
    message: string,
    readonly storeId: number,
    readonly address: string,
  ) {
    super(message, true);
  }
}

/** One attempt on a store took longer than its timeout (the outcome is unknown). */
export class AttemptTimeoutError extends ClientError {
  constructor(
    message: string,
    readonly storeId: number,
    readonly address: string,
  ) {
    super(message, true);
  }
}

/**
 * A write's outcome is unknown (with retryAmbiguousWrites false): it was sent, then the stream
 * failed, the attempt timed out or the store answered Timeout. It may have been applied or not;
 * reading the key tells.
 */
export class AmbiguousResultError extends ClientError {
  constructor(
    message: string,
    readonly storeId: number,
  ) {
    super(message, false);
  }
}

/** The scheduler cannot be reached (at connect, or for a lookup that is past its deadline). */
export class SchedulerUnavailableError extends ClientError {
  constructor(
    message: string,
    readonly address: string,
  ) {
    super(message, true);
  }
}

/** The client was closed while the operation was pending. */
export class ClientClosedError extends ClientError {
  constructor() {
    super('the client is closed', false);
  }
}

/** A store sent a response that does not fit the request (a bug on one side). */
export class ProtocolError extends ClientError {
  constructor(message: string) {
    super(message, false);
  }
}
