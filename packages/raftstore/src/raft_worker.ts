// RaftWorker: the store's single driver of raft state. Each round:
//   1. HandleMsg: drain the mailbox of every peer that has mail (raft messages, commands, ticks,
//      region-worker and transport results); a peer's writes of the round go to raft as ONE
//      merged entry and its reads under ONE read index (batch.ts);
//   2. HandleRaftReady: take the Ready of every such peer, send leader messages at once, stage all
//      peers' entries and hard states into ONE raft-engine batch, write it (fsync: group commit),
//      then send the messages that had to wait for persistence. A Ready carrying a snapshot is
//      accepted first (its kv part written and synced before the raft batch);
//   3. apply: stage every peer's committed writes and apply state into ONE kv batch, write it,
//      then answer proposals and serve reads whose read index is applied; advance every Ready;
//   4. hand work to the background: snapshots to apply or generate (region worker), compacted
//      log ranges to delete (raft-log GC worker). The raft worker never waits for either.
// Only the awaits on the batch writes yield the event loop inside a round; mail that arrives
// meanwhile waits for the next round, so raft state is never touched concurrently.
import { Engines } from '@tskv/engine';
import { raft_serverpb } from '@tskv/proto';
import { Message, Ready } from '@tskv/raft';
import { ApplyContext, SplitDone, applyEntries, newApplyContext } from './apply.js';
import { checkKeyInRegion, errorResponse, executeReads } from './cmd.js';
import { StoreConfig } from './config.js';
import { StoreError, TimeoutError } from './errors.js';
import { Logger } from './logger.js';
import { Peer, checkEpoch } from './peer.js';
import { RaftLogGcWorker } from './raft_log_gc.js';
import { RegionWorker } from './region_worker.js';
import { Router } from './router.js';
import { Transport } from './transport.js';
import type { StoreObserver } from './observer.js';

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
  readonly stats: RaftWorkerStats = { rounds: 0, raftWrites: 0, entriesPersisted: 0, entriesApplied: 0, snapshotsAccepted: 0, compactions: 0, proposals: 0 };
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

  /** One round over every peer with mail. Exposed for tests that drive the store step by step. */
  async round(): Promise<void> {
    const peers = this.router.takeWithMail();
    if (peers.length === 0) return;
    const t0 = performance.now();
    this.stats.rounds++;
    const proposalsBefore = this.stats.proposals;
    const persistedBefore = this.stats.entriesPersisted;
    for (const p of peers) this.handleMsgs(p);

    // ---- HandleRaftReady: persist ----
    const raftWb = this.engines.raft.writeBatch();
    const snapKvWb = this.engines.kv.writeBatch();
    const readies: [Peer, Ready][] = [];
    const accepted: Peer[] = [];
    let mustSync = false;
    for (const p of peers) {
      if (p.applyingSnapshot || !p.raw.hasReady()) continue;
      const rd = p.raw.ready();
      this.sendAll(p, rd.messages);
      if (rd.snapshot) {
        const data = raft_serverpb.RaftSnapshotData.decode(rd.snapshot.data);
        if (!data.region) throw new Error(`region ${p.regionId}: snapshot ${rd.snapshot.metadata.index} carries no region`);
        p.storage.acceptSnapshot(rd.snapshot, data.region, raftWb, snapKvWb);
        p.applyingSnapshot = { index: rd.snapshot.metadata.index, term: rd.snapshot.metadata.term };
        accepted.push(p);
      }
      if (rd.entries.length > 0) {
        p.storage.append(rd.entries, raftWb);
        this.stats.entriesPersisted += rd.entries.length;
      }
      if (rd.hardState) p.storage.setHardState(rd.hardState);
      if (rd.mustSync) {
        p.storage.saveRaftState(raftWb);
        p.raftStateDirty = false;
      } else if (rd.hardState) {
        // A new commit index alone: it needs no write of its own (a restart takes commit >=
        // applied and learns the rest from the leader). It goes with the peer's next raft write,
        // which keeps this round's apply (often the commit path of a client write) from waiting
        // for a raft-engine write.
        p.raftStateDirty = true;
      }
      if (rd.snapshot) p.storage.saveSnapshotRaftState(snapKvWb);
      mustSync ||= rd.mustSync;
      readies.push([p, rd]);
    }
    // Raft states left dirty (commit indexes) ride along when the round writes anyway.
    if (raftWb.count > 0) {
      for (const p of peers) {
        if (!p.raftStateDirty) continue;
        p.storage.saveRaftState(raftWb);
        p.raftStateDirty = false;
      }
    }
    if (snapKvWb.count > 0) await this.engines.kv.write(snapKvWb, { sync: true });
    let appendMs = 0;
    if (raftWb.count > 0) {
      const ta = performance.now();
      await this.engines.raft.write(raftWb, { sync: this.cfg.syncLog && mustSync });
      appendMs = performance.now() - ta;
      this.stats.raftWrites++;
    }
    for (const [p, rd] of readies) this.sendAll(p, rd.persistedMessages);

    // ---- apply ----
    const tApply = performance.now();
    const ctx = newApplyContext(this.engines.kv.writeBatch());
    for (const p of peers) this.applyDeferred(p, ctx);
    for (const [p, rd] of readies) {
      this.apply(p, rd.committedEntries, ctx);
      for (const rs of rd.readStates) p.onReadState(rs.index, rs.requestCtx);
      const light = p.raw.advance(rd);
      this.sendAll(p, light.messages);
      this.apply(p, light.committedEntries, ctx);
      if (light.commitIndex !== null) {
        p.storage.raftState.hardState.commit = light.commitIndex;
        p.raftStateDirty = true;
      }
    }
    for (const a of ctx.answers) a.cb(a.resp);
    if (ctx.kvWb.count > 0) await this.engines.kv.write(ctx.kvWb, { sync: ctx.syncKv });
    const applyMs = ctx.entriesApplied > 0 ? performance.now() - tApply : 0;
    this.stats.entriesApplied += ctx.entriesApplied;
    for (const [p] of readies) {
      p.raw.advanceApply();
      p.onRoleMaybeChanged();
      p.storage.trimCache(p.storage.applyState.appliedIndex);
      // A commit index alone (raftStateDirty) is saved by the next round of this peer that
      // writes the raft engine. Losing it in a crash is harmless: commit is re-learned.
    }
    for (const a of ctx.answersAfterWrite) a.cb(a.resp);
    // Every peer of the round: lease reads are queued while handling mail, without a Ready.
    for (const p of peers) this.serveReads(p);
    for (const p of peers) {
      if (p.outbox.length === 0) continue;
      for (const m of p.outbox) this.transport.send(m);
      p.outbox = [];
    }
    this.handOff(peers, accepted, ctx);
    // A removed peer goes once it is not the leader (raft steps a removed leader down only after
    // the new configuration knows the change committed) and no snapshot of it is being applied
    // (the apply's last write would bring the region state back from the tombstone).
    for (const p of peers) {
      if (p.pendingRemove && !p.isLeader() && !p.applyingSnapshot && this.onPeerRemoved) await this.onPeerRemoved(p);
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

  /** Committed entries wait while the peer's snapshot is being applied (they come after it). */
  private apply(p: Peer, ents: import('@tskv/raft').Entry[], ctx: ApplyContext): void {
    if (ents.length === 0) return;
    if (p.applyingSnapshot) p.deferredEntries.push(...ents);
    else applyEntries(p, ents, ctx, this.logger);
  }

  private applyDeferred(p: Peer, ctx: ApplyContext): void {
    if (p.applyingSnapshot || p.deferredEntries.length === 0) return;
    const ents = p.deferredEntries;
    p.deferredEntries = [];
    applyEntries(p, ents, ctx, this.logger);
  }

  /** After the round's writes: background work that needs the state they made durable. */
  private handOff(peers: Peer[], accepted: Peer[], ctx: ApplyContext): void {
    for (const sp of ctx.splits) this.onSplit?.(sp);
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
      if (p.storage.genState.status !== 'requested' || p.applyingSnapshot) continue;
      // The kv engine holds exactly the applied state now (this round's kv write has finished and
      // nothing else writes this region's data): the view taken here is the snapshot's content.
      const index = p.storage.applyState.appliedIndex;
      const term = p.storage.term(index);
      p.storage.genState = { status: 'generating' };
      this.regionWorker.generate({ region: structuredClone(p.region), index, term, kvSnap: this.engines.kv.snapshot() });
    }
  }

  private handleMsgs(p: Peer): void {
    const mail = p.mailbox.splice(0);
    for (const m of mail) {
      switch (m.kind) {
        case 'raft':
          p.stepRaftMessage(m.msg);
          break;
        case 'cmd':
          this.stats.proposals++;
          p.propose(m.req, m.cb);
          break;
        case 'tick':
          p.tick(this.cfg);
          break;
        case 'hibernate':
          p.onHibernateNotice(m.msg);
          break;
        case 'leaderStoreUnreachable':
          p.onLeaderStoreUnreachable(m.storeId, this.cfg);
          break;
        case 'raftLogGcTick':
          p.maybeCompactLog(this.cfg);
          break;
        case 'snapGenerated':
          p.storage.onSnapshotGenerated(m.snap);
          break;
        case 'snapApplied':
          if (p.applyingSnapshot?.index === m.index) p.applyingSnapshot = null;
          break;
        case 'snapMissing': {
          const g = p.storage.genState;
          if (g.status === 'ready' && g.snap.metadata.term === m.term && g.snap.metadata.index === m.index) p.storage.genState = { status: 'idle' };
          break;
        }
        case 'snapStatus':
          p.raw.reportSnapshot(m.toPeerId, m.ok ? 'finish' : 'failure');
          break;
        case 'unreachable':
          // Raft stops pipelining to the peer (probe state) until it answers again.
          if (p.isLeader()) p.raw.reportUnreachable(m.toPeerId);
          break;
        case 'gcPeer':
          p.onGcMessage(m.msg);
          break;
        default:
          break;
      }
    }
    // The round's writes as one raft entry, its reads under one read index.
    p.flushProposals();
  }

  private sendAll(p: Peer, msgs: Message[]): void {
    for (const m of msgs) {
      const rm = p.toRaftMessage(m);
      if (rm) this.transport.send(rm);
    }
  }

  private serveReads(p: Peer): void {
    if (p.applyingSnapshot) return;
    for (const r of p.takeReadsToServe()) {
      // The region may have split or changed since the read was accepted.
      try {
        checkEpoch(r.req, p.region);
        for (const q of r.req.requests ?? []) checkKeyInRegion(q, p.region);
      } catch (e) {
        if (!(e instanceof StoreError)) throw e;
        r.cb(errorResponse(e));
        continue;
      }
      const fail = (err: unknown): void => {
        this.logger.error('read failed', { regionId: p.regionId, err: String(err) });
        r.cb(errorResponse(new TimeoutError(`read failed: ${String(err)}`)));
      };
      let out: ReturnType<typeof executeReads>;
      try {
        out = executeReads(r.req, p.region, this.engines.kv);
      } catch (err) {
        fail(err);
        continue;
      }
      if (out instanceof Promise) out.then(r.cb, fail);
      else r.cb(out);
    }
  }
}
