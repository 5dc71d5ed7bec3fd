// MVCC garbage collection of one region's key range, as TiKV does it: keep, per user key, every
// version a reader at or after the safe point can see, and delete the rest. The planner only
// reads a snapshot and returns the deletions, in bounded batches; the store applies each batch
// as one raft write and compacts the range afterwards.
//
// The rule, per user key, over its write records newest first (key EncodeKey(key, commitTs); a
// rollback record uses its start ts):
//   - commitTs > safePoint: kept, untouched (rollbacks too);
//   - the newest record with commitTs <= safePoint that is not a Rollback is the version a read
//     at the safe point sees: a Put is kept with its value (default CF, EncodeKey(key, startTs));
//     a Delete is deleted (a read at or after the safe point that gets this far finds nothing
//     either way);
//   - every Rollback at or below the safe point is deleted (reads skip rollbacks, and no
//     transaction starting at or below the safe point may still prewrite: see below);
//   - every record older than that version is deleted, each Put with its value.
// Delete and Rollback records own no value: a prewritten Del writes none, and a rollback deletes
// the value together with the lock. The lock CF is not read or touched: locks are resolved by
// clients (with a transaction status), never by GC, and a prewritten value belongs to its lock
// until then, so GC deletes only values its write records reference.
//
// The caller's contract (PD's and TiKV's): the safe point is below the start ts of every
// transaction still running and its locks below it were resolved, so nothing commits or rolls
// back at or below it after the snapshot was taken. Readers below the safe point are not served.
//
// Batches are safe in any prefix: the store may apply some of them and stop (a crash, a lost
// leadership) and every read at or after the safe point still sees what it saw before. So a
// key's Delete record, which hides the older versions, goes after them; a record and its value
// are never split across two batches (a value alone would be left without a record pointing to
// it); removing a rollback or an older version is harmless at any point. The same order makes
// planning again from a fresh snapshot, from the key a batch stopped in, continue correctly.
import { bytesEqual, compareBytes } from '@tskv/util';
import { checkU64, decodeKey, decodeTs, encodedPrefix, isVersionOf, notU64 } from './codec.js';
import { parseWrite, WriteKind } from './records.js';
import type { Modify, MvccReader, TxnStorage } from './storage.js';

/** A region's user-key range [start, end); an empty end is unbounded. Raw user keys, not encoded. */
export interface GcRange {
  start: Uint8Array;
  end: Uint8Array;
}

export interface GcOptions {
  /** At most this many modifies per batch (at least 2: a record and its value go together). */
  maxModifies?: number;
  /** At most about this many bytes of keys per batch (a batch holds at least one record, with its value). */
  maxBytes?: number;
  /** Counters to add to (e.g. across the batches of a region); a fresh one if omitted. */
  stats?: GcStats;
}

export const GC_DEFAULTS = Object.freeze({ maxModifies: 1024, maxBytes: 256 * 1024 });

export interface GcStats {
  /** User keys with at least one write record read (gcRegion reads the key a batch stopped in again). */
  keysScanned: number;
  /** Write records read (likewise). */
  versionsScanned: number;
  /** Write records deleted by the batches handed out (what is planned and never handed out does not count). */
  versionsDeleted: number;
  /** Default-CF values deleted (those of deleted Puts). */
  valuesDeleted: number;
  /**
   * Bytes deleted: the keys and values of the deleted write records plus the keys of the
   * deleted values. The values' own sizes are not counted (reading them would double the I/O).
   */
  bytesDeleted: number;
  /** Batches handed out. */
  batches: number;
}

export function newGcStats(): GcStats {
  return { keysScanned: 0, versionsScanned: 0, versionsDeleted: 0, valuesDeleted: 0, bytesDeleted: 0, batches: 0 };
}

export interface GcBatch {
  /** Deletes of the write and default CFs, to apply atomically, in order. */
  modifies: Modify[];
  /** The bytes of the keys deleted (what maxBytes bounds). */
  bytes: number;
  /**
   * Where planning continues: the user key the next batch starts in, or undefined after the last
   * batch. Keys before it are done once this batch and the ones before it are applied; planning
   * again from a fresh snapshot at `{ start: next, end }` picks up the rest.
   */
  next: Uint8Array | undefined;
}

const UNBOUNDED = new Uint8Array(0);
/** Consecutive versions above the safe point read before the scan seeks past the rest of them. */
const SEEK_BOUND = 8;
const WRITE_VALUE_LEN = 9;

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`gc: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** memcomparable(userKey) ++ BE64(~ts): EncodeKey from the already encoded prefix. */
function withTs(prefix: Uint8Array, ts: bigint): Uint8Array {
  const out = new Uint8Array(prefix.length + 8);
  out.set(prefix);
  new DataView(out.buffer).setBigUint64(prefix.length, notU64(ts));
  return out;
}

/** The user key being planned. */
interface KeyPlan {
  userKey: Uint8Array;
  prefix: Uint8Array;
  /** True once the newest non-rollback record at or below the safe point was met: all older ones are garbage. */
  pastVisible: boolean;
  /** The visible version when it is a Delete: deleted last, after everything it hides. */
  deleteMarker: Modify[] | null;
}

/**
 * Plans the GC of `range` as of `safePoint` over the snapshot `reader`: yields batches of
 * deletions (never an empty one) and returns the stats. The plan reads only the snapshot, so the
 * caller may write each batch before asking for the next (as the store does) or collect them all.
 * Leaving early (break, return) closes the scan.
 */
export async function* gcRange(
  reader: MvccReader,
  range: GcRange,
  safePoint: bigint,
  opts: GcOptions = {},
): AsyncGenerator<GcBatch, GcStats, undefined> {
  checkU64('safePoint', safePoint);
  if (!(range?.start instanceof Uint8Array) || !(range.end instanceof Uint8Array))
    throw new TypeError('gc: range.start and range.end must be Uint8Arrays');
  if (range.end.length > 0 && compareBytes(range.start, range.end) > 0) throw new RangeError('gc: range.start is after range.end');
  const maxModifies = positiveInt('maxModifies', opts.maxModifies ?? GC_DEFAULTS.maxModifies, 2);
  const maxBytes = positiveInt('maxBytes', opts.maxBytes ?? GC_DEFAULTS.maxBytes, 1);
  const stats = opts.stats ?? newGcStats();
  const end = range.end.length > 0 ? encodedPrefix(range.end) : UNBOUNDED;

  let batch: Modify[] = [];
  let bytes = 0;
  /** Units planned and not yet placed in a batch, in order, each with the user key it belongs to. */
  const units: { mods: Modify[]; userKey: Uint8Array }[] = [];
  /** Places the planned units; returns the batches that filled up (a unit that does not fit closes the batch). */
  const place = (): GcBatch[] => {
    const full: GcBatch[] = [];
    for (const u of units.splice(0)) {
      let ub = 0;
      for (const m of u.mods) ub += m.key.length;
      if (batch.length > 0 && (batch.length + u.mods.length > maxModifies || bytes + ub > maxBytes)) {
        full.push({ modifies: batch, bytes, next: u.userKey });
        batch = [];
        bytes = 0;
      }
      batch.push(...u.mods);
      bytes += ub;
    }
    return full;
  };
  /** Counts a batch handed out (what is planned but never handed out is not counted as deleted). */
  const handOut = (b: GcBatch): GcBatch => {
    stats.batches++;
    for (const m of b.modifies) {
      if (m.cf === 'write') stats.versionsDeleted++;
      else stats.valuesDeleted++;
      stats.bytesDeleted += m.key.length + (m.cf === 'write' ? WRITE_VALUE_LEN : 0);
    }
    return b;
  };
  const deleteWrite = (plan: KeyPlan, k: Uint8Array, kind: WriteKind, startTs: bigint): Modify[] => {
    const mods: Modify[] = [{ type: 'delete', cf: 'write', key: new Uint8Array(k) }];
    if (kind === WriteKind.Put) mods.push({ type: 'delete', cf: 'default', key: withTs(plan.prefix, startTs) });
    return mods;
  };
  const endKey = (plan: KeyPlan): void => {
    if (plan.deleteMarker) units.push({ mods: plan.deleteMarker, userKey: plan.userKey });
  };

  let key: KeyPlan | null = null;
  let aboveInARow = 0;
  let seekFrom: Uint8Array | null = encodedPrefix(range.start);
  while (seekFrom) {
    const from: Uint8Array = seekFrom;
    seekFrom = null;
    for await (const [k, v] of reader.scan('write', from, end)) {
      if (!key || !isVersionOf(k, key.prefix)) {
        if (key) endKey(key);
        const { userKey } = decodeKey(k); // throws on a malformed key: corrupt data is not skipped
        key = { userKey, prefix: new Uint8Array(k.subarray(0, k.length - 8)), pastVisible: false, deleteMarker: null };
        aboveInARow = 0;
        stats.keysScanned++;
      }
      stats.versionsScanned++;
      const ts = decodeTs(k);
      const write = parseWrite(v); // throws on an unknown kind or a bad length
      if (ts > safePoint) {
        // Newer than the safe point: kept. Many in a row: seek to the first at or below it.
        if (++aboveInARow > SEEK_BOUND) {
          seekFrom = withTs(key.prefix, safePoint);
          break;
        }
        continue;
      }
      aboveInARow = 0;
      if (key.pastVisible || write.kind === WriteKind.Rollback) {
        units.push({ mods: deleteWrite(key, k, write.kind, write.startTs), userKey: key.userKey });
      } else {
        key.pastVisible = true;
        if (write.kind === WriteKind.Delete) key.deleteMarker = deleteWrite(key, k, write.kind, write.startTs);
      }
      for (const b of place()) yield handOut(b);
    }
  }
  if (key) endKey(key);
  for (const b of place()) yield handOut(b);
  if (batch.length > 0) yield handOut({ modifies: batch, bytes, next: undefined });
  return stats;
}

export interface GcBatchResult extends GcBatch {
  stats: GcStats;
}

/**
 * One batch of the GC of `range` over the snapshot `reader` (nothing to do: no modifies and
 * `next` undefined). The store applies it as one write, then calls again over a fresh snapshot
 * with `{ start: next, end: range.end }` until `next` is undefined. Asking again without applying
 * the batch plans the same batch again.
 */
export async function gcBatch(reader: MvccReader, range: GcRange, safePoint: bigint, opts: GcOptions = {}): Promise<GcBatchResult> {
  const stats = opts.stats ?? newGcStats();
  const it = gcRange(reader, range, safePoint, { ...opts, stats });
  try {
    const r = await it.next();
    if (r.done) return { modifies: [], bytes: 0, next: undefined, stats };
    return { ...r.value, stats };
  } finally {
    await it.return(stats);
  }
}

/**
 * The whole GC of `range` over a storage: a fresh snapshot per batch (none is held across a
 * write), each batch written with `storage.write` (under raft: one proposal of the region), until
 * the range is done. Returns the stats. Throws if a written batch is planned again (the write did
 * not take effect), rather than looping.
 */
export async function gcRegion(storage: TxnStorage, range: GcRange, safePoint: bigint, opts: GcOptions = {}): Promise<GcStats> {
  const stats = opts.stats ?? newGcStats();
  let start = range.start;
  let lastFirst: Uint8Array | undefined;
  for (;;) {
    const reader = await storage.reader();
    let b: GcBatchResult;
    try {
      b = await gcBatch(reader, { start, end: range.end }, safePoint, { ...opts, stats });
    } finally {
      await reader.close();
    }
    if (b.modifies.length === 0) return stats;
    // A batch always starts with a write record's deletion: seeing it again means it is still there.
    const first = b.modifies[0]!.key;
    if (lastFirst && bytesEqual(first, lastFirst))
      throw new Error('gc: the previous batch was written but is planned again (the write did not take effect)');
    lastFirst = first;
    await storage.write(b.modifies);
    if (b.next === undefined) return stats;
    start = b.next;
  }
}
