// Region errors answered to callers. Each maps to an errorpb.Error in the response header, so
// clients can tell "retry elsewhere" (NotLeader, RegionNotFound, EpochNotMatch) from "retry
// later" (StaleCommand, Timeout) from "bad request" (KeyNotInRegion, invalid request).
import type { errorpb, metapb } from '@tskv/proto';

export type RegionErrorPb = errorpb.IError;

export abstract class StoreError extends Error {
  abstract toPb(): RegionErrorPb;
}

export class NotLeaderError extends StoreError {
  constructor(
    readonly regionId: number,
    readonly leader: metapb.IPeer | null,
  ) {
    super(`peer is not leader for region ${regionId}${leader ? `, leader may be ${leader.id} on store ${leader.storeId}` : ''}`);
  }
  toPb(): RegionErrorPb {
    return { message: this.message, notLeader: { regionId: this.regionId, leader: this.leader } };
  }
}

export class RegionNotFoundError extends StoreError {
  constructor(readonly regionId: number) {
    super(`region ${regionId} not found`);
  }
  toPb(): RegionErrorPb {
    return { message: this.message, regionNotFound: { regionId: this.regionId } };
  }
}

export class KeyNotInRegionError extends StoreError {
  constructor(
    readonly key: Uint8Array,
    readonly region: metapb.IRegion,
  ) {
    super(
      `key ${Buffer.from(key).toString('hex')} is not in region ${region.id} ` +
        `[${Buffer.from(region.startKey ?? []).toString('hex')}, ${Buffer.from(region.endKey ?? []).toString('hex')})`,
    );
  }
  toPb(): RegionErrorPb {
    const r = this.region;
    return { message: this.message, keyNotInRegion: { key: this.key, regionId: r.id, startKey: r.startKey, endKey: r.endKey } };
  }
}

export class EpochNotMatchError extends StoreError {
  constructor(
    message: string,
    readonly currentRegions: metapb.IRegion[],
  ) {
    super(message);
  }
  toPb(): RegionErrorPb {
    return { message: this.message, epochNotMatch: { currentRegions: this.currentRegions } };
  }
}

export class StaleCommandError extends StoreError {
  constructor(reason = 'stale command') {
    super(reason);
  }
  toPb(): RegionErrorPb {
    return { message: this.message, staleCommand: {} };
  }
}

export class TimeoutError extends StoreError {
  constructor(reason = 'request timed out') {
    super(reason);
  }
  toPb(): RegionErrorPb {
    return { message: this.message, timeout: {} };
  }
}

export class StoreNotMatchError extends StoreError {
  constructor(
    readonly requested: number,
    readonly actual: number,
  ) {
    super(`request for store ${requested} reached store ${actual}`);
  }
  toPb(): RegionErrorPb {
    return { message: this.message, storeNotMatch: { requestStoreId: this.requested, actualStoreId: this.actual } };
  }
}

/** A malformed request: answered with a plain message error (never retried). */
export class InvalidRequestError extends StoreError {
  toPb(): RegionErrorPb {
    return { message: `invalid request: ${this.message}` };
  }
}
