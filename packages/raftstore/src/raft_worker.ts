// RaftWorker: the store's single driver of raft state. It owns the batching; every peer does its
// own part (peer.ts). Each round, over the peers that have mail:
//   1. HandleMsg (Peer.handleMail): each peer handles its mail (raft messages, commands, ticks,
//      region-worker and transport results); its writes of the round go to raft as ONE merged
//      entry and its reads under ONE read index (batch.ts);
//   2. HandleRaftReady (Peer.collectReady): each peer sends its leader messages at once and
//      stages its accepted snapshot, entries and hard state; the worker writes ALL peers' raft
//      state in ONE raft-engine batch (fsync: group commit), after the kv part of any snapshot
//      acceptance (written and synced first);
//   3. apply (Peer.afterPersist): each peer sends the messages that had to wait for persistence
//      and stages its committed writes and apply state into ONE kv batch, which the worker
//      writes; it answers proposals; each peer advances (Peer.afterApply) and serves the reads
//      whose read index is applied (Peer.serveReads);
//   4. hand work to the background: snapshots to apply or generate (region worker), compacted
//      log ranges to delete (raft-log GC worker). The raft worker never waits for either.
// Only the awaits on the batch writes yield the event loop inside a round; mail that arrives
// meanwhile waits for the next round, so raft state is never touched concurrently.
import type { Engines } from '@tskv/engine';
import type { Ready } from '@tskv/raft';
import { type ApplyContext, newApplyContext, type SplitDone } from './apply.js';
import type { StoreConfig } from './config.js';
import { TimeoutError } from './errors.js';
import type { Logger } from './logger.js';
import type { StoreObserver } from './observer.js';
import type { Peer, ReadyContext } from './peer.js';
import type { RaftLogGcWorker } from './raft_log_gc.js';
import type { RegionWorker } from './region_worker.js';
import type { Router } from './router.js';
import { type RangeClashes, SnapshotAdmission } from './snapshot_admission.js';
import type { Transport } from './transport.js';

export interface RaftWorkerStats {
  rounds: number;
  raftWrites: number;
  entriesPersisted: number;
  entriesApplied: number;
  snapshotsAccepted: number;
  compactions: number;
  /** Commands taken from mailboxes (client and admin, reads included). */
  proposals: number;
}

export class RaftWorker {
  private running = false;
  private loop: Promise<void> | null = null;
  readonly stats: RaftWorkerStats = {
    rounds: 0,
    raftWrites: 0,
    entriesPersisted: 0,
    entriesApplied: 0,
    snapshotsAccepted: 0,
    compactions: 0,
    proposals: 0,
  };
  /** Told about every round (metrics); see StoreObserver. */
  observer: StoreObserver | null = null;
  /** Set when a batch write failed: the store stops rather than acknowledge anything unsafely. */
  fatal: Error | null = null;
  /** Told once when the worker stops on a fatal error (the store then refuses new work). */
  onFatal: ((e: Error) => void) | null = null;
  /** The store's part after a round: region ranges moved (snapshot), peers removed. */
  onRegionChanged: ((p: Peer) => void) | null = null;
  onPeerRemoved: ((p: Peer) => Promise<void>) | null = null;
  onSplit: ((s: SplitDone) => void) | null = null;
  /** Keys deleted per region by the round just written. */
  onDeletes: ((deletes: ReadonlyMap<number, number>) => void) | null = null;
  /** The store's range index, against which the snapshots of a round are checked (SnapshotAdmission). */
  rangeClashes: RangeClashes | null = null;

  constructor(
    private readonly cfg: StoreConfig,
    private readonly engines: Engines,
    private readonly router: Router,
    private readonly transport: Transport,
    private readonly regionWorker: RegionWorker,
    private readonly logGc: RaftLogGcWorker,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.router.notify();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.router.waitForMail();
      if (!this.running) break;
      try {
        await this.round();
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /**
   * Stops for good: a failed raft or kv write (here or in the region worker) leaves memory ahead
   * of disk, and continuing could acknowledge writes that are not durable. A restart rebuilds
   * every peer from disk.
   */
  fail(e: Error): void {
    if (this.fatal) return;
    this.fatal = e;
    this.logger.error('raft worker stopped after a fatal error', { err: e.message });
    this.running = false;
    for (const p of this.router.all()) p.failAll(new TimeoutError(`store ${this.cfg.storeId} failed: ${e.message}`));
    this.router.takeWithMail();
    this.router.notify();
    this.onFatal?.(e);
  }

  /**
   * One round over every peer with mail. Exposed for tests that drive the store step by step.
   * Each peer does its own part (Peer: handleMail, collectReady, afterPersist, afterApply,
   * serveReads); the round batches: one raft-engine write for every peer's Ready, one kv write
   * for every peer's apply, then the answers and the background hand-offs.
   */
  async round(): Promise<void> {
    const peers = this.router.takeWithMail();
    if (peers.length === 0) return;
    const t0 = performance.now();
    this.stats.rounds++;
    const proposalsBefore = this.stats.proposals;
    const persistedBefore = this.stats.entriesPersisted;
    const snapshots = new SnapshotAdmission(this.rangeClashes);
    for (const p of peers) this.stats.proposals += p.handleMail(snapshots);

    // ---- HandleRaftReady: persist ----
    const rc: ReadyContext = { raftWb: this.engines.raft.writeBatch(), snapKvWb: this.engines.kv.writeBatch(), transport: this.transport };
    const readies: [Peer, Ready][] = [];
    const accepted: Peer[] = [];
    let mustSync = false;
    for (const p of peers) {
      const rd = p.collectReady(rc);
      if (!rd) continue;
      this.stats.entriesPersisted += rd.entries.length;
      if (rd.snapshot) accepted.push(p);
      mustSync ||= rd.mustSync;
      readies.push([p, rd]);
    }
    if (rc.snapKvWb.count > 0) await this.engines.kv.write(rc.snapKvWb, { sync: true });
    let appendMs = 0;
    if (rc.raftWb.count > 0) {
      const ta = performance.now();
      await this.engines.raft.write(rc.raftWb, { sync: this.cfg.syncLog && mustSync });
      appendMs = performance.now() - ta;
      this.stats.raftWrites++;
    }

    // ---- apply ----
    const tApply = performance.now();
    const ctx = newApplyContext(this.engines.kv.writeBatch());
    for (const p of peers) p.applyDeferredEntries(ctx);
    for (const [p, rd] of readies) p.afterPersist(rd, ctx, this.transport);
    for (const a of ctx.answers) a.cb(a.resp);
    if (ctx.kvWb.count > 0) await this.engines.kv.write(ctx.kvWb, { sync: ctx.syncKv });
    const applyMs = ctx.entriesApplied > 0 ? performance.now() - tApply : 0;
    this.stats.entriesApplied += ctx.entriesApplied;
    for (const [p] of readies) p.afterApply();
    for (const a of ctx.answersAfterWrite) a.cb(a.resp);
    // Every peer of the round: lease reads are queued while handling mail, without a Ready.
    for (const p of peers) p.serveReads();
    for (const p of peers) p.flushOutbox(this.transport);
    this.handOff(peers, accepted, ctx);
    for (const p of peers) {
      if (p.isReadyToDestroy() && this.onPeerRemoved) await this.onPeerRemoved(p);
    }
    if (this.observer?.onRound) {
      try {
        this.observer.onRound({
          durationMs: performance.now() - t0,
          appendMs,
          applyMs,
          proposals: this.stats.proposals - proposalsBefore,
          entriesPersisted: this.stats.entriesPersisted - persistedBefore,
          entriesApplied: ctx.entriesApplied,
        });
      } catch (e) {
        this.logger.warn('store observer failed', { err: String(e) });
      }
    }
  }

  /** After the round's writes: background work that needs the state they made durable. */
  private handOff(peers: Peer[], accepted: Peer[], ctx: ApplyContext): void {
    for (const sp of ctx.splits) this.onSplit?.(sp);
    if (ctx.deletes.size > 0) this.onDeletes?.(ctx.deletes);
    for (const c of ctx.compactions) {
      c.peer.storage.onCompacted(c.index, c.oldTruncated);
      this.logGc.schedule(c.peer.regionId, c.oldTruncated + 1, c.index + 1);
      this.stats.compactions++;
    }
    for (const p of accepted) {
      const s = p.applyingSnapshot!;
      this.stats.snapshotsAccepted++;
      this.onRegionChanged?.(p);
      this.regionWorker.apply({ region: p.region, key: { regionId: p.regionId, term: s.term, index: s.index } });
    }
    for (const p of peers) {
      const task = p.takeSnapshotToGenerate();
      if (task) this.regionWorker.generate({ ...task, kvSnap: this.engines.kv.snapshot() });
    }
  }
}
