// Startup validation of a region's local state on disk.
//
// A store rebuilds every peer from its records at restart (region state and apply state in the kv
// engine, raft state and log in the raft engine). If one of them is damaged — an undecodable
// record, a log with a hole, states that contradict each other — raft would run on a state that
// is not what this store promised to its peers (a lost vote, a lost acknowledged entry) and could
// diverge silently. The store refuses to start instead, with an error naming the region, the
// engine, the stored key (hex, CF prefix included, as LevelDB tools show it) and what is wrong.
//
// What is checked, and what it costs (once per region at startup):
// - every state record decodes and describes the region whose key holds it;
// - truncated <= applied <= last index, commit <= last index;
// - the log holds exactly the indexes truncated+1 .. last: one keys-only scan of that range (no
//   value is copied out; raft-log GC bounds the range, raftLogGcCountLimit entries at worst);
// - the first and last entries decode, carry their own index, and the last one the raft state's
//   last term.
// The record checks are synchronous; the keys-only scans of all regions run concurrently and are
// awaited before the store starts (LogChecks).
// Entries in the middle are not decoded (that would read the whole log's values at every start):
// one damaged there is found when raft reads it, and PeerStorage reports it the same way, naming
// its key; the raft worker then stops the store (a fatal error) instead of using it.
//
// Not an error, by design: commit < applied. A commit index alone is persisted lazily (it rides on
// the peer's next raft write, see Peer.collectReady), so a restart can find the apply
// state ahead of the saved commit; PeerStorage.load raises commit to applied (applied entries were
// committed). applied > last index, though, means applied entries are missing from the log.
import {
  applyStateKey,
  decodeRaftLogKey,
  type Engines,
  encodeKey,
  raftLogKey,
  raftLogRange,
  raftStateKey,
  regionIdFromRegionStateKey,
  snapshotRaftStateKey,
} from '@tskv/engine';
import { eraftpb, raft_serverpb } from '@tskv/proto';
import type { Entry } from '@tskv/raft';

type EngineName = 'raft' | 'kv';

/** A record of a region's local state on disk is damaged or contradicts another one. */
export class StorageCorruptionError extends Error {
  override name = 'StorageCorruptionError';
  /** The stored LevelDB key (CF prefix included), hex. */
  readonly keyHex: string;

  constructor(
    readonly regionId: number,
    readonly engine: EngineName,
    key: Uint8Array,
    readonly record: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    const keyHex = hex(encodeKey('raft', key));
    super(`region ${regionId}: ${record} (${engine} engine, key ${keyHex}): ${problem}`, options);
    this.keyHex = keyHex;
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function why(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Decodes a record, turning a decode failure into a StorageCorruptionError. protobuf is lenient
 * (garbage often decodes into something): callers check what they decoded as well.
 */
function decodeRecord<T>(
  regionId: number,
  engine: EngineName,
  key: Uint8Array,
  record: string,
  value: Uint8Array,
  decode: (b: Uint8Array) => T,
): T {
  try {
    return decode(value);
  } catch (e) {
    throw new StorageCorruptionError(regionId, engine, key, record, `undecodable (${value.length} bytes): ${why(e)}`, { cause: e });
  }
}

/** A RegionLocalState read from the region state range (kv engine) at startup. */
export function decodeRegionStateRecord(key: Uint8Array, value: Uint8Array): raft_serverpb.RegionLocalState {
  const id = regionIdFromRegionStateKey(key);
  const st = decodeRecord(id, 'kv', key, 'region state', value, (b) => raft_serverpb.RegionLocalState.decode(b));
  if (!st.region) throw new StorageCorruptionError(id, 'kv', key, 'region state', 'holds no region');
  if (Number(st.region.id ?? 0) !== id)
    throw new StorageCorruptionError(id, 'kv', key, 'region state', `describes region ${String(st.region.id)}`);
  if (!(st.state in raft_serverpb.PeerState))
    throw new StorageCorruptionError(id, 'kv', key, 'region state', `unknown peer state ${st.state}`);
  return st;
}

/** The apply state of an initialized region (kv engine); it must be there. */
export function readApplyStateRecord(engines: Engines, id: number): raft_serverpb.RaftApplyState {
  const key = applyStateKey(id);
  const b = engines.kv.getSync('raft', key);
  if (!b) throw new StorageCorruptionError(id, 'kv', key, 'apply state', 'missing, but the region state says the region is here');
  const d = decodeRecord(id, 'kv', key, 'apply state', b, (v) => raft_serverpb.RaftApplyState.decode(v));
  const applied = Number(d.appliedIndex);
  const truncated = Number(d.truncatedState?.index ?? 0);
  if (truncated > applied)
    throw new StorageCorruptionError(id, 'kv', key, 'apply state', `truncated index ${truncated} beyond applied index ${applied}`);
  return d;
}

/** The raft state (raft engine), or undefined if the region has none yet (created by a split). */
export function readRaftStateRecord(engines: Engines, id: number): raft_serverpb.RaftLocalState | undefined {
  const key = raftStateKey(id);
  const b = engines.raft.getSync('raft', key);
  return b ? decodeRecord(id, 'raft', key, 'raft state', b, (v) => raft_serverpb.RaftLocalState.decode(v)) : undefined;
}

/** The raft state a snapshot's acceptance recorded (kv engine), while the region is Applying. */
export function readSnapshotRaftStateRecord(engines: Engines, id: number): raft_serverpb.RaftLocalState | undefined {
  const key = snapshotRaftStateKey(id);
  const b = engines.kv.getSync('raft', key);
  return b ? decodeRecord(id, 'kv', key, 'snapshot raft state', b, (v) => raft_serverpb.RaftLocalState.decode(v)) : undefined;
}

/** One log entry as stored, decoded; it must carry the index its key says. */
export function decodeLogEntry(regionId: number, index: number, value: Uint8Array): Entry {
  // On raft's read path (entries not cached): the key is built only for an error.
  let d: eraftpb.Entry;
  try {
    d = eraftpb.Entry.decode(value);
  } catch (e) {
    throw new StorageCorruptionError(
      regionId,
      'raft',
      raftLogKey(regionId, index),
      `raft log entry ${index}`,
      `undecodable (${value.length} bytes): ${why(e)}`,
      { cause: e },
    );
  }
  if (Number(d.index) !== index)
    throw new StorageCorruptionError(
      regionId,
      'raft',
      raftLogKey(regionId, index),
      `raft log entry ${index}`,
      `holds index ${String(d.index)}`,
    );
  return { entryType: d.entryType, term: Number(d.term), index, data: d.data, context: d.context };
}

export interface LoadedState {
  applied: number;
  truncatedIndex: number;
  truncatedTerm: number;
  commit: number;
  lastIndex: number;
  lastTerm: number;
}

/**
 * The log checks of every region of a store, run concurrently (at most `concurrency` at a time)
 * while the store loads and awaited once before it starts: each keys-only scan is real I/O (an
 * event-loop turn), and one region after the other would make a start with many regions wait
 * behind whatever else the process runs (other stores of an in-process cluster) once per region.
 */
export class LogChecks {
  private readonly waiting: (() => Promise<void>)[] = [];
  private running = 0;
  private failure: unknown = null;
  private idle: (() => void) | null = null;

  constructor(private readonly concurrency = 32) {}

  add(check: () => Promise<void>): void {
    this.waiting.push(check);
    this.pump();
  }

  /** Resolves when every check passed; rejects with the first failure (the others still finish). */
  async done(): Promise<void> {
    if (this.running > 0 || this.waiting.length > 0) await new Promise<void>((r) => (this.idle = r));
    if (this.failure !== null) throw this.failure;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const check = this.waiting.shift()!;
      this.running++;
      void check()
        .catch((e: unknown) => {
          if (this.failure === null) this.failure = e;
        })
        .finally(() => {
          this.running--;
          this.pump();
          if (this.running === 0 && this.waiting.length === 0) this.idle?.();
        });
    }
  }
}

/**
 * The invariants between a region's loaded states (synchronous: record reads only) — see the file
 * comment. Runs after PeerStorage.load has completed a snapshot acceptance cut short by a crash,
 * before it raises commit to applied. Returns the log's own check (checkLog), which does I/O.
 */
export function checkRegionState(engines: Engines, id: number, s: LoadedState): () => Promise<void> {
  const rsKey = raftStateKey(id);
  const state = (p: string): StorageCorruptionError => new StorageCorruptionError(id, 'raft', rsKey, 'raft state', p);
  if (s.lastIndex < s.truncatedIndex)
    throw state(`last index ${s.lastIndex} below the truncated index ${s.truncatedIndex} of the apply state`);
  if (s.applied > s.lastIndex)
    throw state(
      `last index ${s.lastIndex} below the applied index ${s.applied} of the apply state (applied entries are missing from the log)`,
    );
  if (s.commit > s.lastIndex) throw state(`commit index ${s.commit} beyond last index ${s.lastIndex}`);
  if (s.lastIndex === s.truncatedIndex) {
    if (s.lastTerm !== s.truncatedTerm)
      throw state(`last term ${s.lastTerm} at index ${s.lastIndex}, but the apply state says term ${s.truncatedTerm} there`);
    return () => Promise.resolve();
  }
  // The log's ends now (synchronous reads)...
  const entryAt = (index: number): Entry | undefined => {
    const b = engines.raft.getSync('raft', raftLogKey(id, index));
    return b === undefined ? undefined : decodeLogEntry(id, index, b);
  };
  const missing = (index: number, problem: string): StorageCorruptionError =>
    new StorageCorruptionError(id, 'raft', raftLogKey(id, index), `raft log entry ${index}`, `missing: ${problem}`);
  const first = entryAt(s.truncatedIndex + 1);
  if (first === undefined)
    throw missing(s.truncatedIndex + 1, `the log after the truncated index ${s.truncatedIndex} does not start (last index ${s.lastIndex})`);
  if (first.term < s.truncatedTerm) {
    throw new StorageCorruptionError(
      id,
      'raft',
      raftLogKey(id, first.index),
      `raft log entry ${first.index}`,
      `term ${first.term} below the truncated term ${s.truncatedTerm}`,
    );
  }
  const last = s.lastIndex === first.index ? first : entryAt(s.lastIndex);
  if (last !== undefined && last.term !== s.lastTerm) {
    throw new StorageCorruptionError(
      id,
      'raft',
      raftLogKey(id, last.index),
      `raft log entry ${last.index}`,
      `term ${last.term}, but the raft state says last term ${s.lastTerm}`,
    );
  }
  // ...and everything between (a lost last entry included) with a keys-only scan, later.
  return () => checkLogContiguous(engines, id, s);
}

/** The log holds every index truncated+1 .. last, in order, without a hole: keys only. */
async function checkLogContiguous(engines: Engines, id: number, s: LoadedState): Promise<void> {
  const { start, end } = raftLogRange(id, s.truncatedIndex + 1, s.lastIndex + 1);
  let want = s.truncatedIndex + 1;
  for await (const k of engines.raft.scanKeys('raft', start, end)) {
    const { index } = decodeRaftLogKey(k);
    if (index !== want) {
      throw new StorageCorruptionError(
        id,
        'raft',
        raftLogKey(id, want),
        `raft log entry ${want}`,
        `missing: a hole in the log between the truncated index ${s.truncatedIndex} and the last index ${s.lastIndex} ` +
          `(next entry present: ${index})`,
      );
    }
    want++;
  }
  if (want <= s.lastIndex) {
    throw new StorageCorruptionError(
      id,
      'raft',
      raftLogKey(id, want),
      `raft log entry ${want}`,
      `missing: the log ends at ${want - 1} but the raft state says last index ${s.lastIndex} (truncated index ${s.truncatedIndex})`,
    );
  }
}
