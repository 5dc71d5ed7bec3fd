// GrpcTransport: the raftstore Transport between store processes.
//
// Raft traffic to a store goes over ONE long-lived BatchRaft client stream, opened lazily: the
// messages sent in one event-loop turn are written as one BatchRaftMessage frame (cut at
// maxFrameBytes). A failed stream is reopened after an exponential backoff; while a store is
// unreachable (backing off, or its queue full because the stream does not drain), its messages are
// dropped, counted, and the sending peers are told (store.reportUnreachable) so raft probes
// instead of pipelining. Each failure of the stream or of a connect is also reported for the
// whole store (store.reportStoreUnreachable: hibernating followers of its leaders wake). Store
// addresses come from the scheduler, cached until a stream fails.
//
// A MsgSnapshot goes on a Snapshot stream of its own: the store's chunks (the message, then the
// files) are written with backpressure, and the outcome is reported back to raft
// (store.reportSnapshotStatus). At most snapMaxConcurrentSending snapshots are sent at once.
import * as grpc from '@grpc/grpc-js';
import { eraftpb, type raft_serverpb } from '@tskv/proto';
import type { Logger, RaftMessage, SnapshotChunk, SnapshotEndpoint, Transport } from '@tskv/raftstore';
import { createLogger } from '@tskv/raftstore';
import { newTinyKvGrpcClient, type TinyKvGrpcClient } from '@tskv/rpc';
import { frameEnd } from '@tskv/util';
import PQueue from 'p-queue';
import { type DropReason, ServerMetrics } from './metrics.js';

/** What the transport needs of the local store (a raftstore Store satisfies it). */
export interface TransportStore extends SnapshotEndpoint {
  reportUnreachable(regionId: number, toPeerId: number): void;
  reportStoreUnreachable(storeId: number): void;
}

export interface GrpcTransportOptions {
  /** This store (messages are never sent to it over the network). */
  storeId: number;
  /** A store's gRPC address (the scheduler's view); null if unknown. */
  resolve(storeId: number): Promise<string | null>;
  logger?: Logger;
  metrics?: ServerMetrics;
  /** Messages queued per target store beyond which new ones are dropped. Default 16384. */
  maxQueue?: number;
  /** Approximate bytes per BatchRaft frame. Default 4 MiB. */
  maxFrameBytes?: number;
  /** Reconnect backoff of a failed raft stream: starts here, doubles up to the max. Default 100 ms .. 5 s. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Snapshots sent at once (more wait their turn). Default 4. */
  snapMaxConcurrentSending?: number;
  /** A snapshot stream that makes no progress for this long is abandoned. Default 60 s. */
  snapIdleTimeoutMs?: number;
  /** Extra gRPC channel options (the product's channelOptions() are the base). */
  channelOptions?: grpc.ChannelOptions;
  /** Credentials of the connections to other stores (mutual TLS: channelCredentials(tls)); default insecure. */
  credentials?: grpc.ChannelCredentials;
  /**
   * Test hook: sees every outgoing snapshot chunk (index 0 carries the message) and returns the
   * chunk to send (possibly altered), or null to abort the transfer.
   */
  snapshotChunkFilter?: (chunk: SnapshotChunk, index: number, msg: RaftMessage) => SnapshotChunk | null;
}

export interface TransportStats {
  messagesSent: number;
  framesSent: number;
  dropped: number;
  reconnects: number;
  snapshotsSent: number;
  snapshotsFailed: number;
}

/** Approximate encoded size of a raft message (frame cutting only; never encodes). */
function approxBytes(m: RaftMessage): number {
  let n = 96 + (m.startKey?.length ?? 0) + (m.endKey?.length ?? 0);
  const msg = m.message;
  if (msg) {
    for (const e of msg.entries ?? []) n += 24 + (e.data?.length ?? 0) + (e.context?.length ?? 0);
    n += msg.snapshot?.data?.length ?? 0;
    n += msg.context?.length ?? 0;
  }
  return n;
}

/** The connection to one target store. */
class Conn {
  addr: string | null = null;
  client: TinyKvGrpcClient | null = null;
  /** Snapshots go over a connection of their own: bulk data never queues ahead of raft traffic. */
  snapClient: TinyKvGrpcClient | null = null;
  clientAddr: string | null = null;
  stream: grpc.ClientWritableStream<raft_serverpb.IBatchRaftMessage> | null = null;
  /** The stream's write buffer is full: wait for 'drain' before writing more. */
  blocked = false;
  connecting = false;
  connectedOnce = false;
  queue: RaftMessage[] = [];
  flushScheduled = false;
  /** performance.now() until which the store counts as unreachable (backoff). */
  downUntil = 0;
  backoffMs: number;
  /** Log the next failure (one line per outage, not per retry). */
  logNextFailure = true;

  constructor(
    readonly storeId: number,
    backoffMs: number,
  ) {
    this.backoffMs = backoffMs;
  }
}

export class GrpcTransport implements Transport {
  private readonly conns = new Map<number, Conn>();
  private store: TransportStore | null = null;
  private closed = false;
  private readonly logger: Logger;
  readonly metrics: ServerMetrics;
  private readonly maxQueue: number;
  private readonly maxFrameBytes: number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly snapIdleMs: number;
  private readonly snapQueue: PQueue;
  private readonly activeSnapshots = new Set<grpc.ClientWritableStream<raft_serverpb.ISnapshotChunk>>();
  /** Unreachable reports of this turn, deduplicated by region and peer, sent on the next turn. */
  private readonly unreachable = new Map<string, [number, number]>();
  private unreachableScheduled = false;
  readonly stats: TransportStats = { messagesSent: 0, framesSent: 0, dropped: 0, reconnects: 0, snapshotsSent: 0, snapshotsFailed: 0 };

  constructor(private readonly opts: GrpcTransportOptions) {
    this.logger = opts.logger ?? createLogger({ storeId: opts.storeId });
    this.metrics = opts.metrics ?? new ServerMetrics();
    this.maxQueue = opts.maxQueue ?? 16_384;
    this.maxFrameBytes = opts.maxFrameBytes ?? 4 * 1024 * 1024;
    this.minBackoff = opts.reconnectMinMs ?? 100;
    this.maxBackoff = opts.reconnectMaxMs ?? 5000;
    this.snapIdleMs = opts.snapIdleTimeoutMs ?? 60_000;
    this.snapQueue = new PQueue({ concurrency: opts.snapMaxConcurrentSending ?? 4 });
  }

  /** The local store: snapshot chunks come from it, unreachable and snapshot reports go to it. */
  attach(store: TransportStore): void {
    this.store = store;
  }

  // ---- Transport ----

  send(msg: RaftMessage): void {
    try {
      this.sendInner(msg);
    } catch (e) {
      // Never into the raft worker.
      this.logger.error('transport send failed', { regionId: msg.regionId, err: String(e) });
    }
  }

  private sendInner(msg: RaftMessage): void {
    const to = msg.toPeer?.storeId ?? 0;
    if (this.closed || !to || to === this.opts.storeId) {
      this.drop(msg, 'closed');
      return;
    }
    if (msg.message?.msgType === eraftpb.MessageType.MsgSnapshot) {
      this.sendSnapshot(msg);
      return;
    }
    const c = this.conn(to);
    if (c.downUntil > performance.now()) {
      this.drop(msg, 'unreachable');
      return;
    }
    if (c.queue.length >= this.maxQueue) {
      this.drop(msg, 'queue_full');
      return;
    }
    c.queue.push(msg);
    this.scheduleFlush(c);
  }

  private conn(storeId: number): Conn {
    let c = this.conns.get(storeId);
    if (!c) {
      c = new Conn(storeId, this.minBackoff);
      this.conns.set(storeId, c);
    }
    return c;
  }

  private drop(msg: RaftMessage, reason: DropReason): void {
    this.stats.dropped++;
    this.metrics.dropped(reason);
    if (reason === 'closed') return;
    const regionId = msg.regionId ?? 0;
    const peerId = msg.toPeer?.id ?? 0;
    if (!regionId || !peerId) return;
    this.unreachable.set(`${regionId}:${peerId}`, [regionId, peerId]);
    if (!this.unreachableScheduled) {
      this.unreachableScheduled = true;
      setImmediate(() => {
        this.unreachableScheduled = false;
        const reports = [...this.unreachable.values()];
        this.unreachable.clear();
        if (this.closed) return;
        for (const [r, p] of reports) this.store?.reportUnreachable(r, p);
      });
    }
  }

  private scheduleFlush(c: Conn): void {
    if (c.flushScheduled) return;
    c.flushScheduled = true;
    setImmediate(() => this.flush(c));
  }

  /** Writes the queue as frames of at most maxFrameBytes; opens the stream first if needed. */
  private flush(c: Conn): void {
    c.flushScheduled = false;
    if (this.closed || c.queue.length === 0) return;
    if (!c.stream) {
      if (!c.connecting) void this.connect(c);
      return;
    }
    if (c.blocked) return;
    const s = c.stream;
    while (c.queue.length > 0) {
      const n = frameEnd(c.queue, 0, approxBytes, this.maxFrameBytes);
      const msgs = n === c.queue.length ? c.queue : c.queue.slice(0, n);
      c.queue = n === c.queue.length ? [] : c.queue.slice(n);
      this.stats.framesSent++;
      this.stats.messagesSent += msgs.length;
      this.metrics.raftFramesSent.inc();
      this.metrics.raftMessagesSent.inc(msgs.length);
      if (!s.write({ msgs })) {
        c.blocked = true;
        break;
      }
    }
    // A stream whose connection is up proves the store reachable: the next failure backs off from the start.
    if (c.client && c.client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY) {
      c.backoffMs = this.minBackoff;
      c.logNextFailure = true;
    }
  }

  /** The raft (or snapshot) client of a store, at its current address (looked up if unknown). */
  private async client(c: Conn, purpose: 'raft' | 'snapshot' = 'raft'): Promise<TinyKvGrpcClient> {
    const addr = c.addr ?? (await this.opts.resolve(c.storeId));
    if (!addr) throw new Error(`store ${c.storeId} has no known address`);
    if (this.closed) throw new Error('transport closed');
    if (c.clientAddr !== addr) {
      c.client?.close();
      c.snapClient?.close();
      c.client = c.snapClient = null;
      c.clientAddr = addr;
    }
    c.addr = addr;
    const opts = this.opts.channelOptions ?? {};
    if (purpose === 'snapshot') {
      // A local subchannel pool: a connection separate from the raft stream's.
      c.snapClient ??= newTinyKvGrpcClient(addr, this.opts.credentials ?? grpc.credentials.createInsecure(), {
        ...opts,
        'grpc.use_local_subchannel_pool': 1,
      });
      return c.snapClient;
    }
    c.client ??= newTinyKvGrpcClient(addr, this.opts.credentials ?? grpc.credentials.createInsecure(), opts);
    return c.client;
  }

  private async connect(c: Conn): Promise<void> {
    c.connecting = true;
    try {
      const client = await this.client(c);
      if (this.closed) return;
      if (c.connectedOnce) {
        this.stats.reconnects++;
        this.metrics.raftStreamReconnects.inc();
      }
      c.connectedOnce = true;
      const s = client.batchRaft((err: grpc.ServiceError | null) =>
        this.onStreamDone(c, s, err),
      ) as grpc.ClientWritableStream<raft_serverpb.IBatchRaftMessage>;
      s.on('error', () => undefined); // reported through the callback
      s.on('drain', () => {
        if (c.stream !== s) return;
        c.blocked = false;
        this.scheduleFlush(c);
      });
      c.stream = s;
      c.blocked = false;
      this.scheduleFlush(c);
    } catch (e) {
      this.markDown(c, e instanceof Error ? e : new Error(String(e)));
    } finally {
      c.connecting = false;
    }
  }

  private onStreamDone(c: Conn, s: grpc.ClientWritableStream<raft_serverpb.IBatchRaftMessage>, err: grpc.ServiceError | null): void {
    if (c.stream !== s) return;
    c.stream = null;
    c.blocked = false;
    if (this.closed) return;
    // The target ends its side only when it shuts down: either way, back off and reconnect.
    this.markDown(c, err ?? new Error(`store ${c.storeId} closed the raft stream`));
  }

  /** The store is unreachable for a backoff period: its queue is dropped, its address forgotten. */
  private markDown(c: Conn, err: Error): void {
    const wait = c.backoffMs;
    c.downUntil = performance.now() + wait;
    c.backoffMs = Math.min(c.backoffMs * 2, this.maxBackoff);
    c.addr = null; // ask the scheduler again: the store may have moved
    const queued = c.queue;
    c.queue = [];
    for (const m of queued) this.drop(m, 'unreachable');
    // Hibernating regions send nothing: a broken stream (a killed store resets it at once, a
    // silent one fails the keepalive) is their only news that their leader may be gone.
    const store = this.store;
    if (store) {
      setImmediate(() => {
        if (!this.closed) store.reportStoreUnreachable(c.storeId);
      });
    }
    if (c.logNextFailure) {
      c.logNextFailure = false;
      this.logger.warn('raft stream to store failed; retrying with backoff', { toStore: c.storeId, retryInMs: wait, err: err.message });
    } else {
      this.logger.debug('raft stream to store failed again', { toStore: c.storeId, retryInMs: wait, err: err.message });
    }
  }

  // ---- snapshots ----

  private sendSnapshot(msg: RaftMessage): void {
    const regionId = msg.regionId ?? 0;
    const toPeerId = msg.toPeer?.id ?? 0;
    void this.snapQueue.add(async () => {
      let ok = false;
      try {
        ok = await this.streamSnapshot(msg);
      } catch (e) {
        this.logger.warn('snapshot send failed', {
          regionId,
          toPeer: toPeerId,
          toStore: msg.toPeer?.storeId,
          err: String(e instanceof Error ? e.message : e),
        });
      }
      if (ok) this.stats.snapshotsSent++;
      else this.stats.snapshotsFailed++;
      this.metrics.snapshotsSent.labels(ok ? 'ok' : 'failed').inc();
      if (!this.closed) this.store?.reportSnapshotStatus(regionId, toPeerId, ok);
    });
  }

  private async streamSnapshot(msg: RaftMessage): Promise<boolean> {
    const store = this.store;
    if (!store || this.closed) return false;
    const c = this.conn(msg.toPeer!.storeId!);
    let client: TinyKvGrpcClient;
    try {
      client = await this.client(c, 'snapshot');
    } catch (e) {
      c.addr = null;
      throw e;
    }
    let settle!: (e: Error | null) => void;
    const finished = new Promise<Error | null>((r) => (settle = r));
    const call = client.snapshot((err: grpc.ServiceError | null) => settle(err)) as grpc.ClientWritableStream<raft_serverpb.ISnapshotChunk>;
    call.on('error', () => undefined); // reported through the callback
    this.activeSnapshots.add(call);
    let failure: Error | null | undefined;
    void finished.then((e) => (failure = e ?? undefined));
    // No progress for snapIdleMs (the receiver stopped reading, the network hangs): give up.
    let idle: NodeJS.Timeout | null = null;
    const touch = (): void => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        settle(new Error(`snapshot stream made no progress for ${this.snapIdleMs} ms`));
        call.cancel();
      }, this.snapIdleMs);
      idle.unref();
    };
    try {
      touch();
      let index = 0;
      for await (const produced of store.snapshotChunks(msg)) {
        if (failure) throw failure;
        if (this.closed) throw new Error('transport closed');
        const chunk = this.opts.snapshotChunkFilter ? this.opts.snapshotChunkFilter(produced, index, msg) : produced;
        index++;
        if (!chunk) throw new Error('snapshot chunk dropped by the filter');
        if (!call.write(chunk)) {
          // Backpressure: the next chunk is produced only once this one is on its way.
          const drainOrDone = await new Promise<boolean>((resolve) => {
            const onDrain = (): void => resolve(true);
            call.once('drain', onDrain);
            void finished.then(() => {
              call.off('drain', onDrain);
              resolve(false);
            });
          });
          if (!drainOrDone) throw failure ?? new Error('snapshot stream ended early');
        }
        touch();
      }
      call.end();
      const err = await finished;
      if (err) throw err;
      return true;
    } catch (e) {
      call.cancel();
      // The receiver's answer (e.g. the corrupt-data error) says more than our cancellation.
      const answered = await Promise.race([finished, new Promise<null>((r) => setTimeout(() => r(null), 100))]);
      throw answered && (answered as grpc.ServiceError).code !== grpc.status.CANCELLED ? answered : e;
    } finally {
      if (idle) clearTimeout(idle);
      this.activeSnapshots.delete(call);
    }
  }

  // ---- lifecycle ----

  /** Ends every stream and drops whatever is queued. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.snapQueue.clear();
    for (const call of this.activeSnapshots) call.cancel();
    for (const c of this.conns.values()) {
      c.queue = [];
      const s = c.stream;
      c.stream = null;
      if (s) {
        try {
          s.end();
        } catch {
          // already failed
        }
      }
    }
    // Let the ends reach the wire before the channels go.
    const clients = [...this.conns.values()].flatMap((c) => [c.client, c.snapClient]).filter((x): x is TinyKvGrpcClient => x !== null);
    setTimeout(() => {
      for (const cl of clients) cl.close();
    }, 200).unref();
  }

  /** Whether a target store is currently considered unreachable (tests, status). */
  isUnreachable(storeId: number): boolean {
    const c = this.conns.get(storeId);
    return !!c && c.downUntil > performance.now();
  }
}
