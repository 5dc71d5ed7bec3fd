// The TinyKv gRPC service over a raftstore Store: the raw client API (unary and the BatchCommands
// stream), and the inbound side of the store-to-store raft and snapshot streams.
//
// Every client request becomes ONE RaftCmdRequest (a batch put is one entry: applied atomically).
// Region errors the store answers go to `region_error` as the store produced them; malformed
// requests get a plain message in `error`. Handlers never throw and never reject: whatever
// arrives, the process stays up.
import * as grpc from '@grpc/grpc-js';
import { type errorpb, type kvrpcpb, raft_cmdpb, type raft_serverpb } from '@tskv/proto';
import type { Logger, RaftMessage, SnapshotChunk } from '@tskv/raftstore';
import { SnapshotBusyError, SnapshotCorruptError } from '@tskv/raftstore';
import type {
  BatchCommandsRequestItem,
  BatchCommandsResponseFrame,
  BatchCommandsResponseItem,
  DecodedBatchCommandsRequest,
  KvBatchRollbackRequest,
  KvCheckTxnStatusRequest,
  KvCommitRequest,
  KvGetRequest,
  KvPrewriteRequest,
  KvResolveLockRequest,
  KvScanRequest,
} from '@tskv/rpc';
import { frameEnd } from '@tskv/util';
import { Undecodable } from './decode_guard.js';
import { BadRequest, DEFAULT_INPUT_LIMITS, InputCheck, type InputLimits, inputLimitsProblem } from './input_limits.js';
import type { ServerMetrics } from './metrics.js';
import { isRegionError, regionErrorName, requestHeader } from './request_header.js';
import { TxnService } from './txn_service.js';
import type { TxnStore } from './txn_storage.js';

const CmdType = raft_cmdpb.CmdType;
const VALID_CFS = new Set(['', 'default', 'lock', 'write']);

/** What the service needs of a store (a raftstore Store satisfies it). */
export interface KvStore extends TxnStore {
  call(req: raft_cmdpb.IRaftCmdRequest): Promise<raft_cmdpb.IRaftCmdResponse>;
  onRaftMessage(msg: RaftMessage): void;
  receiveSnapshot(chunks: AsyncIterable<SnapshotChunk>): Promise<void>;
}

export interface KvServiceOptions {
  metrics: ServerMetrics;
  logger: Logger;
  /** Client requests in flight on this server beyond which new ones get ServerIsBusy. */
  maxInflightRequests?: number;
  /** Requests of one BatchCommands stream in flight beyond which the stream stops being read. */
  maxInflightPerStream?: number;
  /** Approximate bytes of one BatchCommands response frame. */
  maxResponseFrameBytes?: number;
  /** Key, value and batch size limits over DEFAULT_INPUT_LIMITS. */
  limits?: Partial<InputLimits>;
}

type Method = 'rawGet' | 'rawPut' | 'rawDelete' | 'rawScan' | 'rawBatchGet' | 'rawBatchPut';
const METHODS: Method[] = ['rawGet', 'rawPut', 'rawDelete', 'rawScan', 'rawBatchGet', 'rawBatchPut'];

/** The common part of every raw response. */
interface Outcome {
  regionError?: errorpb.IError;
  error?: string;
}

/** A snapshot chunk that could not be decoded: the receive fails with INVALID_ARGUMENT. */
class MalformedChunk extends Error {}

function cfOf(cf: string | null | undefined): string {
  const name = cf ?? '';
  if (!VALID_CFS.has(name)) throw new BadRequest(`unknown column family '${name}' (valid: default, lock, write; empty means default)`);
  return name || 'default';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Approximate encoded size of a response (frame cutting only). */
function approxBytes(r: BatchCommandsResponseItem): number {
  let n = 32;
  const v = r.rawGet?.value ?? r.get?.value;
  if (v) n += v.length;
  for (const kv of r.rawScan?.kvs ?? r.rawBatchGet?.pairs ?? r.scan?.pairs ?? []) n += (kv.key?.length ?? 0) + (kv.value?.length ?? 0) + 8;
  return n;
}

export class TinyKvService {
  private store: KvStore | null = null;
  private inflight = 0;
  private readonly maxInflight: number;
  private readonly maxPerStream: number;
  private readonly maxFrameBytes: number;
  private readonly requestCounters: Record<
    Method,
    {
      requests: ReturnType<ServerMetrics['clientRequests']['labels']>;
      errors: ReturnType<ServerMetrics['clientRequestErrors']['labels']>;
      duration: ReturnType<ServerMetrics['clientRequestDuration']['labels']>;
    }
  >;
  /** Inbound store-to-store streams, answered (closed) at shutdown. */
  private readonly raftCalls = new Set<(err: grpc.ServiceError | null) => void>();
  /** Open BatchCommands streams: each entry ends its stream once its answers are written. */
  private readonly commandStreams = new Set<() => void>();
  private closing = false;
  private logger: Logger;
  private readonly limits: InputLimits;
  private readonly txn: TxnService;

  constructor(private readonly opts: KvServiceOptions) {
    this.logger = opts.logger;
    this.limits = { ...DEFAULT_INPUT_LIMITS, ...opts.limits };
    const problem = inputLimitsProblem(this.limits);
    if (problem) throw new Error(`bad input limits: ${problem}`);
    this.maxInflight = opts.maxInflightRequests ?? 100_000;
    this.maxPerStream = opts.maxInflightPerStream ?? 20_000;
    this.maxFrameBytes = opts.maxResponseFrameBytes ?? 4 * 1024 * 1024;
    this.txn = new TxnService({ metrics: opts.metrics, logger: this.logger, limits: this.limits, store: () => this.txnStore() });
    const m = opts.metrics;
    this.requestCounters = Object.fromEntries(
      METHODS.map((k) => [
        k,
        { requests: m.clientRequests.labels(k), errors: m.clientRequestErrors.labels(k), duration: m.clientRequestDuration.labels(k) },
      ]),
    ) as TinyKvService['requestCounters'];
  }

  /** The store requests go to (set once it exists; until then clients get ServerIsBusy). */
  setStore(store: KvStore, logger?: Logger): void {
    this.store = store;
    if (logger) this.logger = logger;
  }

  // ---- the raw API: each returns the response, never throws ----

  rawGet(req: kvrpcpb.IRawGetRequest): Promise<kvrpcpb.IRawGetResponse> {
    return this.exec(
      'rawGet',
      () => {
        const cf = cfOf(req.cf);
        return { header: requestHeader(req.context), requests: [{ cmdType: CmdType.Get, get: { cf, key: this.check().key(req.key) } }] };
      },
      (resp) => {
        const g = resp.responses?.[0]?.get;
        return g?.found ? { value: g.value ?? new Uint8Array(0), notFound: false } : { notFound: true };
      },
    );
  }

  rawPut(req: kvrpcpb.IRawPutRequest): Promise<kvrpcpb.IRawPutResponse> {
    return this.exec(
      'rawPut',
      () => {
        const cf = cfOf(req.cf);
        const c = this.check();
        return {
          header: requestHeader(req.context),
          requests: [{ cmdType: CmdType.Put, put: { cf, key: c.key(req.key), value: c.value(req.value) } }],
        };
      },
      () => ({}),
    );
  }

  rawDelete(req: kvrpcpb.IRawDeleteRequest): Promise<kvrpcpb.IRawDeleteResponse> {
    return this.exec(
      'rawDelete',
      () => {
        const cf = cfOf(req.cf);
        return {
          header: requestHeader(req.context),
          requests: [{ cmdType: CmdType.Delete, delete: { cf, key: this.check().key(req.key) } }],
        };
      },
      () => ({}),
    );
  }

  rawScan(req: kvrpcpb.IRawScanRequest): Promise<kvrpcpb.IRawScanResponse> {
    return this.exec(
      'rawScan',
      () => {
        const cf = cfOf(req.cf);
        const limit = req.limit ?? 0;
        if (!Number.isInteger(limit) || limit < 0) throw new BadRequest(`bad limit ${String(limit)}`);
        // An empty start key means the region's start; the end is the region's end.
        return {
          header: requestHeader(req.context),
          requests: [
            {
              cmdType: CmdType.Snap,
              snap: { cf, startKey: this.check().optionalKey(req.startKey, 'start key'), endKey: new Uint8Array(0), limit },
            },
          ],
        };
      },
      (resp) => ({ kvs: (resp.responses?.[0]?.snap?.kvs ?? []).map((kv) => ({ key: kv.key, value: kv.value })) }),
    );
  }

  rawBatchGet(req: kvrpcpb.IRawBatchGetRequest): Promise<kvrpcpb.IRawBatchGetResponse> {
    return this.exec(
      'rawBatchGet',
      () => {
        const cf = cfOf(req.cf);
        const keys = req.keys ?? [];
        const c = this.check();
        c.batch(keys.length, 'keys');
        return {
          header: requestHeader(req.context),
          requests: keys.map((k, i) => ({ cmdType: CmdType.Get, get: { cf, key: c.key(k, `key ${i}`) } })),
        };
      },
      (resp, cmd) => {
        const pairs: kvrpcpb.IKvPair[] = [];
        const rs = resp.responses ?? [];
        cmd.requests!.forEach((r, i) => {
          const g = rs[i]?.get;
          if (g?.found) pairs.push({ key: r.get!.key, value: g.value ?? new Uint8Array(0) });
        });
        return { pairs };
      },
    );
  }

  rawBatchPut(req: kvrpcpb.IRawBatchPutRequest): Promise<kvrpcpb.IRawBatchPutResponse> {
    return this.exec(
      'rawBatchPut',
      () => {
        const cf = cfOf(req.cf);
        const pairs = req.pairs ?? [];
        const c = this.check();
        c.batch(pairs.length, 'pairs');
        // One command, many puts: one raft entry, applied atomically. Every pair is checked before
        // anything is proposed: one bad pair refuses the whole batch.
        return {
          header: requestHeader(req.context),
          requests: pairs.map((p, i) => ({
            cmdType: CmdType.Put,
            put: { cf, key: c.key(p?.key, `key ${i}`), value: c.value(p?.value, `value ${i}`) },
          })),
        };
      },
      () => ({}),
    );
  }

  // ---- the transactional API (txn_service.ts), counted with the raw requests in flight ----

  kvGet = this.counted((req: KvGetRequest) => this.txn.kvGet(req));
  kvScan = this.counted((req: KvScanRequest) => this.txn.kvScan(req));
  kvPrewrite = this.counted((req: KvPrewriteRequest) => this.txn.kvPrewrite(req));
  kvCommit = this.counted((req: KvCommitRequest) => this.txn.kvCommit(req));
  kvCheckTxnStatus = this.counted((req: KvCheckTxnStatusRequest) => this.txn.kvCheckTxnStatus(req));
  kvBatchRollback = this.counted((req: KvBatchRollbackRequest) => this.txn.kvBatchRollback(req));
  kvResolveLock = this.counted((req: KvResolveLockRequest) => this.txn.kvResolveLock(req));

  private counted<Req, Res>(f: (req: Req) => Promise<Res>): (req: Req) => Promise<Res> {
    return async (req: Req) => {
      this.inflight++;
      try {
        return await f(req);
      } finally {
        this.inflight--;
      }
    };
  }

  /** The store transactional commands run on, or why there is none (ServerIsBusy). */
  private txnStore(): TxnStore | string {
    if (!this.store) return 'store is starting';
    if (this.closing) return 'store is shutting down';
    // This request is counted already.
    if (this.inflight > this.maxInflight) return `${this.inflight - 1} requests in flight`;
    return this.store;
  }

  /** The size check of one request. */
  private check(): InputCheck {
    return new InputCheck(this.limits);
  }

  private async exec<R extends object>(
    method: Method,
    build: () => raft_cmdpb.IRaftCmdRequest,
    ok: (resp: raft_cmdpb.IRaftCmdResponse, cmd: raft_cmdpb.IRaftCmdRequest) => R,
  ): Promise<R & Outcome> {
    const c = this.requestCounters[method];
    c.requests.inc();
    const t0 = performance.now();
    let cmd: raft_cmdpb.IRaftCmdRequest;
    try {
      cmd = build();
    } catch (e) {
      c.errors.inc();
      return { error: e instanceof BadRequest ? e.message : `bad request: ${messageOf(e)}` } as R & Outcome;
    }
    const store = this.store;
    if (!store || this.closing || this.inflight >= this.maxInflight) {
      const reason = !store ? 'store is starting' : this.closing ? 'store is shutting down' : `${this.inflight} requests in flight`;
      return this.regionError(method, { message: `server is busy: ${reason}`, serverIsBusy: { reason } }) as R & Outcome;
    }
    this.inflight++;
    try {
      const resp = await store.call(cmd);
      const err = resp.header?.error;
      if (err) {
        if (isRegionError(err)) return this.regionError(method, err) as R & Outcome;
        c.errors.inc();
        return { error: err.message || 'request failed' } as R & Outcome;
      }
      return ok(resp, cmd);
    } catch (e) {
      this.logger.error('request failed unexpectedly', { method, err: messageOf(e) });
      c.errors.inc();
      return { error: `internal error: ${messageOf(e)}` } as R & Outcome;
    } finally {
      this.inflight--;
      c.duration.observe((performance.now() - t0) / 1000);
    }
  }

  private regionError(method: Method, e: errorpb.IError): Outcome {
    this.opts.metrics.clientRegionErrors.labels(method, regionErrorName(e)).inc();
    return { regionError: e };
  }

  /** One request of a BatchCommands frame. */
  private async dispatch(r: BatchCommandsRequestItem | null | undefined): Promise<BatchCommandsResponseItem> {
    if (!r) return {};
    if (r.rawGet) return { rawGet: await this.rawGet(r.rawGet) };
    if (r.rawPut) return { rawPut: await this.rawPut(r.rawPut) };
    if (r.rawDelete) return { rawDelete: await this.rawDelete(r.rawDelete) };
    if (r.rawScan) return { rawScan: await this.rawScan(r.rawScan) };
    if (r.rawBatchGet) return { rawBatchGet: await this.rawBatchGet(r.rawBatchGet) };
    if (r.rawBatchPut) return { rawBatchPut: await this.rawBatchPut(r.rawBatchPut) };
    if (r.get) return { get: await this.kvGet(r.get) };
    if (r.scan) return { scan: await this.kvScan(r.scan) };
    if (r.prewrite) return { prewrite: await this.kvPrewrite(r.prewrite) };
    if (r.commit) return { commit: await this.kvCommit(r.commit) };
    if (r.checkTxnStatus) return { checkTxnStatus: await this.kvCheckTxnStatus(r.checkTxnStatus) };
    if (r.batchRollback) return { batchRollback: await this.kvBatchRollback(r.batchRollback) };
    if (r.resolveLock) return { resolveLock: await this.kvResolveLock(r.resolveLock) };
    // A request with no field set: nothing to answer it with but an empty response.
    return {};
  }

  // ---- gRPC handlers ----

  /** The implementation object for `server.addService(tinyKvService, ...)`. */
  handlers(): grpc.UntypedServiceImplementation {
    const unaryOf =
      <Req, Res>(f: (req: Req) => Promise<Res>) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        const req: unknown = call.request;
        if (req instanceof Undecodable) {
          this.malformed(req);
          cb({ code: grpc.status.INVALID_ARGUMENT, details: req.message });
          return;
        }
        f.call(this, (req ?? {}) as Req).then(
          (res) => cb(null, res),
          (e: unknown) => cb({ code: grpc.status.INTERNAL, details: messageOf(e) }),
        );
      };
    return {
      rawGet: unaryOf(this.rawGet),
      rawPut: unaryOf(this.rawPut),
      rawDelete: unaryOf(this.rawDelete),
      rawScan: unaryOf(this.rawScan),
      rawBatchGet: unaryOf(this.rawBatchGet),
      rawBatchPut: unaryOf(this.rawBatchPut),
      kvGet: unaryOf(this.kvGet),
      kvScan: unaryOf(this.kvScan),
      kvPrewrite: unaryOf(this.kvPrewrite),
      kvCommit: unaryOf(this.kvCommit),
      kvCheckTxnStatus: unaryOf(this.kvCheckTxnStatus),
      kvBatchRollback: unaryOf(this.kvBatchRollback),
      kvResolveLock: unaryOf(this.kvResolveLock),
      batchCommands: (call: grpc.ServerDuplexStream<DecodedBatchCommandsRequest, BatchCommandsResponseFrame>) => this.batchCommands(call),
      raft: (
        call: grpc.ServerReadableStream<raft_serverpb.RaftMessage, raft_serverpb.IDone>,
        cb: grpc.sendUnaryData<raft_serverpb.IDone>,
      ) =>
        this.raftStream(call, cb, (m: raft_serverpb.RaftMessage | Undecodable) =>
          m instanceof Undecodable ? this.malformed(m) : this.deliver(m),
        ),
      batchRaft: (
        call: grpc.ServerReadableStream<raft_serverpb.BatchRaftMessage, raft_serverpb.IDone>,
        cb: grpc.sendUnaryData<raft_serverpb.IDone>,
      ) =>
        this.raftStream(call, cb, (b: raft_serverpb.BatchRaftMessage | Undecodable) => {
          // A frame that does not decode is dropped alone: raft resends what matters, and cutting
          // the stream would drop the good frames queued behind it too.
          if (b instanceof Undecodable) return this.malformed(b);
          for (const m of b?.msgs ?? []) this.deliver(m);
        }),
      snapshot: (
        call: grpc.ServerReadableStream<raft_serverpb.SnapshotChunk, raft_serverpb.IDone>,
        cb: grpc.sendUnaryData<raft_serverpb.IDone>,
      ) => this.snapshot(call, cb),
    };
  }

  /** A message that could not be decoded: counted, logged at most every few seconds. */
  private malformed(u: Undecodable): void {
    this.opts.metrics.malformedMessages.labels(u.type).inc();
    const now = Date.now();
    if (now - this.lastMalformedLog < 10_000) return;
    this.lastMalformedLog = now;
    this.logger.warn('malformed message refused', { type: u.type, reason: u.reason });
  }

  private lastMalformedLog = -Infinity;

  private deliver(m: RaftMessage): void {
    const store = this.store;
    if (!store || !m) return;
    this.opts.metrics.raftMessagesReceived.inc();
    try {
      store.onRaftMessage(m);
    } catch (e) {
      this.logger.error('raft message rejected by the store', { regionId: m.regionId, err: messageOf(e) });
    }
  }

  /** An inbound Raft or BatchRaft stream: every message goes to the store; Done when the sender ends. */
  private raftStream<T>(
    call: grpc.ServerReadableStream<T, raft_serverpb.IDone>,
    cb: grpc.sendUnaryData<raft_serverpb.IDone>,
    onData: (x: T) => void,
  ): void {
    let done = false;
    const finish = (err: grpc.ServiceError | null): void => {
      if (done) return;
      done = true;
      this.raftCalls.delete(finish);
      try {
        if (err) cb(err);
        else cb(null, {});
      } catch {
        // the call is already gone
      }
    };
    if (this.closing) {
      finish({ code: grpc.status.UNAVAILABLE, details: 'store is shutting down' } as grpc.ServiceError);
      return;
    }
    this.raftCalls.add(finish);
    call.on('data', (x: T) => {
      if (!done) onData(x);
    });
    call.on('end', () => finish(null));
    call.on('error', () => finish(null));
    call.on('cancelled', () => finish(null));
  }

  /** An inbound snapshot: the chunks go to the store (with backpressure); Done once it accepted them. */
  private snapshot(
    call: grpc.ServerReadableStream<raft_serverpb.SnapshotChunk, raft_serverpb.IDone>,
    cb: grpc.sendUnaryData<raft_serverpb.IDone>,
  ): void {
    const store = this.store;
    if (!store || this.closing) {
      cb({ code: grpc.status.UNAVAILABLE, details: store ? 'store is shutting down' : 'store is starting' });
      return;
    }
    // A sender that goes away mid-stream must fail the receive, not leave it waiting forever.
    call.on('cancelled', () => call.destroy(new Error('snapshot stream cancelled by the sender')));
    // The receiver may stop early (corrupt data): the call must stay alive to carry the error back.
    const chunks: AsyncIterable<SnapshotChunk> = {
      [Symbol.asyncIterator]: async function* (this: TinyKvService) {
        for await (const c of call.iterator({ destroyOnReturn: false }) as AsyncIterable<SnapshotChunk | Undecodable>) {
          if (c instanceof Undecodable) {
            this.malformed(c);
            throw new MalformedChunk(c.message);
          }
          yield c;
        }
      }.bind(this),
    };
    store.receiveSnapshot(chunks).then(
      () => {
        this.opts.metrics.snapshotsReceived.labels('ok').inc();
        cb(null, {});
      },
      (e: unknown) => {
        this.opts.metrics.snapshotsReceived.labels('failed').inc();
        const code =
          e instanceof MalformedChunk
            ? grpc.status.INVALID_ARGUMENT
            : e instanceof SnapshotCorruptError
              ? grpc.status.DATA_LOSS
              : e instanceof SnapshotBusyError
                ? grpc.status.RESOURCE_EXHAUSTED
                : grpc.status.INTERNAL;
        this.logger.warn('snapshot rejected', { err: messageOf(e) });
        try {
          cb({ code, details: `snapshot rejected: ${messageOf(e)}` });
        } catch {
          // the sender is gone
        }
      },
    );
  }

  /**
   * The client hot path: many requests per frame, answered out of order by request id. Answers
   * that complete in the same event-loop turn share one response frame. A stream with too many
   * requests in flight, or whose answers the client does not read, stops being read.
   */
  private batchCommands(call: grpc.ServerDuplexStream<DecodedBatchCommandsRequest, BatchCommandsResponseFrame>): void {
    let ids: number[] = [];
    let responses: BatchCommandsResponseItem[] = [];
    let scheduled = false;
    let inflight = 0;
    let clientEnded = false;
    let gone = false;
    let ended = false;
    let paused = false;
    let writable = true;
    const maybeResume = (): void => {
      if (paused && writable && inflight < this.maxPerStream / 2) {
        paused = false;
        call.resume();
      }
    };
    const end = (): void => {
      if (ended || gone) return;
      ended = true;
      this.commandStreams.delete(endWhenIdle);
      try {
        call.end();
      } catch {
        // already gone
      }
    };
    const maybeEnd = (): void => {
      if (clientEnded && inflight === 0 && ids.length === 0) end();
    };
    // Shutdown: answer what is in flight (the stopped store fails it fast), then end.
    const endWhenIdle = (): void => {
      clientEnded = true;
      if (!scheduled) maybeEnd();
    };
    this.commandStreams.add(endWhenIdle);
    const flush = (): void => {
      scheduled = false;
      if (gone || ended) return;
      while (ids.length > 0) {
        const n = frameEnd(responses, 0, approxBytes, this.maxFrameBytes);
        const frame = { requestIds: ids.slice(0, n), responses: responses.slice(0, n) };
        ids = ids.slice(n);
        responses = responses.slice(n);
        try {
          if (!call.write(frame)) writable = false;
        } catch {
          gone = true;
          return;
        }
      }
      maybeEnd();
    };
    call.on('drain', () => {
      writable = true;
      maybeResume();
    });
    call.on('data', (frame: DecodedBatchCommandsRequest | Undecodable) => {
      if (frame instanceof Undecodable) {
        // No request ids to answer by: the stream ends with the reason (the client's encoder is
        // broken; what it has in flight is retried by it, as after any stream failure).
        this.malformed(frame);
        if (!gone && !ended) {
          gone = true;
          this.commandStreams.delete(endWhenIdle);
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: frame.message });
        }
        return;
      }
      if (gone || ended) return;
      const reqs = frame?.requests ?? [];
      const reqIds = frame?.requestIds ?? [];
      for (let i = 0; i < reqs.length; i++) {
        const id = Number(reqIds[i] ?? 0);
        inflight++;
        void this.dispatch(reqs[i]).then((r) => {
          inflight--;
          if (gone || ended) return;
          ids.push(id);
          responses.push(r);
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
          maybeResume();
        });
      }
      if (!paused && (inflight >= this.maxPerStream || !writable)) {
        paused = true;
        call.pause();
      }
    });
    call.on('end', () => {
      clientEnded = true;
      maybeEnd();
    });
    const drop = (): void => {
      gone = true;
      this.commandStreams.delete(endWhenIdle);
    };
    call.on('error', drop);
    call.on('cancelled', drop);
  }

  /** Stops taking requests: new ones get ServerIsBusy, raft streams are told to go away. */
  beginShutdown(): void {
    this.closing = true;
    for (const finish of [...this.raftCalls])
      finish({ code: grpc.status.UNAVAILABLE, details: 'store is shutting down' } as grpc.ServiceError);
  }

  /** Ends every BatchCommands stream once what it has in flight is answered (call after the store stopped). */
  endStreams(): void {
    for (const endWhenIdle of [...this.commandStreams]) endWhenIdle();
  }

  get requestsInFlight(): number {
    return this.inflight;
  }
}
