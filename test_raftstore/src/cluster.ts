// Cluster: N stores of the raftstore in one process, each on its own LevelDB data directories,
// connected by a MockTransport and reporting to a MockScheduler. Stores can be stopped (a crash:
// the files stay) and started again from disk. Client helpers route requests by key to the
// region's leader and retry the way a TinyKV/TiKV client does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CfName, Engine, WriteOptions } from '@tskv/engine';
import { Engines, WriteBatch } from '@tskv/engine';
import { eraftpb, metapb, raft_cmdpb } from '@tskv/proto';
import type { Logger, SchedulerOperator } from '@tskv/raftstore';
import { bootstrapRegion, bootstrapStore, createLogger, Store, type StoreConfig, storeConfig } from '@tskv/raftstore';
import { envSeed, findPeer, Prng } from '@tskv/util';
import { ClusterClient, type Key, show, toBytes } from './cluster_client.js';
import { MockScheduler, operatorDone } from './mock_scheduler.js';
import { MockTransport } from './mock_transport.js';
import { PowerLossJournal } from './power_loss.js';

export type { Key, RequestOptions } from './cluster_client.js';
export { bytesToString, ClusterRequestError, toBytes } from './cluster_client.js';

/** Store timings for tests: TinyKV-like (tick 50 ms, election ≈ 500 ms), short request timeout. */
export const TEST_STORE_CONFIG: Partial<StoreConfig> = {
  raftBaseTickMs: 50,
  raftElectionTicks: 10,
  raftHeartbeatTicks: 2,
  requestTimeoutMs: 2000,
  schedulerHeartbeatTickMs: 100,
  raftLogGcTickMs: 100,
  snapGcTickMs: 1000,
  syncLog: true,
};

export interface ClusterOptions {
  /** Number of stores (default 5). */
  stores?: number;
  /** PRNG seed (default: TEST_SEED or random); printed at creation. */
  seed?: number;
  /** A name for logs and temp directories. */
  name?: string;
  clusterId?: number;
  /** Overrides of TEST_STORE_CONFIG for every store. */
  config?: Partial<Omit<StoreConfig, 'storeId'>>;
  /** Key range of the first region (default: the whole key space). */
  startKey?: Uint8Array;
  endKey?: Uint8Array;
  /** Bootstrap several regions instead of one: the range is cut at these keys (sorted). */
  splitKeys?: Key[];
  /** How long a client helper keeps retrying before it fails (default 20 s). */
  requestDeadlineMs?: number;
  /** Open the engines with sync writes (default true). */
  engineSync?: boolean;
  /**
   * Every stop or crash of a store is a power loss: each of its databases loses every write
   * after its last synced one (see power_loss.ts). Default: off (a process crash keeps them).
   */
  powerLoss?: boolean;
  /** Print cluster events (also TEST_VERBOSE=1). */
  verbose?: boolean;
}

interface StoreSlot {
  id: number;
  dir: string;
  engines: Engines | null;
  store: Store | null;
  /** The running store's logger (a new one per start, as a store makes by itself). */
  logger: Logger | null;
  /** Set by crashStore: every engine write of the running incarnation fails from now on. */
  crash: { crashed: boolean };
  /** With ClusterOptions.powerLoss: the durable side of each database. */
  journals: Journals | null;
}

interface Journals {
  kv: PowerLossJournal;
  raft: PowerLossJournal;
}

/**
 * The engines as the store sees them: once `flag.crashed` is set, every write fails (a write that
 * was already issued still lands on disk, then fails too), like a process killed at that moment:
 * the raft worker stops at its next write without acknowledging anything more.
 */
function crashableEngines(e: Engines, flag: { crashed: boolean }, journals: Journals | null = null): Engines {
  const wrap = (engine: Engine, journal: PowerLossJournal | undefined): Engine => {
    const write = async (batch: WriteBatch, opts: WriteOptions = {}): Promise<void> => {
      if (flag.crashed) throw new Error('injected crash: write refused');
      await engine.write(batch, opts);
      journal?.recordWrite(batch, opts.sync ?? engine.syncByDefault);
      if (flag.crashed) throw new Error('injected crash after the write');
    };
    // deleteRange writes through Engine.write internally, which the proxy would not see.
    const deleteRange = async (cf: CfName, start: Uint8Array, end: Uint8Array, opts: WriteOptions = {}): Promise<number> => {
      const batch = new WriteBatch();
      const n = await engine.deleteRangeInto(batch, cf, start, end);
      await write(batch, opts);
      return n;
    };
    return new Proxy(engine, {
      get(target, prop) {
        if (prop === 'write') return write;
        if (prop === 'deleteRange') return deleteRange;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  const out = Object.create(Engines.prototype) as Engines;
  Object.defineProperties(out, {
    kv: { value: wrap(e.kv, journals?.kv), enumerable: true },
    raft: { value: wrap(e.raft, journals?.raft), enumerable: true },
    dataDir: { value: e.dataDir, enumerable: true },
  });
  return out;
}

export const FIRST_REGION_ID = 1;

/** Snapshot and log-compaction activity of a cluster (see Cluster.snapStats). */
export interface SnapActivity {
  generated: number;
  sent: number;
  received: number;
  applied: number;
  receiveFailed: number;
  compactions: number;
}

function addSnapStats(t: SnapActivity, store: Store): void {
  const stats = store.stats();
  const m = stats.snap;
  t.generated += m.generated;
  t.sent += m.sent;
  t.received += m.received;
  t.applied += m.applied;
  t.receiveFailed += m.receiveFailed;
  t.compactions += stats.raftWorker.compactions;
}

export class Cluster extends ClusterClient {
  /**
   * Every random choice of the cluster (dropped messages, partitions, client operations) comes
   * from this seed; TEST_SEED=<seed> replays the choices, not the interleaving (timers and disks
   * are real).
   */
  readonly seed: number;
  readonly rng: Prng;
  readonly transport: MockTransport;
  readonly scheduler: MockScheduler;
  readonly count: number;
  readonly name: string;
  readonly clusterId: number;
  readonly requestDeadlineMs: number;
  protected readonly requestTimeoutMs: number;
  private readonly cfgOverrides: Partial<StoreConfig>;
  private readonly engineSync: boolean;
  /** ClusterOptions.powerLoss. */
  readonly powerLoss: boolean;
  private readonly verbose: boolean;
  private readonly slots = new Map<number, StoreSlot>();
  /** The regions bootstrapped on every store (one unless ClusterOptions.splitKeys). */
  private readonly initialRegions: metapb.IRegion[] = [];
  /** crashStore calls, and how many of them caught the store's raft worker in a write. */
  readonly crashStats = { kills: 0, diedOnWrite: 0, powerLosses: 0, unsyncedWritesLost: 0 };
  /** Snapshot counters of store incarnations already stopped (see snapStats). */
  private readonly pastSnap: SnapActivity = { generated: 0, sent: 0, received: 0, applied: 0, receiveFailed: 0, compactions: 0 };
  /** Raft workers found dead (not by an injected fault) when their store was stopped. */
  private readonly deaths: string[] = [];
  private started = false;
  private shutDown = false;

  protected get closed(): boolean {
    return this.shutDown;
  }

  constructor(opts: ClusterOptions = {}) {
    super();
    this.count = opts.stores ?? 5;
    this.name = opts.name ?? 'cluster';
    this.seed = opts.seed ?? envSeed('TEST_SEED');
    this.rng = new Prng(this.seed);
    this.transport = new MockTransport(this.rng.fork());
    this.scheduler = new MockScheduler();
    this.clusterId = opts.clusterId ?? 1;
    this.requestDeadlineMs = opts.requestDeadlineMs ?? 20_000;
    const readMode = process.env.TEST_READ_MODE;
    if (readMode && readMode !== 'readIndex' && readMode !== 'lease')
      throw new Error(`TEST_READ_MODE must be readIndex or lease, got '${readMode}'`);
    this.cfgOverrides = { ...TEST_STORE_CONFIG, ...(readMode ? { readMode: readMode as StoreConfig['readMode'] } : {}), ...opts.config };
    this.requestTimeoutMs = this.cfgOverrides.requestTimeoutMs ?? 2000;
    this.engineSync = opts.engineSync ?? true;
    this.powerLoss = opts.powerLoss ?? false;
    this.verbose = opts.verbose ?? process.env.TEST_VERBOSE === '1';
    // Region i (1-based) covers [splitKeys[i-2], splitKeys[i-1]); its peer on store s has id
    // (i - 1) * count + s, so region 1's peers are 1..count.
    const bounds = [opts.startKey ?? new Uint8Array(0), ...(opts.splitKeys ?? []).map(toBytes), opts.endKey ?? new Uint8Array(0)];
    for (let i = 1; i < bounds.length; i++) {
      const peers: metapb.IPeer[] = [];
      for (let st = 1; st <= this.count; st++) peers.push({ id: (i - 1) * this.count + st, storeId: st });
      this.initialRegions.push({ id: i, startKey: bounds[i - 1], endKey: bounds[i], regionEpoch: { confVer: 1, version: 1 }, peers });
    }
    console.log(`[${this.name}] seed=${this.seed} (replay the random choices with TEST_SEED=${this.seed})`);
  }

  log(msg: string): void {
    if (this.verbose) console.log(`[${this.name} +${process.uptime().toFixed(2)}s] ${msg}`);
  }

  /** Creates the data directories, bootstraps every store and the first region, starts all. */
  async start(): Promise<void> {
    if (this.started) throw new Error('cluster already started');
    this.started = true;
    for (let id = 1; id <= this.count; id++) {
      const dir = await mkdtemp(join(tmpdir(), `tskv-${this.name.replace(/[^A-Za-z0-9_-]/g, '_')}-s${id}-`));
      const journals = this.powerLoss
        ? {
            kv: await PowerLossJournal.open(join(dir, 'kv'), join(`${dir}.durable`, 'kv')),
            raft: await PowerLossJournal.open(join(dir, 'raft'), join(`${dir}.durable`, 'raft')),
          }
        : null;
      const engines = await Engines.open(dir, { sync: this.engineSync });
      const journaled = crashableEngines(engines, { crashed: false }, journals);
      await bootstrapStore(journaled, this.clusterId, id);
      for (const r of this.initialRegions) await bootstrapRegion(journaled, r);
      this.slots.set(id, { id, dir, engines, store: null, logger: null, crash: { crashed: false }, journals });
    }
    for (const r of this.initialRegions) this.scheduler.bootstrap(r);
    for (let id = 1; id <= this.count; id++) await this.startStore(id);
    this.log(`started ${this.count} stores`);
  }

  storeIds(): number[] {
    return [...this.slots.keys()];
  }

  private slot(id: number): StoreSlot {
    const s = this.slots.get(id);
    if (!s) throw new Error(`no store ${id} in this cluster`);
    return s;
  }

  /** The running Store with this id, or undefined when it is stopped. */
  store(id: number): Store | undefined {
    return this.slot(id).store ?? undefined;
  }

  /** Mutes a running store's log: a test provoking its failure expects the errors it logs. */
  silence(id: number): void {
    const s = this.slot(id);
    if (!s.logger) throw new Error(`store ${id} is not running`);
    s.logger.silent = true;
  }

  engines(id: number): Engines | undefined {
    return this.slot(id).engines ?? undefined;
  }

  dataDir(id: number): string {
    return this.slot(id).dir;
  }

  isRunning(id: number): boolean {
    return this.slot(id).store !== null;
  }

  configFor(id: number): StoreConfig {
    return storeConfig({ ...this.cfgOverrides, storeId: id });
  }

  /**
   * Snapshot activity over the cluster's life, every store incarnation included: snapshots
   * generated, sent, received (files verified), applied, rejected on receipt; log compactions.
   */
  snapStats(): SnapActivity {
    const t = { ...this.pastSnap };
    for (const s of this.slots.values()) if (s.store) addSnapStats(t, s.store);
    return t;
  }

  // ---- crash injection ----

  /** Stops a store like a crash: it is cut off the network, stopped, and its engines closed. */
  async stopStore(id: number): Promise<void> {
    const s = this.slot(id);
    if (!s.store) return;
    this.log(`stop store ${id}`);
    this.transport.disconnect(id);
    const store = s.store;
    s.store = null;
    s.logger = null;
    await store.stop();
    addSnapStats(this.pastSnap, store);
    if (store.failed && !s.crash.crashed)
      this.deaths.push(`store ${id}'s raft worker had died before it was stopped: ${store.failed.message}`);
    await s.engines?.close();
    s.engines = null;
    await this.losePower(s);
  }

  /** With ClusterOptions.powerLoss: the stopped store's databases keep only their synced writes. */
  private async losePower(s: StoreSlot): Promise<void> {
    if (!s.journals) return;
    const kv = await s.journals.kv.powerLoss();
    const raft = await s.journals.raft.powerLoss();
    this.crashStats.powerLosses++;
    this.crashStats.unsyncedWritesLost += kv.writes + raft.writes;
    this.log(
      `power loss on store ${s.id}: lost ${kv.writes} unsynced kv writes (${kv.ops} ops), ${raft.writes} raft writes (${raft.ops} ops)`,
    );
  }

  /** Starts a stopped store from its data directory. */
  async startStore(id: number): Promise<void> {
    const s = this.slot(id);
    if (s.store) return;
    if (this.shutDown) throw new Error('cluster is shut down');
    this.log(`start store ${id}`);
    if (!s.engines) s.engines = await Engines.open(s.dir, { sync: this.engineSync });
    const holder: { store: Store | null } = { store: null };
    const endpoint = this.transport.connect(id, {
      onRaftMessage: (m) => holder.store?.onRaftMessage(m),
      snapshotChunks: (m) => {
        if (!holder.store) throw new Error(`store ${id} is not running`);
        return holder.store.snapshotChunks(m);
      },
      receiveSnapshot: async (chunks) => {
        if (!holder.store) throw new Error(`store ${id} is not running`);
        await holder.store.receiveSnapshot(chunks);
      },
      reportSnapshotStatus: (r, to, ok) => holder.store?.reportSnapshotStatus(r, to, ok),
      reportStoreUnreachable: (storeId) => holder.store?.reportStoreUnreachable(storeId),
    });
    s.crash = { crashed: false };
    const logger = createLogger({ storeId: id });
    const store = await Store.create(
      this.configFor(id),
      crashableEngines(s.engines, s.crash, s.journals),
      endpoint,
      this.scheduler,
      logger,
    );
    holder.store = store;
    s.store = store;
    s.logger = logger;
    store.start();
  }

  /**
   * Kills a store at an arbitrary point (harder than stopStore): it is cut off the network at
   * once, and every engine write from now on fails, so whatever its raft worker is doing stops at
   * its next write (between the raft-log write and the kv write of a round, for instance)
   * without acknowledging anything more. The engines are then closed; the files stay.
   */
  async crashStore(id: number): Promise<void> {
    const s = this.slot(id);
    if (!s.store) return;
    this.log(`crash store ${id}`);
    this.transport.disconnect(id);
    s.crash.crashed = true;
    const store = s.store;
    s.store = null;
    s.logger!.silent = true; // its worker dies on the refused write: expected, not news
    s.logger = null;
    await store.stop();
    addSnapStats(this.pastSnap, store);
    this.crashStats.kills++;
    if (store.failed) this.crashStats.diedOnWrite++;
    await s.engines?.close();
    s.engines = null;
    await this.losePower(s);
  }

  /**
   * Makes every engine write of a running store fail from now on (a failed disk), without
   * stopping it: what the store itself does about it is under test.
   */
  failWrites(id: number): void {
    const s = this.slot(id);
    if (!s.store) throw new Error(`store ${id} is not running`);
    s.crash.crashed = true;
  }

  async crashAll(): Promise<void> {
    await Promise.all(this.storeIds().map((id) => this.crashStore(id)));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.storeIds().map((id) => this.stopStore(id)));
  }

  async startAll(): Promise<void> {
    for (const id of this.storeIds()) await this.startStore(id);
  }

  /** Stops everything and removes the data directories (kept with KEEP_DATA=1). */
  async shutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    this.transport.clearFilters();
    await this.stopAll();
    for (const s of this.slots.values()) {
      await s.journals?.kv.close();
      await s.journals?.raft.close();
    }
    if (process.env.KEEP_DATA === '1') {
      console.log(`[${this.name}] KEEP_DATA=1: data kept in ${[...this.slots.values()].map((s) => s.dir).join(' ')}`);
      return;
    }
    // A snapshot receive under way when its store stopped may still be writing its last file:
    // rm retries a directory that a late file made non-empty.
    const opts = { recursive: true, force: true, maxRetries: 10, retryDelay: 100 };
    await Promise.all([...this.slots.values()].flatMap((s) => [rm(s.dir, opts), rm(`${s.dir}.durable`, opts)]));
  }

  /**
   * Throws if a store's raft worker died (other than by an injected crash or disk failure), now or
   * in an incarnation since stopped, or a store threw while handling a raft message.
   */
  assertHealthy(): void {
    if (this.transport.errors.length > 0) throw new Error(`a store threw on a raft message: ${this.transport.errors[0]!.stack}`);
    if (this.deaths.length > 0) throw new Error(this.deaths.join('; '));
    for (const s of this.slots.values()) {
      const f = s.store?.failed;
      if (f && !s.crash.crashed) throw new Error(`store ${s.id}'s raft worker died: ${f.message}`);
    }
  }

  // ---- leaders ----

  /** The leader of a region among running stores (the one with the highest term if several). */
  leaderOf(regionId = FIRST_REGION_ID): metapb.IPeer | undefined {
    let best: { peer: metapb.IPeer; term: number } | undefined;
    for (const s of this.slots.values()) {
      const p = s.store?.peer(regionId);
      if (!p?.isLeader()) continue;
      const term = p.raw.raft.term;
      if (!best || term > best.term) best = { peer: p.metaPeer(), term };
    }
    return best?.peer;
  }

  async waitForLeader(regionId = FIRST_REGION_ID, timeoutMs = 10_000): Promise<metapb.IPeer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = this.leaderOf(regionId);
      if (l) return l;
      if (Date.now() > deadline) throw new Error(`no leader for region ${regionId} within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  // ---- membership, through the scheduler's operators (as TinyKV's test cluster does) ----

  /** Hands an operator to the region's leader (via heartbeats) and waits until it is done. */
  async mustRunOperator(regionId: number, op: SchedulerOperator, what: string, timeoutMs = 20_000): Promise<void> {
    this.scheduler.addOperator(regionId, op);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const region = this.scheduler.region(regionId);
      if (region && operatorDone(op, region, this.scheduler.leader(regionId))) {
        this.scheduler.clearOperator(regionId);
        this.log(`${what}: done (conf_ver ${region.regionEpoch?.confVer})`);
        return;
      }
      if (Date.now() > deadline) {
        this.scheduler.clearOperator(regionId);
        throw new Error(
          `${what} not done within ${timeoutMs} ms; region is ` +
            `${JSON.stringify(metapb.Region.toObject(metapb.Region.fromObject(region ?? {})))}`,
        );
      }
      await sleep(20);
    }
  }

  mustAddPeer(regionId: number, peer: metapb.IPeer): Promise<void> {
    return this.mustRunOperator(
      regionId,
      { changePeer: { changeType: eraftpb.ConfChangeType.AddNode, peer } },
      `add peer ${peer.id} on store ${peer.storeId}`,
    );
  }

  mustAddLearner(regionId: number, peer: metapb.IPeer): Promise<void> {
    return this.mustRunOperator(
      regionId,
      {
        changePeer: {
          changeType: eraftpb.ConfChangeType.AddLearnerNode,
          peer: { ...peer, isLearner: true, role: metapb.PeerRole.Learner },
        },
      },
      `add learner ${peer.id} on store ${peer.storeId}`,
    );
  }

  mustRemovePeer(regionId: number, peer: metapb.IPeer): Promise<void> {
    return this.mustRunOperator(
      regionId,
      { changePeer: { changeType: eraftpb.ConfChangeType.RemoveNode, peer } },
      `remove peer ${peer.id} on store ${peer.storeId}`,
    );
  }

  /** Several changes at once through a joint configuration (ChangePeerV2). */
  mustChangePeers(regionId: number, changes: { changeType: eraftpb.ConfChangeType; peer: metapb.IPeer }[]): Promise<void> {
    return this.mustRunOperator(
      regionId,
      { changePeerV2: { changes } },
      `joint change ${changes.map((c) => `${eraftpb.ConfChangeType[c.changeType]} ${c.peer.id}`).join(', ')}`,
    );
  }

  async mustTransferLeader(regionId: number, peer: metapb.IPeer): Promise<void> {
    await this.mustRunOperator(regionId, { transferLeader: { peer } }, `transfer leader of region ${regionId} to peer ${peer.id}`);
  }

  /** Splits the region holding `key` at `key` (through its leader) and waits until it is done. */
  async mustSplit(key: Key, timeoutMs = 20_000): Promise<void> {
    const k = toBytes(key);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = this.scheduler.regionByKey(k);
      if (info && Buffer.compare(info.region.startKey ?? new Uint8Array(0), k) === 0) return;
      if (Date.now() > deadline) throw new Error(`split at ${show(k)} not done within ${timeoutMs} ms`);
      const leader = info ? this.leaderOf(info.region.id!) : undefined;
      if (info && leader) {
        const [ids] = await this.scheduler.askBatchSplit(info.region, 1);
        const resp = await this.call(leader.storeId!, {
          header: { regionId: info.region.id, peer: leader, regionEpoch: info.region.regionEpoch },
          adminRequest: {
            cmdType: raft_cmdpb.AdminCmdType.BatchSplit,
            splits: { requests: [{ splitKey: k, newRegionId: ids!.newRegionId, newPeerIds: ids!.newPeerIds }] },
          },
        });
        const err = resp.header?.error;
        if (!err) {
          const regions = resp.adminResponse?.splits?.regions ?? [];
          this.scheduler.reportBatchSplit(regions);
          continue;
        }
        if (err.epochNotMatch) for (const r of err.epochNotMatch.currentRegions ?? []) this.scheduler.updateRegion(r);
      }
      await sleep(50);
    }
  }

  /** The region's peer on a store, per the scheduler's view. */
  peerOnStore(regionId: number, storeId: number): metapb.IPeer | undefined {
    const region = this.scheduler.region(regionId);
    return region && findPeer(region, storeId);
  }

  // ---- raw access ----

  /** The header of a command for `regionId` addressed to its peer on `storeId` (current epoch). */
  header(regionId: number, storeId: number): raft_cmdpb.IRaftRequestHeader {
    const region = this.scheduler.region(regionId);
    const peer = region && findPeer(region, storeId);
    return { regionId, peer: peer ?? null, regionEpoch: region?.regionEpoch ?? null };
  }

  /** Sends one command to one store, no retry. A stopped store answers a Timeout error. */
  async call(storeId: number, req: raft_cmdpb.IRaftCmdRequest, timeoutMs?: number): Promise<raft_cmdpb.IRaftCmdResponse> {
    const store = this.store(storeId);
    if (!store) return { header: { error: { message: `store ${storeId} is down`, timeout: {} } }, responses: [] };
    return store.call(req, timeoutMs);
  }

  /** Reads a key straight from a store's kv engine (no raft): what that replica has applied. */
  async engineGet(storeId: number, key: Key, cf: CfName = 'default'): Promise<Uint8Array | undefined> {
    const e = this.engines(storeId);
    if (!e) throw new Error(`store ${storeId} is stopped: its engines are closed`);
    return e.kv.get(cf, toBytes(key));
  }

  /** Waits until a store's engine has key = value (replication is asynchronous). */
  async mustEngineGetEqual(storeId: number, key: Key, value: Key, timeoutMs = 5000, cf: CfName = 'default'): Promise<void> {
    const want = toBytes(value);
    const deadline = Date.now() + timeoutMs;
    let got: Uint8Array | undefined;
    for (;;) {
      got = await this.engineGet(storeId, key, cf);
      if (got && Buffer.compare(got, want) === 0) return;
      if (Date.now() > deadline) break;
      await sleep(20);
    }
    throw new Error(`store ${storeId}: ${show(toBytes(key))} = ${got ? show(got) : '<none>'} after ${timeoutMs} ms, want ${show(want)}`);
  }

  /** Waits until a store's engine has no value for key. */
  async mustEngineGetNone(storeId: number, key: Key, timeoutMs = 5000, cf: CfName = 'default'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let got: Uint8Array | undefined;
    for (;;) {
      got = await this.engineGet(storeId, key, cf);
      if (!got) return;
      if (Date.now() > deadline) break;
      await sleep(20);
    }
    throw new Error(`store ${storeId}: ${show(toBytes(key))} = ${show(got)} after ${timeoutMs} ms, want none`);
  }
}
