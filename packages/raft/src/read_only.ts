import type { ReadOnlyOption } from './config.js';
import type { Message } from './types.js';

/** The answer to a ReadIndex request: reads at or after `index` is applied are linearizable. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export interface ReadIndexStatus {
  req: Message;
  index: number;
  /** Voters that acknowledged a heartbeat carrying this request's context. */
  acks: Set<number>;
}

/** Request contexts are opaque bytes; a latin1 string is a cheap exact map key for them. */
export function ctxKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('latin1');
}

/**
 * Pending ReadIndex requests of a leader in `safe` mode, in arrival order. A heartbeat round
 * carries the newest context; a quorum of acks for it confirms every earlier request too,
 * because they were queued before that heartbeat was sent.
 */
export class ReadOnly {
  readonly option: ReadOnlyOption;
  pendingReadIndex = new Map<string, ReadIndexStatus>();
  readIndexQueue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** Queues a request to be released at `index` once a quorum acknowledges leadership. */
  addRequest(index: number, req: Message, selfId: number): void {
    const key = ctxKey(req.entries[0]!.data);
    if (this.pendingReadIndex.has(key)) return;
    this.pendingReadIndex.set(key, { req, index, acks: new Set([selfId]) });
    this.readIndexQueue.push(key);
  }

  /** Records an ack from `id` for the request with `ctx`; returns the ack set, if the request is pending. */
  recvAck(id: number, ctx: Uint8Array): Set<number> | undefined {
    const rs = this.pendingReadIndex.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Dequeues every request up to and including the one with `ctx`, in order. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const at = this.readIndexQueue.indexOf(key);
    if (at < 0) return [];
    const done = this.readIndexQueue.splice(0, at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pendingReadIndex.get(k);
      if (!rs) throw new Error('raft: read index queue and pending map out of sync');
      this.pendingReadIndex.delete(k);
      out.push(rs);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const k = this.readIndexQueue[this.readIndexQueue.length - 1];
    return k === undefined ? undefined : this.pendingReadIndex.get(k)!.req.entries[0]!.data;
  }

  pendingReadCount(): number {
    return this.readIndexQueue.length;
  }

  /** Drops every pending request (on stepping down: they can never be confirmed). */
  reset(): void {
    this.pendingReadIndex.clear();
    this.readIndexQueue.length = 0;
  }
}
