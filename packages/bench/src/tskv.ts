// The tskv side: a cluster started with ProcessCluster (scheduler + 3 stores as processes, sync
// writes, free ports, a temp data dir), or one attached to by its scheduler address. Pre-split:
// nothing outside a store can ask it to split a region (the scheduler has no split API and the
// TinyKv service no admin command; splits come only from the store's own split checker), so the
// stores first run with a split size of 1/N of the key space's bytes and a 500 ms split-check
// tick while the benchmark writes the keys of regions still too big, until the scheduler reports
// at least N regions; then the stores are restarted with their default config (no more splits,
// normal split-check tick) and the benchmark waits until balance-leader has spread the leaders.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allRegions, clusterOverview } from '@tskv/client';
import { ProcessCluster, type UnexpectedExit } from '@tskv/cluster';
import { PdClient } from '@tskv/rpc';
import type { NamedPid } from './cpu.js';
import type { IndexRange, KeySpace } from './keyspace.js';
import { type KvConn, preload, type SystemUnderTest } from './runner.js';
import { connectTarget, type TargetSpec, TskvConn, tskvClient } from './targets.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface TskvStartOptions {
  dir: string;
  keys: KeySpace;
  regions: number;
  /** The largest value size of the run: the pre-split sizes regions for it. */
  maxValueSize: number;
  batchSize: number;
  /** Extra node flags for every process of the cluster. */
  nodeArgs?: string[];
  log: (s: string) => void;
  onUnexpectedExit: (e: UnexpectedExit) => void;
  /** Called with the cluster as soon as it exists (to stop it if the start fails half-way). */
  onCluster?: (c: ProcessCluster) => void;
}

export class TskvSystem implements SystemUnderTest {
  readonly name = 'tskv' as const;
  // Transactions live in MVCC keys (lock/write/default CFs) apart from the raw ones.
  readonly separateTxnKeys = true;
  private ranges: IndexRange[] = [];
  regionCount = 0;
  leaders: Record<number, number> = {};
  /** What pre-splitting took (for the record). */
  splitInfo: Record<string, unknown> = {};

  private constructor(
    readonly schedulerAddr: string,
    private readonly ks: KeySpace,
    readonly cluster: ProcessCluster | null,
    private readonly attachedPids: number[] = [],
  ) {}

  /** Uses a running cluster as it is. */
  static async attach(schedulerAddr: string, ks: KeySpace, pids: number[]): Promise<TskvSystem> {
    const s = new TskvSystem(schedulerAddr, ks, null, pids);
    await s.refresh();
    return s;
  }

  /** Starts a fresh cluster and pre-splits it into at least o.regions regions. */
  static async start(o: TskvStartOptions): Promise<TskvSystem> {
    mkdirSync(o.dir, { recursive: true });
    const configDir = join(o.dir, 'config');
    mkdirSync(configDir, { recursive: true });
    const storeJson = join(configDir, 'store.json');
    const pair = o.keys.keys[0]!.length + o.maxValueSize;
    const perRegion = Math.max(1, Math.floor(o.keys.size / o.regions));
    // Split pieces of `perRegion` keys give ceil(keys / perRegion) >= regions regions; a region
    // splits only above 1.5 pieces, so the pieces stay as they are.
    const splitSize = perRegion * pair;
    const splitting = o.regions > 1;
    writeFileSync(
      storeJson,
      JSON.stringify(splitting ? { regionSplitSize: splitSize, regionMaxSize: Math.floor(splitSize * 1.5), splitCheckTickMs: 500 } : {}),
    );
    const cluster = new ProcessCluster({
      dataDir: join(o.dir, 'cluster'),
      stores: 3,
      schedulerPort: 0,
      basePort: 0,
      configDir,
      detached: true,
      nodeArgs: o.nodeArgs ?? [],
    });
    cluster.on('unexpected-exit', o.onUnexpectedExit);
    o.onCluster?.(cluster);
    const t0 = Date.now();
    await cluster.start();
    await cluster.waitUntilReady({ timeoutMs: 60_000 });
    const s = new TskvSystem(cluster.schedulerAddr, o.keys, cluster);
    o.log(`  tskv: cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s (scheduler ${cluster.schedulerAddr})`);
    if (splitting) {
      const t1 = Date.now();
      await s.presplit(o.regions, o.maxValueSize, o.batchSize, o.log);
      const splitS = (Date.now() - t1) / 1000;
      // Back to the default config: restart every store on its data.
      writeFileSync(storeJson, '{}');
      const t2 = Date.now();
      await Promise.all([1, 2, 3].map((i) => cluster.stopStore(i)));
      await Promise.all([1, 2, 3].map((i) => cluster.startStore(i)));
      await cluster.waitUntilReady({ timeoutMs: 120_000 });
      s.splitInfo = {
        splitSize,
        regionMaxSize: Math.floor(splitSize * 1.5),
        splitSeconds: splitS,
        restartSeconds: (Date.now() - t2) / 1000,
      };
      o.log(`  tskv: stores restarted with the default config in ${((Date.now() - t2) / 1000).toFixed(1)} s`);
    }
    await s.waitBalanced(o.log);
    return s;
  }

  /** Writes the keys of regions holding more than 1.5 pieces until there are >= n regions. */
  private async presplit(n: number, valueSize: number, batchSize: number, log: (s: string) => void): Promise<void> {
    const ks = this.ks;
    const piece = Math.max(1, Math.floor(ks.size / n));
    const client = await tskvClient(this.schedulerAddr);
    const conn = new TskvConn(client);
    const deadline = Date.now() + 300_000;
    let written = 0;
    try {
      for (let pass = 1; ; pass++) {
        await this.refresh();
        if (this.regionCount >= n) break;
        if (Date.now() > deadline) throw new Error(`pre-split: only ${this.regionCount} of ${n} regions after 300 s`);
        const big = this.ranges.filter((r) => r.hi - r.lo > 1.5 * piece);
        const indices = big.flatMap((r) => Array.from({ length: r.hi - r.lo }, (_, i) => r.lo + i));
        if (indices.length) {
          await preload([conn], ks, valueSize, { batchSize, inflight: 16, indices });
          written += indices.length;
        }
        // Let the split checker (500 ms tick) measure and split, then look again.
        const before = this.regionCount;
        for (let i = 0; i < 20; i++) {
          await sleep(250);
          await this.refresh();
          if (this.regionCount >= n || (this.regionCount > before && i >= 6)) break;
        }
        log(`  tskv: pre-split pass ${pass}: ${this.regionCount} regions (wrote ${indices.length} keys)`);
      }
    } finally {
      client.close();
    }
    this.splitInfo = { ...this.splitInfo, keysWritten: written };
  }

  /** Waits until every region has a leader and leader counts per store differ by at most 1. */
  private async waitBalanced(log: (s: string) => void, timeoutMs = 180_000): Promise<void> {
    const pd = new PdClient(this.schedulerAddr, { timeoutMs: 5000 });
    const deadline = Date.now() + timeoutMs;
    let okStreak = 0;
    let lastLog = 0;
    try {
      for (;;) {
        const ov = await clusterOverview(pd, { replicas: 3, downAfterMs: 60_000 });
        const counts = Object.values(ov.leadersPerStore);
        const spread = Math.max(...counts) - Math.min(...counts);
        const ok = ov.health.regionsWithoutLeader.length === 0 && ov.health.underReplicated.length === 0 && spread <= 1;
        okStreak = ok ? okStreak + 1 : 0;
        if (okStreak >= 3) break;
        if (Date.now() > deadline) {
          log(`  tskv: WARNING leaders not balanced after ${timeoutMs / 1000} s: ${JSON.stringify(ov.leadersPerStore)}; measuring anyway`);
          break;
        }
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          log(
            `  tskv: waiting for balanced leaders: ${ov.regions.length} regions, leaders per store ${JSON.stringify(ov.leadersPerStore)}`,
          );
        }
        await sleep(1000);
      }
    } finally {
      pd.close();
    }
    await this.refresh();
    log(`  tskv: ${this.regionCount} regions, leaders per store ${JSON.stringify(this.leaders)}`);
  }

  /** Re-reads the regions (ranges of the benchmark's keys) and leaders from the scheduler. */
  async refresh(): Promise<void> {
    const pd = new PdClient(this.schedulerAddr, { timeoutMs: 5000 });
    try {
      const regions = await allRegions(pd);
      this.ranges = this.ks.rangesOf(regions.map((r) => ({ startKey: r.startKey, endKey: r.endKey })));
      this.regionCount = regions.length;
      const leaders: Record<number, number> = {};
      for (const r of regions) if (r.leader) leaders[r.leader.storeId] = (leaders[r.leader.storeId] ?? 0) + 1;
      this.leaders = leaders;
    } finally {
      pd.close();
    }
  }

  connect(n: number, txn = false): Promise<KvConn[]> {
    return connectTarget(this.target(), n, 0, txn);
  }

  target(): TargetSpec {
    return { kind: 'tskv', schedulerAddr: this.schedulerAddr };
  }

  batchRanges(): IndexRange[] {
    return this.ranges;
  }

  processes(): NamedPid[] {
    if (!this.cluster) return this.attachedPids.map((pid) => ({ name: `pid${pid}`, pid }));
    return this.cluster
      .processes()
      .filter((p) => p.pid)
      .map((p) => ({ name: p.name === 'scheduler' ? 'scheduler' : p.name, pid: p.pid! }));
  }

  describe(): Record<string, unknown> {
    return { regionCount: this.regionCount, leaders: { ...this.leaders } };
  }

  async afterRun(): Promise<void> {
    await this.refresh().catch(() => {});
  }

  async stop(removeDir?: string): Promise<void> {
    if (this.cluster) await this.cluster.stop();
    if (removeDir) rmSync(removeDir, { recursive: true, force: true });
  }
}
