// PeerStorage: the raft Storage of one region peer over the store's engines.
//   raft engine: log entries (raftLogKey) and RaftLocalState (hard state + last index/term)
//   kv engine:   RaftApplyState (applied index, truncated state) and RegionLocalState, written
//                atomically with the data they describe
// Reads are synchronous (raft's Storage is), served from an in-memory cache of the log tail and
// otherwise from the raft engine with getSync.
import { applyStateKey, type Engines, raftLogKey, raftStateKey, regionStateKey, snapshotRaftStateKey, type WriteBatch } from '@tskv/engine';
import { eraftpb, metapb, raft_serverpb } from '@tskv/proto';
import {
  CompactedError,
  type ConfState,
  type Entry,
  type HardState,
  limitSize,
  newConfState,
  type RaftState,
  StoreError as RaftStoreError,
  type Snapshot,
  SnapshotTemporarilyUnavailableError,
  type Storage,
  UnavailableError,
} from '@tskv/raft';
import { isJoint, roleOf } from './conf_change.js';
import {
  checkRegionState,
  decodeLogEntry,
  type LogChecks,
  readApplyStateRecord,
  readRaftStateRecord,
  readSnapshotRaftStateRecord,
} from './storage_check.js';

/** A freshly bootstrapped region starts with this log position (TiKV's choice), so that a peer
 * created later by a message (index 0) is always behind and gets a snapshot. */
export const RAFT_INIT_LOG_TERM = 5;
export const RAFT_INIT_LOG_INDEX = 5;

export interface RaftLocalState {
  hardState: HardState;
  lastIndex: number;
  lastTerm: number;
}

export interface RaftApplyState {
  appliedIndex: number;
  truncatedIndex: number;
  truncatedTerm: number;
}

/** What others read of a peer's raft local state: only PeerStorage changes it. */
export interface ReadonlyRaftLocalState {
  readonly hardState: Readonly<HardState>;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

/**
 * The raft configuration a region's peers describe. In a joint state the incoming side has the
 * voters and incoming voters, the outgoing side the voters and demoting voters, and demoting
 * voters become learners on leaving (which raft does by itself: conf changes use transition Auto).
 */
export function confStateFromRegion(region: metapb.IRegion): ConfState {
  const voters: number[] = [];
  const learners: number[] = [];
  const votersOutgoing: number[] = [];
  const learnersNext: number[] = [];
  const joint = isJoint(region);
  for (const p of region.peers ?? []) {
    const id = p.id!;
    switch (roleOf(p)) {
      case metapb.PeerRole.Learner:
        learners.push(id);
        break;
      case metapb.PeerRole.IncomingVoter:
        voters.push(id);
        break;
      case metapb.PeerRole.DemotingVoter:
        votersOutgoing.push(id);
        learnersNext.push(id);
        break;
      default:
        voters.push(id);
        if (joint) votersOutgoing.push(id);
    }
  }
  return newConfState({ voters, learners, votersOutgoing, learnersNext, autoLeave: joint });
}

export function encodeRaftLocalState(s: RaftLocalState): Uint8Array {
  return raft_serverpb.RaftLocalState.encode({ hardState: s.hardState, lastIndex: s.lastIndex, lastTerm: s.lastTerm }).finish();
}

export function decodeRaftLocalState(b: Uint8Array): RaftLocalState {
  return fromRaftLocalState(raft_serverpb.RaftLocalState.decode(b));
}

function fromRaftLocalState(d: raft_serverpb.IRaftLocalState): RaftLocalState {
  const hs = d.hardState;
  return {
    hardState: { term: Number(hs?.term ?? 0), vote: Number(hs?.vote ?? 0), commit: Number(hs?.commit ?? 0) },
    lastIndex: Number(d.lastIndex ?? 0),
    lastTerm: Number(d.lastTerm ?? 0),
  };
}

export function encodeApplyState(s: RaftApplyState): Uint8Array {
  return raft_serverpb.RaftApplyState.encode({
    appliedIndex: s.appliedIndex,
    truncatedState: { index: s.truncatedIndex, term: s.truncatedTerm },
  }).finish();
}

export function decodeApplyState(b: Uint8Array): RaftApplyState {
  return fromApplyState(raft_serverpb.RaftApplyState.decode(b));
}

function fromApplyState(d: raft_serverpb.IRaftApplyState): RaftApplyState {
  return {
    appliedIndex: Number(d.appliedIndex ?? 0),
    truncatedIndex: Number(d.truncatedState?.index ?? 0),
    truncatedTerm: Number(d.truncatedState?.term ?? 0),
  };
}

/** Where the snapshot this peer would send stands (see PeerStorage.snapshot). */
export type GenState =
  | { status: 'idle' }
  /** Raft asked; the raft worker hands the task to the region worker after the round's kv write. */
  | { status: 'requested' }
  | { status: 'generating' }
  | { status: 'ready'; snap: Snapshot };

export class PeerStorage implements Storage {
  readonly regionId: number;
  #region: metapb.IRegion;
  #raftState: RaftLocalState;
  #applyState: RaftApplyState;
  /** Contiguous tail of the log: cache[i] has index cacheStart + i. */
  private cache: Entry[] = [];
  private cacheStart = 0;
  #genState: GenState = { status: 'idle' };
  /** Approximate bytes of log appended since the last compaction (raft-log GC's size limit). */
  #logSizeHint = 0;
  /** The region's state keys, written every round it is active (write batches copy keys). */
  private readonly raftStateKey: Uint8Array;
  private readonly applyStateKey: Uint8Array;

  constructor(
    readonly engines: Engines,
    region: metapb.IRegion,
    raftState: RaftLocalState,
    applyState: RaftApplyState,
  ) {
    this.regionId = region.id!;
    this.raftStateKey = raftStateKey(this.regionId);
    this.applyStateKey = applyStateKey(this.regionId);
    this.#region = region;
    this.#raftState = raftState;
    this.#applyState = applyState;
    this.cacheStart = raftState.lastIndex + 1;
    if (raftState.lastIndex < applyState.truncatedIndex) {
      throw new Error(`region ${this.regionId}: raft last index ${raftState.lastIndex} < truncated index ${applyState.truncatedIndex}`);
    }
  }

  /**
   * Rebuilds a peer's storage from disk alone (restart). `applying`: the region state says a
   * snapshot was accepted and its data may not be in place yet. Damaged records throw
   * StorageCorruptionError; the log scan is awaited here, or handed to `logChecks`.
   */
  static async load(engines: Engines, region: metapb.IRegion, applying = false, logChecks?: LogChecks): Promise<PeerStorage> {
    const id = region.id!;
    // Damaged or contradicting records refuse the start (storage_check.ts), naming the key.
    const rs = readRaftStateRecord(engines, id);
    const applyState = fromApplyState(readApplyStateRecord(engines, id));
    // A region created by a split has only its kv part (written with the split): its log starts
    // where its apply state says, like a bootstrapped region's.
    let raftState: RaftLocalState = rs
      ? fromRaftLocalState(rs)
      : {
          hardState: { term: applyState.truncatedTerm, vote: 0, commit: applyState.truncatedIndex },
          lastIndex: applyState.truncatedIndex,
          lastTerm: applyState.truncatedTerm,
        };
    // The record of an uninitialized incarnation (a peer created by a message, which may have
    // voted) whose region a split then created here: the split wrote only the kv part, so the log
    // starts where the apply state says. Its vote stands while the term does (TiKV: init_raft_state).
    if (rs && raftState.lastIndex === 0 && applyState.truncatedIndex > 0 && !applying) {
      const hs = raftState.hardState;
      const newer = applyState.truncatedTerm > hs.term;
      raftState = {
        hardState: {
          term: newer ? applyState.truncatedTerm : hs.term,
          vote: newer ? 0 : hs.vote,
          commit: Math.max(hs.commit, applyState.truncatedIndex),
        },
        lastIndex: applyState.truncatedIndex,
        lastTerm: applyState.truncatedTerm,
      };
    }
    if (applying) raftState = await recoverSnapshotRaftState(engines, id, raftState, applyState);
    // The log's keys-only scan goes to `logChecks` (the store awaits them all before it starts).
    const checkLog = checkRegionState(engines, id, {
      applied: applyState.appliedIndex,
      truncatedIndex: applyState.truncatedIndex,
      truncatedTerm: applyState.truncatedTerm,
      commit: raftState.hardState.commit,
      lastIndex: raftState.lastIndex,
      lastTerm: raftState.lastTerm,
    });
    if (logChecks) logChecks.add(checkLog);
    else await checkLog();
    // The apply state is written with the kv data, the raft state with the log; a crash between
    // the two writes of a round can leave commit behind applied. Applied entries are committed.
    if (raftState.hardState.commit < applyState.appliedIndex) raftState.hardState.commit = applyState.appliedIndex;
    return new PeerStorage(engines, region, raftState, applyState);
  }

  /**
   * A peer created by a message for a region this store does not have yet: no range, no members,
   * an empty log (it is caught up by a snapshot). A hard state left on disk by an earlier
   * uninitialized incarnation is kept: votes promised must stand.
   */
  static uninitialized(engines: Engines, regionId: number): PeerStorage {
    const rs = readRaftStateRecord(engines, regionId);
    const hardState = rs ? fromRaftLocalState(rs).hardState : { term: 0, vote: 0, commit: 0 };
    const region: metapb.IRegion = {
      id: regionId,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      regionEpoch: { confVer: 0, version: 0 },
      peers: [],
    };
    return new PeerStorage(
      engines,
      region,
      { hardState: { ...hardState, commit: 0 }, lastIndex: 0, lastTerm: 0 },
      { appliedIndex: 0, truncatedIndex: 0, truncatedTerm: 0 },
    );
  }

  get region(): metapb.IRegion {
    return this.#region;
  }

  get raftState(): ReadonlyRaftLocalState {
    return this.#raftState;
  }

  get applyState(): Readonly<RaftApplyState> {
    return this.#applyState;
  }

  get genState(): GenState {
    return this.#genState;
  }

  get logSizeHint(): number {
    return this.#logSizeHint;
  }

  // ---- raft Storage ----

  initialState(): RaftState {
    return { hardState: { ...this.#raftState.hardState }, confState: confStateFromRegion(this.#region) };
  }

  firstIndex(): number {
    return this.#applyState.truncatedIndex + 1;
  }

  lastIndex(): number {
    return this.#raftState.lastIndex;
  }

  term(idx: number): number {
    if (idx === this.#applyState.truncatedIndex) return this.#applyState.truncatedTerm;
    if (idx < this.#applyState.truncatedIndex) throw new CompactedError();
    if (idx > this.#raftState.lastIndex) throw new UnavailableError();
    if (idx === this.#raftState.lastIndex) return this.#raftState.lastTerm;
    return this.entry(idx).term;
  }

  entries(low: number, high: number, maxSize = Infinity): Entry[] {
    if (low <= this.#applyState.truncatedIndex) throw new CompactedError();
    if (high > this.#raftState.lastIndex + 1) throw new UnavailableError();
    const out: Entry[] = [];
    let size = 0;
    for (let i = low; i < high; i++) {
      const e = this.entry(i);
      size += e.data.length + e.context.length + 12;
      if (out.length > 0 && size > maxSize) break;
      out.push(e);
    }
    return limitSize(out, maxSize);
  }

  /**
   * The snapshot to send a follower that is behind the compacted log. Generation is asynchronous
   * (region worker): until a snapshot is ready this throws SnapshotTemporarilyUnavailable and
   * raft asks again on a later heartbeat response. A ready snapshot is reused for every follower
   * while it is recent enough: at or past `requestIndex` and the truncated index (a follower
   * restored to an older point would need entries that are gone), and taken after `to` joined.
   */
  snapshot(requestIndex: number, to: number): Snapshot {
    const g = this.#genState;
    if (g.status === 'ready') {
      const idx = g.snap.metadata.index;
      // A peer added after the snapshot was taken is not in its configuration and would ignore it.
      const cs = g.snap.metadata.confState;
      const hasTo =
        to === 0 || cs.voters.includes(to) || cs.learners.includes(to) || cs.votersOutgoing.includes(to) || cs.learnersNext.includes(to);
      // One taken before the region split covers the old range: a store holding the split-off
      // region drops it (it would overlap), so it would be sent again and again.
      if (idx >= requestIndex && idx >= this.#applyState.truncatedIndex && hasTo && !this.splitSince(g.snap)) return g.snap;
      this.#genState = { status: 'idle' }; // stale: its files go with the next snap GC
    }
    if (this.#genState.status === 'idle') this.#genState = { status: 'requested' };
    throw new SnapshotTemporarilyUnavailableError();
  }

  /** Whether the region split (its version moved) after the snapshot was taken. */
  private splitSince(snap: Snapshot): boolean {
    let version = 0;
    try {
      version = Number(raft_serverpb.RaftSnapshotData.decode(snap.data).region?.regionEpoch?.version ?? 0);
    } catch {
      return true;
    }
    return version < Number(this.#region.regionEpoch?.version ?? 0);
  }

  /** The requested snapshot was handed to the region worker. */
  startGenerating(): void {
    this.#genState = { status: 'generating' };
  }

  /** The region worker's answer to a generate task (null: it failed; raft will ask again). */
  onSnapshotGenerated(snap: Snapshot | null): void {
    this.#genState = snap ? { status: 'ready', snap } : { status: 'idle' };
  }

  /** The files of the snapshot (term, index) are gone: if it is the ready one, the next request generates anew. */
  onSnapshotMissing(term: number, index: number): void {
    const g = this.#genState;
    if (g.status === 'ready' && g.snap.metadata.term === term && g.snap.metadata.index === index) this.#genState = { status: 'idle' };
  }

  /**
   * Stages the acceptance of a snapshot raft handed out in a Ready: the old log goes, the log
   * restarts at the snapshot, the apply state jumps to it and the region state says Applying
   * until the region worker has put the data in place. `kvWb` must be written (synced) BEFORE
   * `raftWb`: with the apply state moved first, a crash in between leaves a state that
   * `recoverSnapshotRaftState` completes; the other order would leave a log whose first entries
   * are deleted while the applied index still needs them.
   * `after` is the raft local state after the whole Ready (its entries and hard state), recorded
   * so that a restart can tell whether the raft write happened.
   */
  acceptSnapshot(snap: Snapshot, region: metapb.IRegion, raftWb: WriteBatch, kvWb: WriteBatch): void {
    const { index, term } = snap.metadata;
    for (let i = this.#applyState.truncatedIndex + 1; i <= this.#raftState.lastIndex; i++)
      raftWb.delete('raft', raftLogKey(this.regionId, i));
    this.#raftState.lastIndex = index;
    this.#raftState.lastTerm = term;
    if (this.#raftState.hardState.commit < index) this.#raftState.hardState.commit = index;
    this.#applyState = { appliedIndex: index, truncatedIndex: index, truncatedTerm: term };
    this.#region = region;
    this.cache = [];
    this.cacheStart = index + 1;
    this.#logSizeHint = 0;
    this.#genState = { status: 'idle' };
    kvWb.put(
      'raft',
      regionStateKey(this.regionId),
      raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Applying, region }).finish(),
    );
    this.saveApplyState(kvWb);
  }

  /** Records the raft state the acceptance round will persist (call after staging its entries). */
  saveSnapshotRaftState(kvWb: WriteBatch): void {
    kvWb.put('raft', snapshotRaftStateKey(this.regionId), encodeRaftLocalState(this.#raftState));
  }

  /** A CompactLog was applied and written: entries up to `index` are no longer served. */
  onCompacted(index: number, oldTruncated: number): void {
    const drop = Math.min(index + 1 - this.cacheStart, this.cache.length);
    if (drop > 0) {
      this.cache = this.cache.slice(drop);
      this.cacheStart += drop;
    }
    const span = this.#raftState.lastIndex - oldTruncated;
    this.#logSizeHint = span > 0 ? Math.round((this.#logSizeHint * (this.#raftState.lastIndex - index)) / span) : 0;
  }

  private entry(idx: number): Entry {
    if (idx >= this.cacheStart) {
      const e = this.cache[idx - this.cacheStart];
      if (e) return e;
    }
    const b = this.engines.raft.getSync('raft', raftLogKey(this.regionId, idx));
    if (!b) throw new RaftStoreError(`region ${this.regionId}: log entry ${idx} missing from the raft engine`);
    // A damaged entry (startup checks only the log's ends) throws StorageCorruptionError naming its key.
    const e = decodeLogEntry(this.regionId, idx, b);
    // Warm the cache backwards when the read is adjacent to it (a restarted follower catching up
    // the leader, or a leader re-sending from its persisted tail).
    if (idx === this.cacheStart - 1) {
      this.cache.unshift(e);
      this.cacheStart = idx;
    }
    return e;
  }

  // ---- writes (into the round's batches; in-memory state changes take effect immediately) ----

  /** Appends entries (truncating any conflicting suffix) to the raft batch. */
  append(entries: Entry[], raftWb: WriteBatch): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const last = entries[entries.length - 1]!.index;
    for (const e of entries) {
      const b = eraftpb.Entry.encode(e).finish();
      raftWb.put('raft', raftLogKey(this.regionId, e.index), b);
      this.#logSizeHint += b.length;
    }
    // Entries past the new last index belong to a deposed leader: delete them.
    for (let i = last + 1; i <= this.#raftState.lastIndex; i++) raftWb.delete('raft', raftLogKey(this.regionId, i));
    this.#raftState.lastIndex = last;
    this.#raftState.lastTerm = entries[entries.length - 1]!.term;
    // Cache: keep a contiguous tail ending at the new last index.
    if (first >= this.cacheStart && first <= this.cacheStart + this.cache.length) {
      this.cache.length = first - this.cacheStart;
      for (const e of entries) this.cache.push(e);
    } else {
      this.cache = entries.slice();
      this.cacheStart = first;
    }
  }

  setHardState(hs: HardState): void {
    this.#raftState.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  /** A new commit index (saved with the next raft state write). */
  setCommit(index: number): void {
    this.#raftState.hardState.commit = index;
  }

  /** Entries up to `index` were applied (saved by saveApplyState into the same kv batch as their data). */
  setApplied(index: number): void {
    this.#applyState.appliedIndex = index;
  }

  /**
   * A CompactLog applied: the log now starts after (index, term), saved with the apply state; the
   * entries are deleted once that is written (onCompacted, then the raft-log GC worker).
   */
  compactTo(index: number, term: number): void {
    this.#applyState.truncatedIndex = index;
    this.#applyState.truncatedTerm = term;
  }

  /** The region's range or membership changed (split, conf change); its region state is written by the caller. */
  setRegion(region: metapb.IRegion): void {
    this.#region = region;
  }

  /** Persists the RaftLocalState into the raft batch. */
  saveRaftState(raftWb: WriteBatch): void {
    raftWb.put('raft', this.raftStateKey, encodeRaftLocalState(this.#raftState));
  }

  saveApplyState(kvWb: WriteBatch): void {
    kvWb.put('raft', this.applyStateKey, encodeApplyState(this.#applyState));
  }

  /** Drops cached entries below `index` (they were applied and are rarely read again). */
  trimCache(index: number): void {
    const drop = Math.min(index - this.cacheStart, this.cache.length);
    if (drop > 1024) {
      this.cache = this.cache.slice(drop);
      this.cacheStart += drop;
    }
  }
}

/** Writes the local state of a region bootstrapped on this store (first region, or test setup). */
export function writeInitialRegionState(engines: Engines, region: metapb.IRegion, kvWb: WriteBatch, raftWb: WriteBatch): void {
  const id = region.id!;
  const raftState: RaftLocalState = {
    hardState: { term: RAFT_INIT_LOG_TERM, vote: 0, commit: RAFT_INIT_LOG_INDEX },
    lastIndex: RAFT_INIT_LOG_INDEX,
    lastTerm: RAFT_INIT_LOG_TERM,
  };
  const applyState: RaftApplyState = {
    appliedIndex: RAFT_INIT_LOG_INDEX,
    truncatedIndex: RAFT_INIT_LOG_INDEX,
    truncatedTerm: RAFT_INIT_LOG_TERM,
  };
  raftWb.put('raft', raftStateKey(id), encodeRaftLocalState(raftState));
  kvWb.put('raft', applyStateKey(id), encodeApplyState(applyState));
  kvWb.put('raft', regionStateKey(id), raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Normal, region }).finish());
  void engines;
}

/**
 * A restart found the region Applying a snapshot. The acceptance wrote the kv engine (apply state,
 * Applying, and the raft state it was about to write) before the raft engine. If the raft write
 * did not happen, the raft engine still holds the old log: replace it by the log the snapshot
 * starts, keeping the durable hard state (votes promised must stand). Two raft logs with the same
 * last (index, term) are the same log, so comparing those tells the cases apart.
 */
async function recoverSnapshotRaftState(
  engines: Engines,
  id: number,
  raftState: RaftLocalState,
  applyState: RaftApplyState,
): Promise<RaftLocalState> {
  const b = readSnapshotRaftStateRecord(engines, id);
  if (!b) return raftState;
  const want = fromRaftLocalState(b);
  if (raftState.lastIndex === want.lastIndex && raftState.lastTerm === want.lastTerm) return raftState;
  const fixed: RaftLocalState = {
    hardState: { ...raftState.hardState, commit: Math.max(raftState.hardState.commit, applyState.truncatedIndex) },
    lastIndex: applyState.truncatedIndex,
    lastTerm: applyState.truncatedTerm,
  };
  const wb = engines.raft.writeBatch();
  const lo = raftLogKey(id, 0);
  const hi = raftLogKey(id, Math.max(raftState.lastIndex, applyState.truncatedIndex) + 1);
  await engines.raft.deleteRangeInto(wb, 'raft', lo, hi);
  wb.put('raft', raftStateKey(id), encodeRaftLocalState(fixed));
  await engines.raft.write(wb, { sync: true });
  return fixed;
}
