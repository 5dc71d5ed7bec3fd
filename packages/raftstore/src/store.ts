// Store: hosts the region peers of one store over its engines, routes messages and commands to
// them, and runs the raft worker and the ticker.
import { join } from 'node:path';
import { Engines, regionStateRange, storeIdentKey } from '@tskv/engine';
import { metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { StoreConfig } from './config.js';
import { errorResponse } from './cmd.js';
import { InvalidRequestError, RegionNotFoundError, TimeoutError } from './errors.js';
import { Logger, createLogger } from './logger.js';
import { Peer } from './peer.js';
import { PeerStorage } from './peer_storage.js';
import { RaftLogGcWorker } from './raft_log_gc.js';
import { RaftWorker } from './raft_worker.js';
import { RegionWorker } from './region_worker.js';
import { Router } from './router.js';
import { SnapManager, receiveSnapshotChunks, sendSnapshotChunks, snapKeyString } from './snap/index.js';
import { RaftMessage, SchedulerClient, SnapshotChunk, SnapshotEndpoint, Transport } from './transport.js';

export type PeriodicJob = 'raftLogGc' | 'splitCheck' | 'schedulerHeartbeat' | 'snapGc';

export class Store implements SnapshotEndpoint {
  readonly router = new Router();
  readonly worker: RaftWorker;
  readonly regionWorker: RegionWorker;
  readonly logGc: RaftLogGcWorker;
  readonly snapMgr: SnapManager;
  readonly logger: Logger;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  private constructor(
    readonly cfg: StoreConfig,
    readonly engines: Engines,
    readonly transport: Transport,
    readonly scheduler: SchedulerClient,
    logger?: Logger,
  ) {
    this.logger = logger ?? createLogger({ storeId: cfg.storeId });
    this.snapMgr = new SnapManager(join(engines.dataDir, 'snap'), {
      maxConcurrentGenerating: cfg.snapMaxConcurrentGenerating,
      maxConcurrentReceiving: cfg.snapMaxConcurrentReceiving,
      staleAgeMs: cfg.snapStaleAgeMs,
      logger: this.logger,
    });
    this.regionWorker = new RegionWorker(cfg, engines, this.snapMgr, this.router, this.logger);
    this.logGc = new RaftLogGcWorker(engines, this.logger);
    this.worker = new RaftWorker(cfg, engines, this.router, transport, this.regionWorker, this.logGc, this.logger);
    this.regionWorker.onFatal = (e) => this.worker.fail(e);
    this.worker.onFatal = (e) => {
      // Memory may be ahead of disk: refuse everything until a restart rebuilds from disk.
      this.failed = e;
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
    };
  }

  /** Set when the raft worker stopped on a failed write (e.g. a full disk). */
  failed: Error | null = null;

  /** Opens a bootstrapped store: every region with local state on disk gets its peer back. */
  static async create(cfg: StoreConfig, engines: Engines, transport: Transport, scheduler: SchedulerClient, logger?: Logger): Promise<Store> {
    const ident = await engines.kv.get('raft', storeIdentKey());
    if (!ident) throw new Error(`store ${cfg.storeId} is not bootstrapped (no store ident in ${engines.kv.path})`);
    const id = raft_serverpb.StoreIdent.decode(ident);
    if (id.storeId !== cfg.storeId) throw new Error(`data directory belongs to store ${id.storeId}, not ${cfg.storeId}`);
    const s = new Store(cfg, engines, transport, scheduler, logger);
    await s.snapMgr.init();
    const { start, end } = regionStateRange();
    let applying = 0;
    for (const [, v] of await engines.kv.collect('raft', start, end)) {
      const st = raft_serverpb.RegionLocalState.decode(v);
      if (st.state === raft_serverpb.PeerState.Tombstone || !st.region) continue;
      const me = (st.region.peers ?? []).find((p) => p.storeId === cfg.storeId);
      if (!me) continue;
      const isApplying = st.state === raft_serverpb.PeerState.Applying;
      const ps = await PeerStorage.load(engines, st.region as metapb.IRegion, isApplying);
      const peer = new Peer(cfg, ps, me.id!, s.logger);
      s.router.register(peer);
      // Entries below the truncated index are dead; a GC task lost in a crash is redone here.
      s.logGc.schedule(peer.regionId, 0, ps.applyState.truncatedIndex + 1);
      if (isApplying) {
        // Accepted before the restart, data maybe half written: apply it again from the files.
        const { truncatedIndex: index, truncatedTerm: term } = ps.applyState;
        const key = { regionId: peer.regionId, term, index };
        if (!(await s.snapMgr.exists('rev', key))) {
          throw new Error(`region ${peer.regionId}: applying snapshot ${snapKeyString(key)} at restart, but its files are gone from ${s.snapMgr.dir}`);
        }
        peer.applyingSnapshot = { index, term };
        s.regionWorker.apply({ region: ps.region, key });
        applying++;
      }
    }
    s.logger.info('store loaded', { regions: s.router.size, applyingSnapshots: applying });
    return s;
  }

  /**
   * Periodic jobs driven by the store's ticker. The scheduler heartbeat is registered here; raft
   * log GC and split check register their handlers when those workers exist.
   */
  private readonly jobs: Record<PeriodicJob, (() => void)[]> = { raftLogGc: [], splitCheck: [], schedulerHeartbeat: [], snapGc: [] };

  onPeriodic(job: PeriodicJob, fn: () => void): void {
    this.jobs[job].push(fn);
  }

  start(): void {
    this.worker.start();
    this.onPeriodic('schedulerHeartbeat', () => this.heartbeatRegions());
    this.onPeriodic('raftLogGc', () => this.router.broadcast({ kind: 'raftLogGcTick' }));
    this.onPeriodic('snapGc', () => void this.collectSnapshots());
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.cfg.raftBaseTickMs, () => this.router.broadcastTick());
    every(this.cfg.raftLogGcTickMs, () => this.runJobs('raftLogGc'));
    every(this.cfg.splitCheckTickMs, () => this.runJobs('splitCheck'));
    every(this.cfg.schedulerHeartbeatTickMs, () => this.runJobs('schedulerHeartbeat'));
    every(this.cfg.snapGcTickMs, () => this.runJobs('snapGc'));
  }

  private runJobs(job: PeriodicJob): void {
    for (const fn of this.jobs[job]) {
      try {
        fn();
      } catch (e) {
        this.logger.error('periodic job failed', { job, err: String(e) });
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.worker.stop();
    await Promise.all([this.regionWorker.stop(), this.logGc.stop()]);
    for (const p of this.router.all()) p.failAll(new TimeoutError(`store ${this.cfg.storeId} stopped`));
  }

  // ---- snapshots on the wire (the transport calls these) ----

  /** The chunks of a MsgSnapshot this store sends: the message, then its files. */
  snapshotChunks(msg: RaftMessage): AsyncIterable<SnapshotChunk> {
    return sendSnapshotChunks(this.snapMgr, msg, { chunkBytes: this.cfg.snapChunkBytes });
  }

  /** Receives a snapshot stream; once its files are complete and verified, steps its message. */
  async receiveSnapshot(chunks: AsyncIterable<SnapshotChunk>): Promise<void> {
    if (this.stopped || this.failed) throw new Error(`store ${this.cfg.storeId} is not running`);
    const msg = await receiveSnapshotChunks(this.snapMgr, chunks);
    this.onRaftMessage(msg);
  }

  /** Tells the sending peer's raft whether its snapshot got through (raft then resumes). */
  reportSnapshotStatus(regionId: number, toPeerId: number, ok: boolean): void {
    if (this.stopped || this.failed) return;
    this.router.send(regionId, { kind: 'snapStatus', toPeerId, ok });
  }

  /** Deletes snapshot files nobody uses: not being sent, received or applied, and not current. */
  private async collectSnapshots(): Promise<void> {
    const current = new Set<string>();
    for (const p of this.router.all()) {
      const g = p.storage.genState;
      if (g.status === 'ready') current.add(snapKeyString({ regionId: p.regionId, term: g.snap.metadata.term, index: g.snap.metadata.index }));
    }
    try {
      await this.snapMgr.gc((kind, key) => kind === 'gen' && current.has(snapKeyString(key)));
    } catch (e) {
      this.logger.warn('snapshot gc failed', { err: String(e) });
    }
  }

  get storeId(): number {
    return this.cfg.storeId;
  }

  /** A raft message from another store (the transport calls this). */
  onRaftMessage(msg: RaftMessage): void {
    if (this.stopped || this.failed || !msg.regionId) return;
    if (!this.router.send(msg.regionId, { kind: 'raft', msg })) {
      // Peers for regions created elsewhere (split, conf change) arrive with that work.
      this.logger.debug('raft message for unknown region dropped', { regionId: msg.regionId });
    }
  }

  /** Executes a client command; region errors come back in the response header, never thrown. */
  call(req: raft_cmdpb.IRaftCmdRequest, timeoutMs = this.cfg.requestTimeoutMs): Promise<raft_cmdpb.IRaftCmdResponse> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(errorResponse(new TimeoutError(`store ${this.cfg.storeId} is stopped`)));
      if (this.failed) return resolve(errorResponse(new TimeoutError(`store ${this.cfg.storeId} failed and needs a restart: ${this.failed.message}`)));
      const regionId = req.header?.regionId;
      if (!regionId) return resolve(errorResponse(new InvalidRequestError('missing region id')));
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        resolve(errorResponse(new TimeoutError(`request to region ${regionId} on store ${this.cfg.storeId} timed out after ${timeoutMs} ms; its outcome is unknown`)));
      }, timeoutMs);
      const cb = (resp: raft_cmdpb.IRaftCmdResponse): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(resp);
      };
      if (!this.router.send(regionId, { kind: 'cmd', req, cb })) cb(errorResponse(new RegionNotFoundError(regionId)));
    });
  }

  /** The peer of a region on this store, if any (tests and tools). */
  peer(regionId: number): Peer | undefined {
    return this.router.get(regionId);
  }

  private heartbeatRegions(): void {
    for (const p of this.router.all()) {
      if (p.isLeader()) this.scheduler.regionHeartbeat(p.region, p.metaPeer());
    }
  }
}
