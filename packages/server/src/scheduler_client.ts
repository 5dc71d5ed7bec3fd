// PdSchedulerClient: the raftstore's SchedulerClient over the scheduler's gRPC service (PdClient).
//
// Region heartbeats go on PdClient's long-lived heartbeat stream. The scheduler answers every
// heartbeat with exactly one response, in order, so answers are matched to heartbeats per region
// id, first in first out. A heartbeat not answered within heartbeatTimeoutMs (or whose stream
// broke) resolves null and gives up its place: an answer that comes later goes to the region's next
// heartbeat if one waits (harmless: it is the scheduler's operator for that region, which the
// store checks against the region's epoch when proposing it), else it is ignored.
import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { metapb, schedulerpb } from '@tskv/proto';
import type { Logger, RegionStats, SchedulerClient, SchedulerOperator, StoreStats } from '@tskv/raftstore';
import { createLogger } from '@tskv/raftstore';
import type { PdClient } from '@tskv/rpc';

export interface PdSchedulerClientOptions {
  /** The store's data directory: capacity and availability of its filesystem, bytes used by it. */
  dataDir: string;
  /** How long a region heartbeat waits for its answer. Default 2 s. */
  heartbeatTimeoutMs?: number;
  /** How often the data directory's size is measured (it is walked). Default 30 s. */
  usedSizeRefreshMs?: number;
  logger?: Logger;
}

interface Waiter {
  regionId: number;
  resolve: (op: SchedulerOperator | null) => void;
  timer: NodeJS.Timeout;
}

/** The raftstore operator of a heartbeat answer (null: nothing to do). */
export function operatorOf(r: schedulerpb.IRegionHeartbeatResponse): SchedulerOperator | null {
  if (r.header?.error?.type) return null;
  if (r.changePeer?.peer) return { changePeer: { changeType: r.changePeer.changeType ?? 0, peer: r.changePeer.peer } };
  const changes = r.changePeerV2?.changes ?? [];
  if (changes.length > 0) return { changePeerV2: { changes: changes.map((c) => ({ changeType: c.changeType ?? 0, peer: c.peer })) } };
  if (r.transferLeader?.peer) return { transferLeader: { peer: r.transferLeader.peer } };
  const keys = r.splitRegion?.keys ?? [];
  if (keys.length > 0) return { splitRegion: { splitKeys: keys } };
  return null;
}

/** Bytes of the files under dir (a best effort: unreadable entries count 0). */
async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else if (e.isFile())
      total += await lstat(p).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

export class PdSchedulerClient implements SchedulerClient {
  private readonly waiters = new Map<number, Waiter[]>();
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private usedSize = 0;
  private usedSizeAt = -Infinity;
  private lastTso = 0;
  private closed = false;
  /** Heartbeats sent, answered, and timed out (observability, tests). */
  readonly stats = { heartbeats: 0, answered: 0, timedOut: 0, operators: 0 };

  constructor(
    readonly pd: PdClient,
    private readonly opts: PdSchedulerClientOptions,
  ) {
    this.timeoutMs = opts.heartbeatTimeoutMs ?? 2000;
    this.logger = opts.logger ?? createLogger();
    pd.onRegionHeartbeatResponse((r) => this.onAnswer(r));
  }

  private onAnswer(r: schedulerpb.RegionHeartbeatResponse): void {
    const regionId = Number(r.regionId ?? 0);
    const q = this.waiters.get(regionId);
    const w = q?.shift();
    if (q && q.length === 0) this.waiters.delete(regionId);
    if (!w) return; // the answer of a heartbeat that timed out
    clearTimeout(w.timer);
    this.stats.answered++;
    const op = operatorOf(r);
    if (op) this.stats.operators++;
    w.resolve(op);
  }

  /** The heartbeat stream broke: no answer will come for what was sent on it. */
  onStreamError(): void {
    for (const q of this.waiters.values()) {
      for (const w of q) {
        clearTimeout(w.timer);
        w.resolve(null);
      }
    }
    this.waiters.clear();
  }

  regionHeartbeat(region: metapb.IRegion, leader: metapb.IPeer, stats?: RegionStats): Promise<SchedulerOperator | null> {
    if (this.closed) return Promise.resolve(null);
    const regionId = Number(region.id ?? 0);
    return new Promise((resolve) => {
      const w: Waiter = {
        regionId,
        resolve,
        timer: setTimeout(() => {
          const q = this.waiters.get(regionId);
          const i = q ? q.indexOf(w) : -1;
          if (i < 0) return;
          q!.splice(i, 1);
          if (q!.length === 0) this.waiters.delete(regionId);
          this.stats.timedOut++;
          w.resolve(null);
        }, this.timeoutMs),
      };
      w.timer.unref();
      let q = this.waiters.get(regionId);
      if (!q) {
        q = [];
        this.waiters.set(regionId, q);
      }
      q.push(w);
      // Bound what waits if the scheduler stops answering altogether.
      if (q.length > 16) {
        const old = q.shift()!;
        clearTimeout(old.timer);
        old.resolve(null);
      }
      this.stats.heartbeats++;
      try {
        this.pd.regionHeartbeat({
          region,
          leader,
          pendingPeers: stats?.pendingPeers ?? [],
          approximateSize: stats?.approximateSize ?? 0,
          approximateKeys: stats?.approximateKeys ?? 0,
          bytesWritten: stats?.bytesWritten ?? 0,
          keysWritten: stats?.keysWritten ?? 0,
          bytesRead: stats?.bytesRead ?? 0,
          keysRead: stats?.keysRead ?? 0,
        });
      } catch (e) {
        this.logger.debug('region heartbeat not sent', { regionId, err: String(e) });
      }
    });
  }

  async storeHeartbeat(s: StoreStats): Promise<void> {
    const fsStats = await statfs(this.opts.dataDir).catch(() => null);
    const capacity = fsStats ? fsStats.blocks * fsStats.bsize : 0;
    const available = fsStats ? fsStats.bavail * fsStats.bsize : 0;
    const now = performance.now();
    if (now - this.usedSizeAt >= (this.opts.usedSizeRefreshMs ?? 30_000)) {
      this.usedSizeAt = now;
      this.usedSize = await dirSize(this.opts.dataDir);
    }
    await this.pd.storeHeartbeat({
      storeId: s.storeId,
      capacity,
      available,
      usedSize: this.usedSize,
      regionCount: s.regionCount,
      leaderCount: s.leaderCount,
      hibernatingCount: s.hibernatingCount,
      applyingSnapCount: s.applyingSnapshotCount,
      snapshotBytes: s.snapshotBytes,
      isBusy: false,
    });
  }

  getRegionById(regionId: number): Promise<{ region: metapb.IRegion; leader: metapb.IPeer | null } | null> {
    return this.pd.getRegionById(regionId);
  }

  getRegionByKey(key: Uint8Array): Promise<{ region: metapb.IRegion; leader: metapb.IPeer | null } | null> {
    return this.pd.getRegion(key);
  }

  async allocIds(count: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(await this.pd.allocId());
    return out;
  }

  /** physical ms × 1000 + logical, kept strictly increasing in this process. */
  async tso(): Promise<number> {
    const t = await this.pd.tso();
    const ts = Math.max(t.physical * 1000 + Math.min(t.logical, 999), this.lastTso + 1);
    this.lastTso = ts;
    return ts;
  }

  askBatchSplit(region: metapb.IRegion, count: number): Promise<{ newRegionId: number; newPeerIds: number[] }[]> {
    return this.pd.askBatchSplit(region, count);
  }

  reportBatchSplit(regions: metapb.IRegion[]): void {
    this.pd.reportBatchSplit(regions).catch((e: unknown) => this.logger.warn('report batch split failed', { err: String(e) }));
  }

  close(): void {
    this.closed = true;
    this.onStreamError();
  }
}
