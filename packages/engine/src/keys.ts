/**
 * Key codec of the engine.
 *
 * One LevelDB holds every column family (CF); a CF is a one-byte prefix on the stored key.
 * The prefixes are distinct bytes below 0xff, so CF `c` with prefix byte `P` owns exactly
 * the stored keys in `[P, P+1)`: a scan bounded that way can never return another CF's key,
 * whatever bytes (0x00, 0xff, ...) the user keys contain.
 *
 * The raw API's CFs (default, lock, write) and the transactional ones (txn_*) are disjoint key
 * spaces: raw keys are user keys, while txn_default and txn_write hold MVCC-encoded keys, whose
 * bytes would otherwise interleave with raw keys of neighbouring regions.
 *
 *   CF           prefix byte   stored key
 *   txn_default  0x44 'D'      0x44 | EncodeKey(user key, start ts)
 *   txn_lock     0x4c 'L'      0x4c | user key
 *   txn_write    0x57 'W'      0x57 | EncodeKey(user key, commit ts)
 *   default      0x64 'd'      0x64 | user key
 *   lock       0x6c 'l'      0x6c | user key
 *   raft       0x72 'r'      0x72 | local key (below)
 *   write      0x77 'w'      0x77 | user key
 *
 * Local keys (CF `raft`) follow TiKV's `keys` module; u64 = 8 bytes big-endian (written as two
 * big-endian u32 halves; values up to Number.MAX_SAFE_INTEGER):
 *
 *   key                        bytes (after the CF prefix)                   length
 *   store ident                0x01 0x01                                     2
 *   prepare bootstrap          0x01 0x02                                     2
 *   raft log entry             0x01 0x02 | region_id u64 | 0x01 | index u64  19
 *   raft local state           0x01 0x02 | region_id u64 | 0x02              11
 *   apply state                0x01 0x02 | region_id u64 | 0x03              11
 *   region local state         0x01 0x03 | region_id u64 | 0x01              11
 *
 * Consequences: big-endian integers sort numerically as bytes, so the log entries of one
 * region sort by index and form the contiguous range `raftLogRange(id, lo, hi)`; all keys of
 * region A sort before all keys of region B when A < B (regions never interleave); all region
 * local states form the contiguous range `regionStateRange()` (enumerated at startup). The
 * prepare-bootstrap key is a strict prefix of the region raft keys and sorts before all of them,
 * so no per-region range contains it.
 *
 * Ranges are half-open `[start, end)` over the keys *inside* a CF; an empty `end` means "to the
 * end of this CF's key space" and an empty `start` means "from its beginning".
 */

export type CfName = 'default' | 'lock' | 'write' | 'raft' | TxnCfName;

/** The transactional CFs (MVCC data, locks, commit records). */
export type TxnCfName = 'txn_default' | 'txn_lock' | 'txn_write';

/** The CF names, in prefix order. */
export const ALL_CFS: readonly CfName[] = Object.freeze([
  'txn_default',
  'txn_lock',
  'txn_write',
  'default',
  'lock',
  'raft',
  'write',
] as CfName[]);

/** The prefix byte of each CF. */
export const CF_PREFIX: Readonly<Record<CfName, number>> = Object.freeze({
  txn_default: 0x44,
  txn_lock: 0x4c,
  txn_write: 0x57,
  default: 0x64,
  lock: 0x6c,
  raft: 0x72,
  write: 0x77,
});

const CF_BY_PREFIX = new Map<number, CfName>(ALL_CFS.map((cf) => [CF_PREFIX[cf], cf]));

export function isCfName(cf: unknown): cf is CfName {
  return typeof cf === 'string' && Object.hasOwn(CF_PREFIX, cf);
}

/** The byte of `cf`; throws TypeError for an unknown name. */
export function cfPrefix(cf: CfName): number {
  if (!isCfName(cf)) throw new TypeError(`unknown column family: ${String(cf)}`);
  return CF_PREFIX[cf];
}

// ---------------------------------------------------------------------------------------------
// CF encoding (stored key = prefix byte | key) and range bounds.

/** The stored LevelDB key of `key` in `cf`. Always a fresh array. */
export function encodeKey(cf: CfName, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out[0] = cfPrefix(cf);
  out.set(key, 1);
  return out;
}

/** Splits a stored key into its CF and the key inside the CF (a view, not a copy). */
export function decodeKey(stored: Uint8Array): { cf: CfName; key: Uint8Array } {
  const cf = stored.length > 0 ? CF_BY_PREFIX.get(stored[0]!) : undefined;
  if (cf === undefined) throw new RangeError(`stored key has no column family prefix: ${hex(stored)}`);
  return { cf, key: stored.subarray(1) };
}

/**
 * LevelDB bounds `{ gte, lt }` of the CF range `[start, end)`. An empty `end` is the end of the
 * CF (the next prefix byte), an empty `start` its beginning.
 */
export function cfRange(cf: CfName, start: Uint8Array, end: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  const p = cfPrefix(cf);
  return {
    gte: encodeKey(cf, start),
    lt: end.length === 0 ? Uint8Array.of(p + 1) : encodeKey(cf, end),
  };
}

/** The smallest key strictly greater than every key starting with `prefix`; empty if none (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) return new Uint8Array(0);
  const out = prefix.slice(0, i + 1);
  out[i]! += 1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// u64 big-endian without BigInt.

const TWO_32 = 0x1_0000_0000;

function writeU64(buf: Uint8Array, offset: number, n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
  // Byte by byte: a DataView per key (several per raft entry) showed in profiles.
  const hi = Math.floor(n / TWO_32);
  const lo = n % TWO_32;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

function readU64(buf: Uint8Array, offset: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getUint32(offset, false) * TWO_32 + view.getUint32(offset + 4, false);
  if (!Number.isSafeInteger(n)) throw new RangeError(`u64 at offset ${offset} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

/** 8 bytes, big-endian. */
export function encodeU64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  writeU64(out, 0, n, 'u64');
  return out;
}

export function decodeU64(buf: Uint8Array, offset = 0): number {
  if (buf.length < offset + 8) throw new RangeError(`need 8 bytes at offset ${offset}, have ${buf.length - offset}`);
  return readU64(buf, offset);
}

// ---------------------------------------------------------------------------------------------
// Local keys (CF `raft`).

export const LOCAL_PREFIX = 0x01;
export const REGION_RAFT_PREFIX = 0x02;
export const REGION_META_PREFIX = 0x03;
export const RAFT_LOG_SUFFIX = 0x01;
export const RAFT_STATE_SUFFIX = 0x02;
export const APPLY_STATE_SUFFIX = 0x03;
export const SNAPSHOT_RAFT_STATE_SUFFIX = 0x04;
export const REGION_STATE_SUFFIX = 0x01;

const STORE_IDENT_KEY = Uint8Array.of(LOCAL_PREFIX, 0x01);
const PREPARE_BOOTSTRAP_KEY = Uint8Array.of(LOCAL_PREFIX, 0x02);
const RAFT_LOG_KEY_LEN = 2 + 8 + 1 + 8;
const REGION_KEY_LEN = 2 + 8 + 1;

export function storeIdentKey(): Uint8Array {
  return STORE_IDENT_KEY.slice();
}

export function prepareBootstrapKey(): Uint8Array {
  return PREPARE_BOOTSTRAP_KEY.slice();
}

function regionKey(prefix: number, regionId: number, suffix: number, tailLen: number): Uint8Array {
  const out = new Uint8Array(REGION_KEY_LEN + tailLen);
  out[0] = LOCAL_PREFIX;
  out[1] = prefix;
  writeU64(out, 2, regionId, 'region id');
  out[10] = suffix;
  return out;
}

/** `0x01 0x02 | region_id` — every raft-engine key of one region (log, raft state, apply state). */
export function regionRaftPrefix(regionId: number): Uint8Array {
  const out = new Uint8Array(10);
  out[0] = LOCAL_PREFIX;
  out[1] = REGION_RAFT_PREFIX;
  writeU64(out, 2, regionId, 'region id');
  return out;
}

/** `0x01 0x03 | region_id` — every meta key of one region. */
export function regionMetaPrefix(regionId: number): Uint8Array {
  const out = new Uint8Array(10);
  out[0] = LOCAL_PREFIX;
  out[1] = REGION_META_PREFIX;
  writeU64(out, 2, regionId, 'region id');
  return out;
}

export function raftLogKey(regionId: number, index: number): Uint8Array {
  const out = regionKey(REGION_RAFT_PREFIX, regionId, RAFT_LOG_SUFFIX, 8);
  writeU64(out, REGION_KEY_LEN, index, 'log index');
  return out;
}

/** `0x01 0x02 | region_id | 0x01` — the prefix shared by a region's log entries. */
export function raftLogPrefix(regionId: number): Uint8Array {
  return regionKey(REGION_RAFT_PREFIX, regionId, RAFT_LOG_SUFFIX, 0);
}

/**
 * The range of a region's log entries with `lo <= index < hi`; `hi` omitted means every index
 * from `lo` on. Both bounds are non-empty keys inside CF `raft`.
 */
export function raftLogRange(regionId: number, lo = 0, hi?: number): { start: Uint8Array; end: Uint8Array } {
  return {
    start: raftLogKey(regionId, lo),
    end: hi === undefined ? prefixEnd(raftLogPrefix(regionId)) : raftLogKey(regionId, hi),
  };
}

export function decodeRaftLogKey(key: Uint8Array): { regionId: number; index: number } {
  if (key.length !== RAFT_LOG_KEY_LEN || key[0] !== LOCAL_PREFIX || key[1] !== REGION_RAFT_PREFIX || key[10] !== RAFT_LOG_SUFFIX) {
    throw new RangeError(`not a raft log key: ${hex(key)}`);
  }
  return { regionId: readU64(key, 2), index: readU64(key, 11) };
}

export function raftStateKey(regionId: number): Uint8Array {
  return regionKey(REGION_RAFT_PREFIX, regionId, RAFT_STATE_SUFFIX, 0);
}

export function applyStateKey(regionId: number): Uint8Array {
  return regionKey(REGION_RAFT_PREFIX, regionId, APPLY_STATE_SUFFIX, 0);
}

/**
 * Kept in the kv engine while a snapshot is being applied: the raft state the snapshot's raft
 * write produces, so a restart can tell whether that write happened (TiKV's snapshot raft state).
 */
export function snapshotRaftStateKey(regionId: number): Uint8Array {
  return regionKey(REGION_RAFT_PREFIX, regionId, SNAPSHOT_RAFT_STATE_SUFFIX, 0);
}

export function regionStateKey(regionId: number): Uint8Array {
  return regionKey(REGION_META_PREFIX, regionId, REGION_STATE_SUFFIX, 0);
}

/** `0x01 0x03` — the prefix of every region meta key. */
export function regionStatePrefix(): Uint8Array {
  return Uint8Array.of(LOCAL_PREFIX, REGION_META_PREFIX);
}

/** The range holding every region local state key (scan it in CF `raft` at startup). */
export function regionStateRange(): { start: Uint8Array; end: Uint8Array } {
  const start = regionStatePrefix();
  return { start, end: prefixEnd(start) };
}

export function isRegionStateKey(key: Uint8Array): boolean {
  return key.length === REGION_KEY_LEN && key[0] === LOCAL_PREFIX && key[1] === REGION_META_PREFIX && key[10] === REGION_STATE_SUFFIX;
}

export function regionIdFromRegionStateKey(key: Uint8Array): number {
  if (!isRegionStateKey(key)) throw new RangeError(`not a region state key: ${hex(key)}`);
  return readU64(key, 2);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
