// FakeCluster: an in-process stand-in for a tskv cluster, for client tests: a scheduler gRPC
// service (regions, stores, cluster id, a timestamp oracle) and N store gRPC services (the
// BatchCommands stream, the unary raw methods and the seven transactional Kv* methods) over one
// shared in-memory data set, each on its own 127.0.0.1 port. Transactional requests are executed
// by @tskv/txn over one MemStorage (fake_txn.ts) and travel with rpc's lossless codec, bigint
// timestamps as a real store's.
//
// The stores check requests the way a real store does (region exists on this store, this store
// leads, the epoch matches, the keys are in the region) and answer region errors accordingly;
// tests move leaders, split regions (with or without telling the scheduler), stop and restart
// stores, and inject errors or delays per request. Responses of a frame are answered out of
// order and split across two frames, as a real store may.
import * as grpc from '@grpc/grpc-js';
import { type errorpb, type kvrpcpb, type metapb, schedulerpb } from '@tskv/proto';
import {
  type BatchCommandsResponseFrame,
  type BatchCommandsResponseItem,
  type DecodedBatchCommandsRequest,
  schedulerService,
  serverOptions,
  tinyKvService,
} from '@tskv/rpc';
import { Latches, MemStorage, TxnExecutor } from '@tskv/txn';
import { compareBytes, epochEquals, findPeer, keyInRegion, rangesOverlap } from '@tskv/util';
import { executeTxn, isTxnKind, TXN_FIELD, TXN_KIND_OF_FIELD, type TxnKind, type TxnRequest, txnKeys, txnRefusal } from './fake_txn.js';

export interface FakeRegion {
  id: number;
  startKey: Uint8Array;
  endKey: Uint8Array;
  confVer: number;
  version: number;
  peers: { id: number; storeId: number }[];
  /** The store whose peer leads, or null (an election). */
  leaderStoreId: number | null;
}

export type RawKind = 'rawGet' | 'rawPut' | 'rawDelete' | 'rawScan' | 'rawBatchGet' | 'rawBatchPut';
export type RequestKind = RawKind | TxnKind;
export type { TxnKind, TxnRequest };

/** A raw sub-request of any kind: the fields of every kind, each set only where its kind has it. */
export type RawRequest = kvrpcpb.IRawGetRequest &
  kvrpcpb.IRawPutRequest &
  kvrpcpb.IRawDeleteRequest &
  kvrpcpb.IRawScanRequest &
  kvrpcpb.IRawBatchGetRequest &
  kvrpcpb.IRawBatchPutRequest;

/** A raw response of any kind, likewise. */
type RawResponse = kvrpcpb.IRawGetResponse &
  kvrpcpb.IRawPutResponse &
  kvrpcpb.IRawDeleteResponse &
  kvrpcpb.IRawScanResponse &
  kvrpcpb.IRawBatchGetResponse &
  kvrpcpb.IRawBatchPutResponse;

type AnyRequest = RawRequest & TxnRequest;
/** A raw response, or a transactional one (rpc's shapes: bigint timestamps). */
type AnyResponse = RawResponse | object;

export interface InjectContext {
  storeId: number;
  kind: RequestKind;
  /** The sub-request (e.g. a RawGetRequest; a transactional one has bigint timestamps). */
  req: RawRequest & TxnRequest;
  region: FakeRegion | undefined;
}

/** What an injector may decide for one request; undefined lets it through. */
export interface InjectOutcome {
  regionError?: errorpb.IError;
  /** A raw request's `error`; a transactional request is answered with KeyError { abort: error }. */
  error?: string;
  /** Answer after this long (the request is processed at answer time). */
  delayMs?: number;
  /** Never answer. */
  drop?: boolean;
}

export type Injector = (c: InjectContext) => InjectOutcome | undefined;

export interface FakeStore {
  id: number;
  port: number;
  address: string;
  up: boolean;
  server: grpc.Server | null;
  /** Requests received (all kinds) and BatchCommands frames received. */
  requests: number;
  frames: number;
  /** Kinds of the requests this store executed successfully. */
  served: RequestKind[];
}

export interface FakeClusterOptions {
  stores?: number;
  /** Split keys: regions [""; k1), [k1; k2), ... [kn; ""), every region on every store. */
  splitKeys?: (string | Uint8Array)[];
  /** Answer frames out of order and in two parts (default true). */
  shuffle?: boolean;
  clusterId?: number;
  /** Port of the scheduler service (default 0: any free port). */
  schedulerPort?: number;
  /** Regions have peers on stores 1..regionStores (default: stores); for stores run elsewhere. */
  regionStores?: number;
}

/** Logical bits of a timestamp (as the scheduler's TSO: physical ms << 18 | logical). */
const LOGICAL_BITS = 18;

const CLUSTER_ID = 4242;

function b(x: string | Uint8Array): Uint8Array {
  return typeof x === 'string' ? Buffer.from(x) : x;
}

function hex(k: Uint8Array): string {
  return Buffer.from(k).toString('hex');
}

/** The peer on the leader's store (none during an election). */
function leaderPeer(r: FakeRegion): { id: number; storeId: number } | undefined {
  return r.leaderStoreId === null ? undefined : findPeer(r, r.leaderStoreId);
}

export function toMetaRegion(r: FakeRegion): metapb.IRegion {
  return {
    id: r.id,
    startKey: r.startKey,
    endKey: r.endKey,
    regionEpoch: { confVer: r.confVer, version: r.version },
    peers: r.peers.map((p) => ({ id: p.id, storeId: p.storeId })),
  };
}

function listen(server: grpc.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
}

function clone(r: FakeRegion): FakeRegion {
  return { ...r, peers: r.peers.map((p) => ({ ...p })) };
}

export class FakeCluster {
  /** The truth: regions as the stores know them. */
  regions: FakeRegion[] = [];
  /** What the scheduler answers (lags the truth until syncScheduler()). */
  schedulerRegions: FakeRegion[] = [];
  readonly stores = new Map<number, FakeStore>();
  /** cf -> hex(key) -> pair. */
  readonly data = new Map<string, Map<string, { key: Uint8Array; value: Uint8Array }>>();
  inject: Injector | null = null;
  /** NotLeader answers carry the leader (default true). */
  leaderHints = true;
  /** EpochNotMatch answers carry the current regions (default true). */
  epochRegions = true;
  /** Scheduler calls by method name. */
  readonly schedulerCalls = new Map<string, number>();
  schedulerAddr = '';
  private schedulerServer: grpc.Server | null = null;
  private nextId = 1000;
  readonly clusterId: number;
  private readonly shuffle: boolean;
  /** Stores registered by PutStore (for fake store processes). */
  readonly storeAddresses = new Map<number, string>();
  /** The transactional data (default, lock and write CFs, MVCC-encoded), shared by all stores. */
  readonly txnStorage = new MemStorage();
  /** The stores' latches (one set: the stores share one storage). */
  readonly latches = new Latches();
  /** Runs commands over the whole key space, bypassing regions: tests play a client that crashed with it. */
  readonly txn = new TxnExecutor(this.txnStorage, { latches: this.latches });
  /** The TSO's clock (physical ms); tests move it, e.g. past 2^45 ms so that timestamps pass 2^63. */
  tsoClock: () => number = Date.now;
  private tsoPhysical = 0;
  private tsoLogical = 0;

  private constructor(opts: FakeClusterOptions) {
    this.shuffle = opts.shuffle ?? true;
    this.clusterId = opts.clusterId ?? CLUSTER_ID;
  }

  static async start(opts: FakeClusterOptions = {}): Promise<FakeCluster> {
    const c = new FakeCluster(opts);
    const n = opts.stores ?? 3;
    const keys = (opts.splitKeys ?? []).map(b).sort(compareBytes);
    const bounds = [new Uint8Array(0), ...keys, new Uint8Array(0)];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const id = i + 1;
      c.regions.push({
        id,
        startKey: bounds[i]!,
        endKey: bounds[i + 1]!,
        confVer: 1,
        version: 1,
        peers: Array.from({ length: opts.regionStores ?? n }, (_, s) => ({ id: id * 100 + s + 1, storeId: s + 1 })),
        leaderStoreId: 1,
      });
    }
    c.syncScheduler();
    await c.startScheduler(opts.schedulerPort ?? 0);
    for (let s = 1; s <= n; s++) {
      const st: FakeStore = { id: s, port: 0, address: '', up: false, server: null, requests: 0, frames: 0, served: [] };
      c.stores.set(s, st);
      await c.startStore(s);
    }
    return c;
  }

  // ---- test controls ----

  /** The scheduler's view becomes the truth. */
  syncScheduler(): void {
    this.schedulerRegions = this.regions.map(clone);
  }

  region(id: number): FakeRegion {
    const r = this.regions.find((x) => x.id === id);
    if (!r) throw new Error(`no region ${id}`);
    return r;
  }

  regionOf(key: string | Uint8Array): FakeRegion {
    const k = b(key);
    const r = this.regions.find((x) => keyInRegion(k, x));
    if (!r) throw new Error('no region holds the key');
    return r;
  }

  /** Moves the leadership of a region (the scheduler hears of it if tell). */
  setLeader(regionId: number, storeId: number | null, tell = false): void {
    this.region(regionId).leaderStoreId = storeId;
    if (tell) {
      const s = this.schedulerRegions.find((x) => x.id === regionId);
      if (s) s.leaderStoreId = storeId;
    }
  }

  /** Splits the region holding key at key: the left part keeps the id. Returns the new region. */
  split(key: string | Uint8Array, tell = false): FakeRegion {
    const k = b(key);
    const r = this.regionOf(k);
    if (compareBytes(r.startKey, k) === 0) throw new Error('split at a region start');
    const id = this.nextId++;
    const right: FakeRegion = {
      id,
      startKey: k,
      endKey: r.endKey,
      confVer: r.confVer,
      version: r.version + 1,
      peers: r.peers.map((p) => ({ id: id * 100 + p.storeId, storeId: p.storeId })),
      leaderStoreId: r.leaderStoreId,
    };
    r.endKey = k;
    r.version++;
    this.regions.push(right);
    this.regions.sort((x, y) => compareBytes(x.startKey, y.startKey));
    if (tell) this.syncScheduler();
    return right;
  }

  get(key: string | Uint8Array, cf = 'default'): Uint8Array | undefined {
    return this.data.get(cf)?.get(hex(b(key)))?.value;
  }

  /** The next timestamp of the oracle, as the scheduler's Tso answers it: strictly increasing. */
  nextTimestamp(): { physical: number; logical: number } {
    const now = this.tsoClock();
    if (now > this.tsoPhysical) {
      this.tsoPhysical = now;
      this.tsoLogical = 0;
    }
    if (++this.tsoLogical >= 1 << LOGICAL_BITS) {
      this.tsoPhysical++;
      this.tsoLogical = 1;
    }
    return { physical: this.tsoPhysical, logical: this.tsoLogical };
  }

  /** The next timestamp as a u64 (physical << 18 | logical). */
  tso(): bigint {
    const t = this.nextTimestamp();
    return (BigInt(t.physical) << BigInt(LOGICAL_BITS)) | BigInt(t.logical);
  }

  /** Stops a store's server (its streams fail). */
  async stopStore(id: number): Promise<void> {
    const s = this.stores.get(id)!;
    s.up = false;
    s.server?.forceShutdown();
    s.server = null;
  }

  /** Starts (again) a store's server, on the same port as before. */
  async startStore(id: number): Promise<void> {
    const s = this.stores.get(id)!;
    const server = new grpc.Server(serverOptions());
    const unimpl = (_: unknown, cb: grpc.sendUnaryData<unknown>): void => cb({ code: grpc.status.UNIMPLEMENTED, details: 'fake store' });
    const unary = (kind: RequestKind) => (call: grpc.ServerUnaryCall<AnyRequest, AnyResponse>, cb: grpc.sendUnaryData<AnyResponse>) => {
      s.requests++;
      void this.handle(s, kind, call.request).then((r) => (r === null ? undefined : cb(null, r)));
    };
    server.addService(tinyKvService, {
      rawGet: unary('rawGet'),
      rawPut: unary('rawPut'),
      rawDelete: unary('rawDelete'),
      rawScan: unary('rawScan'),
      rawBatchGet: unary('rawBatchGet'),
      rawBatchPut: unary('rawBatchPut'),
      ...Object.fromEntries((Object.keys(TXN_FIELD) as TxnKind[]).map((k) => [k, unary(k)])),
      raft: unimpl,
      batchRaft: unimpl,
      snapshot: unimpl,
      batchCommands: (call: grpc.ServerDuplexStream<DecodedBatchCommandsRequest, BatchCommandsResponseFrame>) =>
        this.batchCommands(s, call),
    } as grpc.UntypedServiceImplementation);
    s.port = await listen(server, s.port);
    s.address = `127.0.0.1:${s.port}`;
    s.server = server;
    s.up = true;
  }

  /** Stops the scheduler's server (lookups at it fail from then on). */
  async stopScheduler(): Promise<void> {
    this.schedulerServer?.forceShutdown();
  }

  async close(): Promise<void> {
    for (const s of this.stores.values()) s.server?.forceShutdown();
    this.schedulerServer?.forceShutdown();
  }

  // ---- the store ----

  private batchCommands(s: FakeStore, call: grpc.ServerDuplexStream<DecodedBatchCommandsRequest, BatchCommandsResponseFrame>): void {
    call.on('error', () => {});
    call.on('data', (frame: DecodedBatchCommandsRequest) => {
      s.frames++;
      const pending = frame.requests.map(async (r, i) => {
        s.requests++;
        const subs = r as unknown as Record<string, AnyRequest | null | undefined>;
        const field = Object.keys(r).find((k) => subs[k] != null && (k.startsWith('raw') || k in TXN_KIND_OF_FIELD));
        const id = frame.requestIds[i]!;
        if (!field) return { id, resp: {} };
        const kind = (TXN_KIND_OF_FIELD[field] ?? field) as RequestKind;
        const resp = await this.handle(s, kind, subs[field]!);
        return resp === null ? null : { id, resp: { [field]: resp } };
      });
      // Answers that are ready together go out together, reversed and in two frames.
      const ready: { id: number; resp: BatchCommandsResponseItem }[] = [];
      let scheduled = false;
      const flush = (): void => {
        scheduled = false;
        const batch = ready.splice(0);
        if (batch.length === 0 || !s.up) return;
        if (this.shuffle) batch.reverse();
        const parts = this.shuffle && batch.length > 1 ? [batch.slice(0, batch.length >> 1), batch.slice(batch.length >> 1)] : [batch];
        for (const part of parts) {
          try {
            call.write({ requestIds: part.map((x) => x.id), responses: part.map((x) => x.resp) });
          } catch {
            /* the stream is gone */
          }
        }
      };
      for (const p of pending) {
        void p.then((x) => {
          if (!x) return;
          ready.push(x);
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        });
      }
    });
    call.on('end', () => call.end());
  }

  /** Executes one request on store s; null means never answer. */
  private async handle(s: FakeStore, kind: RequestKind, req: AnyRequest): Promise<AnyResponse | null> {
    const ctx: kvrpcpb.IContext = req.context ?? {};
    const region = this.regions.find((r) => r.id === Number(ctx.regionId ?? 0));
    const out = this.inject?.({ storeId: s.id, kind, req, region });
    if (out?.drop) return null;
    if (out?.delayMs) await new Promise((r) => setTimeout(r, out.delayMs));
    if (!s.up) return null;
    if (out?.regionError) return { regionError: out.regionError };
    if (out?.error) return isTxnKind(kind) ? txnRefusal(kind, out.error) : { error: out.error };
    const re = this.check(s, kind, req, region);
    if (re) return { regionError: re };
    if (isTxnKind(kind)) {
      s.served.push(kind);
      return executeTxn(this.txnStorage, this.latches, region!, kind, req);
    }
    const cf: string = req.cf || 'default';
    if (!['default', 'lock', 'write'].includes(cf)) return { error: `unknown column family: ${cf}` };
    let m = this.data.get(cf);
    if (!m) {
      m = new Map();
      this.data.set(cf, m);
    }
    s.served.push(kind);
    switch (kind) {
      case 'rawGet': {
        const v = m.get(hex(req.key!));
        return v ? { value: v.value } : { notFound: true };
      }
      case 'rawPut':
        m.set(hex(req.key!), { key: Buffer.from(req.key!), value: Buffer.from(req.value ?? []) });
        return {};
      case 'rawDelete':
        m.delete(hex(req.key!));
        return {};
      case 'rawBatchPut':
        for (const p of req.pairs ?? []) m.set(hex(p.key!), { key: Buffer.from(p.key!), value: Buffer.from(p.value ?? []) });
        return {};
      case 'rawBatchGet': {
        const pairs = [];
        for (const k of req.keys ?? []) {
          const v = m.get(hex(k));
          if (v) pairs.push({ key: v.key, value: v.value });
        }
        return { pairs };
      }
      case 'rawScan': {
        const start: Uint8Array = req.startKey ?? new Uint8Array(0);
        const all = [...m.values()]
          .filter((p) => compareBytes(p.key, start) >= 0 && keyInRegion(p.key, region!))
          .sort((x, y) => compareBytes(x.key, y.key));
        const lim = Number(req.limit ?? 0);
        return { kvs: lim > 0 ? all.slice(0, lim) : all };
      }
    }
  }

  private check(s: FakeStore, kind: RequestKind, req: AnyRequest, region: FakeRegion | undefined): errorpb.IError | null {
    const ctx: kvrpcpb.IContext = req.context ?? {};
    if (!region || !findPeer(region, s.id)) {
      return { message: `region ${ctx.regionId} not found on store ${s.id}`, regionNotFound: { regionId: Number(ctx.regionId ?? 0) } };
    }
    if (region.leaderStoreId !== s.id) {
      const lp = leaderPeer(region);
      return {
        message: `peer of region ${region.id} on store ${s.id} is not the leader`,
        notLeader: { regionId: region.id, leader: this.leaderHints && lp ? lp : null },
      };
    }
    const ep = ctx.regionEpoch ?? {};
    if (!epochEquals(ep, region)) {
      return {
        message: `epoch of region ${region.id} does not match`,
        epochNotMatch: { currentRegions: this.epochRegions ? this.regions.map(toMetaRegion) : [] },
      };
    }
    const keys: (Uint8Array | null | undefined)[] = isTxnKind(kind)
      ? txnKeys(kind, req)
      : kind === 'rawBatchGet'
        ? (req.keys ?? [])
        : kind === 'rawBatchPut'
          ? (req.pairs ?? []).map((p: kvrpcpb.IKvPair) => p.key)
          : kind === 'rawScan'
            ? req.startKey?.length
              ? [req.startKey]
              : []
            : [req.key];
    for (const k of keys) {
      if (!keyInRegion(k ?? new Uint8Array(0), region)) {
        return {
          message: 'key not in region',
          keyNotInRegion: { key: k, regionId: region.id, startKey: region.startKey, endKey: region.endKey },
        };
      }
    }
    return null;
  }

  // ---- the scheduler ----

  private count(name: string): void {
    this.schedulerCalls.set(name, (this.schedulerCalls.get(name) ?? 0) + 1);
  }

  private header(error?: schedulerpb.IError): schedulerpb.IResponseHeader {
    return { clusterId: this.clusterId, error };
  }

  private pdRegion(r: FakeRegion | undefined): schedulerpb.IGetRegionResponse {
    if (!r) return { header: this.header({ type: schedulerpb.ErrorType.REGION_NOT_FOUND, message: 'no such region' }) };
    const leader = leaderPeer(r) ?? null;
    return { header: this.header(), region: toMetaRegion(r), leader };
  }

  private storeMeta(id: number): metapb.IStore | null {
    const s = this.stores.get(id);
    if (s) return { id, address: s.address, state: metapb_Up, statusAddress: `127.0.0.1:${s.port + 1}` };
    const a = this.storeAddresses.get(id);
    return a ? { id, address: a, state: metapb_Up } : null;
  }

  private async startScheduler(port: number): Promise<void> {
    const server = new grpc.Server(serverOptions());
    const h: Record<string, unknown> = {};
    for (const k of Object.keys(schedulerService)) {
      h[k] = (_: unknown, cb: grpc.sendUnaryData<unknown>) => {
        this.count(k);
        cb({ code: grpc.status.UNIMPLEMENTED, details: 'fake scheduler' });
      };
    }
    type Cb<T> = grpc.sendUnaryData<T>;
    h.isBootstrapped = (_: unknown, cb: Cb<schedulerpb.IIsBootstrappedResponse>) => {
      this.count('isBootstrapped');
      cb(null, { header: this.header(), bootstrapped: true });
    };
    h.getRegion = (call: grpc.ServerUnaryCall<schedulerpb.GetRegionRequest, unknown>, cb: Cb<schedulerpb.IGetRegionResponse>) => {
      this.count('getRegion');
      const k = call.request.regionKey ?? new Uint8Array(0);
      cb(null, this.pdRegion(this.schedulerRegions.find((r) => keyInRegion(k, r))));
    };
    h.getRegionByID = (call: grpc.ServerUnaryCall<schedulerpb.GetRegionByIDRequest, unknown>, cb: Cb<schedulerpb.IGetRegionResponse>) => {
      this.count('getRegionByID');
      cb(null, this.pdRegion(this.schedulerRegions.find((r) => r.id === Number(call.request.regionId))));
    };
    h.scanRegions = (call: grpc.ServerUnaryCall<schedulerpb.ScanRegionsRequest, unknown>, cb: Cb<schedulerpb.IScanRegionsResponse>) => {
      this.count('scanRegions');
      const start = call.request.startKey ?? new Uint8Array(0);
      const end = call.request.endKey ?? new Uint8Array(0);
      let rs = this.schedulerRegions.filter((r) => rangesOverlap(r, { startKey: start, endKey: end }));
      if (call.request.limit > 0) rs = rs.slice(0, call.request.limit);
      cb(null, {
        header: this.header(),
        regions: rs.map(toMetaRegion),
        leaders: rs.map((r) => leaderPeer(r) ?? { id: 0, storeId: 0 }),
      });
    };
    h.getStore = (call: grpc.ServerUnaryCall<schedulerpb.GetStoreRequest, unknown>, cb: Cb<schedulerpb.IGetStoreResponse>) => {
      this.count('getStore');
      const m = this.storeMeta(Number(call.request.storeId));
      if (!m) return cb(null, { header: this.header({ type: schedulerpb.ErrorType.STORE_NOT_FOUND, message: 'no such store' }) });
      cb(null, { header: this.header(), store: m, stats: { storeId: m.id }, lastHeartbeatMs: Date.now() });
    };
    h.getAllStores = (_: unknown, cb: Cb<schedulerpb.IGetAllStoresResponse>) => {
      this.count('getAllStores');
      const ids = [...new Set([...this.stores.keys(), ...this.storeAddresses.keys()])].sort((x, y) => x - y);
      const now = Date.now();
      const stores = ids.map((id) => this.storeMeta(id)!);
      const stats = ids.map((id) => ({
        storeId: id,
        regionCount: this.schedulerRegions.filter((r) => findPeer(r, id)).length,
        leaderCount: this.schedulerRegions.filter((r) => r.leaderStoreId === id).length,
      }));
      // A stopped fake store has not heart-beaten for a minute.
      const hb = ids.map((id) => (this.stores.get(id)?.up === false ? now - 60_000 : now - 1_000));
      cb(null, { header: this.header(), stores, stats, lastHeartbeatMs: hb });
    };
    // The timestamp oracle: one answer per request, in order, on the stream.
    h.tso = (call: grpc.ServerDuplexStream<schedulerpb.TsoRequest, schedulerpb.ITsoResponse>) => {
      call.on('error', () => {});
      call.on('data', (req: schedulerpb.TsoRequest) => {
        this.count('tso');
        let ts = this.nextTimestamp();
        for (let i = 1; i < (req.count || 1); i++) ts = this.nextTimestamp();
        call.write({ header: this.header(), count: req.count || 1, timestamp: ts });
      });
      call.on('end', () => call.end());
    };
    h.putStore = (call: grpc.ServerUnaryCall<schedulerpb.PutStoreRequest, unknown>, cb: Cb<schedulerpb.IPutStoreResponse>) => {
      this.count('putStore');
      const st = call.request.store;
      if (st?.id) this.storeAddresses.set(Number(st.id), st.address ?? '');
      cb(null, { header: this.header() });
    };
    server.addService(schedulerService, h as grpc.UntypedServiceImplementation);
    this.schedulerAddr = `127.0.0.1:${await listen(server, port)}`;
    this.schedulerServer = server;
  }
}

const metapb_Up = 0;
