// The HTTP status server of a store: /metrics (Prometheus text) and /status (JSON); HTTPS with
// mutual TLS when TLS is on (see createStatusServer).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { metapb } from '@tskv/proto';
import type { Logger, Store } from '@tskv/raftstore';
import { createStatusServer, type StatusHttpServer, type TlsConfig } from '@tskv/rpc';
import { epochOf } from '@tskv/util';
import { joinHostPort, splitHostPort } from './config.js';
import type { ServerMetrics } from './metrics.js';

export interface StatusInfo {
  storeId: number;
  address: string;
  statusAddress: string;
}

const hex = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? []).toString('hex');

function peerOf(p: metapb.IPeer): { id: number; storeId: number; role: number } {
  return { id: Number(p.id ?? 0), storeId: Number(p.storeId ?? 0), role: Number(p.role ?? 0) };
}

/** The /status document: the store and each of its regions. */
export function statusDocument(store: Store, info: StatusInfo): Record<string, unknown> {
  const regions = store.regionStatus().map((r) => ({
    id: r.regionId,
    peerId: r.peerId,
    // Keys in hex; an empty end key means unbounded.
    startKey: hex(r.region.startKey),
    endKey: hex(r.region.endKey),
    epoch: epochOf(r.region),
    peers: (r.region.peers ?? []).map(peerOf),
    leader: r.leader ? peerOf(r.leader) : null,
    isLeader: r.isLeader,
    term: r.term,
    commitIndex: r.commitIndex,
    appliedIndex: r.appliedIndex,
    truncatedIndex: r.truncatedIndex,
    hibernating: r.hibernating,
    applyingSnapshot: r.applyingSnapshot,
  }));
  regions.sort((a, b) => a.id - b.id);
  return {
    storeId: info.storeId,
    address: info.address,
    statusAddress: info.statusAddress,
    regionCount: regions.length,
    leaderCount: regions.filter((r) => r.isLeader).length,
    failed: store.failed ? store.failed.message : null,
    regions,
  };
}

export class StatusServer {
  private constructor(
    private readonly http: StatusHttpServer,
    readonly addr: string,
  ) {}

  /** Listens on addr (port 0 allowed); `addr` is then the bound address. `tls`: the gRPC service's settings. */
  static async start(
    addr: string,
    metrics: ServerMetrics,
    status: () => Record<string, unknown>,
    logger: Logger,
    tls?: TlsConfig | null,
  ): Promise<StatusServer> {
    const { host, port } = splitHostPort(addr, 'status address');
    const http = createStatusServer(tls, (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0];
      const reply = (code: number, type: string, body: string): void => {
        res.writeHead(code, { 'content-type': type });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'method not allowed\n');
      if (path === '/metrics') {
        metrics.text().then(
          (t) => reply(200, metrics.registry.contentType, t),
          (e: unknown) => reply(500, 'text/plain', `metrics failed: ${String(e)}\n`),
        );
        return;
      }
      if (path === '/status') {
        try {
          return reply(200, 'application/json', `${JSON.stringify(status())}\n`);
        } catch (e) {
          return reply(500, 'text/plain', `status failed: ${String(e)}\n`);
        }
      }
      reply(404, 'text/plain', 'not found: try /metrics or /status\n');
    });
    http.on('clientError', (_e, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    http.on('error', (e) => logger.error('status server error', { err: String(e) }));
    const bound = (http.address() as AddressInfo).port;
    return new StatusServer(http, joinHostPort(host, bound));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}
