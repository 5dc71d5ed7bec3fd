// TinyKvServer: one store as a process. It opens the store's engines, gets (or bootstraps) its
// identity and maybe the cluster through the scheduler, serves the TinyKv gRPC service over a
// raftstore Store, talks to other stores through the gRPC transport, reports to the scheduler,
// and serves /metrics and /status over HTTP.
import * as grpc from '@grpc/grpc-js';
import { Engines } from '@tskv/engine';
import { metapb } from '@tskv/proto';
import type { Logger, StoreConfig } from '@tskv/raftstore';
import { createLogger, Store, storeConfig } from '@tskv/raftstore';
import { channelCredentials, PdClient, secureServerOptions, serverCredentials, type TlsConfig, tinyKvService } from '@tskv/rpc';
import { ensureBootstrapped, retryUntil } from './cluster_bootstrap.js';
import { DEFAULT_TUNING, joinHostPort, parseAddressOverrides, SERVER_STORE_DEFAULTS, type ServerTuning, splitHostPort } from './config.js';
import { guardService } from './decode_guard.js';
import { GcWorker } from './gc_worker.js';
import { TinyKvService } from './kv_service.js';
import { ServerMetrics } from './metrics.js';
import { PdSchedulerClient } from './scheduler_client.js';
import { StatusServer, statusDocument } from './status_server.js';
import { GrpcTransport, type GrpcTransportOptions } from './transport.js';

export interface TinyKvServerOptions {
  /** gRPC listen address, host:port (port 0: any free port; `server.addr` tells which). */
  addr: string;
  /** HTTP status address (/metrics, /status), host:port; omitted: no status server. HTTPS with mutual TLS when `tls` is given. */
  statusAddr?: string;
  /** The scheduler's gRPC address. */
  schedulerAddr: string;
  /** The store's data directory (engines, snapshots). */
  dataDir: string;
  /** Store settings over raftstore's defaults and SERVER_STORE_DEFAULTS (storeId comes from the data directory). */
  storeConfig?: Partial<Omit<StoreConfig, 'storeId'>>;
  /** Server settings over DEFAULT_TUNING. */
  tuning?: Partial<ServerTuning>;
  logger?: Logger;
  /**
   * Mutual TLS (loadTls of the [security] settings): the gRPC service, the raft transport and
   * the scheduler client all use it; null or omitted: plaintext. See docs/security.md.
   */
  tls?: TlsConfig | null;
  /**
   * Told once if the store fails for good (a raft or kv write failed: a full or failing disk).
   * The store then refuses every request until it is restarted from disk; tinykv-server exits
   * non-zero here for its supervisor to restart it (docs/operations.md, "A full disk").
   */
  onFatal?: (err: Error) => void;
  /** Test hook of the transport (see GrpcTransportOptions.snapshotChunkFilter). */
  snapshotChunkFilter?: GrpcTransportOptions['snapshotChunkFilter'];
}

async function bindGrpc(server: grpc.Server, addr: string, creds: grpc.ServerCredentials): Promise<string> {
  const { host } = splitHostPort(addr, 'address');
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(addr, creds, (err, p) => (err ? reject(err) : resolve(p))));
  return joinHostPort(host, port);
}

export class TinyKvServer {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly store: Store,
    readonly addr: string,
    readonly statusAddr: string | null,
    readonly metrics: ServerMetrics,
    readonly transport: GrpcTransport,
    readonly scheduler: PdSchedulerClient,
    readonly logger: Logger,
    private readonly grpcServer: grpc.Server,
    private readonly service: TinyKvService,
    private readonly status: StatusServer | null,
    private readonly pd: PdClient,
    /** The store's engines, opened and closed by the server. */
    readonly engines: Engines,
    private readonly tuning: ServerTuning,
    /** MVCC garbage collection of the regions this store leads. */
    readonly gc: GcWorker,
  ) {}

  get storeId(): number {
    return this.store.storeId;
  }

  /**
   * Starts a store: engines, identity (and the cluster's bootstrap if this is the first store),
   * the gRPC and status servers, registration with the scheduler (actual bound addresses), then
   * the store itself. Retries the scheduler for `tuning.startupTimeoutMs`.
   */
  static async start(opts: TinyKvServerOptions): Promise<TinyKvServer> {
    const tuning: ServerTuning = { ...DEFAULT_TUNING, ...opts.tuning };
    const baseLogger = opts.logger ?? createLogger();
    const metrics = new ServerMetrics();
    const deadline = Date.now() + tuning.startupTimeoutMs;
    let scheduler: PdSchedulerClient | null = null;
    let gc: GcWorker | null = null;
    const pd = new PdClient(opts.schedulerAddr, {
      timeoutMs: tuning.schedulerTimeoutMs,
      tls: opts.tls,
      onStreamError: (what, err) => {
        baseLogger.warn('scheduler stream failed', { what, err: err.message });
        scheduler?.onStreamError();
      },
    });
    const service = new TinyKvService({ metrics, logger: baseLogger, maxInflightRequests: tuning.maxInflightRequests, limits: tuning });
    const grpcServer = new grpc.Server(secureServerOptions(opts.tls));
    // Guarded decoding: a request that does not decode is answered INVALID_ARGUMENT naming the field.
    grpcServer.addService(guardService(tinyKvService), service.handlers());
    let engines: Engines | null = null;
    let status: StatusServer | null = null;
    let store: Store | null = null;
    let transport: GrpcTransport | null = null;
    try {
      // Bound first: the scheduler learns the real addresses, even with port 0.
      const addr = await bindGrpc(grpcServer, opts.addr, serverCredentials(opts.tls));
      let storeId = 0;
      let storeLogger = baseLogger;
      const statusDoc = (): Record<string, unknown> =>
        store
          ? statusDocument(store, { storeId, address: addr, statusAddress: status?.addr ?? '' })
          : { storeId, address: addr, starting: true };
      if (opts.statusAddr) status = await StatusServer.start(opts.statusAddr, metrics, statusDoc, baseLogger, opts.tls);
      const statusAddress = status?.addr ?? '';

      engines = await Engines.open(opts.dataDir, { sync: true });
      const ident = await ensureBootstrapped(
        engines,
        pd,
        { address: addr, statusAddress, state: metapb.StoreState.Up },
        baseLogger,
        deadline,
      );
      storeId = ident.storeId;
      storeLogger = baseLogger.child({ storeId });

      const cfg = storeConfig({ ...SERVER_STORE_DEFAULTS, ...opts.storeConfig, storeId });
      const addressOverrides = parseAddressOverrides(tuning.peerAddressOverrides, 'peerAddressOverrides');
      transport = new GrpcTransport({
        storeId,
        resolve: async (id) => {
          const s = await pd.getStore(id);
          if (!s?.store.address || s.store.state === metapb.StoreState.Tombstone) return null;
          return addressOverrides.get(s.store.address) ?? s.store.address;
        },
        logger: storeLogger,
        metrics,
        maxQueue: tuning.raftStreamMaxQueue,
        maxFrameBytes: tuning.raftFrameMaxBytes,
        reconnectMinMs: tuning.raftReconnectMinMs,
        reconnectMaxMs: tuning.raftReconnectMaxMs,
        snapMaxConcurrentSending: tuning.snapMaxConcurrentSending,
        snapshotChunkFilter: opts.snapshotChunkFilter,
        credentials: opts.tls ? channelCredentials(opts.tls) : undefined,
      });
      scheduler = new PdSchedulerClient(pd, { dataDir: opts.dataDir, heartbeatTimeoutMs: tuning.heartbeatTimeoutMs, logger: storeLogger });
      store = await Store.create(cfg, engines, transport, scheduler, storeLogger);
      store.onFailed = (err) => {
        storeLogger.error('store failed: every request is refused until it is restarted', { err: err.message });
        opts.onFatal?.(err);
      };
      transport.attach(store);
      metrics.bindStore(store);
      service.setStore(store, storeLogger);
      await retryUntil('put store', deadline, storeLogger, () =>
        pd.putStore({ id: storeId, address: addr, statusAddress, state: metapb.StoreState.Up }),
      );
      store.start();
      gc = new GcWorker({
        store,
        safePoint: () => pd.getGCSafePoint(),
        logger: storeLogger,
        intervalMs: tuning.gcIntervalMs,
        batchKeys: tuning.gcBatchKeys,
        batchesPerSecond: tuning.gcBatchesPerSecond,
      });
      metrics.bindGc(gc);
      gc.start();
      storeLogger.info('store serving', {
        addr,
        statusAddr: statusAddress,
        regions: store.stats().regions,
        bootstrappedCluster: ident.bootstrappedCluster,
      });
      return new TinyKvServer(
        store,
        addr,
        status?.addr ?? null,
        metrics,
        transport,
        scheduler,
        storeLogger,
        grpcServer,
        service,
        status,
        pd,
        engines,
        tuning,
        gc,
      );
    } catch (e) {
      await gc?.stop();
      service.beginShutdown();
      grpcServer.forceShutdown();
      transport?.close();
      await store?.stop().catch(() => undefined);
      scheduler?.close();
      pd.close();
      await status?.close().catch(() => undefined);
      await engines?.close().catch(() => undefined);
      metrics.close();
      throw e;
    }
  }

  /**
   * Graceful stop: no new calls, inbound raft streams told to go away, outbound streams ended,
   * the store stopped (requests in flight are answered), client streams ended, then the engines
   * closed. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.logger.info('store stopping');
    this.service.beginShutdown();
    const shutdown = new Promise<void>((resolve) => this.grpcServer.tryShutdown(() => resolve()));
    this.transport.close();
    await this.gc.stop();
    await this.store.stop();
    this.service.endStreams();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.tuning.shutdownGraceMs)));
    const clean = await Promise.race([shutdown.then(() => true), graceOver]);
    clearTimeout(timer);
    if (!clean) this.grpcServer.forceShutdown();
    this.scheduler.close();
    this.pd.close();
    await this.status?.close();
    await this.engines.close();
    this.metrics.close();
    this.logger.info('store stopped', { forced: !clean });
  }
}
