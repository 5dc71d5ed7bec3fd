// The seven transactional commands, each a function of (snapshot reader, request): reads check
// the snapshot, and a write command returns its modifications instead of writing them, so the
// caller (TxnExecutor, or the store) latches, writes and releases around it. A write command
// that answers with a KeyError returns no modifications: it is all or nothing.
//
// A malformed request (a timestamp that is not a u64, commit_version not above start_version, an
// unknown or unsupported Op, a missing key) is answered with KeyError.abort "invalid request: ..."
// and writes nothing; validateXxx(req) tells the same without a reader.
import { checkU64, physicalTime } from './codec.js';
import { MvccTxn } from './mvcc_txn.js';
import { type Lock, lockInfo, parseLock, WriteKind, writeKindFromOp } from './records.js';
import { isLockedFor, Scanner } from './scanner.js';
import type { Modify, MvccReader } from './storage.js';
import {
  Action,
  type BatchRollbackRequest,
  type BatchRollbackResponse,
  type CheckTxnStatusRequest,
  type CheckTxnStatusResponse,
  type CommitRequest,
  type CommitResponse,
  type GetRequest,
  type GetResponse,
  type KeyError,
  type KvPair,
  type Mutation,
  Op,
  type PrewriteRequest,
  type PrewriteResponse,
  type ResolveLockRequest,
  type ResolveLockResponse,
  type ScanRequest,
  type ScanResponse,
} from './types.js';

/** A write command's answer and the modifications to write atomically (none after a KeyError). */
export interface CommandResult<R> {
  response: R;
  modifies: Modify[];
}

const UNBOUNDED = new Uint8Array(0);
const U32_MAX = 2 ** 32 - 1;

/** The KeyError of a malformed request. */
export function invalidRequest(message: string): KeyError {
  return { abort: `invalid request: ${message}` };
}

function hex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

/** Runs the checks; the first failure's message, or undefined. */
function firstProblem(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function checkBytes(name: string, b: unknown): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${b === null ? 'null' : typeof b}`);
}

function checkKeys(keys: unknown): asserts keys is Uint8Array[] {
  if (!Array.isArray(keys)) throw new TypeError('keys must be an array');
  for (const [i, k] of keys.entries()) checkBytes(`keys[${i}]`, k);
}

function checkCommitTs(startVersion: bigint, commitVersion: bigint): void {
  if (commitVersion <= startVersion) {
    throw new RangeError(`commitVersion ${commitVersion} must be greater than startVersion ${startVersion}`);
  }
}

/** The keys in order of first appearance, duplicates dropped. */
function uniqueKeys(keys: readonly Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  for (const k of keys) {
    const s = hex(k);
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(k);
  }
  return out;
}

export function validateGet(req: GetRequest): string | undefined {
  return firstProblem(() => {
    checkBytes('key', req.key);
    checkU64('version', req.version);
  });
}

export function validateScan(req: ScanRequest): string | undefined {
  return firstProblem(() => {
    checkBytes('startKey', req.startKey);
    if (!Number.isInteger(req.limit) || req.limit < 0 || req.limit > U32_MAX) {
      throw new RangeError(`limit must be an integer in [0, 2^32), got ${String(req.limit)}`);
    }
    checkU64('version', req.version);
  });
}

export function validatePrewrite(req: PrewriteRequest): string | undefined {
  return firstProblem(() => {
    if (!Array.isArray(req.mutations)) throw new TypeError('mutations must be an array');
    req.mutations.forEach((m: Mutation, i) => {
      if (typeof m !== 'object' || m === null) throw new TypeError(`mutations[${i}] must be an object`);
      try {
        writeKindFromOp(m.op);
      } catch (e) {
        throw new RangeError(`mutations[${i}]: ${(e as Error).message}`);
      }
      checkBytes(`mutations[${i}].key`, m.key);
      if (m.op === Op.Put) checkBytes(`mutations[${i}].value (a Put)`, m.value);
    });
    checkBytes('primaryLock', req.primaryLock);
    checkU64('startVersion', req.startVersion);
    checkU64('lockTtl', req.lockTtl);
  });
}

export function validateCommit(req: CommitRequest): string | undefined {
  return firstProblem(() => {
    checkKeys(req.keys);
    checkU64('startVersion', req.startVersion);
    checkU64('commitVersion', req.commitVersion);
    checkCommitTs(req.startVersion, req.commitVersion);
  });
}

export function validateBatchRollback(req: BatchRollbackRequest): string | undefined {
  return firstProblem(() => {
    checkKeys(req.keys);
    checkU64('startVersion', req.startVersion);
  });
}

export function validateCheckTxnStatus(req: CheckTxnStatusRequest): string | undefined {
  return firstProblem(() => {
    checkBytes('primaryKey', req.primaryKey);
    checkU64('lockTs', req.lockTs);
    checkU64('currentTs', req.currentTs);
  });
}

export function validateResolveLock(req: ResolveLockRequest): string | undefined {
  return firstProblem(() => {
    checkU64('startVersion', req.startVersion);
    checkU64('commitVersion', req.commitVersion);
    if (req.commitVersion !== 0n) checkCommitTs(req.startVersion, req.commitVersion);
  });
}

/** The keys a write command latches (valid requests only; ResolveLock's come from findTxnLocks). */
export function prewriteKeys(req: PrewriteRequest): Uint8Array[] {
  return uniqueKeys(req.mutations.map((m) => m.key));
}
export function commitKeys(req: CommitRequest): Uint8Array[] {
  return uniqueKeys(req.keys);
}
export function batchRollbackKeys(req: BatchRollbackRequest): Uint8Array[] {
  return uniqueKeys(req.keys);
}
export function checkTxnStatusKeys(req: CheckTxnStatusRequest): Uint8Array[] {
  return [req.primaryKey];
}

/** KvGet: the value of `key` at `version`, unless a lock that may commit before it is in the way. */
export async function kvGet(reader: MvccReader, req: GetRequest): Promise<GetResponse> {
  const bad = validateGet(req);
  if (bad !== undefined) return { error: invalidRequest(bad) };
  const txn = new MvccTxn(reader, req.version);
  const lock = await txn.getLock(req.key);
  if (lock && isLockedFor(lock, req.key, req.version)) return { error: { locked: lockInfo(lock, req.key) } };
  const value = await txn.getValue(req.key);
  return value === null ? { notFound: true } : { value, notFound: false };
}

/**
 * KvScan: up to `limit` pairs from `startKey` on at `version`. A key blocked by a lock gives a
 * pair with error.locked (it counts toward the limit) and the scan goes on.
 */
export async function kvScan(reader: MvccReader, req: ScanRequest): Promise<ScanResponse> {
  const bad = validateScan(req);
  if (bad !== undefined) return { pairs: [], error: invalidRequest(bad) };
  const pairs: KvPair[] = [];
  if (req.limit === 0) return { pairs };
  const scanner = new Scanner(req.startKey, new MvccTxn(reader, req.version));
  try {
    while (pairs.length < req.limit) {
      const pair = await scanner.next();
      if (!pair) break;
      pairs.push(pair);
    }
  } finally {
    await scanner.close();
  }
  return { pairs };
}

/**
 * KvPrewrite: locks every mutated key for the transaction and writes Put values at start ts.
 * Per key: a write committed at or after start ts (rollback records too) is a conflict; another
 * transaction's lock is `locked`; this transaction's own lock means a retried prewrite, left as
 * it is. Any error: every error is reported and nothing is written. A key mutated twice in one
 * request takes its last mutation.
 */
export async function kvPrewrite(reader: MvccReader, req: PrewriteRequest): Promise<CommandResult<PrewriteResponse>> {
  const bad = validatePrewrite(req);
  if (bad !== undefined) return { response: { errors: [invalidRequest(bad)] }, modifies: [] };
  const last = new Map<string, Mutation>();
  for (const m of req.mutations) {
    const k = hex(m.key);
    last.delete(k); // re-insert: the order of last appearance
    last.set(k, m);
  }
  const txn = new MvccTxn(reader, req.startVersion);
  const errors: KeyError[] = [];
  for (const m of last.values()) {
    const recent = await txn.mostRecentWrite(m.key);
    if (recent && recent.commitTs >= req.startVersion) {
      errors.push({ conflict: { startTs: req.startVersion, conflictTs: recent.commitTs, key: m.key, primary: req.primaryLock } });
      continue;
    }
    const lock = await txn.getLock(m.key);
    if (lock) {
      if (lock.ts !== req.startVersion) errors.push({ locked: lockInfo(lock, m.key) });
      continue; // our own lock: this key's prewrite already succeeded
    }
    const kind = writeKindFromOp(m.op);
    if (kind === WriteKind.Put) txn.putValue(m.key, m.value!);
    txn.putLock(m.key, { primary: req.primaryLock, ts: req.startVersion, ttl: req.lockTtl, kind });
  }
  if (errors.length > 0) return { response: { errors }, modifies: [] };
  return { response: { errors: [] }, modifies: [...txn.writes] };
}

/** The commit of `keys` by `txn` at `commitTs`; a KeyError ends it (the caller writes nothing). */
async function commitLocked(txn: MvccTxn, keys: readonly Uint8Array[], commitTs: bigint): Promise<KeyError | undefined> {
  for (const key of keys) {
    const lock = await txn.getLock(key);
    if (lock?.ts === txn.startTs) {
      txn.putWrite(key, commitTs, { startTs: txn.startTs, kind: lock.kind });
      txn.deleteLock(key);
      continue;
    }
    if (lock) return { retryable: `key ${hex(key)} is locked by another transaction (start ts ${lock.ts})` };
    // No lock: committed already (a retried commit) is fine, and so is nothing at all; rolled
    // back means this transaction can never commit.
    const cw = await txn.currentWrite(key);
    if (cw?.write.kind === WriteKind.Rollback) {
      return { abort: `transaction ${txn.startTs} was rolled back on key ${hex(key)}: it cannot commit` };
    }
  }
  return undefined;
}

/** KvCommit: turns the transaction's locks on `keys` into writes at commit_version. */
export async function kvCommit(reader: MvccReader, req: CommitRequest): Promise<CommandResult<CommitResponse>> {
  const bad = validateCommit(req);
  if (bad !== undefined) return { response: { error: invalidRequest(bad) }, modifies: [] };
  const txn = new MvccTxn(reader, req.startVersion);
  const error = await commitLocked(txn, uniqueKeys(req.keys), req.commitVersion);
  if (error) return { response: { error }, modifies: [] };
  return { response: {}, modifies: [...txn.writes] };
}

/**
 * The rollback of `keys` by `txn`: removes its lock and value and leaves a rollback record (also
 * where there was no lock, so a late prewrite of this transaction fails). A KeyError ends it.
 */
async function rollbackLocked(txn: MvccTxn, keys: readonly Uint8Array[]): Promise<KeyError | undefined> {
  for (const key of keys) {
    const cw = await txn.currentWrite(key);
    if (cw) {
      if (cw.write.kind === WriteKind.Rollback) continue; // rolled back already
      return { abort: `transaction ${txn.startTs} is committed on key ${hex(key)} (commit ts ${cw.commitTs}): it cannot roll back` };
    }
    const lock = await txn.getLock(key);
    if (lock?.ts === txn.startTs) {
      txn.deleteLock(key);
      txn.deleteValue(key);
    }
    txn.putWrite(key, txn.startTs, { startTs: txn.startTs, kind: WriteKind.Rollback });
  }
  return undefined;
}

/** KvBatchRollback: rolls the transaction back on `keys`. */
export async function kvBatchRollback(reader: MvccReader, req: BatchRollbackRequest): Promise<CommandResult<BatchRollbackResponse>> {
  const bad = validateBatchRollback(req);
  if (bad !== undefined) return { response: { error: invalidRequest(bad) }, modifies: [] };
  const txn = new MvccTxn(reader, req.startVersion);
  const error = await rollbackLocked(txn, uniqueKeys(req.keys));
  if (error) return { response: { error }, modifies: [] };
  return { response: {}, modifies: [...txn.writes] };
}

/** Whether a lock has outlived its TTL at `currentTs` (milliseconds of the physical parts). */
export function isLockExpired(lock: Lock, currentTs: bigint): boolean {
  return physicalTime(lock.ts) + lock.ttl < physicalTime(currentTs);
}

/**
 * KvCheckTxnStatus: the state of the transaction (start ts lock_ts) seen at its primary key.
 * Its live lock: expired → rolled back (TTLExpireRollback), else its TTL (NoAction). No lock:
 * committed → commit_version; rolled back → 0; nothing → a rollback record, so the transaction
 * can no longer commit (LockNotExistRollback). Another transaction's lock is left alone.
 */
export async function kvCheckTxnStatus(reader: MvccReader, req: CheckTxnStatusRequest): Promise<CommandResult<CheckTxnStatusResponse>> {
  const bad = validateCheckTxnStatus(req);
  if (bad !== undefined) {
    return { response: { lockTtl: 0n, commitVersion: 0n, action: Action.NoAction, error: invalidRequest(bad) }, modifies: [] };
  }
  const key = req.primaryKey;
  const txn = new MvccTxn(reader, req.lockTs);
  const lock = await txn.getLock(key);
  if (lock?.ts === req.lockTs) {
    if (!isLockExpired(lock, req.currentTs)) {
      return { response: { lockTtl: lock.ttl, commitVersion: 0n, action: Action.NoAction }, modifies: [] };
    }
    txn.deleteLock(key);
    txn.deleteValue(key);
    txn.putWrite(key, req.lockTs, { startTs: req.lockTs, kind: WriteKind.Rollback });
    return { response: { lockTtl: 0n, commitVersion: 0n, action: Action.TTLExpireRollback }, modifies: [...txn.writes] };
  }
  const cw = await txn.currentWrite(key);
  if (cw) {
    const commitVersion = cw.write.kind === WriteKind.Rollback ? 0n : cw.commitTs;
    return { response: { lockTtl: 0n, commitVersion, action: Action.NoAction }, modifies: [] };
  }
  txn.putWrite(key, req.lockTs, { startTs: req.lockTs, kind: WriteKind.Rollback });
  return { response: { lockTtl: 0n, commitVersion: 0n, action: Action.LockNotExistRollback }, modifies: [...txn.writes] };
}

/** Every lock of the transaction that started at `startTs`, in key order (reads the whole lock CF the reader covers). */
export async function findTxnLocks(reader: MvccReader, startTs: bigint): Promise<{ key: Uint8Array; lock: Lock }[]> {
  const out: { key: Uint8Array; lock: Lock }[] = [];
  for await (const [key, value] of reader.scan('lock', UNBOUNDED, UNBOUNDED)) {
    const lock = parseLock(value);
    if (lock.ts === startTs) out.push({ key: new Uint8Array(key), lock });
  }
  return out;
}

/**
 * KvResolveLock: commits (commit_version > 0) or rolls back (0) the transaction on `keys`, the
 * keys of its locks (findTxnLocks of this reader when not given: a caller that latches finds
 * them first, latches them, and passes them with a fresh reader).
 */
export async function kvResolveLock(
  reader: MvccReader,
  req: ResolveLockRequest,
  keys?: readonly Uint8Array[],
): Promise<CommandResult<ResolveLockResponse>> {
  const bad = validateResolveLock(req);
  if (bad !== undefined) return { response: { error: invalidRequest(bad) }, modifies: [] };
  const targets = keys ? uniqueKeys(keys) : (await findTxnLocks(reader, req.startVersion)).map((l) => l.key);
  const txn = new MvccTxn(reader, req.startVersion);
  const error = req.commitVersion === 0n ? await rollbackLocked(txn, targets) : await commitLocked(txn, targets, req.commitVersion);
  if (error) return { response: { error }, modifies: [] };
  return { response: {}, modifies: [...txn.writes] };
}
