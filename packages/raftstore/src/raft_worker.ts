// RaftWorker: the store's single driver of raft state. Each round:
//   1. HandleMsg: drain the mailbox of every peer that has mail (raft messages, commands, ticks);
//   2. HandleRaftReady: take the Ready of every such peer, send leader messages at once, stage all
//      peers' entries and hard states into ONE raft-engine batch, write it (fsync: group commit),
//      then send the messages that had to wait for persistence;
//   3. apply: stage every peer's committed writes and apply state into ONE kv batch, write it,
//      then answer proposals and serve reads whose read index is applied; advance every Ready.
// Only the awaits on the two batch writes yield the event loop inside a round; mail that arrives
// meanwhile waits for the next round, so raft state is never touched concurrently.
import { Engines, WriteBatch } from '@tskv/engine';
import { raft_cmdpb } from '@tskv/proto';
import { Entry, EntryType, LightReady, Message, Ready } from '@tskv/raft';
import { applyWrites, errorResponse, executeReads } from './cmd.js';
import { StoreConfig } from './config.js';
import { EpochNotMatchError, StoreError, TimeoutError } from './errors.js';
import { Logger } from './logger.js';
import { CmdCallback } from './msg.js';
import { Peer, checkEpoch } from './peer.js';
import { Router } from './router.js';
import { Transport } from './transport.js';

interface Answer {
  cb: CmdCallback;
  resp: raft_cmdpb.IRaftCmdResponse;
}

export interface RaftWorkerStats {
  rounds: number;
  raftWrites: number;
  entriesPersisted: number;
  entriesApplied: number;
}

export class RaftWorker {
  private running = false;
  private loop: Promise<void> | null = null;
  readonly stats: RaftWorkerStats = { rounds: 0, raftWrites: 0, entriesPersisted: 0, entriesApplied: 0 };
  /** Set when a batch write failed: the store stops rather than acknowledge anything unsafely. */
  fatal: Error | null = null;
  /** Told once when the worker stops on a fatal error (the store then refuses new work). */
  onFatal: ((e: Error) => void) | null = null;

  constructor(
    private readonly cfg: StoreConfig,
    private readonly engines: Engines,
    private readonly router: Router,
    private readonly transport: Transport,
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
        // A failed raft or kv write leaves memory ahead of disk: continuing could acknowledge
        // writes that are not durable. Stop; a restart rebuilds every peer from disk.
        this.fatal = e instanceof Error ? e : new Error(String(e));
        this.logger.error('raft worker stopped after a fatal error', { err: this.fatal.message });
        this.running = false;
        for (const p of this.router.all()) {
          p.failAll(new TimeoutError(`store ${this.cfg.storeId} failed: ${this.fatal.message}`));
        }
        this.router.takeWithMail();
        this.onFatal?.(this.fatal);
      }
    }
  }

  /** One round over every peer with mail. Exposed for tests that drive the store step by step. */
  async round(): Promise<void> {
    const peers = this.router.takeWithMail();
    if (peers.length === 0) return;
    this.stats.rounds++;
    for (const p of peers) this.handleMsgs(p);

    // ---- HandleRaftReady: persist ----
    const raftWb = this.engines.raft.writeBatch();
    const readies: [Peer, Ready][] = [];
    let mustSync = false;
    for (const p of peers) {
      if (p.raftStateDirty) {
        p.storage.saveRaftState(raftWb);
        p.raftStateDirty = false;
      }
      if (!p.raw.hasReady()) continue;
      const rd = p.raw.ready();
      this.sendAll(p, rd.messages);
      if (rd.snapshot) throw new Error(`region ${p.regionId}: snapshot application is not available yet`);
      if (rd.entries.length > 0) {
        p.storage.append(rd.entries, raftWb);
        this.stats.entriesPersisted += rd.entries.length;
      }
      if (rd.hardState) p.storage.setHardState(rd.hardState);
      if (rd.entries.length > 0 || rd.hardState) p.storage.saveRaftState(raftWb);
      mustSync ||= rd.mustSync;
      readies.push([p, rd]);
    }
    if (raftWb.count > 0) {
      await this.engines.raft.write(raftWb, { sync: this.cfg.syncLog && mustSync });
      this.stats.raftWrites++;
    }
    for (const [p, rd] of readies) this.sendAll(p, rd.persistedMessages);

    // ---- apply ----
    const kvWb = this.engines.kv.writeBatch();
    const answers: Answer[] = [];
    const lights: [Peer, LightReady][] = [];
    for (const [p, rd] of readies) {
      this.applyEntries(p, rd.committedEntries, kvWb, answers);
      for (const rs of rd.readStates) p.onReadState(rs.index, rs.requestCtx);
      const light = p.raw.advance(rd);
      this.sendAll(p, light.messages);
      this.applyEntries(p, light.committedEntries, kvWb, answers);
      if (light.commitIndex !== null) {
        p.storage.raftState.hardState.commit = light.commitIndex;
        p.raftStateDirty = true;
      }
      lights.push([p, light]);
    }
    if (kvWb.count > 0) await this.engines.kv.write(kvWb, { sync: false });
    for (const [p] of lights) {
      p.raw.advanceApply();
      p.onRoleMaybeChanged();
      p.storage.trimCache(p.storage.applyState.appliedIndex);
      // A LightReady's commit index (raftStateDirty) is saved by the next round that touches
      // this peer; ticks guarantee one. Losing it in a crash is harmless: commit is re-learned.
    }
    for (const a of answers) a.cb(a.resp);
    // Every peer of the round: lease reads are queued while handling mail, without a Ready.
    for (const p of peers) this.serveReads(p);
  }

  private handleMsgs(p: Peer): void {
    const mail = p.mailbox.splice(0);
    for (const m of mail) {
      switch (m.kind) {
        case 'raft':
          p.stepRaftMessage(m.msg);
          break;
        case 'cmd':
          p.propose(m.req, m.cb);
          break;
        case 'tick':
          p.raw.tick();
          break;
        default:
          break;
      }
    }
  }

  private sendAll(p: Peer, msgs: Message[]): void {
    for (const m of msgs) {
      const rm = p.toRaftMessage(m);
      if (rm) this.transport.send(rm);
    }
  }

  /** Stages committed entries of one peer into the kv batch and collects proposal answers. */
  private applyEntries(p: Peer, ents: Entry[], kvWb: WriteBatch, answers: Answer[]): void {
    if (ents.length === 0) return;
    for (const e of ents) {
      let resp: raft_cmdpb.IRaftCmdResponse | null = null;
      if (e.entryType === EntryType.EntryNormal && e.data.length > 0) {
        resp = this.applyCommand(p, e, kvWb);
      } else if (e.entryType !== EntryType.EntryNormal) {
        // Membership changes arrive with the conf-change work; none are proposed yet, so an
        // entry of this kind means a newer binary wrote this log.
        throw new Error(`region ${p.regionId}: conf change entry ${e.index} is not supported by this store version`);
      }
      const cb = p.takeProposal(e.index, e.term);
      if (cb) answers.push({ cb, resp: resp ?? { header: { currentTerm: e.term }, responses: [] } });
    }
    p.storage.applyState.appliedIndex = ents[ents.length - 1]!.index;
    p.storage.saveApplyState(kvWb);
    this.stats.entriesApplied += ents.length;
  }

  private applyCommand(p: Peer, e: Entry, kvWb: WriteBatch): raft_cmdpb.IRaftCmdResponse {
    let req: raft_cmdpb.RaftCmdRequest;
    try {
      req = raft_cmdpb.RaftCmdRequest.decode(e.data);
    } catch (err) {
      // Only valid commands are proposed; a corrupt entry must not stop the region.
      this.logger.error('undecodable command entry skipped', { regionId: p.regionId, index: e.index, err: String(err) });
      return errorResponse(new EpochNotMatchError('corrupt command entry', [p.region]));
    }
    try {
      // The region may have changed (split, conf change) between proposal and apply.
      checkEpoch(req, p.region);
    } catch (err) {
      if (err instanceof StoreError) return errorResponse(err);
      throw err;
    }
    return { header: { currentTerm: e.term }, responses: applyWrites(req, kvWb) };
  }

  private serveReads(p: Peer): void {
    const applied = p.storage.applyState.appliedIndex;
    let n = 0;
    while (n < p.readsAwaitingApply.length && p.readsAwaitingApply[n]!.readIndex <= applied) n++;
    if (n === 0) return;
    const ready = p.readsAwaitingApply.splice(0, n);
    for (const r of ready) {
      executeReads(r.req, p.region, this.engines.kv).then(r.cb, (err: unknown) => {
        this.logger.error('read failed', { regionId: p.regionId, err: String(err) });
        r.cb(errorResponse(new TimeoutError(`read failed: ${String(err)}`)));
      });
    }
  }
}
