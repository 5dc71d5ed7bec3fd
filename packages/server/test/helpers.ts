// Shared test helpers: servers over a fake scheduler, raw TinyKv clients, polling.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { kvrpcpb } from '@tskv/proto';
import type { StoreConfig } from '@tskv/raftstore';
import { newTinyKvGrpcClient, type TinyKvGrpcClient, unary } from '@tskv/rpc';
import { findPeer } from '@tskv/util';
import { TinyKvServer, type TinyKvServerOptions } from '../src/index.js';
import { FakeScheduler } from './fake_scheduler.js';

/** Short timings (2 busy cores: elections of ~0.5-1 s, heartbeats every 200 ms). */
export const TEST_STORE_CONFIG: Partial<StoreConfig> = {
  raftBaseTickMs: 50,
  raftElectionTicks: 10,
  raftHeartbeatTicks: 2,
  schedulerHeartbeatTickMs: 200,
  requestTimeoutMs: 3000,
};

export const enc = (s: string): Uint8Array => Buffer.from(s);
export const dec = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? []).toString();

export function tempDir(prefix = 'tskv-server-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function startServer(fake: FakeScheduler, dataDir: string, extra: Partial<TinyKvServerOptions> = {}): Promise<TinyKvServer> {
  return TinyKvServer.start({
    addr: '127.0.0.1:0',
    statusAddr: '127.0.0.1:0',
    schedulerAddr: fake.addr,
    dataDir,
    ...extra,
    storeConfig: { ...TEST_STORE_CONFIG, ...extra.storeConfig },
    tuning: { startupTimeoutMs: 10_000, shutdownGraceMs: 1000, ...extra.tuning },
  });
}

/** The server whose peer leads `regionId` (the one that believes it, with the highest term). */
export function leaderOf(servers: TinyKvServer[], regionId: number): TinyKvServer | undefined {
  let best: TinyKvServer | undefined;
  let term = -1;
  for (const s of servers) {
    const r = s.store.regionStatus().find((x) => x.regionId === regionId);
    if (r?.isLeader && r.term > term) {
      best = s;
      term = r.term;
    }
  }
  return best;
}

/** The request context for a region as `s` knows it (its own peer, its epoch). */
export function ctxOf(s: TinyKvServer, regionId: number): kvrpcpb.IContext {
  const r = s.store.regionStatus().find((x) => x.regionId === regionId);
  if (!r) throw new Error(`store ${s.storeId} has no peer of region ${regionId}`);
  const peer = findPeer(r.region, s.storeId);
  return { regionId, regionEpoch: r.region.regionEpoch, peer };
}

export class Clients {
  private readonly clients = new Map<string, TinyKvGrpcClient>();

  get(addr: string): TinyKvGrpcClient {
    let c = this.clients.get(addr);
    if (!c) {
      c = newTinyKvGrpcClient(addr);
      this.clients.set(addr, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

type UnaryName = 'rawGet' | 'rawPut' | 'rawDelete' | 'rawScan' | 'rawBatchGet' | 'rawBatchPut';

export function call<Res>(c: TinyKvGrpcClient, method: UnaryName, req: object, timeoutMs = 10_000): Promise<Res> {
  return unary<object, Res>(c, c[method], req, timeoutMs);
}

/** A cluster of servers over one fake scheduler, all regions' data readable through helpers. */
export class TestCluster {
  servers: (TinyKvServer | null)[] = [];
  readonly dirs: string[] = [];
  readonly clients = new Clients();
  private readonly tmp = tempDir();

  constructor(
    readonly fake: FakeScheduler,
    readonly n: number,
    readonly extra: Partial<TinyKvServerOptions> = {},
  ) {
    for (let i = 0; i < n; i++) this.dirs.push(join(this.tmp.dir, `s${i}`));
  }

  static async start(
    n: number,
    extra: Partial<TinyKvServerOptions> = {},
    fakeOpts: ConstructorParameters<typeof FakeScheduler>[0] = {},
  ): Promise<TestCluster> {
    const fake = await FakeScheduler.start({ maxReplicas: n, ...fakeOpts });
    const c = new TestCluster(fake, n, extra);
    c.servers = await Promise.all(c.dirs.map((d) => startServer(fake, d, extra)));
    return c;
  }

  live(): TinyKvServer[] {
    return this.servers.filter((s): s is TinyKvServer => s !== null);
  }

  /** Waits until the first region has a peer on every server, all applied to the leader's commit. */
  async waitReplicated(regionId: number, timeoutMs = 30_000): Promise<TinyKvServer> {
    let leader: TinyKvServer | undefined;
    await waitFor(
      `region ${regionId} replicated on ${this.n} stores`,
      () => {
        const live = this.live();
        leader = leaderOf(live, regionId);
        if (!leader) return false;
        const lr = leader.store.regionStatus().find((x) => x.regionId === regionId)!;
        if ((lr.region.peers ?? []).length < this.n) return false;
        return live.every((s) => {
          const r = s.store.regionStatus().find((x) => x.regionId === regionId);
          return !!r && (r.region.peers ?? []).length === this.n && r.appliedIndex >= lr.commitIndex && !r.applyingSnapshot;
        });
      },
      timeoutMs,
    );
    return leader!;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.live().map((s) => s.stop()));
    this.clients.close();
    this.fake.stop();
    this.tmp.cleanup();
  }

  /** Puts through whichever store leads (retrying on region errors). */
  async put(regionId: number, key: string, value: string, timeoutMs = 15_000): Promise<void> {
    await this.retry(regionId, timeoutMs, async (s) =>
      call<kvrpcpb.RawPutResponse>(this.clients.get(s.addr), 'rawPut', { context: ctxOf(s, regionId), key: enc(key), value: enc(value) }),
    );
  }

  async get(regionId: number, key: string, timeoutMs = 15_000): Promise<string | null> {
    const r = await this.retry(regionId, timeoutMs, async (s) =>
      call<kvrpcpb.RawGetResponse>(this.clients.get(s.addr), 'rawGet', { context: ctxOf(s, regionId), key: enc(key) }),
    );
    return r.notFound ? null : dec(r.value);
  }

  private async retry<R extends { regionError?: unknown; error?: string }>(
    regionId: number,
    timeoutMs: number,
    f: (s: TinyKvServer) => Promise<R>,
  ): Promise<R> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const s = leaderOf(this.live(), regionId);
      if (s) {
        try {
          const r = await f(s);
          if (r.error) throw new Error(`request error: ${r.error}`);
          if (!r.regionError) return r;
          last = JSON.stringify(r.regionError);
        } catch (e) {
          if (String(e).includes('request error')) throw e;
          last = String(e);
        }
      }
      if (Date.now() > end) throw new Error(`region ${regionId}: no answer within ${timeoutMs} ms (last: ${last})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
