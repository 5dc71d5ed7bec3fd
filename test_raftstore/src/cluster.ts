// Cluster: N stores of the raftstore in one process, each on its own LevelDB data directories,
// connected by a MockTransport and reporting to a MockScheduler. Stores can be stopped (a crash:
// the files stay) and started again from disk. Client helpers route requests by key to the
// region's leader and retry the way a TinyKV/TiKV client does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engines } from '@tskv/engine';
import type { CfName, Engine } from '@tskv/engine';
import { eraftpb, errorpb, metapb, raft_cmdpb } from '@tskv/proto';
import { Store, StoreConfig, bootstrapRegion, bootstrapStore, storeConfig } from '@tskv/raftstore';
import type { SchedulerOperator } from '@tskv/raftstore';
import { MockScheduler, operatorDone } from './mock_scheduler.js';
import { MockTransport } from './mock_transport.js';
import { Prng, testSeed } from './prng.js';

export type Key = string | Uint8Array;
const CmdType = raft_cmdpb.CmdType;

export function toBytes(k: Key): Uint8Array {
  return typeof k === 'string' ? Buffer.from(k, 'utf8') : k;
}

export function bytesToString(b: Uint8Array | null | undefined): string {
  return b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : '<none>';
}

function show(k: Uint8Array): string {
  const s = Buffer.from(k).toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `0x${Buffer.from(k).toString('hex')}`;
}

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
  /** How long a client helper keeps retrying before it fails (default 20 s). */
  requestDeadlineMs?: number;
  /** Open the engines with sync writes (default true). */
  engineSync?: boolean;
  /** Print cluster events (also TEST_VERBOSE=1). */
  verbose?: boolean;
}

export interface RequestOptions {
  /** Overall time to keep retrying (default: the cluster's requestDeadlineMs). */
  deadlineMs?: number;
}

/** A request that could not succeed: the deadline passed, or the error is not retryable. */
export class ClusterRequestError extends Error {
  constructor(message: string, readonly regionError: errorpb.IError | null, readonly retryable: boolean) {
    super(message);
  }
}

interface StoreSlot {
  id: number;
  dir: string;
  engines: Engines | null;
  store: Store | null;
  /** Set by crashStore: every engine write of the running incarnation fails from now on. */
  crash: { crashed: boolean };
}

/**
 * The engines as the store sees them: once `flag.crashed` is set, every write fails (a write that
 * was already issued still lands on disk, then fails too), like a process killed at that moment:
 * the raft worker stops at its next write without acknowledging anything more.
 */
function crashableEngines(e: Engines, flag: { crashed: boolean }): Engines {
  const wrap = (engine: Engine): Engine =>
    new Proxy(engine, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop === 'write') {
          return async (...args: Parameters<Engine['write']>) => {
            if (flag.crashed) throw new Error('injected crash: write refused');
            await target.write(...args);
            if (flag.crashed) throw new Error('injected crash after the write');
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  const out = Object.create(Engines.prototype) as Engines;
  Object.defineProperties(out, {
    kv: { value: wrap(e.kv), enumerable: true },
    raft: { value: wrap(e.raft), enumerable: true },
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
  const m = store.snapMgr.stats;
  t.generated += m.generated;
  t.sent += m.sent;
  t.received += m.received;
  t.applied += m.applied;
  t.receiveFailed += m.receiveFailed;
  t.compactions += store.worker.stats.compactions;
}

export class Cluster {
  readonly seed: number;
  readonly rng: Prng;
  readonly transport: MockTransport;
  readonly scheduler: MockScheduler;
  readonly count: number;
  readonly name: string;
  readonly clusterId: number;
  readonly requestDeadlineMs: number;
  private readonly cfgOverrides: Partial<StoreConfig>;
  private readonly engineSync: boolean;
  private readonly verbose: boolean;
  private readonly slots = new Map<number, StoreSlot>();
  private readonly firstRegion: metapb.IRegion;
  /** crashStore calls, and how many of them caught the store's raft worker in a write. */
  readonly crashStats = { kills: 0, diedOnWrite: 0 };
  /** Snapshot counters of store incarnations already stopped (see snapStats). */
  private readonly pastSnap: SnapActivity = { generated: 0, sent: 0, received: 0, applied: 0, receiveFailed: 0, compactions: 0 };
  /** Raft workers found dead (not by an injected fault) when their store was stopped. */
  private readonly deaths: string[] = [];
  private rr = 0;
  private started = false;
  private shutDown = false;

  constructor(opts: ClusterOptions = {}) {
    this.count = opts.stores ?? 5;
    this.name = opts.name ?? 'cluster';
    this.seed = opts.seed ?? testSeed();
    this.rng = new Prng(this.seed);
    this.transport = new MockTransport(this.rng.fork());
    this.scheduler = new MockScheduler();
    this.clusterId = opts.clusterId ?? 1;
    this.requestDeadlineMs = opts.requestDeadlineMs ?? 20_000;
    const readMode = process.env['TEST_READ_MODE'];
    if (readMode && readMode !== 'readIndex' && readMode !== 'lease') throw new Error(`TEST_READ_MODE must be readIndex or lease, got '${readMode}'`);
    this.cfgOverrides = { ...TEST_STORE_CONFIG, ...(readMode ? { readMode: readMode as StoreConfig['readMode'] } : {}), ...opts.config };
    this.engineSync = opts.engineSync ?? true;
    this.verbose = opts.verbose ?? process.env['TEST_VERBOSE'] === '1';
    const peers: metapb.IPeer[] = [];
    for (let i = 1; i <= this.count; i++) peers.push({ id: i, storeId: i });
    this.firstRegion = {
      id: FIRST_REGION_ID,
      startKey: opts.startKey ?? new Uint8Array(0),
      endKey: opts.endKey ?? new Uint8Array(0),
      regionEpoch: { confVer: 1, version: 1 },
      peers,
    };
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
      const engines = await Engines.open(dir, { sync: this.engineSync });
      await bootstrapStore(engines, this.clusterId, id);
      await bootstrapRegion(engines, this.firstRegion);
      this.slots.set(id, { id, dir, engines, store: null, crash: { crashed: false } });
    }
    this.scheduler.bootstrap(this.firstRegion);
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
    await store.stop();
    addSnapStats(this.pastSnap, store);
    if (store.worker.fatal && !s.crash.crashed) this.deaths.push(`store ${id}'s raft worker had died before it was stopped: ${store.worker.fatal.message}`);
    await s.engines?.close();
    s.engines = null;
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
    });
    s.crash = { crashed: false };
    const store = await Store.create(this.configFor(id), crashableEngines(s.engines, s.crash), endpoint, this.scheduler);
    holder.store = store;
    s.store = store;
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
    store.logger.silent = true; // its worker dies on the refused write: expected, not news
    await store.stop();
    addSnapStats(this.pastSnap, store);
    this.crashStats.kills++;
    if (store.worker.fatal) this.crashStats.diedOnWrite++;
    await s.engines?.close();
    s.engines = null;
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
    if (process.env['KEEP_DATA'] === '1') {
      console.log(`[${this.name}] KEEP_DATA=1: data kept in ${[...this.slots.values()].map((s) => s.dir).join(' ')}`);
      return;
    }
    await Promise.all([...this.slots.values()].map((s) => rm(s.dir, { recursive: true, force: true })));
  }

  /**
   * Throws if a store's raft worker died (other than by an injected crash or disk failure), now or
   * in an incarnation since stopped, or a store threw while handling a raft message.
   */
  assertHealthy(): void {
    if (this.transport.errors.length > 0) throw new Error(`a store threw on a raft message: ${this.transport.errors[0]!.stack}`);
    if (this.deaths.length > 0) throw new Error(this.deaths.join('; '));
    for (const s of this.slots.values()) {
      const f = s.store?.worker.fatal;
      if (f && !s.crash.crashed) throw new Error(`store ${s.id}'s raft worker died: ${f.message}`);
    }
  }

  // ---- leaders ----

  /** The leader of a region among running stores (the one with the highest term if several). */
  leaderOf(regionId = FIRST_REGION_ID): metapb.IPeer | undefined {
    let best: { peer: metapb.IPeer; term: number } | undefined;
    for (const s of this.slots.values()) {
      const p = s.store?.peer(regionId);
      if (!p || !p.isLeader()) continue;
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
        throw new Error(`${what} not done within ${timeoutMs} ms; region is ${JSON.stringify(metapb.Region.toObject(metapb.Region.fromObject(region ?? {})))}`);
      }
      await sleep(20);
    }
  }

  mustAddPeer(regionId: number, peer: metapb.IPeer): Promise<void> {
    return this.mustRunOperator(regionId, { changePeer: { changeType: eraftpb.ConfChangeType.AddNode, peer } }, `add peer ${peer.id} on store ${peer.storeId}`);
  }

  mustAddLearner(regionId: number, peer: metapb.IPeer): Promise<void> {
    return this.mustRunOperator(regionId, { changePeer: { changeType: eraftpb.ConfChangeType.AddLearnerNode, peer: { ...peer, isLearner: true, role: metapb.PeerRole.Learner } } }, `add learner ${peer.id} on store ${peer.storeId}`);
  }

  mustRemovePeer(regionId: number, peer: metapb.IPeer): Promise<void> {
    return this.mustRunOperator(regionId, { changePeer: { changeType: eraftpb.ConfChangeType.RemoveNode, peer } }, `remove peer ${peer.id} on store ${peer.storeId}`);
  }

  /** Several changes at once through a joint configuration (ChangePeerV2). */
  mustChangePeers(regionId: number, changes: { changeType: eraftpb.ConfChangeType; peer: metapb.IPeer }[]): Promise<void> {
    return this.mustRunOperator(regionId, { changePeerV2: { changes } }, `joint change ${changes.map((c) => `${eraftpb.ConfChangeType[c.changeType]} ${c.peer.id}`).join(', ')}`);
  }

  async mustTransferLeader(regionId: number, peer: metapb.IPeer): Promise<void> {
    await this.mustRunOperator(regionId, { transferLeader: { peer } }, `transfer leader of region ${regionId} to peer ${peer.id}`);
  }

  /** The region's peer on a store, per the scheduler's view. */
  peerOnStore(regionId: number, storeId: number): metapb.IPeer | undefined {
    return this.scheduler.region(regionId)?.peers?.find((p) => p.storeId === storeId);
  }

  // ---- raw access ----

  /** The header of a command for `regionId` addressed to its peer on `storeId` (current epoch). */
  header(regionId: number, storeId: number): raft_cmdpb.IRaftRequestHeader {
    const region = this.scheduler.region(regionId);
    const peer = region?.peers?.find((p) => p.storeId === storeId);
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

  // ---- client ----

  private pickTarget(region: metapb.IRegion): metapb.IPeer | undefined {
    const peers = region.peers ?? [];
    const hint = this.scheduler.leader(region.id!);
    if (hint && this.isRunning(hint.storeId!) && peers.some((p) => p.id === hint.id)) return hint;
    for (let i = 0; i < peers.length; i++) {
      const p = peers[(this.rr + i) % peers.length]!;
      if (this.isRunning(p.storeId!)) {
        this.rr = (this.rr + i + 1) % peers.length;
        return p;
      }
    }
    return undefined;
  }

  /**
   * Sends `requests` (about `key`) to the leader of the region holding `key` and retries until
   * success or the deadline: NotLeader (follows the hint, else tries the other stores),
   * EpochNotMatch (refreshes the region), StaleCommand, Timeout, RegionNotFound, a store down.
   * KeyNotInRegion (refreshes the region's range: it split), a key in a gap between known regions
   * (a split the scheduler has not heard of yet). A key outside every region, StoreNotMatch and
   * malformed requests fail at once.
   *
   * A Timeout leaves the outcome unknown: a retried write may be applied twice. Callers design
   * their writes to be idempotent (the generic test writes a new key per append).
   */
  async request(key: Key, requests: raft_cmdpb.IRequest[], opts: RequestOptions = {}): Promise<raft_cmdpb.IRaftCmdResponse> {
    const k = toBytes(key);
    const deadlineMs = opts.deadlineMs ?? this.requestDeadlineMs;
    const deadline = Date.now() + deadlineMs;
    const timeoutMs = this.cfgOverrides.requestTimeoutMs ?? 2000;
    let lastErr: errorpb.IError | null = null;
    let lastMsg = 'no attempt';
    let attempts = 0;
    for (;;) {
      const now = Date.now();
      if (now >= deadline || this.shutDown) {
        throw new ClusterRequestError(
          `request on key ${show(k)} not done after ${deadlineMs} ms and ${attempts} attempts; last error: ${lastMsg}`,
          lastErr,
          true,
        );
      }
      const info = this.scheduler.regionByKey(k);
      if (!info) {
        if (!this.scheduler.withinKnownSpan(k)) throw new ClusterRequestError(`no region holds key ${show(k)}`, null, false);
        // A gap inside the known span: between a split and the scheduler hearing of a new region.
        lastMsg = `no region known yet for key ${show(k)}`;
        await sleep(50);
        continue;
      }
      const region = info.region;
      const target = this.pickTarget(region);
      if (!target) {
        lastMsg = 'every store of the region is down';
        await sleep(100);
        continue;
      }
      attempts++;
      const req: raft_cmdpb.IRaftCmdRequest = {
        header: { regionId: region.id, peer: target, regionEpoch: region.regionEpoch },
        requests,
      };
      const resp = await this.call(target.storeId!, req, Math.max(1, Math.min(timeoutMs, deadline - now)));
      const err = resp.header?.error;
      if (!err) {
        this.scheduler.setLeader(region.id!, target);
        return resp;
      }
      lastErr = err;
      lastMsg = `store ${target.storeId}: ${err.message ?? JSON.stringify(err)}`;
      if (err.notLeader) {
        const hint = err.notLeader.leader;
        if (hint && hint.id && hint.id !== target.id) {
          this.scheduler.setLeader(region.id!, hint);
          await sleep(10);
        } else {
          this.scheduler.setLeader(region.id!, null);
          await sleep(50);
        }
      } else if (err.epochNotMatch) {
        for (const r of err.epochNotMatch.currentRegions ?? []) this.scheduler.updateRegion(r);
        await sleep(10);
      } else if (err.staleCommand) {
        await sleep(20);
      } else if (err.timeout) {
        // Maybe a deposed leader that does not know it yet: look elsewhere too.
        // The wait already happened (or the store was just stopped: a short pause).
        this.scheduler.setLeader(region.id!, null);
        await sleep(10);
      } else if (err.regionNotFound) {
        this.scheduler.setLeader(region.id!, null);
        await sleep(50);
      } else if (err.keyNotInRegion) {
        // The region split (or the cache was stale): refresh it from the store's answer and retry.
        const r = err.keyNotInRegion;
        const cur = this.scheduler.region(r.regionId ?? 0);
        if (cur) this.scheduler.updateRegion({ ...cur, startKey: r.startKey ?? new Uint8Array(0), endKey: r.endKey ?? new Uint8Array(0), });
        await sleep(20);
      } else {
        // StoreNotMatch, invalid request: retrying cannot help.
        throw new ClusterRequestError(`request on key ${show(k)} failed: ${lastMsg}`, err, false);
      }
    }
  }

  async mustPut(key: Key, value: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const k = toBytes(key);
    await this.request(k, [{ cmdType: CmdType.Put, put: { cf, key: k, value: toBytes(value) } }], opts);
  }

  async mustDelete(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const k = toBytes(key);
    await this.request(k, [{ cmdType: CmdType.Delete, delete: { cf, key: k } }], opts);
  }

  /** A linearizable get (through the leader's read index); undefined when the key is absent. */
  async get(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<Uint8Array | undefined> {
    const k = toBytes(key);
    const resp = await this.request(k, [{ cmdType: CmdType.Get, get: { cf, key: k } }], opts);
    const g = resp.responses?.[0]?.get;
    if (!g) throw new Error(`get ${show(k)}: response without a get result: ${JSON.stringify(resp)}`);
    return g.found ? g.value ?? new Uint8Array(0) : undefined;
  }

  /** A linearizable get that must find the key; returns its value. */
  async mustGet(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<Uint8Array> {
    const v = await this.get(key, cf, opts);
    if (v === undefined) throw new Error(`mustGet ${show(toBytes(key))}: not found`);
    return v;
  }

  /** A linearizable get that must find key = value. */
  async mustGetEqual(key: Key, value: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const v = await this.get(key, cf, opts);
    const want = toBytes(value);
    if (v === undefined || Buffer.compare(v, want) !== 0) {
      throw new Error(`mustGetEqual ${show(toBytes(key))}: got ${v ? show(v) : '<none>'}, want ${show(want)}`);
    }
  }

  async mustGetNone(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const v = await this.get(key, cf, opts);
    if (v !== undefined) throw new Error(`mustGetNone ${show(toBytes(key))}: found ${show(v)}`);
  }

  /**
   * A linearizable scan of [start, end) (end empty = to the end), region by region. Each region's
   * part is read at its own read point.
   */
  async scan(start: Key, end: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<[Uint8Array, Uint8Array][]> {
    const e = toBytes(end);
    let s = toBytes(start);
    const out: [Uint8Array, Uint8Array][] = [];
    for (;;) {
      const resp = await this.request(s, [{ cmdType: CmdType.Snap, snap: { cf, startKey: s, endKey: e } }], opts);
      const snap = resp.responses?.[0]?.snap;
      if (!snap) throw new Error(`scan from ${show(s)}: response without a snap result: ${JSON.stringify(resp)}`);
      for (const kv of snap.kvs ?? []) out.push([kv.key ?? new Uint8Array(0), kv.value ?? new Uint8Array(0)]);
      const regionEnd = snap.region?.endKey ?? new Uint8Array(0);
      if (regionEnd.length === 0 || (e.length > 0 && Buffer.compare(regionEnd, e) >= 0)) return out;
      s = regionEnd;
    }
  }
}
