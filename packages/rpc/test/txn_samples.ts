// Sample transactional messages for the codec tests, in the shape decoding gives (every scalar
// set, so decode(encode(x)) equals x), with every u64 derived from one timestamp.
import type { errorpb, kvrpcpb } from '@tskv/proto';
import { Action, type LockInfo, Op, type txnCodec, type WriteConflict } from '../src/index.js';

export type TxnName = keyof typeof txnCodec;

export const U64_MAX = 2n ** 64n - 1n;
/** The timestamps every message is tried with: 0, the first integer a double cannot hold, u64 max. */
export const TIMESTAMPS = [0n, 2n ** 53n + 1n, U64_MAX];

/** Plain bytes (not a Buffer: decoded bytes are plain Uint8Array views). */
export const k = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

export const CONTEXT: kvrpcpb.Context.$Properties = { regionId: 7, regionEpoch: { confVer: 2, version: 3 }, peer: { id: 11, storeId: 4 } };
export const REGION_ERROR: errorpb.Error.$Properties = {
  message: 'not leader',
  notLeader: { regionId: 7, leader: { id: 12, storeId: 5 } },
};

const lockInfo = (a: bigint, b: bigint): LockInfo => ({ primaryLock: k('p'), lockVersion: a, key: k('k1'), lockTtl: b });
const conflict = (a: bigint, b: bigint): WriteConflict => ({ startTs: a, conflictTs: b, key: k('k2'), primary: k('p') });

/** One message of each type; distinct values per field (except at 0) so a swap of two fields shows. */
export function samples(t: bigint): Record<TxnName, Record<string, unknown>> {
  const a = t;
  const b = t === 0n ? 0n : t - 1n;
  const c = t / 2n;
  return {
    LockInfo: { ...lockInfo(a, b) },
    WriteConflict: { ...conflict(a, b) },
    // All four set: the wire allows it, and each must survive.
    KeyError: { locked: lockInfo(a, b), retryable: 'retry', abort: 'abort ✗', conflict: conflict(b, c) },
    Mutation: { op: Op.Del, key: k('m'), value: k('v') },
    TxnKvPair: { error: { abort: 'no' }, key: k('x'), value: k('y') },
    GetRequest: { context: CONTEXT, key: k('g'), version: a },
    GetResponse: { regionError: REGION_ERROR, error: { locked: lockInfo(a, b) }, value: k('val'), notFound: true },
    ScanRequest: { context: CONTEXT, startKey: k('s'), limit: 2 ** 32 - 1, version: a },
    ScanResponse: {
      regionError: REGION_ERROR,
      pairs: [
        { key: k('a'), value: k('1') },
        { error: { locked: lockInfo(b, a) }, key: k('b'), value: new Uint8Array(0) },
      ],
      error: { abort: 'invalid request' },
    },
    PrewriteRequest: {
      context: CONTEXT,
      mutations: [
        { op: Op.Put, key: k('a'), value: k('1') },
        { op: Op.Put, key: k('e'), value: new Uint8Array(0) },
        { op: Op.Lock, key: k('b'), value: new Uint8Array(0) },
      ],
      primaryLock: k('a'),
      startVersion: a,
      lockTtl: b,
    },
    PrewriteResponse: { regionError: REGION_ERROR, errors: [{ conflict: conflict(a, b) }, { locked: lockInfo(b, c) }, { retryable: 'x' }] },
    // An empty key in a repeated field is still an element.
    CommitRequest: { context: CONTEXT, startVersion: b, keys: [k('a'), new Uint8Array(0), k('c')], commitVersion: a },
    CommitResponse: { regionError: REGION_ERROR, error: { abort: 'rolled back' } },
    BatchRollbackRequest: { context: CONTEXT, startVersion: a, keys: [k('a'), k('b')] },
    BatchRollbackResponse: { error: { retryable: 'locked' } },
    CheckTxnStatusRequest: { context: CONTEXT, primaryKey: k('p'), lockTs: b, currentTs: a },
    CheckTxnStatusResponse: {
      regionError: REGION_ERROR,
      lockTtl: a,
      commitVersion: b,
      action: Action.LockNotExistRollback,
      error: { abort: 'x' },
    },
    ResolveLockRequest: { context: CONTEXT, startVersion: b, commitVersion: a },
    ResolveLockResponse: { error: { conflict: conflict(c, a) } },
  };
}

/** The same object with bigints as numbers (what the generated code takes). */
export function toNumbers(x: unknown): unknown {
  if (typeof x === 'bigint') return Number(x);
  if (Array.isArray(x)) return x.map(toNumbers);
  if (x instanceof Uint8Array || x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.entries(x).map(([key, v]) => [key, toNumbers(v)]));
}

/** x with every object as a plain object of its own properties (generated messages decode as class instances). */
export function plain<T>(x: T): T {
  if (Array.isArray(x)) return x.map(plain) as T;
  if (x instanceof Uint8Array || x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.entries(x).map(([key, v]) => [key, plain(v)])) as T;
}

/** Every path to a bigint in x, e.g. ['errors', 1, 'locked', 'lockVersion']. */
export function bigintPaths(x: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof x === 'bigint') return [path];
  if (Array.isArray(x)) return x.flatMap((v, i) => bigintPaths(v, [...path, i]));
  if (x instanceof Uint8Array || x === null || typeof x !== 'object') return [];
  return Object.entries(x).flatMap(([key, v]) => bigintPaths(v, [...path, key]));
}

/** A deep copy of x with the value at path replaced. */
export function withValue(x: unknown, path: (string | number)[], v: unknown): unknown {
  if (path.length === 0) return v;
  const [head, ...rest] = path;
  if (Array.isArray(x)) return x.map((e, i) => (i === head ? withValue(e, rest, v) : e));
  const o = x as Record<string, unknown>;
  return { ...o, [head!]: withValue(o[head!], rest, v) };
}

/** A path as the codec's errors name it: errors[1].locked.lockVersion. */
export function pathName(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
