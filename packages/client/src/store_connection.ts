// StoreConnection: the client's one long-lived BatchCommands stream to one store.
//
// gRPC unary calls in Node top out near 2,400/s per core; one bidirectional stream carrying
// frames of many requests moves two orders of magnitude more. So every request to a store is
// queued with a request id, and once per event-loop turn (setImmediate) the queue goes out as
// one BatchCommandsRequest frame. The store answers with BatchCommandsResponse frames whose
// request_ids say which request each response answers (in any order, across any frames).
//
// Transactional requests (KvGet ... KvResolveLock) share the stream; rpc's BatchCommands codec
// writes and reads their u64 timestamps losslessly, as bigint.
//
// A request waits at most until its own deadline (the request is then failed with
// AttemptTimeoutError: its outcome is unknown). If the stream fails, every request written to
// it fails with StoreUnavailableError (retryable, outcome unknown); requests still queued wait
// for the next stream, which the next flush opens.
import * as grpc from '@grpc/grpc-js';
import {
  type BatchCommandsRequestFrame,
  type BatchCommandsRequestItem,
  type BatchCommandsResponseItem,
  batchCommandsRequestCodec,
  type DecodedBatchCommandsResponse,
  newTinyKvGrpcClient,
  type TinyKvGrpcClient,
} from '@tskv/rpc';
import { AttemptTimeoutError, ClientClosedError, InvalidArgumentError, StoreUnavailableError } from './errors.js';

/**
 * One request of a frame: a raw one (the generated message's fields) or a transactional one
 * (get, scan, prewrite, commit, checkTxnStatus, batchRollback, resolveLock: rpc's lossless
 * shapes, u64 timestamps as bigint, encoded by rpc's BatchCommands codec).
 */
export type BatchRequest = BatchCommandsRequestItem;
export type BatchResponse = BatchCommandsResponseItem;
type Stream = grpc.ClientDuplexStream<BatchCommandsRequestFrame, DecodedBatchCommandsResponse>;

interface Pending {
  id: number;
  req: BatchRequest;
  size: number;
  resolve: (r: BatchResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
  /** The stream the request was written to; null while queued. */
  stream: Stream | null;
}

export interface StoreConnectionOptions {
  /** At most this many requests per frame (the rest go in the next frames of the same turn). */
  maxBatchRequests?: number;
  /** A frame is closed once its estimated payload passes this (bytes). */
  maxBatchBytes?: number;
  /** Extra gRPC channel options. */
  channelOptions?: grpc.ChannelOptions;
  /** Channel credentials (mutual TLS: channelCredentials(tls) of @tskv/rpc); default insecure. */
  credentials?: grpc.ChannelCredentials;
}

export interface StoreConnectionStats {
  framesSent: number;
  requestsSent: number;
  framesReceived: number;
  streamsOpened: number;
  streamFailures: number;
  timeouts: number;
}

/** Rough payload size of a request (keys and values), for frame cutting. */
function estimateSize(r: BatchRequest): number {
  const len = (b?: Uint8Array | null): number => (b ? b.length : 0);
  let n = 16;
  if (r.rawGet) n += len(r.rawGet.key);
  else if (r.rawPut) n += len(r.rawPut.key) + len(r.rawPut.value);
  else if (r.rawDelete) n += len(r.rawDelete.key);
  else if (r.rawScan) n += len(r.rawScan.startKey);
  else if (r.rawBatchGet) for (const k of r.rawBatchGet.keys ?? []) n += len(k) + 4;
  else if (r.rawBatchPut) for (const p of r.rawBatchPut.pairs ?? []) n += len(p.key) + len(p.value) + 8;
  else if (r.get) n += len(r.get.key) + 8;
  else if (r.scan) n += len(r.scan.startKey) + 8;
  else if (r.prewrite) {
    n += len(r.prewrite.primaryLock) + 24;
    for (const m of r.prewrite.mutations) n += len(m.key) + len(m.value) + 8;
  } else if (r.commit) for (const k of r.commit.keys) n += len(k) + 4;
  else if (r.batchRollback) for (const k of r.batchRollback.keys) n += len(k) + 4;
  else if (r.checkTxnStatus) n += len(r.checkTxnStatus.primaryKey) + 16;
  return n;
}

function isTxn(r: BatchRequest): boolean {
  return !!(r.get || r.scan || r.prewrite || r.commit || r.checkTxnStatus || r.batchRollback || r.resolveLock);
}

export class StoreConnection {
  private client: TinyKvGrpcClient | null = null;
  private stream: Stream | null = null;
  private readonly pending = new Map<number, Pending>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private closed = false;
  private readonly maxBatchRequests: number;
  private readonly maxBatchBytes: number;
  readonly stats: StoreConnectionStats = {
    framesSent: 0,
    requestsSent: 0,
    framesReceived: 0,
    streamsOpened: 0,
    streamFailures: 0,
    timeouts: 0,
  };
  /** The last stream failure, for diagnostics. */
  lastError: Error | null = null;

  constructor(
    readonly storeId: number,
    readonly address: string,
    private readonly opts: StoreConnectionOptions = {},
  ) {
    this.maxBatchRequests = opts.maxBatchRequests ?? 4096;
    this.maxBatchBytes = opts.maxBatchBytes ?? 8 * 1024 * 1024;
  }

  /** Requests sent or queued and not answered yet. */
  get inflight(): number {
    return this.pending.size;
  }

  /**
   * Sends one request; resolves with its response, or rejects with StoreUnavailableError (the
   * stream failed), AttemptTimeoutError (no answer within timeoutMs) or ClientClosedError.
   */
  send(req: BatchRequest, timeoutMs: number): Promise<BatchResponse> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    if (isTxn(req)) {
      // A request the lossless codec refuses (a timestamp that is not a u64 bigint...) would make
      // grpc-js cancel the whole stream, failing every request on it: refuse that one alone.
      try {
        batchCommandsRequestCodec.encode({ requests: [req], requestIds: [0] });
      } catch (e) {
        return Promise.reject(new InvalidArgumentError(`a request to store ${this.storeId} cannot be encoded: ${(e as Error).message}`));
      }
    }
    return new Promise<BatchResponse>((resolve, reject) => {
      const id = this.nextId++;
      const p: Pending = { id, req, size: estimateSize(req), resolve, reject, timer: null, stream: null };
      p.timer = setTimeout(
        () => {
          if (!this.pending.delete(id)) return;
          this.stats.timeouts++;
          const i = p.stream ? -1 : this.queue.indexOf(p);
          if (i >= 0) this.queue.splice(i, 1);
          reject(
            new AttemptTimeoutError(
              `store ${this.storeId} (${this.address}) did not answer within ${timeoutMs} ms`,
              this.storeId,
              this.address,
            ),
          );
        },
        Math.max(1, timeoutMs),
      );
      this.pending.set(id, p);
      this.queue.push(p);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private open(): Stream {
    if (this.stream) return this.stream;
    this.client ??= newTinyKvGrpcClient(this.address, this.opts.credentials, this.opts.channelOptions);
    const s = this.client.batchCommands() as Stream;
    this.stats.streamsOpened++;
    this.stream = s;
    s.on('data', (frame: DecodedBatchCommandsResponse) => this.onFrame(frame));
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      if (this.stream === s) this.stream = null;
      this.stats.streamFailures++;
      this.lastError = err;
      const msg = `store ${this.storeId} (${this.address}): ${describeStreamError(err)}`;
      for (const p of [...this.pending.values()]) {
        if (p.stream !== s) continue;
        this.settle(p);
        p.reject(new StoreUnavailableError(msg, this.storeId, this.address));
      }
      // Requests queued meanwhile go out on a new stream.
      if (this.queue.length > 0 && !this.closed) this.scheduleFlush();
    };
    s.on('error', (e: Error) => fail(e));
    s.on('end', () => fail(new Error('the store ended the stream')));
    s.on('close', () => fail(new Error('the stream closed')));
    return s;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private settle(p: Pending): void {
    this.pending.delete(p.id);
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
  }

  /** Writes the queue as frames on the stream (one frame unless the queue is very large). */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.queue.length === 0) return;
    const q = this.queue;
    this.queue = [];
    let s: Stream;
    try {
      s = this.open();
    } catch (e) {
      const err = new StoreUnavailableError(`store ${this.storeId} (${this.address}): ${(e as Error).message}`, this.storeId, this.address);
      for (const p of q) {
        if (!this.pending.has(p.id)) continue;
        this.settle(p);
        p.reject(err);
      }
      return;
    }
    let i = 0;
    while (i < q.length) {
      const requests: BatchRequest[] = [];
      const requestIds: number[] = [];
      let bytes = 0;
      for (; i < q.length && requests.length < this.maxBatchRequests && (bytes === 0 || bytes < this.maxBatchBytes); i++) {
        const p = q[i]!;
        if (!this.pending.has(p.id)) continue; // timed out while queued
        p.stream = s;
        requests.push(p.req);
        requestIds.push(p.id);
        bytes += p.size;
      }
      if (requests.length === 0) continue;
      this.stats.framesSent++;
      this.stats.requestsSent += requests.length;
      s.write({ requests, requestIds });
    }
  }

  private onFrame(frame: DecodedBatchCommandsResponse): void {
    this.stats.framesReceived++;
    const ids = frame.requestIds ?? [];
    const rs = frame.responses ?? [];
    for (let i = 0; i < ids.length; i++) {
      const p = this.pending.get(Number(ids[i]));
      if (!p) continue; // timed out already
      this.settle(p);
      const r = rs[i];
      if (r) p.resolve(r);
      else
        p.reject(
          new StoreUnavailableError(
            `store ${this.storeId} (${this.address}): frame without a response for request ${p.id}`,
            this.storeId,
            this.address,
          ),
        );
    }
  }

  /** Fails everything pending and closes the stream and channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new ClientClosedError();
    for (const p of [...this.pending.values()]) {
      this.settle(p);
      p.reject(err);
    }
    this.queue = [];
    const s = this.stream;
    this.stream = null;
    if (s) {
      s.removeAllListeners('data');
      s.on('error', () => {});
      s.cancel();
    }
    this.client?.close();
    this.client = null;
  }
}

function describeStreamError(e: Error): string {
  const se = e as Partial<grpc.ServiceError>;
  if (typeof se.code === 'number') {
    const name = grpc.status[se.code] ?? String(se.code);
    // grpc-js appends notes that say nothing to a user.
    const details = (se.details ?? '').replace(/\.?\s*Resolution note:.*$/s, '').replace(/\.\s*Last error: Error: (.*)$/s, ' ($1)');
    return `${name}${details ? `: ${details}` : ''}`;
  }
  return e.message;
}
