// PdClient: the typed client of the scheduler service, shared by stores (heartbeats, split ids,
// store registration) and clients (region and store lookup, the GC safe point). Unary calls retry on UNAVAILABLE
// with backoff until their deadline, so a store may start before the scheduler. The region
// heartbeat and tso streams are long-lived and reopened after any failure.
import * as grpc from '@grpc/grpc-js';
import { type metapb, schedulerpb } from '@tskv/proto';
import type { GetGCSafePointResponse, UpdateGCSafePointResponse } from './gc_codec.js';
import { newSchedulerGrpcClient, type SchedulerGrpcClient, type SchedulerServiceDefinition } from './services.js';
import { channelCredentials, type TlsConfig } from './tls.js';

/** An error the scheduler answered in its response header (not a transport failure). */
export class SchedulerError extends Error {
  constructor(
    readonly type: schedulerpb.ErrorType,
    message: string,
  ) {
    super(`scheduler: ${schedulerpb.ErrorType[type] ?? type}: ${message}`);
    this.name = 'SchedulerError';
  }
}

export interface RegionWithLeader {
  region: metapb.IRegion;
  leader: metapb.IPeer | null;
}

export interface StoreWithStats {
  store: metapb.IStore;
  stats: schedulerpb.IStoreStats | null;
  /** Wall-clock ms of the store's last heartbeat, 0 if never. */
  lastHeartbeatMs: number;
}

export interface PdClientOptions {
  /** Deadline of each unary call, retries included. */
  timeoutMs?: number;
  credentials?: grpc.ChannelCredentials;
  /** Mutual TLS (see loadTls); ignored when credentials are given. */
  tls?: TlsConfig | null;
  /** Called with every failure of the heartbeat stream (for logging). */
  onStreamError?: (what: string, err: Error) => void;
}

const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function nonEmpty<T>(x: T | null | undefined): T | null {
  return x == null ? null : x;
}

export class PdClient {
  readonly grpc: SchedulerGrpcClient;
  /** The cluster id, learned from the first answer (0 until then; the scheduler accepts 0). */
  clusterId = 0;
  private readonly timeoutMs: number;
  private hbStream: grpc.ClientDuplexStream<schedulerpb.IRegionHeartbeatRequest, schedulerpb.RegionHeartbeatResponse> | null = null;
  private readonly hbListeners: ((r: schedulerpb.RegionHeartbeatResponse) => void)[] = [];
  private tsoStream: grpc.ClientDuplexStream<schedulerpb.ITsoRequest, schedulerpb.TsoResponse> | null = null;
  private readonly tsoWaiters: { resolve: (t: schedulerpb.ITimestamp) => void; reject: (e: Error) => void }[] = [];
  private closed = false;

  constructor(
    readonly address: string,
    private readonly opts: PdClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.grpc = newSchedulerGrpcClient(address, opts.credentials ?? channelCredentials(opts.tls));
  }

  private header(): schedulerpb.IRequestHeader {
    return { clusterId: this.clusterId };
  }

  /** One unary call with the header filled in, retried on transient transport errors, header errors thrown. */
  private async call<Res extends { header?: schedulerpb.IResponseHeader | null }>(
    name: keyof SchedulerServiceDefinition,
    req: object,
    timeoutMs = this.timeoutMs,
  ): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    let backoff = 50;
    for (;;) {
      try {
        const res = await new Promise<Res>((resolve, reject) => {
          this.grpc[name](
            { header: this.header(), ...req },
            new grpc.Metadata(),
            { deadline: Math.max(deadline, Date.now() + 1) },
            (err: grpc.ServiceError | null, r: Res) => (err ? reject(err) : resolve(r)),
          );
        });
        const h = res.header;
        if (h?.clusterId && !this.clusterId) this.clusterId = h.clusterId;
        if (h?.error?.type) throw new SchedulerError(h.error.type, h.error.message ?? '');
        return res;
      } catch (e) {
        const code = (e as grpc.ServiceError).code;
        if (this.closed || !RETRYABLE.has(code) || Date.now() + backoff >= deadline) throw e;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  async isBootstrapped(): Promise<boolean> {
    const r = await this.call<schedulerpb.IsBootstrappedResponse>('isBootstrapped', {});
    return r.bootstrapped;
  }

  /** Bootstraps the cluster with its first store and region; throws ALREADY_BOOTSTRAPPED if another won. */
  async bootstrap(store: metapb.IStore, region: metapb.IRegion): Promise<void> {
    await this.call('bootstrap', { store, region });
  }

  async allocId(): Promise<number> {
    const r = await this.call<schedulerpb.AllocIDResponse>('allocID', {});
    return r.id;
  }

  async putStore(store: metapb.IStore): Promise<void> {
    await this.call('putStore', { store });
  }

  async getStore(storeId: number): Promise<StoreWithStats | null> {
    try {
      const r = await this.call<schedulerpb.GetStoreResponse>('getStore', { storeId });
      return r.store ? { store: r.store, stats: nonEmpty(r.stats), lastHeartbeatMs: Number(r.lastHeartbeatMs) } : null;
    } catch (e) {
      if (e instanceof SchedulerError && e.type === schedulerpb.ErrorType.STORE_NOT_FOUND) return null;
      throw e;
    }
  }

  async getAllStores(excludeTombstone = false): Promise<StoreWithStats[]> {
    const r = await this.call<schedulerpb.GetAllStoresResponse>('getAllStores', { excludeTombstoneStores: excludeTombstone });
    return r.stores.map((store, i) => ({ store, stats: nonEmpty(r.stats[i]), lastHeartbeatMs: Number(r.lastHeartbeatMs[i] ?? 0) }));
  }

  /** The region containing key, or null (REGION_NOT_FOUND answers null too). */
  async getRegion(key: Uint8Array): Promise<RegionWithLeader | null> {
    return this.regionOrNull(() => this.call<schedulerpb.GetRegionResponse>('getRegion', { regionKey: key }));
  }

  async getRegionById(regionId: number): Promise<RegionWithLeader | null> {
    return this.regionOrNull(() => this.call<schedulerpb.GetRegionResponse>('getRegionByID', { regionId }));
  }

  private async regionOrNull(f: () => Promise<schedulerpb.GetRegionResponse>): Promise<RegionWithLeader | null> {
    try {
      const r = await f();
      return r.region ? { region: r.region, leader: r.leader?.id ? r.leader : null } : null;
    } catch (e) {
      if (e instanceof SchedulerError && e.type === schedulerpb.ErrorType.REGION_NOT_FOUND) return null;
      throw e;
    }
  }

  /** Regions from startKey on (end exclusive, empty = unbounded), at most limit (0 = all). */
  async scanRegions(startKey: Uint8Array, endKey: Uint8Array = new Uint8Array(0), limit = 0): Promise<RegionWithLeader[]> {
    const r = await this.call<schedulerpb.ScanRegionsResponse>('scanRegions', { startKey, endKey, limit });
    return r.regions.map((region, i) => ({ region, leader: r.leaders[i] && r.leaders[i]!.id ? r.leaders[i]! : null }));
  }

  async storeHeartbeat(stats: schedulerpb.IStoreStats): Promise<void> {
    await this.call('storeHeartbeat', { stats });
  }

  async askBatchSplit(region: metapb.IRegion, count: number): Promise<{ newRegionId: number; newPeerIds: number[] }[]> {
    const r = await this.call<schedulerpb.AskBatchSplitResponse>('askBatchSplit', { region, splitCount: count });
    return r.ids.map((x) => ({ newRegionId: Number(x.newRegionId ?? 0), newPeerIds: [...(x.newPeerIds ?? [])].map(Number) }));
  }

  async reportBatchSplit(regions: metapb.IRegion[]): Promise<void> {
    await this.call('reportBatchSplit', { regions });
  }

  /** The cluster's GC safe point (a TSO timestamp, exact as a bigint); 0n until one is set. */
  async getGCSafePoint(): Promise<bigint> {
    const r = await this.call<GetGCSafePointResponse>('getGCSafePoint', {});
    return r.safePoint;
  }

  /**
   * Raises the GC safe point to `safePoint` and returns the safe point now in force: the current
   * one, unchanged, when `safePoint` is not above it (it never moves back). Idempotent, so it is
   * retried like the other unary calls. A value that is not a u64 bigint is refused here.
   */
  async updateGCSafePoint(safePoint: bigint): Promise<bigint> {
    if (typeof safePoint !== 'bigint') throw new TypeError(`safe point must be a bigint (u64), got ${typeof safePoint}`);
    if (safePoint < 0n || safePoint >= 1n << 64n) throw new RangeError(`safe point must be in [0, 2^64), got ${safePoint}`);
    const r = await this.call<UpdateGCSafePointResponse>('updateGCSafePoint', { safePoint });
    return r.newSafePoint;
  }

  /** Sends a region heartbeat on the long-lived stream (dropped if the stream is down: the next one retries). */
  regionHeartbeat(req: Omit<schedulerpb.IRegionHeartbeatRequest, 'header'>): void {
    if (this.closed) return;
    const s = this.heartbeatStream();
    s.write({ header: this.header(), ...req });
  }

  /** Every heartbeat answer (operators) goes to these listeners. */
  onRegionHeartbeatResponse(cb: (r: schedulerpb.RegionHeartbeatResponse) => void): void {
    this.hbListeners.push(cb);
  }

  private heartbeatStream(): grpc.ClientDuplexStream<schedulerpb.IRegionHeartbeatRequest, schedulerpb.RegionHeartbeatResponse> {
    if (this.hbStream) return this.hbStream;
    const s = this.grpc.regionHeartbeat() as grpc.ClientDuplexStream<
      schedulerpb.IRegionHeartbeatRequest,
      schedulerpb.RegionHeartbeatResponse
    >;
    this.hbStream = s;
    s.on('data', (r: schedulerpb.RegionHeartbeatResponse) => {
      if (r.header?.clusterId && !this.clusterId) this.clusterId = r.header.clusterId;
      for (const l of this.hbListeners) l(r);
    });
    const drop = (err?: Error): void => {
      if (this.hbStream === s) this.hbStream = null;
      if (err && !this.closed) this.opts.onStreamError?.('region heartbeat stream', err);
    };
    s.on('error', (e: Error) => drop(e));
    s.on('end', () => drop());
    s.on('close', () => drop());
    return s;
  }

  /** A timestamp from the scheduler's oracle, strictly increasing across calls and restarts. */
  async tso(): Promise<{ physical: number; logical: number }> {
    const ts = await new Promise<schedulerpb.ITimestamp>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('tso: timed out')), this.timeoutMs);
      const w = {
        resolve: (t: schedulerpb.ITimestamp) => {
          clearTimeout(timer);
          resolve(t);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.tsoWaiters.push(w);
      this.tsoStreamOpen().write({ header: this.header(), count: 1 });
    });
    return { physical: Number(ts.physical ?? 0), logical: Number(ts.logical ?? 0) };
  }

  private tsoStreamOpen(): grpc.ClientDuplexStream<schedulerpb.ITsoRequest, schedulerpb.TsoResponse> {
    if (this.tsoStream) return this.tsoStream;
    const s = this.grpc.tso() as grpc.ClientDuplexStream<schedulerpb.ITsoRequest, schedulerpb.TsoResponse>;
    this.tsoStream = s;
    // Answers come back in request order on one stream.
    s.on('data', (r: schedulerpb.TsoResponse) => {
      const w = this.tsoWaiters.shift();
      if (!w) return;
      if (r.header?.error?.type) w.reject(new SchedulerError(r.header.error.type, r.header.error.message ?? ''));
      else w.resolve(r.timestamp ?? {});
    });
    const fail = (err: Error): void => {
      if (this.tsoStream === s) this.tsoStream = null;
      for (const w of this.tsoWaiters.splice(0)) w.reject(err);
    };
    s.on('error', fail);
    s.on('end', () => fail(new Error('tso stream ended')));
    return s;
  }

  close(): void {
    this.closed = true;
    this.hbStream?.cancel();
    this.tsoStream?.cancel();
    this.grpc.close();
  }
}
