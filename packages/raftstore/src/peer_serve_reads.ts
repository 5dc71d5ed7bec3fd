// Serving a peer's reads once the state machine has applied their read index: against the kv
// engine, or as a view of the applied state for a command that reads then writes.
import type { EngineSnapshot } from '@tskv/engine';
import type { raft_cmdpb } from '@tskv/proto';
import { checkEpoch, checkKeyInRegion, errorResponse, executeReads, readVolume } from './cmd.js';
import { NotLeaderError, StoreError, TimeoutError } from './errors.js';
import type { CmdCallback, SnapshotCallback } from './msg.js';
import type { Peer } from './peer.js';
import type { PendingRead } from './peer_reads.js';

/** What serving reads reads of the peer. */
export type ReadingPeer = Pick<Peer, 'regionId' | 'raw' | 'region' | 'storage' | 'logger' | 'isLeader' | 'leaderPeer' | 'onDataRead'>;

/**
 * Serves reads whose read index is applied, in order, each checked against the region again: it
 * may have split or changed since the read was accepted.
 */
export function serveReads(p: ReadingPeer, reads: readonly PendingRead[]): void {
  for (const r of reads) {
    try {
      checkEpoch(r.req, p.region);
      for (const q of r.req.requests ?? []) checkKeyInRegion(q, p.region);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      r.cb(errorResponse(e));
      continue;
    }
    const fail = (err: unknown): void => {
      p.logger.error('read failed', { err: String(err) });
      r.cb(errorResponse(new TimeoutError(`read failed: ${String(err)}`)));
    };
    if (r.onSnapshot) {
      serveSnapshotRead(p, r.onSnapshot, r.cb, r.term);
      continue;
    }
    let out: ReturnType<typeof executeReads>;
    try {
      out = executeReads(r.req, p.region, p.storage.engines.kv);
    } catch (err) {
      fail(err);
      continue;
    }
    const req = r.req;
    const done = (resp: raft_cmdpb.IRaftCmdResponse): void => {
      const v = readVolume(req, resp);
      if (v.keys > 0) p.onDataRead(v.bytes, v.keys);
      r.cb(resp);
    };
    if (out instanceof Promise) out.then(done, fail);
    else done(out);
  }
}

/**
 * A view of the applied state for a command that reads then writes. Only in the term the read
 * was accepted in: after a change of leader, what this peer applied may lack the writes of the
 * leader in between, which a write proposed on this view would overwrite.
 */
function serveSnapshotRead(p: ReadingPeer, onSnapshot: SnapshotCallback, cb: CmdCallback, term: number): void {
  if (!p.isLeader() || p.raw.term !== term) {
    cb(errorResponse(new NotLeaderError(p.regionId, p.leaderPeer())));
    return;
  }
  let snapshot: EngineSnapshot;
  try {
    snapshot = p.storage.engines.kv.snapshot();
  } catch (err) {
    cb(errorResponse(new TimeoutError(`read failed: ${String(err)}`)));
    return;
  }
  // The caller keeps the region past this round: a copy of what a split or a membership change
  // replaces (keys are replaced, never written into).
  const r = p.region;
  const region = { ...r, regionEpoch: { ...r.regionEpoch }, peers: (r.peers ?? []).map((x) => ({ ...x })) };
  onSnapshot({ region, snapshot, term });
}
