// HeaderError: a failure answered in the response header (schedulerpb.Error) rather than as a
// gRPC status, so clients tell "the scheduler says no" from "the scheduler is unreachable".
import { schedulerpb } from '@tskv/proto';

export const ErrorType = schedulerpb.ErrorType;

export class HeaderError extends Error {
  override name = 'HeaderError';
  constructor(
    readonly type: schedulerpb.ErrorType,
    message: string,
  ) {
    super(message);
  }
}

/** A malformed request (a missing store, region, ...): answered as UNKNOWN with the reason. */
export function invalid(message: string): HeaderError {
  return new HeaderError(ErrorType.UNKNOWN, message);
}
