// Store: hosts the region peers of one store over its engines, routes messages and commands to
// them, and runs the raft worker and the ticker.
import { join } from 'node:path';
import { RaftMessageDrops, malformedReason } from './raft_msg_filter.js';
import { Engines, applyStateKey, regionRaftPrefix, prefixEnd, regionStateKey, regionStateRange, snapshotRaftStateKey, storeIdentKey } from '@tskv/engine';
import { metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { StoreConfig } from './config.js';
import { errorResponse } from './cmd.js';
import { InvalidRequestError, RegionNotFoundError, TimeoutError } from './errors.js';
import { eraftpb } from '@tskv/proto';
import { Logger, createLogger } from './logger.js';
import { Peer } from './peer.js';
import { PeerStorage } from './peer_storage.js';
import { LogChecks, decodeRegionStateRecord } from './storage_check.js';
import { RaftLogGcWorker } from './raft_log_gc.js';
import { RaftWorker } from './raft_worker.js';
import { RegionWorker } from './region_worker.js';
import { Router } from './router.js';
import { StoreMeta } from './store_meta.js';
import { SplitCheckResult, SplitCheckWorker } from './split_check.js';
import type { SplitDone } from './apply.js';
import { RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM } from './peer_storage.js';
import { type SnapKey, SnapManager, SnapshotCorruptError, SnapshotNotFoundError, receiveSnapshotChunks, sendSnapshotChunks, snapKeyOf, snapKeyString } from './snap/index.js';
import { isNotFound } from './snap/fsutil.js';
import { RaftMessage, SchedulerClient, SchedulerOperator, SnapshotChunk, SnapshotEndpoint, Transport } from './transport.js';
import type { RegionStatus, StoreObserver } from './observer.js';

export type PeriodicJob = 'raftLogGc' | 'splitCheck' | 'schedulerHeartbeat' | 'snapGc';

export class Store implements SnapshotEndpoint {
  readonly router = new Router();
  /** Inbound raft messages refused before reaching a peer, by reason (metrics, tests). */
  readonly raftDrops = new RaftMessageDrops(() => this.logger);
  readonly worker: RaftWorker;
  readonly regionWorker: RegionWorker;
  readonly logGc: RaftLogGcWorker;
  readonly snapMgr: SnapManager;
  readonly meta = new StoreMeta();
  readonly splitChecker: SplitCheckWorker;
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
    this.worker.onRegionChanged = (p) => this.meta.setRegion(p.region);
    this.worker.onPeerRemoved = (p) => this.destroyPeer(p);
    this.worker.onSplit = (sp) => this.onSplit(sp);
    this.splitChecker = new SplitCheckWorker(cfg, engines, this.logger, (r) => void this.onSplitCheckResult(r));
    this.worker.onFatal = (e) => {
      // Memory may be ahead of disk: refuse everything until a restart rebuilds from disk.
      this.failed = e;
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      try {
        this.onFailed?.(e);
      } catch (err) {
        this.logger.error('store failure listener failed', { err: String(err) });
      }
    };
  }

  /** Set when the raft worker stopped on a failed write (e.g. a full disk). */
  failed: Error | null = null;
  /**
   * Told once when the store fails (`failed` is set): the process hosting it decides what to do
   * (tinykv-server exits for its supervisor to restart it; a restart rebuilds from disk).
   */
  onFailed: ((e: Error) => void) | null = null;

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
    const leftovers: metapb.IRegion[] = [];
    const logChecks = new LogChecks(); // the regions' log scans, concurrently (storage_check.ts)
    for (const [k, v] of await engines.kv.collect('raft', start, end)) {
      const st = decodeRegionStateRecord(k, v); // damaged: the store refuses to start (storage_check.ts)
      if (!st.region) continue;
      if (st.state === raft_serverpb.PeerState.Tombstone) {
        s.meta.tombstones.set(st.region.id!, { epoch: st.region.regionEpoch ?? {}, peerId: 0 });
        leftovers.push(st.region);
        continue;
      }
      const me = (st.region.peers ?? []).find((p) => p.storeId === cfg.storeId);
      if (!me) {
        // Removed by a change applied before a crash cut the destroy short: finish it.
        await s.writeTombstone(st.region);
        leftovers.push(st.region);
        continue;
      }
      const isApplying = st.state === raft_serverpb.PeerState.Applying;
      const ps = await PeerStorage.load(engines, st.region as metapb.IRegion, isApplying, logChecks);
      const peer = new Peer(cfg, ps, me.id!, s.logger);
      s.router.register(peer);
      s.meta.setRegion(ps.region);
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
    await logChecks.done(); // a damaged log: the store refuses to start
    // Data a destroy did not get to delete before a crash (unless a live region holds the range).
    for (const r of leftovers) {
      if (s.meta.overlapping(r.startKey ?? new Uint8Array(0), r.endKey ?? new Uint8Array(0)).length === 0) s.regionWorker.destroy(r);
    }
    s.logger.info('store loaded', { regions: s.router.size, applyingSnapshots: applying, tombstones: s.meta.tombstones.size });
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
    this.onPeriodic('splitCheck', () => this.scheduleSplitChecks());
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
    await Promise.all([this.regionWorker.stop(), this.logGc.stop(), this.splitChecker.stop()]);
    for (const p of this.router.all()) p.failAll(new TimeoutError(`store ${this.cfg.storeId} stopped`));
  }

  // ---- split ----

  /** Leaders of regions that grew by enough since their last check get measured. */
  private scheduleSplitChecks(): void {
    const diff = this.cfg.regionSplitCheckDiff || Math.max(1, Math.floor(this.cfg.regionSplitSize / 16));
    for (const p of this.router.all()) {
      if (!p.isLeader() || !p.isInitialized() || p.applyingSnapshot) continue;
      // A region near the limit is checked again as soon as enough was written to cross it.
      const due = p.approximateSize > 0 ? Math.min(diff, Math.max(1, this.cfg.regionMaxSize - p.approximateSize)) : diff;
      if (p.sizeDiffHint < due) continue;
      p.sizeDiffHint = 0;
      this.splitChecker.schedule(structuredClone(p.region));
    }
  }

  /** A split check's answer: record the size; if the region must split, ask for ids and propose. */
  private async onSplitCheckResult(r: SplitCheckResult): Promise<void> {
    const p = this.router.get(r.region.id!);
    if (!p) return;
    p.approximateSize = r.size;
    p.approximateKeys = r.keys;
    if (r.splitKeys.length === 0 || !this.scheduler.askBatchSplit) return;
    // Until a split lands, keep the region due for another check (no write may come to ask again).
    p.sizeDiffHint = Number.MAX_SAFE_INTEGER;
    if (!p.isLeader()) return;
    try {
      const ids = await this.scheduler.askBatchSplit(r.region, r.splitKeys.length);
      const requests = r.splitKeys.map((splitKey, i) => ({ splitKey, newRegionId: ids[i]!.newRegionId, newPeerIds: ids[i]!.newPeerIds }));
      const resp = await this.call({
        header: { regionId: r.region.id, peer: p.metaPeer(), regionEpoch: r.region.regionEpoch },
        adminRequest: { cmdType: raft_cmdpb.AdminCmdType.BatchSplit, splits: { requests } },
      });
      if (resp.header?.error) this.logger.info('split not done', { regionId: r.region.id, err: resp.header.error.message });
      else p.sizeDiffHint = 0;
    } catch (e) {
      this.logger.debug('split not done', { regionId: r.region.id, err: String(e) });
    }
  }

  /**
   * A split was applied and written: the region's range shrank and the new regions' peers on this
   * store start (initialized, log at the bootstrap position). A new region's peer that already
   * exists uninitialized (its region elected a leader elsewhere first) keeps its hard state; one
   * destroyed here already (tombstone) is not re-created and its data goes.
   */
  private onSplit(sp: SplitDone): void {
    this.meta.setRegion(sp.derived);
    const wasLeader = sp.peer.isLeader();
    for (const r of sp.regions) {
      const id = r.id!;
      const me = (r.peers ?? []).find((x) => x.storeId === this.cfg.storeId);
      if (!me) continue;
      const existing = this.router.get(id);
      if (existing?.isInitialized()) {
        this.logger.warn('split: new region already initialized here', { regionId: id });
        continue;
      }
      const t = this.meta.tombstones.get(id);
      if (t) {
        this.logger.info('split: new region was destroyed here already', { regionId: id });
        this.regionWorker.destroy(r);
        continue;
      }
      const hs = existing ? existing.storage.raftState.hardState : { term: 0, vote: 0, commit: 0 };
      const raftState = {
        hardState: hs.term > RAFT_INIT_LOG_TERM ? { ...hs, commit: Math.max(hs.commit, RAFT_INIT_LOG_INDEX) } : { term: RAFT_INIT_LOG_TERM, vote: 0, commit: RAFT_INIT_LOG_INDEX },
        lastIndex: RAFT_INIT_LOG_INDEX,
        lastTerm: RAFT_INIT_LOG_TERM,
      };
      const ps = new PeerStorage(this.engines, r, raftState, { appliedIndex: RAFT_INIT_LOG_INDEX, truncatedIndex: RAFT_INIT_LOG_INDEX, truncatedTerm: RAFT_INIT_LOG_TERM });
      if (existing) {
        this.router.unregister(id);
        existing.failAll(new RegionNotFoundError(id));
      }
      const peer = new Peer(this.cfg, ps, me.id!, this.logger);
      this.router.register(peer);
      this.meta.setRegion(r);
      // The old region's leader store elects the new regions at once instead of after a timeout.
      if (wasLeader) peer.raw.campaign();
      this.router.send(id, { kind: 'tick' });
    }
    if (wasLeader) this.scheduler.reportBatchSplit?.([sp.derived, ...sp.regions]);
  }

  // ---- snapshots on the wire (the transport calls these) ----

  /**
   * The chunks of a MsgSnapshot this store sends: the message, then its files. If the files are
   * gone, the peer drops that snapshot so that raft's next request generates a new one (otherwise
   * it would offer the same missing snapshot to every follower until its log moves on, and a
   * region whose quorum needs that follower would never move on).
   */
  async *snapshotChunks(msg: RaftMessage): AsyncGenerator<SnapshotChunk> {
    try {
      yield* sendSnapshotChunks(this.snapMgr, msg, { chunkBytes: this.cfg.snapChunkBytes });
    } catch (e) {
      // Damaged on disk (the sender checks every file's checksum as it reads it) is handled like
      // missing: its files are removed, the snapshot dropped and generated again.
      if (e instanceof SnapshotNotFoundError || e instanceof SnapshotCorruptError || isNotFound(e)) {
        const { term, index } = snapKeyOf(msg);
        this.logger.warn('snapshot files missing or damaged: it will be generated again', { regionId: msg.regionId, term, index, err: String(e) });
        if (msg.regionId) this.router.send(msg.regionId, { kind: 'snapMissing', term, index });
      }
      throw e;
    }
  }

  /** Receives a snapshot stream; once its files are complete and verified, steps its message. */
  async receiveSnapshot(chunks: AsyncIterable<SnapshotChunk>): Promise<void> {
    if (this.stopped || this.failed) throw new Error(`store ${this.cfg.storeId} is not running`);
    const msg = await receiveSnapshotChunks(this.snapMgr, chunks);
    this.onRaftMessage(msg);
  }

  /**
   * The transport could not deliver a message to `toPeerId` (its store is unreachable): the
   * region's leader stops optimistic pipelining to it and probes instead. Cheap, never wakes a
   * hibernating peer; transports should report each (region, peer) once per burst of drops.
   */
  reportUnreachable(regionId: number, toPeerId: number): void {
    if (this.stopped || this.failed || !regionId || !toPeerId) return;
    this.router.send(regionId, { kind: 'unreachable', toPeerId });
  }

  /**
   * The transport lost its connection to a store (the stream to it broke, or connecting failed):
   * that store may be down. Followers of hibernating regions tick no election timer, so nothing
   * else would tell them that their leader died with it: those whose leader is there (or who know
   * none) wake and elect a new one without waiting (Peer.onLeaderStoreUnreachable). If the leader
   * is alive after all, their first (pre-)vote request wakes it too. Leaders, and followers of
   * leaders elsewhere, sleep on. Only peers asleep now get the message: whatever wakes one later
   * (its leader's next message) comes after it in the mailbox. One pass over the peers; transports
   * report each failed connection or connect, not each message.
   */
  reportStoreUnreachable(storeId: number): void {
    if (this.stopped || this.failed || !storeId || storeId === this.cfg.storeId) return;
    let woken = 0;
    for (const p of this.router.all()) {
      if (!p.hibernating || p.isLeader()) continue;
      const leader = p.leaderPeer();
      if (leader && leader.storeId !== storeId) continue;
      this.router.send(p.regionId, { kind: 'leaderStoreUnreachable', storeId });
      woken++;
    }
    if (woken > 0) this.logger.info('store unreachable: woke hibernating followers of its leaders', { toStore: storeId, woken });
  }

  /** Installs (or removes, with null) the metrics observer of the raft worker. */
  observe(observer: StoreObserver | null): void {
    this.worker.observer = observer;
  }

  /** Every region this store has a peer of, as it stands now (status pages, tools). */
  regionStatus(): RegionStatus[] {
    const out: RegionStatus[] = [];
    for (const p of this.router.all()) {
      const raft = p.raw.raft;
      out.push({
        regionId: p.regionId,
        peerId: p.peerId,
        region: p.region,
        leader: p.leaderPeer(),
        isLeader: p.isLeader(),
        term: raft.term,
        commitIndex: raft.raftLog.committed,
        appliedIndex: p.storage.applyState.appliedIndex,
        truncatedIndex: p.storage.applyState.truncatedIndex,
        hibernating: p.hibernating,
        applyingSnapshot: p.applyingSnapshot !== null,
      });
    }
    return out;
  }

  /** Tells the sending peer's raft whether its snapshot got through (raft then resumes). */
  reportSnapshotStatus(regionId: number, toPeerId: number, ok: boolean): void {
    if (this.stopped || this.failed) return;
    this.router.send(regionId, { kind: 'snapStatus', toPeerId, ok });
  }

  /**
   * Deletes snapshot files nobody uses: not being sent, received or applied, and not current.
   * What is current is asked at each file, not once before the scan: a snapshot generated during
   * the GC's awaits becomes its peer's current one (and while the peer is still generating, the
   * finished files wait in the mailbox's snapGenerated). Deleting it would leave the peer handing
   * out a snapshot whose files are gone.
   */
  private async collectSnapshots(): Promise<void> {
    const wanted = (key: SnapKey): boolean => {
      const g = this.router.get(key.regionId)?.storage.genState;
      if (g?.status === 'generating') return true;
      return g?.status === 'ready' && g.snap.metadata.term === key.term && g.snap.metadata.index === key.index;
    };
    try {
      await this.snapMgr.gc((kind, key) => kind === 'gen' && wanted(key));
    } catch (e) {
      this.logger.warn('snapshot gc failed', { err: String(e) });
    }
  }

  get storeId(): number {
    return this.cfg.storeId;
  }

  /** A raft message from another store (the transport calls this). */
  onRaftMessage(msg: RaftMessage): void {
    if (this.stopped || this.failed) return;
    const bad = malformedReason(msg, this.cfg.storeId);
    if (bad) return this.raftDrops.drop(bad.reason, msg, bad.detail);
    const regionId = msg.regionId!;
    if (msg.isTombstone) {
      this.router.send(regionId, { kind: 'gcPeer', msg });
      return;
    }
    if (msg.hibernate) {
      this.router.send(regionId, { kind: 'hibernate', msg });
      return;
    }
    const peer = this.router.get(regionId);
    if (!peer) {
      this.maybeCreatePeer(msg);
      return;
    }
    // A sender left out of a newer membership of the region missed its removal: tell it.
    const from = msg.fromPeer;
    if (from?.id && peer.isInitialized() && !peer.isMember(from.id) && (msg.regionEpoch?.confVer ?? 0) < (peer.region.regionEpoch?.confVer ?? 0)) {
      this.transport.send({ regionId, fromPeer: peer.metaPeer(), toPeer: from, regionEpoch: peer.region.regionEpoch, isTombstone: true });
      return;
    }
    // A sender outside the membership with the same conf version cannot be a member we have not
    // heard of yet (that membership would have a newer conf version): a bogus or mis-routed sender.
    // Stepping it could make raft follow a leader that is not one.
    if (from?.id && peer.isInitialized() && !peer.isMember(from.id) && (msg.regionEpoch?.confVer ?? 0) === (peer.region.regionEpoch?.confVer ?? 0)) {
      return this.raftDrops.drop('not_member', msg, `peer ${from.id} is not in conf version ${peer.region.regionEpoch?.confVer ?? 0}`);
    }
    const to = msg.toPeer?.id ?? 0;
    if (to !== peer.peerId) {
      // Peer ids only grow and a store holds one peer of a region: a message for a newer peer
      // here, from a newer membership, means this store's peer was removed and missed it (often
      // one removed before its first snapshot: uninitialized, it never campaigns and nobody tells
      // it). It goes, and the sender's next message creates the new peer; until then the new
      // peer's messages would all be dropped. A message for an older peer is stale.
      if (to > peer.peerId && (!peer.isInitialized() || (msg.regionEpoch?.confVer ?? 0) > (peer.region.regionEpoch?.confVer ?? 0))) {
        if (!peer.pendingRemove) this.logger.info('a message for a newer peer of the region: this one was removed', { regionId, peerId: peer.peerId, newPeerId: to });
        this.router.send(regionId, { kind: 'gcPeer', msg: { regionId, toPeer: peer.metaPeer(), regionEpoch: msg.regionEpoch, isTombstone: true } });
      } else {
        this.raftDrops.drop('stale_peer', msg, `for peer ${to}, this store's peer is ${peer.peerId}`);
      }
      return;
    }
    if (msg.message?.msgType === eraftpb.MessageType.MsgSnapshot && !this.snapshotFits(regionId, msg)) return;
    this.router.send(regionId, { kind: 'raft', msg });
  }

  /** A snapshot whose range overlaps another region on this store would corrupt both: drop it. */
  private snapshotFits(regionId: number, msg: RaftMessage): boolean {
    let region: metapb.IRegion | null | undefined;
    try {
      region = raft_serverpb.RaftSnapshotData.decode(msg.message?.snapshot?.data ?? new Uint8Array(0)).region;
    } catch {
      region = null;
    }
    if (!region) {
      this.logger.warn('snapshot message without a region dropped', { regionId });
      return false;
    }
    const clash = this.meta.overlapping(region.startKey ?? new Uint8Array(0), region.endKey ?? new Uint8Array(0)).filter((id) => id !== regionId);
    if (clash.length > 0) {
      this.logger.info('snapshot overlapping other regions dropped', { regionId, overlaps: clash.join(',') });
      return false;
    }
    return true;
  }

  /**
   * A message for a region this store has no peer of: a peer added by a membership change (or a
   * split elsewhere) being contacted. It is created, uninitialized until its first snapshot,
   * unless the message is stale (this store's peer of the region was destroyed under a newer
   * membership), is not one that starts a peer, or the region's range overlaps one here.
   */
  private maybeCreatePeer(msg: RaftMessage): void {
    const regionId = msg.regionId!;
    const to = msg.toPeer;
    const T = eraftpb.MessageType;
    const type = msg.message?.msgType;
    if (!to?.id || to.storeId !== this.cfg.storeId) return this.raftDrops.drop('store_mismatch', msg, 'no target peer on this store');
    if (type !== T.MsgHeartbeat && type !== T.MsgAppend && type !== T.MsgSnapshot && type !== T.MsgRequestVote && type !== T.MsgRequestPreVote) {
      return this.raftDrops.drop('no_peer', msg, `message type ${String(type)} does not start a peer`);
    }
    const t = this.meta.tombstones.get(regionId);
    // Destroyed here: only a newer membership may bring the region back. (Not "only as a newer
    // peer id": TinyKV's scenarios re-add a removed peer under its old id.)
    if (t && (msg.regionEpoch?.confVer ?? 0) <= (t.epoch.confVer ?? 0)) {
      return this.raftDrops.drop('stale_peer', msg, `region destroyed here (peer ${t.peerId}, conf version ${t.epoch.confVer ?? 0})`);
    }
    const start = msg.startKey ?? new Uint8Array(0);
    const end = msg.endKey ?? new Uint8Array(0);
    if (this.meta.overlapping(start, end).length > 0) {
      return this.raftDrops.drop('no_peer', msg, 'the new region overlaps a region here');
    }
    const ps = PeerStorage.uninitialized(this.engines, regionId);
    const peer = new Peer(this.cfg, ps, to.id, this.logger);
    this.router.register(peer);
    this.logger.info('peer created by a message', { regionId, peerId: to.id, from: msg.fromPeer?.id });
    this.router.send(regionId, { kind: 'raft', msg });
  }

  /**
   * Destroys a removed peer: no more mail, a tombstone on disk (stale messages are dropped), its
   * raft state and log deleted, its data deleted in the background.
   */
  async destroyPeer(p: Peer): Promise<void> {
    if (this.router.get(p.regionId) !== p) return;
    this.router.unregister(p.regionId);
    p.failAll(new RegionNotFoundError(p.regionId));
    const region = p.region;
    if (p.isInitialized()) this.meta.removeRegion(p.regionId);
    this.meta.tombstones.set(p.regionId, { epoch: region.regionEpoch ?? {}, peerId: p.peerId });
    await this.writeTombstone(region);
    if (p.isInitialized()) this.regionWorker.destroy(region);
    this.logger.info('peer destroyed', { regionId: p.regionId, peerId: p.peerId, confVer: region.regionEpoch?.confVer });
  }

  private async writeTombstone(region: metapb.IRegion): Promise<void> {
    const id = region.id!;
    const kvWb = this.engines.kv.writeBatch();
    kvWb.put('raft', regionStateKey(id), raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Tombstone, region }).finish());
    kvWb.delete('raft', applyStateKey(id));
    kvWb.delete('raft', snapshotRaftStateKey(id));
    await this.engines.kv.write(kvWb, { sync: true });
    const prefix = regionRaftPrefix(id);
    await this.engines.raft.deleteRange('raft', prefix, prefixEnd(prefix));
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

  /** How many of this store's peers are hibernating (observability, tests). */
  hibernatingPeers(): number {
    let n = 0;
    for (const p of this.router.all()) if (p.hibernating) n++;
    return n;
  }

  /** The peer of a region on this store, if any (tests and tools). */
  peer(regionId: number): Peer | undefined {
    return this.router.get(regionId);
  }

  private heartbeatRegions(): void {
    let leaders = 0;
    for (const p of this.router.all()) {
      if (!p.isLeader()) continue;
      leaders++;
      const region = p.region;
      const leader = p.metaPeer();
      const stats = { pendingPeers: p.pendingPeers(), approximateSize: p.approximateSize, approximateKeys: p.approximateKeys };
      Promise.resolve(this.scheduler.regionHeartbeat(region, leader, stats))
        .then((op) => {
          if (op) void this.runOperator(region, leader, op);
        })
        .catch((e: unknown) => this.logger.debug('region heartbeat failed', { regionId: region.id, err: String(e) }));
    }
    void this.heartbeatStore(leaders);
    void this.checkLeaderMissing();
  }

  private async heartbeatStore(leaderCount: number): Promise<void> {
    if (!this.scheduler.storeHeartbeat) return;
    let applying = 0;
    for (const p of this.router.all()) if (p.applyingSnapshot) applying++;
    try {
      await this.scheduler.storeHeartbeat({
        storeId: this.cfg.storeId,
        regionCount: this.router.size,
        leaderCount,
        hibernatingCount: this.hibernatingPeers(),
        applyingSnapshotCount: applying,
        snapshotBytes: await this.snapMgr.totalSize(),
      });
    } catch (e) {
      this.logger.debug('store heartbeat failed', { err: String(e) });
    }
  }

  /**
   * A peer cut off from its region's other members for a long time may have been removed without
   * anyone able to tell it (no member of the newer membership reaches it): it asks the scheduler.
   */
  private async checkLeaderMissing(): Promise<void> {
    if (!this.scheduler.getRegionById) return;
    const now = performance.now();
    for (const p of [...this.router.all()]) {
      // Hibernating followers do not tick (their leader may be gone unnoticed): they ask too.
      if (p.hibernating && !p.isLeader() && p.leaderMissingSince === 0) p.leaderMissingSince = now;
      if (p.leaderMissingSince === 0 || now - p.leaderMissingSince < this.cfg.maxLeaderMissingMs) continue;
      p.leaderMissingSince = now; // ask again only after another period
      try {
        const info = await this.scheduler.getRegionById(p.regionId);
        if (!info) continue;
        const theirs = info.region.regionEpoch?.confVer ?? 0;
        const ours = p.region.regionEpoch?.confVer ?? 0;
        if (theirs > ours && !(info.region.peers ?? []).some((x) => x.id === p.peerId)) {
          this.logger.info('the scheduler says this peer was removed: destroying', { regionId: p.regionId, peerId: p.peerId, theirConfVer: theirs, ourConfVer: ours });
          this.router.send(p.regionId, { kind: 'gcPeer', msg: { regionId: p.regionId, toPeer: p.metaPeer(), regionEpoch: info.region.regionEpoch, isTombstone: true } });
        }
      } catch (e) {
        this.logger.debug('region lookup failed', { regionId: p.regionId, err: String(e) });
      }
    }
  }

  /** Carries out a scheduler operator by proposing its admin command on the region's leader. */
  private async runOperator(region: metapb.IRegion, leader: metapb.IPeer, op: SchedulerOperator): Promise<void> {
    const T = raft_cmdpb.AdminCmdType;
    const adminRequest: raft_cmdpb.IAdminRequest = op.transferLeader
      ? { cmdType: T.TransferLeader, transferLeader: op.transferLeader }
      : op.changePeerV2
        ? { cmdType: T.ChangePeerV2, changePeerV2: op.changePeerV2 }
        : { cmdType: T.ChangePeer, changePeer: op.changePeer };
    const resp = await this.call({ header: { regionId: region.id, peer: leader, regionEpoch: region.regionEpoch }, adminRequest });
    if (resp.header?.error) this.logger.debug('operator not carried out', { regionId: region.id, err: resp.header.error.message });
  }
}
