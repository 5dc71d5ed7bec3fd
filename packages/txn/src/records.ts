// Lock and Write records, byte-exact with TinyKV.
//   Lock  = primary (any length) ++ kind (1) ++ BE64(start ts) ++ BE64(ttl)   (lock CF, raw key)
//   Write = kind (1) ++ BE64(start ts)                                         (write CF, EncodeKey(key, commit ts))
import { checkU64 } from './codec.js';
import { type LockInfo, Op } from './types.js';

/** The kind of a write record or of a lock (one byte). Not the proto Op: see writeKindFromOp. */
export enum WriteKind {
  Put = 1,
  Delete = 2,
  Rollback = 3,
}

export interface Lock {
  /** The transaction's primary key: its lock decides the transaction's fate. */
  primary: Uint8Array;
  /** The transaction's start ts. */
  ts: bigint;
  /** Milliseconds, compared with the physical part of timestamps. */
  ttl: bigint;
  kind: WriteKind;
}

export interface Write {
  /** The start ts of the transaction that wrote it; its commit ts is in the key. */
  startTs: bigint;
  kind: WriteKind;
}

export class RecordError extends Error {
  override name = 'RecordError';
}

const LOCK_FIXED = 17;
const WRITE_LEN = 9;

function isWriteKind(k: number): k is WriteKind {
  return k === WriteKind.Put || k === WriteKind.Delete || k === WriteKind.Rollback;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function serializeLock(lock: Lock): Uint8Array {
  checkU64('lock ts', lock.ts);
  checkU64('lock ttl', lock.ttl);
  if (!isWriteKind(lock.kind)) throw new RecordError(`bad lock kind ${lock.kind}`);
  const p = lock.primary.length;
  const out = new Uint8Array(p + LOCK_FIXED);
  out.set(lock.primary, 0);
  out[p] = lock.kind;
  const v = view(out);
  v.setBigUint64(p + 1, lock.ts);
  v.setBigUint64(p + 9, lock.ttl);
  return out;
}

/** Parses lock bytes; the primary is a copy (the input buffer may be reused by the storage). */
export function parseLock(bytes: Uint8Array): Lock {
  if (bytes.length < LOCK_FIXED) throw new RecordError(`bad lock: need at least ${LOCK_FIXED} bytes, found ${bytes.length}`);
  const p = bytes.length - LOCK_FIXED;
  const kind = bytes[p]!;
  if (!isWriteKind(kind)) throw new RecordError(`bad lock: unknown kind ${kind}`);
  const v = view(bytes);
  return { primary: new Uint8Array(bytes.subarray(0, p)), kind, ts: v.getBigUint64(p + 1), ttl: v.getBigUint64(p + 9) };
}

export function serializeWrite(write: Write): Uint8Array {
  checkU64('write start ts', write.startTs);
  if (!isWriteKind(write.kind)) throw new RecordError(`bad write kind ${write.kind}`);
  const out = new Uint8Array(WRITE_LEN);
  out[0] = write.kind;
  view(out).setBigUint64(1, write.startTs);
  return out;
}

export function parseWrite(bytes: Uint8Array): Write {
  if (bytes.length !== WRITE_LEN) throw new RecordError(`bad write: need exactly ${WRITE_LEN} bytes, found ${bytes.length}`);
  const kind = bytes[0]!;
  if (!isWriteKind(kind)) throw new RecordError(`bad write: unknown kind ${kind}`);
  return { kind, startTs: view(bytes).getBigUint64(1) };
}

/** The lock's LockInfo for `key`, as KeyError.locked reports it. */
export function lockInfo(lock: Lock, key: Uint8Array): LockInfo {
  return { primaryLock: lock.primary, lockVersion: lock.ts, key, lockTtl: lock.ttl };
}

/**
 * The kind a prewritten mutation locks and writes with. Only Put and Del are mutations: Rollback
 * and Lock (TinySQL's pessimistic lock, unsupported here) and unknown values throw RecordError.
 */
export function writeKindFromOp(op: unknown): WriteKind {
  switch (op) {
    case Op.Put:
      return WriteKind.Put;
    case Op.Del:
      return WriteKind.Delete;
    case Op.Rollback:
      throw new RecordError('op Rollback cannot be prewritten (use BatchRollback)');
    case Op.Lock:
      throw new RecordError('op Lock is not supported');
    default:
      throw new RecordError(`unknown op ${String(op)}`);
  }
}

/** The proto Op of a kind (the reverse of writeKindFromOp, plus Rollback). */
export function writeKindToOp(kind: WriteKind): Op {
  switch (kind) {
    case WriteKind.Put:
      return Op.Put;
    case WriteKind.Delete:
      return Op.Del;
    case WriteKind.Rollback:
      return Op.Rollback;
  }
}
