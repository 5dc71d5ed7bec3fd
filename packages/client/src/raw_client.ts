// RawClient: the raw key-value API of the cluster (TinyKV's RawGet/RawPut/RawDelete/RawScan and
// batch variants), routed by key to region leaders and retried on region errors.
//
//   const c = await RawClient.connect({ schedulerAddr: '127.0.0.1:2379' });
//   await c.put('hello', 'world');
//   const v = await c.get('hello');          // Uint8Array | null
//   c.close();
//
// Every request goes through one StoreConnection (a BatchCommands stream) per store; the
// RegionCache says which region holds a key and which peer of it leads. Each operation has a
// deadline (timeoutMs, retries included); each attempt on a store at most attemptTimeoutMs.
import { status as grpcStatus } from '@grpc/grpc-js';
import type { kvrpcpb } from '@tskv/proto';
import {
  channelCredentials,
  loadTls,
  PdClient,
  type RegionWithLeader,
  type StoreWithStats,
  type TlsConfig,
  type TlsOptions,
  unary,
} from '@tskv/rpc';
import { type Bytes, compareBytes, EMPTY, nextKey, showKey, toBytes } from './bytes.js';
import { ClientError, InvalidArgumentError, SchedulerUnavailableError } from './errors.js';
import type { CachedRegion, RegionCache, RegionSource } from './region_cache.js';
import { type Build, errMsg, type OpState, type Pick, RegionRouter, type RouterOptions, type WithErrors } from './region_router.js';
import type { BatchRequest, StoreConnection, StoreConnectionOptions } from './store_connection.js';

export interface RawClientOptions {
  /** The scheduler's gRPC address (default 127.0.0.1:2379). */
  schedulerAddr?: string;
  /** Deadline of each operation, retries included (default 10 s). */
  timeoutMs?: number;
  /** How long connect() waits for the scheduler (default min(timeoutMs, 5 s)). */
  connectTimeoutMs?: number;
  /** At most this long for one attempt on one store before trying elsewhere (default min(timeoutMs, 5 s)). */
  attemptTimeoutMs?: number;
  /** Cap of the retry backoff (default 1 s; backoff starts at 10 ms, doubles, with jitter). */
  maxBackoffMs?: number;
  /** Pairs per RawScan page within a region (default 1024). */
  scanBatchSize?: number;
  /** Column family used when a call names none (default "default"). */
  defaultCf?: string;
  /** Options of the store streams (frame limits, channel options). */
  connection?: StoreConnectionOptions;
  /** How long a failed store is avoided when another peer can serve (default 2 s). */
  storeDownMs?: number;
  /** Regions loaded from the scheduler by one region-cache miss: the key's and those after it (default 64). */
  regionPrefetch?: number;
  /**
   * Mutual TLS to the scheduler and the stores: { caPath | ca, certPath | cert, keyPath | key }
   * (all three, or none for plaintext; a partial set throws TlsConfigError). See docs/security.md.
   */
  tls?: TlsOptions;
  /**
   * Whether a write is tried again after an attempt whose outcome is unknown (the stream failed
   * or timed out after the request was sent; the store answered Timeout). Default true: the
   * write is retried until the deadline, so it may be applied twice, and with other writers of
   * the same key in between a reader can see the key go back to an older value. false: such a
   * write fails at once with AmbiguousResultError, which makes every completed operation
   * linearizable (what the fault-injection harness checks). Reads are always retried.
   */
  retryAmbiguousWrites?: boolean;
}

export interface KvPair {
  key: Uint8Array;
  value: Uint8Array;
}

/** A pair as accepted by batchPut: an object or a [key, value] tuple. */
export type PairInput = { key: Bytes; value: Bytes } | readonly [Bytes, Bytes];

/** The scheduler as the client uses it: region/store lookups, plus close. */
export interface SchedulerLike extends RegionSource {
  close(): void;
}

/** The router options of client options (defaults applied; TLS credentials for the store streams). */
export function routerOptions(opts: RawClientOptions, what: string): RouterOptions {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const tls = loadTls(opts.tls, what);
  return {
    timeoutMs,
    attemptTimeoutMs: opts.attemptTimeoutMs ?? Math.min(timeoutMs, 5_000),
    maxBackoffMs: opts.maxBackoffMs ?? 1_000,
    storeDownMs: opts.storeDownMs,
    regionPrefetch: opts.regionPrefetch,
    connection: tls ? { credentials: channelCredentials(tls), ...opts.connection } : opts.connection,
    retryAmbiguousWrites: opts.retryAmbiguousWrites !== false,
  };
}

export class RawClient {
  readonly cache: RegionCache;
  readonly timeoutMs: number;
  private readonly router: RegionRouter;
  private readonly scanBatchSize: number;
  private readonly defaultCf: string;

  /** Use RawClient.connect, or pass any scheduler (tests). */
  constructor(
    readonly scheduler: SchedulerLike,
    readonly schedulerAddr: string,
    opts: RawClientOptions = {},
  ) {
    this.router = new RegionRouter(scheduler, schedulerAddr, routerOptions(opts, 'RawClient tls'));
    this.cache = this.router.cache;
    this.timeoutMs = this.router.opts.timeoutMs;
    this.scanBatchSize = Math.max(1, opts.scanBatchSize ?? 1024);
    this.defaultCf = opts.defaultCf ?? 'default';
  }

  /**
   * Connects to the scheduler (waits until it answers, at most connectTimeoutMs) and returns a
   * client. Stores are connected lazily, on their first request. Throws
   * SchedulerUnavailableError if the scheduler cannot be reached.
   */
  static async connect(opts: RawClientOptions = {}): Promise<RawClient> {
    const addr = opts.schedulerAddr ?? '127.0.0.1:2379';
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const tls = loadTls(opts.tls, 'RawClient tls');
    const pd = new PdClient(addr, { timeoutMs, tls });
    await waitForScheduler(pd, addr, opts.connectTimeoutMs ?? Math.min(timeoutMs, 5_000), tls);
    return new RawClient(pd, addr, opts);
  }

  /** The PdClient when connected with connect() (admin lookups: scanRegions, getAllStores). */
  get pd(): PdClient {
    if (!(this.scheduler instanceof PdClient)) throw new Error('this client was not connected with RawClient.connect');
    return this.scheduler;
  }

  // ---- the API ----

  /** The value of key, or null if absent. */
  async get(key: Bytes, cf: string = this.defaultCf): Promise<Uint8Array | null> {
    const k = this.checkKey(key, 'get');
    const { res } = await this.single(
      k,
      `get ${showKey(k)}`,
      (context) => ({ rawGet: { context, key: k, cf } }),
      (r) => r.rawGet,
    );
    return res.notFound ? null : (res.value ?? EMPTY);
  }

  /**
   * Writes key = value. A put retried after a timeout or a failed stream may be applied twice;
   * for a raw put that is harmless (same key, same value).
   */
  async put(key: Bytes, value: Bytes, cf: string = this.defaultCf): Promise<void> {
    const k = this.checkKey(key, 'put');
    const v = toBytes(value);
    await this.single(
      k,
      `put ${showKey(k)}`,
      (context) => ({ rawPut: { context, key: k, value: v, cf } }),
      (r) => r.rawPut,
    );
  }

  /** Deletes key (no error if it is absent). */
  async delete(key: Bytes, cf: string = this.defaultCf): Promise<void> {
    const k = this.checkKey(key, 'delete');
    await this.single(
      k,
      `delete ${showKey(k)}`,
      (context) => ({ rawDelete: { context, key: k, cf } }),
      (r) => r.rawDelete,
    );
  }

  /**
   * The pairs with startKey <= key < endKey (endKey empty or omitted: to the end), in key order,
   * at most limit (0 or omitted: no limit). Region by region, in pages of scanBatchSize; each
   * page is read at its own point in time (a scan is not a snapshot of the whole range).
   */
  async scan(startKey: Bytes = EMPTY, endKey: Bytes = EMPTY, limit = 0, cf: string = this.defaultCf): Promise<KvPair[]> {
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError(`scan: limit must be an integer >= 0, got ${limit}`);
    const end = toBytes(endKey);
    let s = toBytes(startKey);
    const max = limit > 0 ? limit : Infinity;
    const out: KvPair[] = [];
    if (end.length > 0 && compareBytes(s, end) >= 0) return out;
    for (;;) {
      const want = Math.min(max - out.length, this.scanBatchSize);
      const from = s;
      const { res, region } = await this.single(
        from,
        `scan from ${showKey(from)}`,
        (context) => ({ rawScan: { context, startKey: from, limit: want, cf } }),
        (r) => r.rawScan,
      );
      const kvs = res.kvs ?? [];
      for (const kv of kvs) {
        const k = kv.key ?? EMPTY;
        if (compareBytes(k, from) < 0) continue;
        if (end.length > 0 && compareBytes(k, end) >= 0) return out;
        out.push({ key: k, value: kv.value ?? EMPTY });
        if (out.length >= max) return out;
      }
      let next: Uint8Array;
      if (kvs.length >= want && kvs.length > 0) {
        // A full page: the region may hold more after the last key.
        next = nextKey(kvs[kvs.length - 1]!.key ?? EMPTY);
        if (region.endKey.length > 0 && compareBytes(next, region.endKey) >= 0) next = region.endKey;
      } else {
        // The region is done: on to the next one.
        if (region.endKey.length === 0) return out;
        next = region.endKey;
      }
      if (end.length > 0 && compareBytes(next, end) >= 0) return out;
      s = next;
    }
  }

  /**
   * The values of keys, in the order of keys (null where absent). Keys are grouped by region,
   * one RawBatchGet per region, the regions in parallel.
   */
  async batchGet(keys: readonly Bytes[], cf: string = this.defaultCf): Promise<(Uint8Array | null)[]> {
    const items = keys.map((k, i) => ({ key: this.checkKey(k, 'batchGet'), i }));
    const out: (Uint8Array | null)[] = new Array(items.length).fill(null);
    if (items.length === 0) return out;
    const st = this.state(`batchGet of ${items.length} keys`);
    await this.grouped(
      items,
      st,
      (context, its) => ({ rawBatchGet: { context, keys: its.map((x) => x.key), cf } }),
      (r) => r.rawBatchGet,
      (its, res) => {
        const byKey = new Map<string, Uint8Array>();
        for (const p of res.pairs ?? []) byKey.set(Buffer.from(p.key ?? EMPTY).toString('latin1'), p.value ?? EMPTY);
        for (const it of its) out[it.i] = byKey.get(Buffer.from(it.key).toString('latin1')) ?? null;
      },
    );
    return out;
  }

  /**
   * Writes every pair. Pairs are grouped by region, one RawBatchPut per region, the regions in
   * parallel. Atomic per region only: the pairs of one region are applied together or not at
   * all, but if the call fails, some regions' pairs may be written and others not.
   */
  async batchPut(pairs: readonly PairInput[], cf: string = this.defaultCf): Promise<void> {
    const items = pairs.map((p) => {
      const [k, v] = Array.isArray(p) ? (p as readonly [Bytes, Bytes]) : [(p as { key: Bytes }).key, (p as { value: Bytes }).value];
      return { key: this.checkKey(k, 'batchPut'), value: toBytes(v) };
    });
    if (items.length === 0) return;
    const st = this.state(`batchPut of ${items.length} pairs`);
    await this.grouped(
      items,
      st,
      (context, its) => ({ rawBatchPut: { context, pairs: its.map((x) => ({ key: x.key, value: x.value })), cf } }),
      (r) => r.rawBatchPut,
      () => {},
    );
  }

  /** Closes the store streams and the scheduler client; pending operations fail with ClientClosedError. */
  close(): void {
    if (this.router.isClosed) return;
    this.router.close();
    this.scheduler.close();
  }

  /** The stream to a store (created on first use), for diagnostics. */
  connections(): ReadonlyMap<number, StoreConnection> {
    return this.router.connections();
  }

  // ---- routing and retries: RegionRouter ----

  private checkKey(key: Bytes, op: string): Uint8Array {
    return checkKey(key, op);
  }

  private state(what: string): OpState {
    return this.router.state(what);
  }

  private single<R extends WithErrors>(
    key: Uint8Array,
    what: string,
    build: Build,
    pick: Pick<R>,
  ): Promise<{ res: R; region: CachedRegion }> {
    return this.router.single(key, this.state(what), build, pick);
  }

  private grouped<T extends { key: Uint8Array }, R extends WithErrors>(
    items: T[],
    st: OpState,
    build: (ctx: kvrpcpb.IContext, items: T[]) => BatchRequest,
    pick: Pick<R>,
    done: (items: T[], res: R) => void,
  ): Promise<void> {
    return this.router.grouped(items, st, build, pick, done);
  }
}

/** A key as bytes; InvalidArgumentError (nothing is sent) if it is missing, not bytes or empty. */
export function checkKey(key: Bytes, op: string): Uint8Array {
  if (key === undefined || key === null) throw new InvalidArgumentError(`${op}: the key is missing`);
  const k = toBytes(key);
  if (!(k instanceof Uint8Array)) throw new InvalidArgumentError(`${op}: a key must be a string or a Uint8Array`);
  if (k.length === 0) throw new InvalidArgumentError(`${op}: the key is empty (keys must be at least one byte)`);
  return k;
}

/** Waits until the scheduler answers an RPC; SchedulerUnavailableError after timeoutMs. */
export async function waitForScheduler(pd: PdClient, addr: string, timeoutMs: number, tls?: TlsConfig | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  try {
    await new Promise<void>((resolve, reject) => pd.grpc.waitForReady(deadline, (err) => (err ? reject(err) : resolve())));
  } catch {
    // One call without waiting for the connection tells why it failed (refused, TLS handshake...).
    const why = await unary(pd.grpc, pd.grpc.isBootstrapped, { header: {} }, 1000).then(
      () => '',
      (e: unknown) =>
        errMsg(e)
          .replace(/\.?\s*Resolution note:.*$/s, '')
          .replace(/\s+/g, ' ')
          .trim(),
    );
    pd.close();
    const hint =
      tls === undefined || /ECONNREFUSED/.test(why)
        ? ''
        : tls
          ? ' (TLS on in this client: the scheduler must use TLS with the same CA)'
          : ' (plaintext client: a scheduler with TLS on refuses it; give the CA, certificate and key)';
    throw new SchedulerUnavailableError(
      `cannot reach the scheduler at ${addr} within ${timeoutMs} ms${why ? `: ${why}` : ''}${hint} (is the cluster running? ` +
        `start it with \`npm start\`)`,
      addr,
    );
  }
  // Connected; a scheduler with cert-allowed-cn may still refuse this client's certificate: say so now.
  const refused = await unary(pd.grpc, pd.grpc.isBootstrapped, { header: {} }, Math.max(1000, deadline - Date.now())).then(
    () => null,
    (e: { code?: number }) => (e.code === grpcStatus.UNAUTHENTICATED || e.code === grpcStatus.PERMISSION_DENIED ? errMsg(e) : null),
  );
  if (refused) {
    pd.close();
    throw new SchedulerUnavailableError(`the scheduler at ${addr} refused this client: ${refused}`, addr);
  }
}

export type { RegionWithLeader, StoreWithStats };
export { ClientError };
