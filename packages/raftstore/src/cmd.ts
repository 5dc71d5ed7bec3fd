// RaftCmdRequest validation and execution against the kv engine.
import { type CfName, DATA_CFS, type Engine, type WriteBatch } from '@tskv/engine';
import { type metapb, raft_cmdpb } from '@tskv/proto';
import { keyInRegion } from '@tskv/util';
import { EpochNotMatchError, InvalidRequestError, KeyNotInRegionError, type StoreError } from './errors.js';
import { keyInRegionCf } from './region_ranges.js';

const CmdType = raft_cmdpb.CmdType;

export function errorResponse(e: StoreError): raft_cmdpb.IRaftCmdResponse {
  return { header: { error: e.toPb() }, responses: [] };
}

export function isReadOnly(req: raft_cmdpb.IRaftCmdRequest): boolean {
  const rs = req.requests ?? [];
  return rs.length > 0 && rs.every((r) => r.cmdType === CmdType.Get || r.cmdType === CmdType.Snap);
}

function cfOf(cf: string | null | undefined): CfName {
  const name = cf || 'default';
  if (!(DATA_CFS as readonly string[]).includes(name)) throw new InvalidRequestError(`unknown column family '${name}'`);
  return name as CfName;
}

function bytes(b: Uint8Array | null | undefined, what: string): Uint8Array {
  if (!b || b.length === 0) throw new InvalidRequestError(`${what} must be non-empty`);
  return b;
}

/** Throws InvalidRequestError for malformed requests (checked before proposing anything). */
export function validateRequests(req: raft_cmdpb.IRaftCmdRequest): void {
  const rs = req.requests ?? [];
  if (req.adminRequest) throw new InvalidRequestError('admin requests are not supported on this path');
  if (rs.length === 0) throw new InvalidRequestError('empty request');
  let reads = 0;
  for (const r of rs) {
    switch (r.cmdType) {
      case CmdType.Get:
        cfOf(r.get?.cf);
        bytes(r.get?.key, 'get key');
        reads++;
        break;
      case CmdType.Put:
        cfOf(r.put?.cf);
        bytes(r.put?.key, 'put key');
        if (!r.put?.value) throw new InvalidRequestError('put value missing');
        break;
      case CmdType.Delete:
        cfOf(r.delete?.cf);
        bytes(r.delete?.key, 'delete key');
        break;
      case CmdType.Snap:
        cfOf(r.snap?.cf);
        reads++;
        break;
      default:
        throw new InvalidRequestError(`unknown command type ${String(r.cmdType)}`);
    }
  }
  if (reads > 0 && reads !== rs.length) throw new InvalidRequestError('a request mixes reads and writes');
}

/** Checks the request's key against the region's range in the request's CF (see region_ranges.ts). */
export function checkKeyInRegion(r: raft_cmdpb.IRequest, region: metapb.IRegion): void {
  const one = r.get ?? r.put ?? r.delete;
  const key = one?.key;
  if (key && !keyInRegionCf(cfOf(one.cf), key, region)) throw new KeyNotInRegionError(key, region);
  if (r.cmdType === CmdType.Snap) {
    const s = r.snap?.startKey;
    if (s && s.length > 0 && !keyInRegion(s, region)) throw new KeyNotInRegionError(s, region);
  }
}

/**
 * Rejects commands built against a different region version or membership. Membership changes
 * check only conf_ver (`{ version: false }`), data commands and the rest check both.
 */
export function checkEpoch(
  req: raft_cmdpb.IRaftCmdRequest,
  region: metapb.IRegion,
  check: { version?: boolean; confVer?: boolean } = {},
): void {
  const want = req.header?.regionEpoch;
  const have = region.regionEpoch;
  if (!want) throw new InvalidRequestError('missing region epoch');
  const badVersion = check.version !== false && (want.version ?? 0) !== (have?.version ?? 0);
  const badConfVer = check.confVer !== false && (want.confVer ?? 0) !== (have?.confVer ?? 0);
  if (badVersion || badConfVer) {
    throw new EpochNotMatchError(
      `epoch not match: request (version ${want.version ?? 0}, conf_ver ${want.confVer ?? 0}) ` +
        `vs region ${region.id} (version ${have?.version ?? 0}, conf_ver ${have?.confVer ?? 0})`,
      [region],
    );
  }
}

/** Stages a committed write command into the round's kv batch; returns its responses. */
export function applyWrites(req: raft_cmdpb.IRaftCmdRequest, wb: WriteBatch): raft_cmdpb.IResponse[] {
  const out: raft_cmdpb.IResponse[] = [];
  for (const r of req.requests ?? []) {
    if (r.cmdType === CmdType.Put) {
      wb.put(cfOf(r.put!.cf), r.put!.key!, r.put!.value!);
      out.push({ cmdType: CmdType.Put, put: {} });
    } else if (r.cmdType === CmdType.Delete) {
      wb.delete(cfOf(r.delete!.cf), r.delete!.key!);
      out.push({ cmdType: CmdType.Delete, delete: {} });
    }
  }
  return out;
}

/**
 * Executes a read-only command at the current applied state. Called right after the kv write of
 * the round that reached the read index, so what it sees is at least as new as the read point.
 */
export function executeReads(
  req: raft_cmdpb.IRaftCmdRequest,
  region: metapb.IRegion,
  kv: Engine,
): raft_cmdpb.IRaftCmdResponse | Promise<raft_cmdpb.IRaftCmdResponse> {
  const rs = req.requests ?? [];
  // Gets only (the common case): answered synchronously, without a promise per request.
  if (rs.every((r) => r.cmdType === CmdType.Get)) {
    const responses: raft_cmdpb.IResponse[] = [];
    for (const r of rs) {
      const v = kv.getSync(cfOf(r.get!.cf), r.get!.key!);
      responses.push({ cmdType: CmdType.Get, get: { found: v !== undefined, value: v ?? EMPTY } });
    }
    return { header: {}, responses };
  }
  return executeScans(req, region, kv);
}

const EMPTY = new Uint8Array(0);

/** Keys a read response returns and their key and value bytes (the region's read traffic). */
export function readVolume(req: raft_cmdpb.IRaftCmdRequest, resp: raft_cmdpb.IRaftCmdResponse): { bytes: number; keys: number } {
  let bytes = 0;
  let keys = 0;
  if (resp.header?.error) return { bytes, keys };
  const rs = req.requests ?? [];
  (resp.responses ?? []).forEach((r, i) => {
    if (r.get?.found) {
      keys++;
      bytes += (rs[i]?.get?.key?.length ?? 0) + (r.get.value?.length ?? 0);
    }
    for (const kv of r.snap?.kvs ?? []) {
      keys++;
      bytes += (kv.key?.length ?? 0) + (kv.value?.length ?? 0);
    }
  });
  return { bytes, keys };
}

async function executeScans(req: raft_cmdpb.IRaftCmdRequest, region: metapb.IRegion, kv: Engine): Promise<raft_cmdpb.IRaftCmdResponse> {
  // Start every engine read synchronously (get and iterator creation snapshot the DB at call
  // time), so later writes cannot leak into this response.
  const pending: (raft_cmdpb.IResponse | Promise<raft_cmdpb.IResponse>)[] = [];
  for (const r of req.requests ?? []) {
    if (r.cmdType === CmdType.Get) {
      const v = kv.getSync(cfOf(r.get!.cf), r.get!.key!);
      pending.push({ cmdType: CmdType.Get, get: { found: v !== undefined, value: v ?? new Uint8Array(0) } });
    } else {
      const s = r.snap!;
      const rStart = region.startKey ?? new Uint8Array(0);
      const rEnd = region.endKey ?? new Uint8Array(0);
      const start = s.startKey && Buffer.compare(s.startKey, rStart) > 0 ? s.startKey : rStart;
      let end = s.endKey && s.endKey.length > 0 ? s.endKey : rEnd;
      if (rEnd.length > 0 && (end.length === 0 || Buffer.compare(end, rEnd) > 0)) end = rEnd;
      const snap = kv.snapshot();
      pending.push(
        kv
          .collect(cfOf(s.cf), start, end, { limit: s.limit || undefined, snapshot: snap })
          .then((kvs) => ({ cmdType: CmdType.Snap, snap: { region, kvs: kvs.map(([key, value]) => ({ key, value })) } }))
          .finally(() => snap.close()),
      );
    }
  }
  return { header: {}, responses: await Promise.all(pending) };
}
