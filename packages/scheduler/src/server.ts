// SchedulerServer: the scheduler as a running service: storage opened, state loaded, the gRPC
// service bound, the status server up, scheduling rounds started; stop() undoes it in reverse,
// gracefully (streams ended, in-flight calls finished, writes flushed, the database closed).
import * as grpc from '@grpc/grpc-js';
import { schedulerService, secureServerOptions, serverCredentials, type TlsConfig } from '@tskv/rpc';
import { resolveConfig, type SchedulerConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { SchedulerCore } from './core.js';
import { createLogger, type Logger } from './logger.js';
import { createServiceImpl } from './service.js';
import { joinHostPort, StatusServer, splitHostPort } from './status_server.js';
import { SchedulerStorage } from './storage.js';

export interface SchedulerServerOptions {
  /** Where the metadata lives (created if missing). */
  dataDir: string;
  /** gRPC listen address, host:port (port 0: any free port; see .addr). */
  addr: string;
  /** HTTP status listen address (/metrics, /status); none if omitted. HTTPS with mutual TLS when `tls` is given. */
  statusAddr?: string;
  config?: Partial<SchedulerConfig>;
  logger?: Logger;
  /** Mutual TLS of the gRPC service and the status server (loadTls of the [security] settings); null or omitted: plaintext. See docs/security.md. */
  tls?: TlsConfig | null;
}

/** How long stop() waits for calls in flight before cutting them. */
const GRACE_MS = 3000;

export class SchedulerServer {
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly core: SchedulerCore,
    private readonly grpcServer: grpc.Server,
    private readonly coordinator: Coordinator,
    private readonly status: StatusServer | null,
    /** The open server-side streams (the service adds and removes them). */
    private readonly streams: Set<grpc.ServerDuplexStream<unknown, unknown>>,
    /** The bound gRPC address (the actual port when 0 was asked). */
    readonly addr: string,
  ) {}

  /** The bound status address, if a status server was asked for. */
  get statusAddr(): string | undefined {
    return this.status?.addr;
  }

  get clusterId(): number {
    return this.core.clusterId;
  }

  get logger(): Logger {
    return this.core.logger;
  }

  static async start(opts: SchedulerServerOptions): Promise<SchedulerServer> {
    const cfg = resolveConfig(opts.config ?? {});
    const logger = opts.logger ?? createLogger();
    const { host, port } = splitHostPort(opts.addr);
    const storage = await SchedulerStorage.open(opts.dataDir);
    let core: SchedulerCore | null = null;
    let grpcServer: grpc.Server | null = null;
    try {
      core = await SchedulerCore.open(cfg, storage, logger);
      grpcServer = new grpc.Server(secureServerOptions(opts.tls));
      const streams = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
      grpcServer.addService(schedulerService, createServiceImpl(core, streams));
      const bound = await new Promise<number>((resolve, reject) =>
        grpcServer!.bindAsync(joinHostPort(host || '0.0.0.0', port), serverCredentials(opts.tls), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
      const status = opts.statusAddr ? await StatusServer.start(core, opts.statusAddr, opts.tls) : null;
      const coordinator = new Coordinator(core);
      const server = new SchedulerServer(core, grpcServer, coordinator, status, streams, joinHostPort(host || '0.0.0.0', bound));
      coordinator.start();
      logger.info('scheduler serving', { addr: server.addr, statusAddr: server.statusAddr, clusterId: core.clusterId });
      return server;
    } catch (e) {
      grpcServer?.forceShutdown();
      if (core) await core.close().catch(() => {});
      else await storage.close().catch(() => {});
      throw e;
    }
  }

  /**
   * Graceful: no new calls, open streams ended, calls in flight finished (cut after a grace
   * period), storage flushed and closed. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await this.coordinator.stop();
    for (const s of this.streams) {
      try {
        s.end();
      } catch {
        // already closed
      }
    }
    this.streams.clear();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, GRACE_MS);
      this.grpcServer.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await this.status?.stop();
    await this.core.close();
    this.logger.info('scheduler stopped', { clusterId: this.core.clusterId });
  }
}
