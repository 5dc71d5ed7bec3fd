// FakeScheduler: an in-memory scheduler gRPC service (schedulerService of @tskv/rpc) for the
// server's tests: ids, bootstrap, stores, regions, the heartbeat stream (every heartbeat answered
// exactly once, in order), store heartbeats, split ids, tso. A replica checker like the real
// scheduler's hands the leader of an under-replicated region an AddNode operator for a store that
// has no peer of it; tests may also set operators by hand.
import * as grpc from '@grpc/grpc-js';
import { eraftpb, metapb, schedulerpb } from '@tskv/proto';
import { schedulerService, secureServerOptions, serverCredentials, type TlsConfig } from '@tskv/rpc';
import { findPeerById, isEpochStale, keyInRegion } from '@tskv/util';

type Op = Pick<schedulerpb.IRegionHeartbeatResponse, 'changePeer' | 'changePeerV2' | 'transferLeader'>;

export interface FakeSchedulerOptions {
  /** Replicas per region the checker aims for (0: no checker). Default 3. */
  maxReplicas?: number;
  clusterId?: number;
  /** isBootstrapped always says false (forces the bootstrap race). */
  lieNotBootstrapped?: boolean;
  /** Mutual TLS of its service (see @tskv/rpc loadTls). */
  tls?: TlsConfig | null;
}

function clone(r: metapb.IRegion): metapb.Region {
  return metapb.Region.decode(metapb.Region.encode(r).finish());
}

export class FakeScheduler {
  readonly clusterId: number;
  private nextId = 1;
  bootstrapped = false;
  bootstrapCalls = 0;
  readonly stores = new Map<number, { store: metapb.IStore; stats: schedulerpb.IStoreStats | null; lastHeartbeatMs: number }>();
  readonly regions = new Map<number, { region: metapb.Region; leader: metapb.IPeer | null }>();
  readonly operators = new Map<number, Op>();
  heartbeats = 0;
  /** Keys and bytes read per region, summed over its heartbeats. */
  readonly reads = new Map<number, { keys: number; bytes: number }>();
  storeHeartbeats = 0;
  /** While true, heartbeats are answered with no operator (and the checker is idle). */
  paused = false;
  /** While true, heartbeats get no answer at all (tests the client's timeout). */
  silent = false;
  private readonly server: grpc.Server;
  private readonly streams = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
  addr = '';
  private lastTs = 0;
  /** The GC safe point served (tests set it). */
  gcSafePoint = 0n;

  constructor(readonly opts: FakeSchedulerOptions = {}) {
    this.clusterId = opts.clusterId ?? 4242;
    this.server = new grpc.Server(secureServerOptions(opts.tls));
    this.server.addService(schedulerService, this.handlers());
  }

  static async start(opts: FakeSchedulerOptions = {}, addr = '127.0.0.1:0'): Promise<FakeScheduler> {
    const f = new FakeScheduler(opts);
    await f.listen(addr);
    return f;
  }

  async listen(addr: string): Promise<void> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(addr, serverCredentials(this.opts.tls), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.addr = `127.0.0.1:${port}`;
  }

  stop(): void {
    for (const s of this.streams) s.end();
    this.server.forceShutdown();
  }

  private hdr(type?: schedulerpb.ErrorType, message = ''): schedulerpb.IResponseHeader {
    return { clusterId: this.clusterId, error: type ? { type, message } : undefined };
  }

  allocId(): number {
    return this.nextId++;
  }

  region(id: number): metapb.Region | undefined {
    return this.regions.get(id)?.region;
  }

  leader(id: number): metapb.IPeer | null {
    return this.regions.get(id)?.leader ?? null;
  }

  firstRegion(): metapb.Region | undefined {
    return [...this.regions.values()][0]?.region;
  }

  setOperator(regionId: number, op: Op): void {
    this.operators.set(regionId, op);
  }

  private putRegion(r: metapb.IRegion, leader: metapb.IPeer | null): boolean {
    const known = this.regions.get(Number(r.id));
    if (known) {
      if (isEpochStale(r.regionEpoch ?? {}, known.region.regionEpoch ?? {})) return false;
    }
    this.regions.set(Number(r.id), { region: clone(r), leader: leader ?? known?.leader ?? null });
    return true;
  }

  /** Whether the region shows the operator done. */
  private done(op: Op, r: metapb.IRegion, leader: metapb.IPeer): boolean {
    const has = (p: metapb.IPeer | null | undefined): metapb.IPeer | undefined => findPeerById(r, Number(p?.id));
    const one = (c: schedulerpb.IChangePeer): boolean => {
      const p = has(c.peer);
      if (c.changeType === eraftpb.ConfChangeType.AddNode) return !!p && (p.role ?? 0) === metapb.PeerRole.Voter;
      if (c.changeType === eraftpb.ConfChangeType.AddLearnerNode) return !!p && p.role === metapb.PeerRole.Learner;
      return !p;
    };
    if (op.transferLeader) return Number(leader.id) === Number(op.transferLeader.peer?.id);
    if (op.changePeer) return one(op.changePeer);
    return (op.changePeerV2?.changes ?? []).every(one);
  }

  /** The replica checker: an AddNode for a store without a peer of the region. */
  private checkReplicas(r: metapb.IRegion): Op | null {
    const want = this.opts.maxReplicas ?? 3;
    const peers = r.peers ?? [];
    if (want === 0 || peers.length >= want) return null;
    const used = new Set(peers.map((p) => Number(p.storeId)));
    const candidates = [...this.stores.values()]
      .filter((s) => !used.has(Number(s.store.id)) && (s.store.state ?? 0) === metapb.StoreState.Up)
      .map((s) => Number(s.store.id))
      .sort((a, b) => a - b);
    if (candidates.length === 0) return null;
    return { changePeer: { changeType: eraftpb.ConfChangeType.AddNode, peer: { id: this.allocId(), storeId: candidates[0] } } };
  }

  private onHeartbeat(req: schedulerpb.RegionHeartbeatRequest): schedulerpb.IRegionHeartbeatResponse {
    this.heartbeats++;
    const r = req.region;
    const leader = req.leader;
    const base = { header: this.hdr(), regionId: r?.id ?? 0 };
    if (!r?.id || !leader) return base;
    const read = this.reads.get(Number(r.id)) ?? { keys: 0, bytes: 0 };
    read.keys += Number(req.keysRead ?? 0);
    read.bytes += Number(req.bytesRead ?? 0);
    this.reads.set(Number(r.id), read);
    if (!this.putRegion(r, leader)) return { ...base, header: this.hdr(schedulerpb.ErrorType.STALE_REGION, 'stale heartbeat') };
    if (this.paused) return base;
    let op = this.operators.get(Number(r.id));
    if (op && this.done(op, r, leader)) {
      this.operators.delete(Number(r.id));
      op = undefined;
    }
    if (!op) {
      const fresh = this.checkReplicas(r);
      if (fresh) {
        op = fresh;
        this.operators.set(Number(r.id), op);
      }
    }
    return op ? { ...base, ...op, regionEpoch: r.regionEpoch, targetPeer: leader } : base;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    type Cb<T> = grpc.sendUnaryData<T>;
    const u =
      <Req, Res>(f: (req: Req) => Res) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: Cb<Res>) => {
        try {
          cb(null, f(call.request));
        } catch (e) {
          cb({ code: grpc.status.INTERNAL, details: String(e) });
        }
      };
    const storeInfo = (id: number) => this.stores.get(id);
    return {
      bootstrap: u((req: schedulerpb.BootstrapRequest) => {
        this.bootstrapCalls++;
        if (this.bootstrapped)
          return { header: this.hdr(schedulerpb.ErrorType.ALREADY_BOOTSTRAPPED, `cluster ${this.clusterId} is already bootstrapped`) };
        this.bootstrapped = true;
        if (req.store?.id) this.stores.set(Number(req.store.id), { store: req.store, stats: null, lastHeartbeatMs: 0 });
        if (req.region) this.putRegion(req.region, null);
        return { header: this.hdr() };
      }),
      isBootstrapped: u(() => ({ header: this.hdr(), bootstrapped: this.opts.lieNotBootstrapped ? false : this.bootstrapped })),
      allocID: u(() => ({ header: this.hdr(), id: this.allocId() })),
      getGCSafePoint: u(() => ({ header: this.hdr(), safePoint: this.gcSafePoint })),
      putStore: u((req: schedulerpb.PutStoreRequest) => {
        const id = Number(req.store?.id ?? 0);
        if (!id) return { header: this.hdr(schedulerpb.ErrorType.UNKNOWN, 'store without id') };
        const known = this.stores.get(id);
        this.stores.set(id, { store: req.store!, stats: known?.stats ?? null, lastHeartbeatMs: known?.lastHeartbeatMs ?? 0 });
        return { header: this.hdr() };
      }),
      getStore: u((req: schedulerpb.GetStoreRequest) => {
        const s = storeInfo(Number(req.storeId));
        if (!s) return { header: this.hdr(schedulerpb.ErrorType.STORE_NOT_FOUND, `store ${req.storeId} not found`) };
        return { header: this.hdr(), store: s.store, stats: s.stats, lastHeartbeatMs: s.lastHeartbeatMs };
      }),
      getAllStores: u(() => {
        const all = [...this.stores.values()];
        return {
          header: this.hdr(),
          stores: all.map((s) => s.store),
          stats: all.map((s) => s.stats ?? {}),
          lastHeartbeatMs: all.map((s) => s.lastHeartbeatMs),
        };
      }),
      getRegion: u((req: schedulerpb.GetRegionRequest) => {
        for (const { region, leader } of this.regions.values())
          if (keyInRegion(req.regionKey, region)) return { header: this.hdr(), region, leader };
        return { header: this.hdr(schedulerpb.ErrorType.REGION_NOT_FOUND, 'no region') };
      }),
      getRegionByID: u((req: schedulerpb.GetRegionByIDRequest) => {
        const r = this.regions.get(Number(req.regionId));
        return r
          ? { header: this.hdr(), region: r.region, leader: r.leader }
          : { header: this.hdr(schedulerpb.ErrorType.REGION_NOT_FOUND, 'no region') };
      }),
      scanRegions: u(() => {
        const all = [...this.regions.values()];
        return { header: this.hdr(), regions: all.map((r) => r.region), leaders: all.map((r) => r.leader ?? {}) };
      }),
      storeHeartbeat: u((req: schedulerpb.StoreHeartbeatRequest) => {
        this.storeHeartbeats++;
        const s = storeInfo(Number(req.stats?.storeId ?? 0));
        if (s) {
          s.stats = req.stats ?? null;
          s.lastHeartbeatMs = Date.now();
        }
        return { header: this.hdr() };
      }),
      askBatchSplit: u((req: schedulerpb.AskBatchSplitRequest) => ({
        header: this.hdr(),
        ids: Array.from({ length: req.splitCount }, () => ({
          newRegionId: this.allocId(),
          newPeerIds: (req.region?.peers ?? []).map(() => this.allocId()),
        })),
      })),
      reportBatchSplit: u((req: schedulerpb.ReportBatchSplitRequest) => {
        for (const r of req.regions) this.putRegion(r, null);
        return { header: this.hdr() };
      }),
      regionHeartbeat: (call: grpc.ServerDuplexStream<schedulerpb.RegionHeartbeatRequest, schedulerpb.IRegionHeartbeatResponse>) => {
        this.streams.add(call as grpc.ServerDuplexStream<unknown, unknown>);
        call.on('data', (req: schedulerpb.RegionHeartbeatRequest) => {
          if (this.silent) return;
          call.write(this.onHeartbeat(req));
        });
        const drop = (): void => void this.streams.delete(call as grpc.ServerDuplexStream<unknown, unknown>);
        call.on('end', () => {
          drop();
          call.end();
        });
        call.on('error', drop);
        call.on('cancelled', drop);
      },
      tso: (call: grpc.ServerDuplexStream<schedulerpb.TsoRequest, schedulerpb.ITsoResponse>) => {
        call.on('data', (req: schedulerpb.TsoRequest) => {
          const ts = Math.max(Date.now() * 1000, this.lastTs + 1);
          this.lastTs = ts;
          call.write({ header: this.hdr(), count: req.count, timestamp: { physical: Math.floor(ts / 1000), logical: ts % 1000 } });
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    };
  }
}
