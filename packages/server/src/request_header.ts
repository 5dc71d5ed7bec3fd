// The parts of a client request every command shares: its Context turned into a raft header,
// and how region errors are told apart and named in metrics.
import type { errorpb, kvrpcpb, raft_cmdpb } from '@tskv/proto';
import { BadRequest } from './input_limits.js';

/** Whether `e` is a region error (answered in `region_error`; the client retries elsewhere). */
export function isRegionError(e: errorpb.IError): boolean {
  return !!(
    e.notLeader ||
    e.regionNotFound ||
    e.keyNotInRegion ||
    e.epochNotMatch ||
    e.staleCommand ||
    e.storeNotMatch ||
    e.timeout ||
    e.serverIsBusy
  );
}

/** The metrics label of a region error. */
export function regionErrorName(e: errorpb.IError): string {
  if (e.notLeader) return 'not_leader';
  if (e.regionNotFound) return 'region_not_found';
  if (e.keyNotInRegion) return 'key_not_in_region';
  if (e.epochNotMatch) return 'epoch_not_match';
  if (e.staleCommand) return 'stale_command';
  if (e.storeNotMatch) return 'store_not_match';
  if (e.timeout) return 'timeout';
  if (e.serverIsBusy) return 'server_is_busy';
  return 'other';
}

/** The raft header of a request's Context; BadRequest if it lacks what routing needs. */
export function requestHeader(ctx: kvrpcpb.IContext | null | undefined): raft_cmdpb.IRaftRequestHeader {
  if (!ctx) throw new BadRequest('missing context');
  if (!ctx.regionId) throw new BadRequest('missing region id in context');
  if (!ctx.regionEpoch) throw new BadRequest('missing region epoch in context');
  return { regionId: ctx.regionId, regionEpoch: ctx.regionEpoch, peer: ctx.peer ?? undefined };
}
