// The reads a peer has accepted and not answered yet: first waiting for the ReadState of their
// read-index request (one request per round's batch of reads), then for the applied index to
// reach their read index. Lease reads skip the first wait (their read index is the commit index).
import type { raft_cmdpb } from '@tskv/proto';
import type { QueuedCmd } from './batch.js';
import type { CmdCallback, SnapshotCallback } from './msg.js';

/** A read and, once known, the index the state machine must have applied before it is served. */
export interface PendingRead {
  readonly req: raft_cmdpb.IRaftCmdRequest;
  readonly cb: CmdCallback;
  readonly onSnapshot?: SnapshotCallback;
  /** The leader term the read was accepted in. */
  readonly term: number;
  readIndex: number;
  /** performance.now() when the read index was requested (start of the lease it can renew). */
  readonly issuedAt: number;
}

let readSeq = 0;

/** A context for raft.readIndex unique on this store: the peer id and a store-wide sequence. */
export function newReadContext(peerId: number): Uint8Array {
  const ctx = new Uint8Array(12);
  const dv = new DataView(ctx.buffer);
  dv.setUint32(0, peerId >>> 0);
  dv.setFloat64(4, ++readSeq);
  return ctx;
}

const keyOf = (ctx: Uint8Array): string => Buffer.from(ctx).toString('latin1');

export class ReadQueue {
  /** Batches of reads sent to raft.readIndex, keyed by their context, waiting for a ReadState. */
  private readonly awaitingIndex = new Map<string, PendingRead[]>();
  /** Reads with a read index, waiting for applied >= readIndex; served in this order. */
  private awaitingApply: PendingRead[] = [];

  /** No read waits for anything. */
  get isEmpty(): boolean {
    return this.awaitingIndex.size === 0 && this.awaitingApply.length === 0;
  }

  /** Read-index requests without their ReadState yet. */
  get awaitingIndexCount(): number {
    return this.awaitingIndex.size;
  }

  get awaitingApplyCount(): number {
    return this.awaitingApply.length;
  }

  /** Reads sent to raft.readIndex together with `ctx`, at `issuedAt`, in leader term `term`. */
  awaitIndex(ctx: Uint8Array, reads: readonly QueuedCmd[], issuedAt: number, term: number): void {
    this.awaitingIndex.set(
      keyOf(ctx),
      reads.map((r) => ({ req: r.req, cb: r.cb, onSnapshot: r.onSnapshot, term, readIndex: 0, issuedAt })),
    );
  }

  /** A read served from the leader lease of term `term`: it only waits for the apply of `commitIndex`. */
  addLeaseRead(read: QueuedCmd, commitIndex: number, term: number): void {
    this.awaitingApply.push({ req: read.req, cb: read.cb, onSnapshot: read.onSnapshot, term, readIndex: commitIndex, issuedAt: 0 });
  }

  /**
   * The ReadState of the request with `ctx`: its reads now wait for `index` to be applied.
   * Returns when that request was issued (the lease it confirms starts then), or null if no read
   * waited for it.
   */
  onReadState(index: number, ctx: Uint8Array): number | null {
    const key = keyOf(ctx);
    const rs = this.awaitingIndex.get(key);
    if (!rs || rs.length === 0) return null;
    this.awaitingIndex.delete(key);
    for (const r of rs) {
      r.readIndex = index;
      this.awaitingApply.push(r);
    }
    return rs[0]!.issuedAt;
  }

  /** Takes the reads, from the front, whose read index is at or below `applied`. */
  takeApplied(applied: number): PendingRead[] {
    let n = 0;
    while (n < this.awaitingApply.length && this.awaitingApply[n]!.readIndex <= applied) n++;
    return n === 0 ? [] : this.awaitingApply.splice(0, n);
  }

  /** Answers the reads still waiting for a ReadState with `resp` (raft dropped their requests). */
  failAwaitingIndex(resp: raft_cmdpb.IRaftCmdResponse): void {
    for (const rs of this.awaitingIndex.values()) for (const r of rs) r.cb(resp);
    this.awaitingIndex.clear();
  }

  /** Answers every read with `resp`. */
  failAll(resp: raft_cmdpb.IRaftCmdResponse): void {
    this.failAwaitingIndex(resp);
    const rest = this.awaitingApply;
    this.awaitingApply = [];
    for (const r of rest) r.cb(resp);
  }
}
