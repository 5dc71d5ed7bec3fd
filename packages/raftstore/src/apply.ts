// Applying committed entries of a round into the round's one kv batch. Normal commands are
// checked against the region epoch and staged; CompactLog moves the truncated index (the log
// entries themselves are deleted later by the raft-log GC worker, once this batch is durable).

import { applyStateKey, regionStateKey, type WriteBatch } from '@tskv/engine';
import { type metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { decodeConfChange, type Entry, EntryType, RaftError, toConfChangeV2 } from '@tskv/raft';
import { findPeerById } from '@tskv/util';
import { applyWrites, checkEpoch, errorResponse } from './cmd.js';
import { applyChanges, changesOf } from './conf_change.js';
import { EpochNotMatchError, InvalidRequestError, StoreError } from './errors.js';
import type { Logger } from './logger.js';
import type { CmdCallback } from './msg.js';
import type { Peer } from './peer.js';
import { encodeApplyState, RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM } from './peer_storage.js';
import { applySplit } from './split.js';

export interface Answer {
  cb: CmdCallback;
  resp: raft_cmdpb.IRaftCmdResponse;
}

/** A CompactLog applied in this round: takes effect in memory once the kv batch is written. */
export interface Compaction {
  peer: Peer;
  oldTruncated: number;
  index: number;
}

/** A BatchSplit applied in this round: the store creates the new peers once the batch is written. */
export interface SplitDone {
  peer: Peer;
  derived: metapb.IRegion;
  regions: metapb.IRegion[];
}

export interface ApplyContext {
  kvWb: WriteBatch;
  /**
   * Answers to data commands (puts, deletes, and their errors): sent before the kv batch is
   * written. Their entries are committed, so durable in a quorum's raft logs, and a crash
   * replays them; a read that follows the answer is served by a later round, after this round's
   * kv write.
   */
  answers: Answer[];
  /** Answers to admin commands and conf changes: sent once the kv batch (and its effects) landed. */
  answersAfterWrite: Answer[];
  compactions: Compaction[];
  splits: SplitDone[];
  /** The kv batch must be synced: the raft log below a new truncated index will be deleted. */
  syncKv: boolean;
  entriesApplied: number;
  /** Keys deleted by data commands this round, per region (see DeleteCompactor). */
  deletes: Map<number, number>;
}

export function newApplyContext(kvWb: WriteBatch): ApplyContext {
  return { kvWb, answers: [], answersAfterWrite: [], compactions: [], splits: [], syncKv: false, entriesApplied: 0, deletes: new Map() };
}

/** Stages committed entries of one peer into the kv batch and collects proposal answers. */
export function applyEntries(p: Peer, ents: Entry[], ctx: ApplyContext, logger: Logger): void {
  if (ents.length === 0) return;
  for (const e of ents) {
    let resp: raft_cmdpb.IRaftCmdResponse | null = null;
    if (e.entryType === EntryType.EntryNormal && e.data.length > 0) {
      resp = applyCommand(p, e, ctx, logger);
    } else if (e.entryType !== EntryType.EntryNormal) {
      resp = applyConfChange(p, e, ctx, logger);
    }
    const cb = p.proposals.take(e.index, e.term);
    if (!cb) continue;
    const answer = { cb, resp: resp ?? { header: { currentTerm: e.term }, responses: [] } };
    if (e.entryType === EntryType.EntryNormal && !answer.resp.adminResponse) ctx.answers.push(answer);
    else ctx.answersAfterWrite.push(answer);
  }
  p.storage.setApplied(ents[ents.length - 1]!.index);
  p.storage.saveApplyState(ctx.kvWb);
  ctx.entriesApplied += ents.length;
}

function applyCommand(p: Peer, e: Entry, ctx: ApplyContext, logger: Logger): raft_cmdpb.IRaftCmdResponse {
  let req: raft_cmdpb.RaftCmdRequest;
  try {
    req = raft_cmdpb.RaftCmdRequest.decode(e.data);
  } catch (err) {
    // Only valid commands are proposed; a corrupt entry must not stop the region.
    logger.error('undecodable command entry skipped', { regionId: p.regionId, index: e.index, err: String(err) });
    return errorResponse(new EpochNotMatchError('corrupt command entry', [p.region]));
  }
  if (req.adminRequest) return applyAdmin(p, e, req, req.adminRequest, ctx, logger);
  try {
    // The region may have changed (split, conf change) between proposal and apply.
    checkEpoch(req, p.region);
  } catch (err) {
    if (err instanceof StoreError) return errorResponse(err);
    throw err;
  }
  const before = ctx.kvWb.byteSize;
  const responses = applyWrites(req, ctx.kvWb);
  p.onDataWritten(ctx.kvWb.byteSize - before, req.requests?.length ?? 0);
  let deletes = 0;
  for (const r of req.requests ?? []) if (r.cmdType === raft_cmdpb.CmdType.Delete) deletes++;
  if (deletes > 0) ctx.deletes.set(p.regionId, (ctx.deletes.get(p.regionId) ?? 0) + deletes);
  return { header: { currentTerm: e.term }, responses };
}

function applyAdmin(
  p: Peer,
  e: Entry,
  req: raft_cmdpb.IRaftCmdRequest,
  admin: raft_cmdpb.IAdminRequest,
  ctx: ApplyContext,
  logger: Logger,
): raft_cmdpb.IRaftCmdResponse {
  const ok: raft_cmdpb.IRaftCmdResponse = { header: { currentTerm: e.term }, responses: [], adminResponse: { cmdType: admin.cmdType } };
  switch (admin.cmdType) {
    case raft_cmdpb.AdminCmdType.CompactLog: {
      // No epoch check: compaction is about this peer's log, not the region's range or members.
      const index = admin.compactLog?.compactIndex ?? 0;
      const term = admin.compactLog?.compactTerm ?? 0;
      const st = p.storage.applyState;
      if (index <= st.truncatedIndex) return ok; // an older or duplicate proposal
      if (index >= e.index || term === 0) {
        logger.error('invalid compact log skipped', { regionId: p.regionId, index, term, at: e.index });
        return ok;
      }
      ctx.compactions.push({ peer: p, oldTruncated: st.truncatedIndex, index });
      p.storage.compactTo(index, term);
      ctx.syncKv = true;
      return { ...ok, adminResponse: { cmdType: admin.cmdType, compactLog: {} } };
    }
    case raft_cmdpb.AdminCmdType.BatchSplit: {
      let split: { derived: metapb.IRegion; regions: metapb.IRegion[] };
      try {
        checkEpoch(req, p.region, { confVer: false });
        split = applySplit(p.region, admin.splits ?? {});
      } catch (err) {
        if (err instanceof StoreError) return errorResponse(err);
        throw err;
      }
      const { derived, regions } = split;
      p.storage.setRegion(derived);
      const put = (r: metapb.IRegion): void =>
        void ctx.kvWb.put(
          'raft',
          regionStateKey(r.id!),
          raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Normal, region: r }).finish(),
        );
      put(derived);
      for (const r of regions) {
        // A new region's peer already destroyed here (the region moved on without this store while
        // it lagged) must stay a tombstone.
        const old = p.storage.engines.kv.getSync('raft', regionStateKey(r.id!));
        if (old && raft_serverpb.RegionLocalState.decode(old).state === raft_serverpb.PeerState.Tombstone) continue;
        // A new region starts like a bootstrapped one; its raft state is derived from this apply
        // state when it is first loaded (PeerStorage.load), so the kv batch alone is atomic.
        put(r);
        ctx.kvWb.put(
          'raft',
          applyStateKey(r.id!),
          encodeApplyState({ appliedIndex: RAFT_INIT_LOG_INDEX, truncatedIndex: RAFT_INIT_LOG_INDEX, truncatedTerm: RAFT_INIT_LOG_TERM }),
        );
      }
      ctx.splits.push({ peer: p, derived, regions });
      // The new regions' peers write their raft state and log to the synced raft engine from
      // their first round on; their region and apply states must not be lost behind them.
      ctx.syncKv = true;
      // Followers create the new regions' peers when they apply the split: tell them it committed
      // now rather than with the next heartbeat (commits are not broadcast, see Peer).
      if (p.isLeader()) p.raw.broadcastAppend();
      logger.info('region split', {
        regionId: p.regionId,
        index: e.index,
        version: derived.regionEpoch?.version,
        newRegions: regions.map((r) => r.id).join(','),
      });
      return { ...ok, adminResponse: { cmdType: admin.cmdType, splits: { regions: [derived, ...regions] } } };
    }
    default:
      logger.error('unsupported admin command skipped', { regionId: p.regionId, index: e.index, cmdType: admin.cmdType });
      return ok;
  }
}

/**
 * A committed membership change. The region meta and raft's configuration change together or not
 * at all: a change whose epoch went stale, or that no longer fits the region, is skipped by both
 * (raft then simply never applies that entry's change).
 */
function applyConfChange(p: Peer, e: Entry, ctx: ApplyContext, logger: Logger): raft_cmdpb.IRaftCmdResponse {
  const cc = toConfChangeV2(decodeConfChange(e));
  let changes: raft_cmdpb.IChangePeerRequest[];
  let cmdType = raft_cmdpb.AdminCmdType.ChangePeerV2;
  if (cc.context.length === 0) {
    // Raft's own entry leaving a joint configuration (transition Auto).
    changes = [];
  } else {
    let req: raft_cmdpb.RaftCmdRequest;
    try {
      req = raft_cmdpb.RaftCmdRequest.decode(cc.context);
      if (!req.adminRequest) throw new Error('no admin request');
    } catch (err) {
      logger.error('undecodable conf change skipped', { regionId: p.regionId, index: e.index, err: String(err) });
      return errorResponse(new InvalidRequestError('corrupt conf change entry'));
    }
    cmdType = req.adminRequest.cmdType ?? cmdType;
    try {
      checkEpoch(req, p.region, { version: false });
    } catch (err) {
      if (err instanceof StoreError) return errorResponse(err);
      throw err;
    }
    changes = changesOf(req.adminRequest);
  }
  let region: metapb.IRegion;
  try {
    region = applyChanges(p.region, changes);
    p.raw.applyConfChange(cc);
  } catch (err) {
    if (err instanceof StoreError || err instanceof RaftError) {
      logger.warn('conf change skipped', { regionId: p.regionId, index: e.index, err: err.message });
      return errorResponse(err instanceof StoreError ? err : new InvalidRequestError(err.message));
    }
    throw err;
  }
  p.storage.setRegion(region);
  ctx.kvWb.put(
    'raft',
    regionStateKey(p.regionId),
    raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Normal, region }).finish(),
  );
  // Raft now counts votes and commits under the new configuration, and the synced raft engine
  // records what it does under it: the region state that defines it must be as durable.
  ctx.syncKv = true;
  if (!findPeerById(region, p.peerId)) p.onRemovedFromRegion();
  logger.info('membership changed', {
    regionId: p.regionId,
    index: e.index,
    confVer: region.regionEpoch?.confVer,
    peers: (region.peers ?? []).map((x) => `${x.id}@${x.storeId}:${x.role ?? 0}`).join(','),
  });
  return { header: { currentTerm: e.term }, responses: [], adminResponse: { cmdType, changePeer: { region }, changePeerV2: { region } } };
}
