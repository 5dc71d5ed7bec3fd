// MockTransport: the network between the in-process stores of a test cluster.
//
// Every message takes a realistic wire round trip: it is encoded with
// raft_serverpb.RaftMessage.encode when sent and decoded on delivery, so the receiver never shares
// objects with the sender and anything that does not survive protobuf is caught. Delivery is
// always asynchronous (setImmediate, or a timer when a filter delays it): a store never re-enters
// its own raft worker through the transport.
//
// Faults are filters, added and cleared at any time. A filter sees each message when it is sent
// and answers: deliver, drop, or deliver after a delay. A store that is down (disconnected) gets
// nothing, and nothing it sends is delivered. Like the broken streams of a real transport when a
// store process dies, its going down is reported to every store that had sent to it
// (reportStoreUnreachable); filters (partitions) are silent, as a network that just stops is.
//
// Snapshots travel as a real transport sends them: a MsgSnapshot starts a stream of chunks (the
// message, then the snapshot's files) produced by the sending store and consumed by the receiving
// store, each chunk encoded and decoded like the message. Every chunk passes the filters (as the
// snapshot's message: a partition or a drop kills the whole transfer, a delay slows it) and
// filters may also rewrite chunks (corruption). The sender learns the outcome (reportSnapshotStatus).
import { setTimeout as sleep } from 'node:timers/promises';
import { eraftpb, raft_serverpb } from '@tskv/proto';
import type { RaftMessage, SnapshotChunk, SnapshotEndpoint, Transport } from '@tskv/raftstore';
import type { Prng } from '@tskv/util';
import { AsyncQueue } from './async_queue.js';

export type MessageType = eraftpb.MessageType;
export const MessageType = eraftpb.MessageType;

/** What the transport delivers to: a Store (or a test double; snapshots need a whole store). */
export interface RaftReceiver extends Partial<SnapshotEndpoint> {
  onRaftMessage(msg: RaftMessage): void;
  /** A store this one had sent to went down (its connection broke). */
  reportStoreUnreachable?(storeId: number): void;
}

/**
 * A network fault. `before` is called once per message at send time with the transport's PRNG:
 * `false` drops the message, `true` lets it through, a number delays it by that many ms (the
 * delays of several filters add up).
 */
export interface Filter {
  readonly name: string;
  before(msg: RaftMessage, rng: Prng): boolean | number;
  /**
   * Optional: sees every chunk of a snapshot stream (index 0 carries the message) after `before`
   * let it through; returns the chunk to deliver (possibly altered) or false to kill the stream.
   */
  onSnapshotChunk?(chunk: SnapshotChunk, index: number, msg: RaftMessage, rng: Prng): SnapshotChunk | false;
}

/** Flips one byte in the middle of the data of the first `count` snapshot data chunks. */
export class CorruptSnapshotFilter implements Filter {
  readonly name: string;
  corrupted = 0;

  constructor(readonly count = 1) {
    this.name = `corrupt ${count} snapshot chunk(s)`;
  }

  before(): boolean {
    return true;
  }

  onSnapshotChunk(chunk: SnapshotChunk, index: number): SnapshotChunk {
    if (index === 0 || this.corrupted >= this.count || !chunk.data || chunk.data.length === 0) return chunk;
    this.corrupted++;
    const data = Uint8Array.from(chunk.data);
    data[data.length >> 1]! ^= 0xff;
    return { ...chunk, data };
  }
}

function fromStore(msg: RaftMessage): number {
  return msg.fromPeer?.storeId ?? 0;
}

function toStore(msg: RaftMessage): number {
  return msg.toPeer?.storeId ?? 0;
}

/**
 * Drops every message between stores of different groups. Stores named in no group form one more
 * group together, so `new PartitionFilter([[1, 2]])` splits {1, 2} from everyone else.
 */
export class PartitionFilter implements Filter {
  readonly name: string;
  private readonly groupOf = new Map<number, number>();

  constructor(readonly groups: number[][]) {
    groups.forEach((g, i) => {
      for (const s of g) {
        if (this.groupOf.has(s)) throw new Error(`store ${s} is in two partition groups`);
        this.groupOf.set(s, i);
      }
    });
    this.name = `partition ${groups.map((g) => `{${g.join(',')}}`).join(' | ')}`;
  }

  before(msg: RaftMessage): boolean {
    return (this.groupOf.get(fromStore(msg)) ?? -1) === (this.groupOf.get(toStore(msg)) ?? -1);
  }
}

/** Drops each message with probability p. */
export class DropFilter implements Filter {
  readonly name: string;

  constructor(readonly p: number) {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`drop probability must be in [0, 1], got ${p}`);
    this.name = `drop ${Math.round(p * 100)}%`;
  }

  before(_msg: RaftMessage, rng: Prng): boolean {
    return !rng.chance(this.p);
  }
}

/** Delays every message by a uniform random time in [minMs, maxMs] (reordering messages). */
export class DelayFilter implements Filter {
  readonly name: string;

  constructor(
    readonly minMs: number,
    readonly maxMs = minMs,
  ) {
    if (!(minMs >= 0 && maxMs >= minMs)) throw new RangeError(`bad delay range [${minMs}, ${maxMs}]`);
    this.name = minMs === maxMs ? `delay ${minMs} ms` : `delay ${minMs}-${maxMs} ms`;
  }

  before(_msg: RaftMessage, rng: Prng): number {
    return this.minMs === this.maxMs ? this.minMs : this.minMs + rng.next() * (this.maxMs - this.minMs);
  }
}

/** Drops messages from store `from` to store `to` (not the other way). */
export class OneWayDropFilter implements Filter {
  readonly name: string;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    this.name = `drop ${from} -> ${to}`;
  }

  before(msg: RaftMessage): boolean {
    return !(fromStore(msg) === this.from && toStore(msg) === this.to);
  }
}

export interface TypeFilterOptions {
  /** Only messages sent by this store. */
  from?: number;
  /** Only messages sent to this store. */
  to?: number;
  /** Only messages of this region. */
  regionId?: number;
}

/** Drops raft messages of the given types (optionally only from/to one store or one region). */
export class MessageTypeFilter implements Filter {
  readonly name: string;
  private readonly types: Set<MessageType>;

  constructor(
    types: MessageType[],
    readonly opts: TypeFilterOptions = {},
  ) {
    this.types = new Set(types);
    const where = [
      opts.from !== undefined ? `from ${opts.from}` : '',
      opts.to !== undefined ? `to ${opts.to}` : '',
      opts.regionId !== undefined ? `region ${opts.regionId}` : '',
    ].filter(Boolean);
    this.name = `drop ${types.map((t) => MessageType[t]).join(',')}${where.length ? ` ${where.join(' ')}` : ''}`;
  }

  before(msg: RaftMessage): boolean {
    const o = this.opts;
    if (o.from !== undefined && fromStore(msg) !== o.from) return true;
    if (o.to !== undefined && toStore(msg) !== o.to) return true;
    if (o.regionId !== undefined && msg.regionId !== o.regionId) return true;
    return !this.types.has(msg.message?.msgType ?? MessageType.MsgHup);
  }
}

/** Any predicate: true delivers, false drops. */
export class PredicateFilter implements Filter {
  constructor(
    readonly name: string,
    private readonly pred: (msg: RaftMessage) => boolean,
  ) {}

  before(msg: RaftMessage): boolean {
    return this.pred(msg);
  }
}

export interface TransportStats {
  /** Snapshot streams started, completed (receiver accepted the files), failed. */
  snapshotsStarted: number;
  snapshotsDelivered: number;
  snapshotsFailed: number;
  sent: number;
  delivered: number;
  droppedByFilter: number;
  /** Sender or receiver down (at send or at delivery time). */
  droppedDown: number;
  bytes: number;
  /** Stores told that a store they had sent to went down. */
  storeDownReports: number;
}

export class MockTransport {
  private readonly receivers = new Map<number, RaftReceiver>();
  private readonly endpoints = new Map<number, { closed: boolean }>();
  private filterList: Filter[] = [];
  /** For each store, the stores that have sent to it: a real transport's open streams to it. */
  private readonly sentToBy = new Map<number, Set<number>>();
  readonly stats: TransportStats = {
    snapshotsStarted: 0,
    snapshotsDelivered: 0,
    snapshotsFailed: 0,
    sent: 0,
    delivered: 0,
    droppedByFilter: 0,
    droppedDown: 0,
    bytes: 0,
    storeDownReports: 0,
  };
  /** Exceptions thrown by a receiver on delivery (a store bug); tests assert this stays empty. */
  readonly errors: Error[] = [];

  constructor(readonly rng: Prng) {}

  /**
   * Connects a store: messages to `storeId` now reach `receiver`, and the returned Transport is
   * the store's way out. The endpoint is dead after `disconnect` (a stopped incarnation of a store
   * can never send again, even if the store id reconnects).
   */
  connect(storeId: number, receiver: RaftReceiver): Transport {
    this.disconnect(storeId);
    const ep = { closed: false };
    this.endpoints.set(storeId, ep);
    this.receivers.set(storeId, receiver);
    return {
      send: (msg: RaftMessage) => {
        if (ep.closed) {
          this.stats.sent++;
          this.stats.droppedDown++;
          return;
        }
        this.send(storeId, msg);
      },
    };
  }

  /**
   * The store is down: nothing reaches it and nothing it sends is delivered. The stores that had
   * sent to it are told (next turn), as their broken streams would tell them.
   */
  disconnect(storeId: number): void {
    const ep = this.endpoints.get(storeId);
    if (ep) ep.closed = true;
    this.endpoints.delete(storeId);
    this.receivers.delete(storeId);
    for (const senders of this.sentToBy.values()) senders.delete(storeId);
    const senders = this.sentToBy.get(storeId);
    this.sentToBy.delete(storeId);
    if (!senders?.size) return;
    setImmediate(() => {
      for (const from of senders) {
        const r = this.receivers.get(from);
        if (!r?.reportStoreUnreachable) continue;
        this.stats.storeDownReports++;
        r.reportStoreUnreachable(storeId);
      }
    });
  }

  isUp(storeId: number): boolean {
    return this.receivers.has(storeId);
  }

  // ---- filters ----

  addFilter<F extends Filter>(f: F): F {
    this.filterList = [...this.filterList, f];
    return f;
  }

  removeFilter(f: Filter): void {
    this.filterList = this.filterList.filter((x) => x !== f);
  }

  clearFilters(): void {
    this.filterList = [];
  }

  get filters(): readonly Filter[] {
    return this.filterList;
  }

  /** Splits the stores into groups that cannot talk to each other (see PartitionFilter). */
  partition(...groups: number[][]): PartitionFilter {
    return this.addFilter(new PartitionFilter(groups));
  }

  /** Cuts one store off from all others (both directions). */
  isolate(storeId: number): PartitionFilter {
    return this.addFilter(new PartitionFilter([[storeId]]));
  }

  dropRandomly(p: number): DropFilter {
    return this.addFilter(new DropFilter(p));
  }

  delay(minMs: number, maxMs = minMs): DelayFilter {
    return this.addFilter(new DelayFilter(minMs, maxMs));
  }

  dropOneWay(from: number, to: number): OneWayDropFilter {
    return this.addFilter(new OneWayDropFilter(from, to));
  }

  dropTypes(types: MessageType[], opts: TypeFilterOptions = {}): MessageTypeFilter {
    return this.addFilter(new MessageTypeFilter(types, opts));
  }

  // ---- delivery ----

  /** Sends a message on behalf of `from` (what a connected store's endpoint does). */
  send(from: number, msg: RaftMessage): void {
    this.stats.sent++;
    const to = toStore(msg);
    if (!this.isUp(from) || !this.isUp(to)) {
      this.stats.droppedDown++;
      return;
    }
    let senders = this.sentToBy.get(to);
    if (!senders) {
      senders = new Set();
      this.sentToBy.set(to, senders);
    }
    senders.add(from);
    if (msg.message?.msgType === MessageType.MsgSnapshot) {
      void this.sendSnapshot(from, to, msg);
      return;
    }
    const delay = this.runFilters(msg);
    if (delay === false) {
      this.stats.droppedByFilter++;
      return;
    }
    const bytes = raft_serverpb.RaftMessage.encode(msg).finish();
    this.stats.bytes += bytes.length;
    const deliver = (): void => this.deliver(to, bytes);
    if (delay > 0) setTimeout(deliver, delay).unref();
    else setImmediate(deliver);
  }

  /** The filters' verdict on one message: false (drop) or the total delay in ms. */
  private runFilters(msg: RaftMessage): false | number {
    let delay = 0;
    for (const f of this.filterList) {
      const v = f.before(msg, this.rng);
      if (v === false) return false;
      if (typeof v === 'number') delay += v;
    }
    return delay;
  }

  /** Streams a snapshot from one store to another, chunk by chunk through the filters. */
  private async sendSnapshot(from: number, to: number, msg: RaftMessage): Promise<void> {
    const sender = this.receivers.get(from);
    const receiver = this.receivers.get(to);
    const regionId = msg.regionId ?? 0;
    const toPeerId = msg.toPeer?.id ?? 0;
    if (!sender?.snapshotChunks || !sender.reportSnapshotStatus || !receiver?.receiveSnapshot) {
      this.errors.push(new Error(`store ${from} -> ${to}: a snapshot needs stores with snapshot endpoints`));
      return;
    }
    this.stats.snapshotsStarted++;
    const queue = new AsyncQueue<SnapshotChunk>();
    const received = receiver.receiveSnapshot(queue);
    // If the receiver gives up early (busy, corrupt data) the producer must stop waiting for it.
    received.catch((e: unknown) => queue.fail(e instanceof Error ? e : new Error(String(e))));
    let ok = true;
    try {
      let index = 0;
      for await (const produced of sender.snapshotChunks(msg)) {
        if (!this.isUp(from) || !this.isUp(to)) throw new Error('a store went down during the transfer');
        if (queue.failure) throw queue.failure;
        const delay = this.runFilters(msg);
        if (delay === false) throw new Error('chunk dropped by a filter');
        let chunk: SnapshotChunk | false = produced;
        for (const f of this.filterList) {
          if (chunk && f.onSnapshotChunk) chunk = f.onSnapshotChunk(chunk, index, msg, this.rng);
        }
        if (!chunk) throw new Error('chunk dropped by a filter');
        const bytes = raft_serverpb.SnapshotChunk.encode(chunk).finish();
        this.stats.bytes += bytes.length;
        await (delay > 0 ? sleep(delay) : new Promise<void>((r) => setImmediate(r)));
        await queue.waitForSpace(4);
        queue.push(raft_serverpb.SnapshotChunk.decode(bytes));
        index++;
      }
      queue.end();
      await received;
    } catch (e) {
      ok = false;
      queue.fail(e instanceof Error ? e : new Error(String(e)));
      await received.catch(() => {});
    }
    if (ok) this.stats.snapshotsDelivered++;
    else this.stats.snapshotsFailed++;
    // The sender's store may have restarted meanwhile: report to whoever is store `from` now.
    this.receivers.get(from)?.reportSnapshotStatus?.(regionId, toPeerId, ok);
  }

  private deliver(to: number, bytes: Uint8Array): void {
    const r = this.receivers.get(to);
    if (!r) {
      this.stats.droppedDown++;
      return;
    }
    this.stats.delivered++;
    const decoded = raft_serverpb.RaftMessage.decode(bytes);
    try {
      r.onRaftMessage(decoded);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.errors.push(err);
      console.error(`[mock transport] store ${to} threw on a raft message: ${err.stack ?? err.message}`);
    }
  }
}
