// Batching of the commands a peer takes in one raft-worker round.
//
// Writes: every write command of the round (already validated against the leader's region) is
// merged into as few raft entries as possible: ONE RaftCmdRequest carrying the requests of all
// of them, proposed once. Per entry the store pays a raft append to each follower and its
// acknowledgement, an encode/decode, a raft-engine key and raft's bookkeeping; merging N client
// puts into one entry pays that once (TiKV's proposal batching). The merged command is applied
// atomically (stronger than each command alone) and its responses are split back, in order, to
// the commands it carries. Its epoch check at apply is the same for all of them: they were all
// checked against the same region epoch when they were queued.
//
// Reads: the read-only commands of a round share ONE ReadIndex (one heartbeat round to the
// followers confirms leadership for all of them).
import type { raft_cmdpb } from '@tskv/proto';
import { epochEquals, frameEnd } from '@tskv/util';
import type { CmdCallback, SnapshotCallback } from './msg.js';

export interface QueuedCmd {
  req: raft_cmdpb.IRaftCmdRequest;
  cb: CmdCallback;
  /** Reads only: answer with a region snapshot (see RegionSnapshot). */
  onSnapshot?: SnapshotCallback;
  /**
   * With onSnapshot: the view feeds only a write proposed under the same leader term, so the
   * applied state at the leader's commit index is enough, without a read index (see
   * Store.snapshotRead).
   */
  forWrite?: boolean;
}

/** Payload bound of one merged entry (keys and values); well under raftMaxSizePerMsg's 1 MiB default. */
export const MAX_MERGED_BYTES = 512 * 1024;

function approxBytes(req: raft_cmdpb.IRaftCmdRequest): number {
  let n = 0;
  for (const r of req.requests ?? []) {
    n += 16;
    if (r.put) n += (r.put.key?.length ?? 0) + (r.put.value?.length ?? 0);
    else if (r.delete) n += r.delete.key?.length ?? 0;
  }
  return n;
}

/** Whether two commands were checked against the same region and epoch (so may share an entry). */
function sameRegionEpoch(a: QueuedCmd, b: QueuedCmd): boolean {
  const x = a.req.header;
  const y = b.req.header;
  return epochEquals(x?.regionEpoch ?? {}, y?.regionEpoch ?? {}) && (x?.regionId ?? 0) === (y?.regionId ?? 0);
}

const cmdBytes = (c: QueuedCmd): number => approxBytes(c.req);

/**
 * Answers the commands merged into one entry: an error (stale, not leader, epoch) goes to every
 * one of them; otherwise each gets its own slice of the responses, in order.
 */
function splitCallback(parts: QueuedCmd[], counts: number[]): CmdCallback {
  return (resp) => {
    const rs = resp.responses;
    if (resp.header?.error || !rs) {
      for (const p of parts) p.cb(resp);
      return;
    }
    let off = 0;
    for (let i = 0; i < parts.length; i++) {
      const n = counts[i]!;
      parts[i]!.cb({ header: resp.header, responses: rs.slice(off, off + n) });
      off += n;
    }
  };
}

/**
 * Merges consecutive write commands with the same region and epoch into commands of at most
 * `maxBytes` of payload (a command bigger than that stays alone). Order is kept: within the
 * merged command, requests apply in the order their commands were queued.
 */
export function mergeWrites(cmds: QueuedCmd[], maxBytes = MAX_MERGED_BYTES): QueuedCmd[] {
  if (cmds.length <= 1) return cmds;
  const out: QueuedCmd[] = [];
  for (let i = 0; i < cmds.length; ) {
    const end = frameEnd(cmds, i, cmdBytes, maxBytes, sameRegionEpoch);
    if (end - i === 1) out.push(cmds[i]!);
    else {
      const group = cmds.slice(i, end);
      const requests: raft_cmdpb.IRequest[] = [];
      const counts: number[] = [];
      for (const c of group) {
        const rs = c.req.requests ?? [];
        for (const r of rs) requests.push(r);
        counts.push(rs.length);
      }
      out.push({ req: { header: group[0]!.req.header, requests }, cb: splitCallback(group, counts) });
    }
    i = end;
  }
  return out;
}
