// The web dashboard on the scheduler's status address:
//   GET /                           the page (assets/dashboard.html), polling /api/dashboard
//   GET /dashboard/<file>           its script and style (assets/), and uPlot from node_modules
//   GET /api/dashboard              JSON: stores, regions, operators, recent events, heatmap samples
// Everything is served from this package, so the page works with no internet access.
// Events and the heatmap come from sampling the scheduler's state once a second and comparing
// each sample with the previous one (heartbeats already keep that state current).
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metapb } from '@tskv/proto';
import type { SchedulerCore } from '../core.js';
import { endKey, roleOf, showKey, startKey } from '../meta.js';
import { operatorSummary } from '../operator.js';
import { isConnected, isDown } from '../schedulers/context.js';

const require = createRequire(import.meta.url);
// dist/src/dashboard/index.js and src/dashboard/index.ts both sit three levels below the package.
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'assets');
const UPLOT = dirname(require.resolve('uplot'));

const FILES: Record<string, { path: string; type: string }> = {
  '/': { path: join(ASSETS, 'dashboard.html'), type: 'text/html; charset=utf-8' },
  '/dashboard/dashboard.js': { path: join(ASSETS, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/dashboard.css': { path: join(ASSETS, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/dashboard/uPlot.iife.min.js': { path: join(UPLOT, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard/uPlot.min.css': { path: join(UPLOT, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const SAMPLE_MS = 1000;
const MAX_EVENTS = 200;
const MAX_SAMPLES = 120;

export interface DashboardEvent {
  t: number;
  kind: 'leader' | 'split' | 'region-new' | 'conf-change' | 'region-gone' | 'store-down' | 'store-up' | 'store-new';
  regionId?: number;
  storeId?: number;
  text: string;
}

/** One heatmap column: each region's range and its write rate (keys/s) at that moment. */
interface Sample {
  t: number;
  regions: { s: string; e: string; w: number; wb: number }[];
}

interface RegionView {
  leader: number;
  confVer: number;
  version: number;
  start: string;
  end: string;
  stores: number[];
}

const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex');
/** A key for people: quoted text when printable, else hex; '' for the open ends of the key space. */
const show = (k: Uint8Array): string => (k.length ? showKey(k) : '');
const storesOf = (r: metapb.IRegion): number[] => (r.peers ?? []).map((p) => Number(p.storeId)).sort((a, b) => a - b);

export class Dashboard {
  private readonly events: DashboardEvent[] = [];
  private readonly samples: Sample[] = [];
  private regions = new Map<number, RegionView>();
  private down = new Map<number, boolean>();
  private first = true;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly core: SchedulerCore) {
    this.timer = setInterval(() => this.sample(Date.now()), SAMPLE_MS);
    this.timer.unref();
    this.sample(Date.now());
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Answers the dashboard's routes; false for any other path (the caller answers those). */
  serve(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean {
    if (req.method !== 'GET') return false;
    if (path === '/api/dashboard') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(this.json(Date.now())));
      return true;
    }
    const f = FILES[path];
    if (!f) return false;
    readFile(f.path).then(
      (body) => {
        res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-cache' });
        res.end(body);
      },
      (e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`cannot read ${f.path}: ${String(e)}`);
      },
    );
    return true;
  }

  private push(e: DashboardEvent): void {
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.shift();
  }

  /** Compares the state with the previous sample, recording what changed, and adds a heatmap column. */
  sample(now: number): void {
    const { state, cfg } = this.core;
    const down = new Map<number, boolean>();
    for (const [id, s] of state.stores) {
      if (s.meta.state === metapb.StoreState.Tombstone) continue;
      const d = !isConnected(s, cfg, now);
      down.set(id, d);
      const was = this.down.get(id);
      if (this.first) continue;
      if (was === undefined) this.push({ t: now, kind: 'store-new', storeId: id, text: `store ${id} joined (${s.meta.address})` });
      else if (was !== d)
        this.push({ t: now, kind: d ? 'store-down' : 'store-up', storeId: id, text: `store ${id} is ${d ? 'down' : 'up again'}` });
    }
    this.down = down;

    const regions = new Map<number, RegionView>();
    const cols: Sample['regions'] = [];
    for (const info of state.regions.inOrder()) {
      const r = info.region;
      const id = Number(r.id);
      const v: RegionView = {
        leader: info.leader ? Number(info.leader.storeId) : 0,
        confVer: Number(r.regionEpoch?.confVer ?? 0),
        version: Number(r.regionEpoch?.version ?? 0),
        start: hex(startKey(r)),
        end: hex(endKey(r)),
        stores: storesOf(r),
      };
      regions.set(id, v);
      cols.push({ s: v.start, e: v.end, w: info.keysWrittenRate, wb: info.bytesWrittenRate });
      if (this.first) continue;
      const old = this.regions.get(id);
      const range = `[${show(startKey(r)) || '-inf'}, ${show(endKey(r)) || '+inf'})`;
      if (!old) {
        // A region id never seen before, while others exist, comes from a split.
        const split = this.regions.size > 0;
        this.push({
          t: now,
          kind: split ? 'split' : 'region-new',
          regionId: id,
          text: `region ${id} appeared ${range}${split ? ' (split)' : ''}`,
        });
        continue;
      }
      if (old.version !== v.version && (old.start !== v.start || old.end !== v.end))
        this.push({ t: now, kind: 'split', regionId: id, text: `region ${id} is now ${range} (version ${v.version})` });
      if (old.confVer !== v.confVer)
        this.push({
          t: now,
          kind: 'conf-change',
          regionId: id,
          text: `region ${id} peers on stores [${old.stores.join(', ')}] → [${v.stores.join(', ')}] (conf_ver ${v.confVer})`,
        });
      if (v.leader && old.leader !== v.leader)
        this.push({
          t: now,
          kind: 'leader',
          regionId: id,
          text: `region ${id} leader ${old.leader ? `store ${old.leader} → ` : ''}store ${v.leader}`,
        });
    }
    if (!this.first)
      for (const id of this.regions.keys())
        if (!regions.has(id)) this.push({ t: now, kind: 'region-gone', regionId: id, text: `region ${id} is gone (merged or replaced)` });
    this.regions = regions;
    this.first = false;
    this.samples.push({ t: now, regions: cols });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  json(now: number): Record<string, unknown> {
    const { state, cfg, ops } = this.core;
    const loads = state.storeLoads();
    const stores = [...state.stores.values()]
      .sort((a, b) => Number(a.meta.id) - Number(b.meta.id))
      .map((s) => {
        const id = Number(s.meta.id);
        const st = s.meta.state ?? metapb.StoreState.Up;
        return {
          id,
          address: s.meta.address,
          statusAddress: s.meta.statusAddress,
          state: metapb.StoreState[st],
          // Not heard from for storeDisconnectMs: what an operator wants to see at once.
          down: st !== metapb.StoreState.Tombstone && !isConnected(s, cfg, now),
          // Down for maxStoreDownTimeMs: the scheduler replaces its replicas.
          downLong: st !== metapb.StoreState.Tombstone && isDown(s, cfg, now),
          capacity: Number(s.stats?.capacity ?? 0),
          available: Number(s.stats?.available ?? 0),
          usedSize: Number(s.stats?.usedSize ?? 0),
          regionCount: loads.get(id)?.regions ?? 0,
          leaderCount: loads.get(id)?.leaders ?? 0,
          heartbeatAgeMs: s.lastHeartbeatMs ? now - s.lastHeartbeatMs : null,
        };
      });
    const regions = state.regions.inOrder().map((info) => {
      const r = info.region;
      return {
        id: Number(r.id),
        startHex: hex(startKey(r)),
        endHex: hex(endKey(r)),
        start: show(startKey(r)),
        end: show(endKey(r)),
        leaderStore: info.leader ? Number(info.leader.storeId) : null,
        peers: (r.peers ?? []).map((p) => ({ id: Number(p.id), storeId: Number(p.storeId), role: metapb.PeerRole[roleOf(p)] })),
        pendingPeers: info.pendingPeers.map((p) => Number(p.id)),
        epoch: { confVer: Number(r.regionEpoch?.confVer ?? 0), version: Number(r.regionEpoch?.version ?? 0) },
        approximateSize: info.approximateSize,
        approximateKeys: info.approximateKeys,
        keysWrittenRate: info.keysWrittenRate,
        bytesWrittenRate: info.bytesWrittenRate,
        keysReadRate: info.keysReadRate,
        bytesReadRate: info.bytesReadRate,
        heartbeatAgeMs: info.lastHeartbeatMs ? now - info.lastHeartbeatMs : null,
      };
    });
    return {
      now,
      clusterId: this.core.clusterId,
      stores,
      regions,
      operators: {
        inFlight: [...ops.all()].map((op) => operatorSummary(op, now)),
        recent: ops
          .recent()
          .slice(-30)
          .reverse()
          .map((e) => ({ id: e.op.id, regionId: e.op.regionId, kind: e.op.kind, how: e.how, why: e.why, endedMs: e.endedMs })),
      },
      events: this.events.slice(-50).reverse(),
      samples: this.samples,
    };
  }
}
