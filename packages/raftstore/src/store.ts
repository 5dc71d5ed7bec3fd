// Store: hosts the region peers of one store over its engines. It wires the raft worker and the
// parts over the shared StoreContext (store_context.ts), runs the ticker and the periodic jobs,
// routes client commands and the transport's reports to the peers, and answers for the store as a
// whole. The parts: startup.ts (rebuilding from disk), raft_msg_handler.ts (inbound raft
// messages), peer_lifecycle.ts (creating and destroying peers), split_flow.ts (split check to new
// peers), scheduler_task.ts (heartbeats, operators, leader liveness), store_snapshots.ts
// (snapshot streams and file GC).
import type { CfName, Engines } from '@tskv/engine';
import { type metapb, raft_cmdpb } from '@tskv/proto';
import { errorResponse } from './cmd.js';
import type { StoreConfig } from './config.js';
import { DeleteCompactor } from './delete_compactor.js';
import { InvalidRequestError, RegionNotFoundError, TimeoutError } from './errors.js';
import { createLogger, type Logger } from './logger.js';
import type { RegionSnapshot } from './msg.js';
import type { RegionStatus, StoreObserver, StoreRuntimeStats } from './observer.js';
import type { Peer } from './peer.js';
import { PeerLifecycle } from './peer_lifecycle.js';
import { RaftMessageHandler } from './raft_msg_handler.js';
import { RaftWorker } from './raft_worker.js';
import { SchedulerTask } from './scheduler_task.js';
import type { SnapKey, SnapKind } from './snap/index.js';
import { SplitCheckWorker } from './split_check.js';
import { SplitFlow } from './split_flow.js';
import { checkStoreIdent, loadPeers } from './startup.js';
import { createStoreContext, type StoreContext } from './store_context.js';
import type { StoreMeta } from './store_meta.js';
import { StoreSnapshots } from './store_snapshots.js';
import type { RaftMessage, SchedulerClient, SnapshotChunk, SnapshotEndpoint, Transport } from './transport.js';

type PeriodicJob = 'raftLogGc' | 'splitCheck' | 'schedulerHeartbeat' | 'snapGc';

export class Store implements SnapshotEndpoint {
  private readonly ctx: StoreContext;
  private readonly worker: RaftWorker;
  private readonly splitChecker: SplitCheckWorker;
  private readonly lifecycle: PeerLifecycle;
  private readonly raftMessages: RaftMessageHandler;
  private readonly splits: SplitFlow;
  private readonly deleteCompactor: DeleteCompactor;
  private readonly schedulerTask: SchedulerTask;
  private readonly snapshots: StoreSnapshots;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  private constructor(
    private readonly cfg: StoreConfig,
    engines: Engines,
    transport: Transport,
    scheduler: SchedulerClient,
    logger?: Logger,
  ) {
    const ctx = createStoreContext(cfg, engines, transport, scheduler, logger ?? createLogger({ storeId: cfg.storeId }), (req) =>
      this.call(req),
    );
    this.ctx = ctx;
    this.worker = new RaftWorker(cfg, engines, ctx.router, transport, ctx.regionWorker, ctx.logGc, ctx.logger);
    this.lifecycle = new PeerLifecycle(ctx);
    this.raftMessages = new RaftMessageHandler(ctx, this.lifecycle);
    this.splitChecker = new SplitCheckWorker(cfg, engines, ctx.logger, (r) => void this.splits.onCheckResult(r));
    this.splits = new SplitFlow(ctx, this.splitChecker, this.lifecycle);
    this.deleteCompactor = new DeleteCompactor(
      engines.kv,
      cfg.compactDeletesThreshold,
      (id) => ctx.router.get(id)?.region ?? null,
      ctx.logger,
    );
    this.worker.onDeletes = (d) => this.deleteCompactor.note(d);
    this.schedulerTask = new SchedulerTask(ctx);
    this.snapshots = new StoreSnapshots(ctx);
    ctx.regionWorker.onFatal = (e) => this.worker.fail(e);
    this.worker.onRegionChanged = (p) => ctx.meta.setRegion(p.region);
    this.worker.rangeClashes = (id, start, end) => ctx.meta.overlapping(start, end).filter((r) => r !== id);
    this.worker.onPeerRemoved = (p) => this.lifecycle.destroy(p);
    this.worker.onSplit = (sp) => this.splits.onSplitApplied(sp);
    this.worker.onFatal = (e) => {
      // Memory may be ahead of disk: refuse everything until a restart rebuilds from disk.
      this.failure = e;
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      try {
        this.onFailed?.(e);
      } catch (err) {
        this.ctx.logger.error('store failure listener failed', { err: String(err) });
      }
    };
  }

  private failure: Error | null = null;

  /** Set when the raft worker stopped on a failed write (e.g. a full disk). */
  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Told once when the store fails (`failed` is set): the process hosting it decides what to do
   * (tinykv-server exits for its supervisor to restart it; a restart rebuilds from disk).
   */
  onFailed: ((e: Error) => void) | null = null;

  /** Opens a bootstrapped store: every region with local state on disk gets its peer back. */
  static async create(
    cfg: StoreConfig,
    engines: Engines,
    transport: Transport,
    scheduler: SchedulerClient,
    logger?: Logger,
  ): Promise<Store> {
    await checkStoreIdent(cfg, engines);
    const s = new Store(cfg, engines, transport, scheduler, logger);
    await loadPeers(s.ctx, s.lifecycle);
    return s;
  }

  /** Periodic jobs driven by the store's ticker, registered at start. */
  private readonly jobs: Record<PeriodicJob, (() => void)[]> = { raftLogGc: [], splitCheck: [], schedulerHeartbeat: [], snapGc: [] };

  private onPeriodic(job: PeriodicJob, fn: () => void): void {
    this.jobs[job].push(fn);
  }

  start(): void {
    this.worker.start();
    this.onPeriodic('schedulerHeartbeat', () => this.schedulerTask.heartbeat());
    this.onPeriodic('raftLogGc', () => this.ctx.router.broadcast({ kind: 'raftLogGcTick' }));
    this.onPeriodic('snapGc', () => void this.snapshots.collectGarbage());
    this.onPeriodic('splitCheck', () => this.splits.scheduleChecks());
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.cfg.raftBaseTickMs, () => this.ctx.router.broadcastTick());
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
        this.ctx.logger.error('periodic job failed', { job, err: String(e) });
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.worker.stop();
    await Promise.all([this.ctx.regionWorker.stop(), this.ctx.logGc.stop(), this.splitChecker.stop(), this.deleteCompactor.stop()]);
    for (const p of this.ctx.router.all()) p.failAll(new TimeoutError(`store ${this.cfg.storeId} stopped`));
  }

  get storeId(): number {
    return this.cfg.storeId;
  }

  /** A raft message from another store (the transport calls this). */
  onRaftMessage(msg: RaftMessage): void {
    if (this.stopped || this.failed) return;
    this.raftMessages.handle(msg);
  }

  /** Executes a client command; region errors come back in the response header, never thrown. */
  call(req: raft_cmdpb.IRaftCmdRequest, timeoutMs = this.cfg.requestTimeoutMs): Promise<raft_cmdpb.IRaftCmdResponse> {
    return this.submit(req, timeoutMs);
  }

  /**
   * A view of a region's data for the transactional commands, with the epoch in `header`
   * checked. Resolves with the view (the caller closes its snapshot) or with a response carrying
   * the region error.
   *
   * For a read the view is linearizable: taken through the same ReadIndex or lease path as raw
   * reads. For a command that checks the view and then proposes a write in the view's term
   * (`forWrite`), the leader's applied state at its commit index, once it committed an entry in
   * its term, is enough without a read index: it holds every write committed before, and if a
   * newer leader exists the write cannot commit. What such a command answers without writing is a
   * fact about a prefix of the committed history (a lock or a commit record seen, a conflict),
   * which stays true; an absence it reports (no lock to commit) makes the client abort or retry.
   */
  snapshotRead(
    header: raft_cmdpb.IRaftRequestHeader,
    opts: { forWrite?: boolean; timeoutMs?: number } = {},
  ): Promise<RegionSnapshot | raft_cmdpb.IRaftCmdResponse> {
    const req: raft_cmdpb.IRaftCmdRequest = { header, requests: [{ cmdType: raft_cmdpb.CmdType.Snap, snap: { cf: 'default' } }] };
    return this.submit(req, opts.timeoutMs ?? this.cfg.requestTimeoutMs, { forWrite: opts.forWrite ?? false });
  }

  /**
   * Reads served from a snapshotRead view returned `keys` keys of `bytes` key and value bytes:
   * counted with the region's raw reads for its heartbeat (the store only sees the view, not
   * what the caller read from it).
   */
  recordRead(regionId: number, bytes: number, keys: number): void {
    this.ctx.router.get(regionId)?.onDataRead(bytes, keys);
  }

  private submit(req: raft_cmdpb.IRaftCmdRequest, timeoutMs: number): Promise<raft_cmdpb.IRaftCmdResponse>;
  private submit(
    req: raft_cmdpb.IRaftCmdRequest,
    timeoutMs: number,
    snapshot: { forWrite: boolean },
  ): Promise<RegionSnapshot | raft_cmdpb.IRaftCmdResponse>;
  private submit(
    req: raft_cmdpb.IRaftCmdRequest,
    timeoutMs: number,
    snapshot?: { forWrite: boolean },
  ): Promise<RegionSnapshot | raft_cmdpb.IRaftCmdResponse> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(errorResponse(new TimeoutError(`store ${this.cfg.storeId} is stopped`)));
      if (this.failed)
        return resolve(errorResponse(new TimeoutError(`store ${this.cfg.storeId} failed and needs a restart: ${this.failed.message}`)));
      const regionId = req.header?.regionId;
      if (!regionId) return resolve(errorResponse(new InvalidRequestError('missing region id')));
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        resolve(
          errorResponse(
            new TimeoutError(
              `request to region ${regionId} on store ${this.cfg.storeId} timed out after ${timeoutMs} ms; its outcome is unknown`,
            ),
          ),
        );
      }, timeoutMs);
      const cb = (resp: raft_cmdpb.IRaftCmdResponse): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(resp);
      };
      // A view that arrives after the timeout has no taker: release it.
      const onSnapshot = snapshot
        ? (v: RegionSnapshot): void => {
            if (done) {
              void v.snapshot.close().catch(() => undefined);
              return;
            }
            done = true;
            clearTimeout(timer);
            resolve(v);
          }
        : undefined;
      const msg = { kind: 'cmd' as const, req, cb, onSnapshot, forWrite: snapshot?.forWrite };
      if (!this.ctx.router.send(regionId, msg)) cb(errorResponse(new RegionNotFoundError(regionId)));
    });
  }

  // ---- snapshots on the wire (the transport calls these) ----

  /** The chunks of a MsgSnapshot this store sends (see StoreSnapshots.chunks). */
  snapshotChunks(msg: RaftMessage): AsyncGenerator<SnapshotChunk> {
    return this.snapshots.chunks(msg);
  }

  /** Receives a snapshot stream; once its files are complete and verified, steps its message. */
  async receiveSnapshot(chunks: AsyncIterable<SnapshotChunk>): Promise<void> {
    if (this.stopped || this.failed) throw new Error(`store ${this.cfg.storeId} is not running`);
    this.onRaftMessage(await this.snapshots.receive(chunks));
  }

  /** Tells the sending peer's raft whether its snapshot got through (raft then resumes). */
  reportSnapshotStatus(regionId: number, toPeerId: number, ok: boolean): void {
    if (this.stopped || this.failed) return;
    this.ctx.router.send(regionId, { kind: 'snapStatus', toPeerId, ok });
  }

  /**
   * The transport could not deliver a message to `toPeerId` (its store is unreachable): the
   * region's leader stops optimistic pipelining to it and probes instead. Cheap, never wakes a
   * hibernating peer; transports should report each (region, peer) once per burst of drops.
   */
  reportUnreachable(regionId: number, toPeerId: number): void {
    if (this.stopped || this.failed || !regionId || !toPeerId) return;
    this.ctx.router.send(regionId, { kind: 'unreachable', toPeerId });
  }

  /**
   * The transport lost its connection to a store (the stream to it broke, or connecting failed):
   * that store may be down, and the sleeping followers of its leaders wake and elect new ones
   * (SchedulerTask.storeUnreachable). Transports report each failed connection or connect, not
   * each message.
   */
  reportStoreUnreachable(storeId: number): void {
    if (this.stopped || this.failed || !storeId || storeId === this.cfg.storeId) return;
    this.schedulerTask.storeUnreachable(storeId);
  }

  // ---- observability, tests and tools ----

  /** Installs (or removes, with null) the metrics observer of the raft worker. */
  observe(observer: StoreObserver | null): void {
    this.worker.observer = observer;
  }

  /** Every region this store has a peer of, as it stands now (status pages, tools). */
  regionStatus(): RegionStatus[] {
    const out: RegionStatus[] = [];
    for (const p of this.ctx.router.all()) {
      out.push({
        regionId: p.regionId,
        peerId: p.peerId,
        region: p.region,
        leader: p.leaderPeer(),
        isLeader: p.isLeader(),
        term: p.raw.term,
        commitIndex: p.raw.committed,
        appliedIndex: p.storage.applyState.appliedIndex,
        truncatedIndex: p.storage.applyState.truncatedIndex,
        hibernating: p.hibernating,
        applyingSnapshot: p.applyingSnapshot !== null,
      });
    }
    return out;
  }

  /** The store's counts and its workers' counters, as they stand now (metrics, status, tests). */
  stats(): StoreRuntimeStats {
    let leaders = 0;
    let hibernating = 0;
    let applyingSnapshots = 0;
    for (const p of this.ctx.router.all()) {
      if (p.isLeader()) leaders++;
      if (p.hibernating) hibernating++;
      if (p.applyingSnapshot) applyingSnapshots++;
    }
    return {
      regions: this.ctx.router.size,
      leaders,
      hibernating,
      applyingSnapshots,
      snapshotsInUse: this.ctx.snapMgr.inUse(),
      ranges: this.ctx.meta.size,
      tombstones: this.ctx.meta.tombstones.size,
      raftDrops: new Map(this.ctx.raftDrops.counts),
      raftWorker: { ...this.worker.stats },
      snap: { ...this.ctx.snapMgr.stats },
      logGc: { ...this.ctx.logGc.stats },
      splitChecks: this.splitChecker.checks,
      deleteCompactions: this.deleteCompactor.compactions,
    };
  }

  /** The peer of a region on this store, if any (tests and tools). */
  peer(regionId: number): Peer | undefined {
    return this.ctx.router.get(regionId);
  }

  /** The key ranges of the initialized regions, in key order, as the store's range index has them. */
  rangeIndex(): ReturnType<StoreMeta['all']> {
    return this.ctx.meta.all();
  }

  /** The epoch and peer id a region had when its peer here was destroyed, if it was. */
  tombstone(regionId: number): { epoch: metapb.IRegionEpoch; peerId: number } | undefined {
    const t = this.ctx.meta.tombstones.get(regionId);
    return t && { epoch: t.epoch, peerId: t.peerId };
  }

  /** Where the files of a snapshot are: its meta and one file per data CF (tests damage them). */
  snapshotFiles(kind: SnapKind, key: SnapKey): { meta: string; cfs: { default: string; lock: string; write: string } } {
    const cf = (name: CfName): string => this.ctx.snapMgr.cfPath(kind, key, name);
    return { meta: this.ctx.snapMgr.metaPath(kind, key), cfs: { default: cf('default'), lock: cf('lock'), write: cf('write') } };
  }

  /** Resolves when every raft-log deletion scheduled so far has finished. */
  logGcIdle(): Promise<void> {
    return this.ctx.logGc.idle();
  }

  /**
   * Test hook: awaited before each batch a snapshot apply writes (a test injects a fault between
   * two batches); null removes it.
   */
  beforeSnapshotApplyBatch(hook: ((regionId: number, batch: number) => Promise<void> | void) | null): void {
    this.ctx.regionWorker.beforeApplyBatch = hook;
  }
}
