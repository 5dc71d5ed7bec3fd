// The HTTP status server (node:http; HTTPS with mutual TLS when TLS is on, see createStatusServer):
//   GET  /metrics                              Prometheus text (the server's own registry)
//   GET  /status                               JSON: cluster, stores, regions, pending operators, GC safe point
//   GET, POST /admin/...                       the admin API (admin_api.ts): operators, store state, pauses
//   GET  /, /api/dashboard, /dashboard/...     the web dashboard (dashboard/index.ts)
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { metapb } from '@tskv/proto';
import { createStatusServer, type StatusHttpServer, type TlsConfig } from '@tskv/rpc';
import { serveAdmin } from './admin_api.js';
import type { SchedulerCore } from './core.js';
import { Dashboard } from './dashboard/index.js';
import { operatorSummary } from './operator.js';
import { isDown, storeIsLive } from './schedulers/context.js';

/** The /status document. */
export function statusJson(core: SchedulerCore, now = Date.now()): Record<string, unknown> {
  const loads = core.state.storeLoads();
  const stores = [...core.state.stores.values()]
    .sort((a, b) => Number(a.meta.id) - Number(b.meta.id))
    .map((s) => {
      const id = Number(s.meta.id);
      const state = s.meta.state ?? metapb.StoreState.Up;
      return {
        id,
        address: s.meta.address,
        statusAddress: s.meta.statusAddress,
        state: metapb.StoreState[state],
        live: storeIsLive(core.state, core.cfg, now, id),
        down: state === metapb.StoreState.Up && isDown(s, core.cfg, now),
        lastHeartbeatMs: s.lastHeartbeatMs,
        regionCount: loads.get(id)?.regions ?? 0,
        leaderCount: loads.get(id)?.leaders ?? 0,
        stats: s.stats,
      };
    });
  return {
    clusterId: core.clusterId,
    bootstrapped: core.bootstrapped,
    stores,
    regionCount: core.state.regions.size,
    pendingOperators: [...core.ops.all()].map((op) => operatorSummary(op, now)),
    pausedRegions: core.cfg.pausedRegions,
    nextId: core.ids.peek(),
    // A decimal string: the u64 exceeds JSON's exact numbers (and JSON.stringify refuses bigints).
    gcSafePoint: core.gcSafePoint.toString(),
  };
}

function send(res: http.ServerResponse, code: number, body: string, type = 'application/json'): void {
  res.writeHead(code, { 'content-type': type });
  res.end(body);
}

export class StatusServer {
  private constructor(
    private readonly server: StatusHttpServer,
    readonly addr: string,
  ) {}

  /** `tls`: the gRPC service's settings; the pages are then HTTPS with the same client checks. */
  static async start(core: SchedulerCore, addr: string, tls?: TlsConfig | null): Promise<StatusServer> {
    const dashboard = new Dashboard(core);
    const server = createStatusServer(tls, (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method === 'GET' && path === '/metrics') {
        core.metrics.registry.metrics().then(
          (text) => send(res, 200, text, core.metrics.registry.contentType),
          (e: unknown) => send(res, 500, String(e), 'text/plain'),
        );
      } else if (req.method === 'GET' && path === '/status') {
        send(res, 200, JSON.stringify(statusJson(core), null, 2));
      } else if (path.startsWith('/admin/')) {
        serveAdmin(core, req, res, path);
      } else if (!dashboard.serve(req, res, path)) send(res, 404, JSON.stringify({ error: `no ${req.method} ${path}` }));
    });
    server.on('close', () => dashboard.stop());
    const { host, port } = splitHostPort(addr);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host || undefined, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    return new StatusServer(server, joinHostPort(host || '0.0.0.0', a.port));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** "host:port" (an IPv6 host in brackets) into its parts. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new Error(`bad address "${addr}": expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`bad address "${addr}": port out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
