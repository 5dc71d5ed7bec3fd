// A handwritten codec of the etcd v3 messages the benchmark sends and receives (schema in
// proto.ts): requests are encoded in one pass into a buffer of the exact size, responses are
// decoded field by field, skipping unknown fields. Faster than reflection, and no generated code.
import { ldSize, Reader, varintSize, Writer } from './wire.js';

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: number;
  raftTerm: bigint;
}

export interface KeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

export interface RangeResponse {
  header: ResponseHeader | null;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutResponse {
  header: ResponseHeader | null;
  prevKv: KeyValue | null;
}

export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
}

export interface TxnResponse {
  header: ResponseHeader | null;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionResponse {
  header: ResponseHeader | null;
}

export interface StatusResponse {
  header: ResponseHeader | null;
  version: string;
  dbSize: number;
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  dbSizeInUse: number;
  isLearner: boolean;
}

export interface RangeOptions {
  rangeEnd?: Uint8Array;
  limit?: number;
  /** false (the default): a linearizable read through the leader's ReadIndex. */
  serializable?: boolean;
}

function nonNegative(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
  return n;
}

// ---- requests ----

function putBodySize(key: Uint8Array, value: Uint8Array): number {
  return ldSize(key.length) + (value.length ? ldSize(value.length) : 0);
}

function writePutBody(w: Writer, key: Uint8Array, value: Uint8Array): void {
  w.bytes(1, key);
  if (value.length) w.bytes(2, value);
}

/** PutRequest { key, value }. */
export function encodePutRequest(key: Uint8Array, value: Uint8Array): Buffer {
  const w = new Writer(putBodySize(key, value));
  writePutBody(w, key, value);
  return w.finish();
}

/** RangeRequest { key, range_end?, limit?, serializable? }. */
export function encodeRangeRequest(key: Uint8Array, o: RangeOptions = {}): Buffer {
  const limit = o.limit ? nonNegative(o.limit, 'limit') : 0;
  const size =
    ldSize(key.length) +
    (o.rangeEnd?.length ? ldSize(o.rangeEnd.length) : 0) +
    (limit ? 1 + varintSize(limit) : 0) +
    (o.serializable ? 2 : 0);
  const w = new Writer(size);
  w.bytes(1, key);
  if (o.rangeEnd?.length) w.bytes(2, o.rangeEnd);
  if (limit) w.uint(3, limit);
  if (o.serializable) w.bool(7, true);
  return w.finish();
}

/** TxnRequest with no compares and one RequestOp { request_put } per pair in success. */
export function encodeTxnPuts(keys: readonly Uint8Array[], values: readonly Uint8Array[]): Buffer {
  if (keys.length !== values.length) throw new RangeError('keys and values differ in length');
  let size = 0;
  const bodies = new Array<number>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const put = putBodySize(keys[i]!, values[i]!);
    bodies[i] = put;
    size += ldSize(ldSize(put)); // success (2) → RequestOp, whose request_put (2) → PutRequest
  }
  const w = new Writer(size);
  for (let i = 0; i < keys.length; i++) {
    const put = bodies[i]!;
    w.message(2, ldSize(put));
    w.message(2, put);
    writePutBody(w, keys[i]!, values[i]!);
  }
  return w.finish();
}

/** TxnRequest with no compares and one RequestOp { request_range } per key in success: a linearizable read of them all at one revision. */
export function encodeTxnRanges(keys: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const k of keys) size += ldSize(ldSize(ldSize(k.length)));
  const w = new Writer(size);
  for (const k of keys) {
    w.message(2, ldSize(ldSize(k.length)));
    w.message(1, ldSize(k.length));
    w.bytes(1, k);
  }
  return w.finish();
}

/** Compare.target MOD (CompareTarget enum). */
const COMPARE_MOD = 2;

function compareBodySize(key: Uint8Array, modRevision: number): number {
  // target (2) = MOD, key (3), mod_revision (6; in a oneof: written even when 0); result EQUAL is proto3's default 0.
  return 2 + ldSize(key.length) + 1 + varintSize(modRevision);
}

/**
 * TxnRequest { compare: mod_revision(keys[i]) == modRevisions[i] for each key (0: the key must be
 * absent); success: a put per pair; failure: nothing }: the commit of an etcd STM's read-modify-write.
 */
export function encodeTxnPutsIfModRevisions(
  keys: readonly Uint8Array[],
  modRevisions: readonly number[],
  values: readonly Uint8Array[],
): Buffer {
  if (keys.length !== values.length || keys.length !== modRevisions.length)
    throw new RangeError('keys, revisions and values differ in length');
  let size = 0;
  const puts = new Array<number>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    size += ldSize(compareBodySize(keys[i]!, nonNegative(modRevisions[i]!, 'mod revision')));
    puts[i] = putBodySize(keys[i]!, values[i]!);
    size += ldSize(ldSize(puts[i]!));
  }
  const w = new Writer(size);
  for (let i = 0; i < keys.length; i++) {
    w.message(1, compareBodySize(keys[i]!, modRevisions[i]!));
    w.uint(2, COMPARE_MOD);
    w.bytes(3, keys[i]!);
    w.uint(6, modRevisions[i]!);
  }
  for (let i = 0; i < keys.length; i++) {
    w.message(2, ldSize(puts[i]!));
    w.message(2, puts[i]!);
    writePutBody(w, keys[i]!, values[i]!);
  }
  return w.finish();
}

/** CompactionRequest { revision, physical }. */
export function encodeCompactionRequest(revision: number, physical: boolean): Buffer {
  nonNegative(revision, 'revision');
  const w = new Writer((revision ? 1 + varintSize(revision) : 0) + (physical ? 2 : 0));
  if (revision) w.uint(1, revision);
  if (physical) w.bool(2, true);
  return w.finish();
}

/** StatusRequest {} (no fields). */
export function encodeStatusRequest(): Buffer {
  return Buffer.alloc(0);
}

// ---- responses ----

function decodeHeader(r: Reader, end: number): ResponseHeader {
  const h: ResponseHeader = { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0n };
  const sub = new Reader(r.buf, r.pos, end);
  while (!sub.done()) {
    const [f, t] = sub.tag();
    if (f === 1 && t === 0) h.clusterId = sub.varint64();
    else if (f === 2 && t === 0) h.memberId = sub.varint64();
    else if (f === 3 && t === 0) h.revision = sub.varint();
    else if (f === 4 && t === 0) h.raftTerm = sub.varint64();
    else sub.skip(t);
  }
  return h;
}

function decodeKeyValue(buf: Uint8Array, start: number, end: number): KeyValue {
  const kv: KeyValue = { key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0 };
  const r = new Reader(buf, start, end);
  while (!r.done()) {
    const [f, t] = r.tag();
    if (f === 1 && t === 2) kv.key = r.bytes();
    else if (f === 2 && t === 0) kv.createRevision = r.varint();
    else if (f === 3 && t === 0) kv.modRevision = r.varint();
    else if (f === 4 && t === 0) kv.version = r.varint();
    else if (f === 5 && t === 2) kv.value = r.bytes();
    else if (f === 6 && t === 0) kv.lease = r.varint();
    else r.skip(t);
  }
  return kv;
}

/** Reads a header field (1, length-delimited) or returns false. */
function headerField(r: Reader, f: number, t: number): ResponseHeader | null {
  if (f !== 1 || t !== 2) return null;
  const len = r.varint();
  const end = r.pos + len;
  if (end > r.end) throw new Error('truncated header');
  const h = decodeHeader(r, end);
  r.pos = end;
  return h;
}

function decodeRangeResponseAt(buf: Uint8Array, start: number, end: number): RangeResponse {
  const out: RangeResponse = { header: null, kvs: [], more: false, count: 0 };
  const r = new Reader(buf, start, end);
  while (!r.done()) {
    const [f, t] = r.tag();
    const h = headerField(r, f, t);
    if (h) out.header = h;
    else if (f === 2 && t === 2) {
      const [s, e] = r.delimited();
      out.kvs.push(decodeKeyValue(buf, s, e));
    } else if (f === 3 && t === 0) out.more = r.varint() !== 0;
    else if (f === 4 && t === 0) out.count = r.varint();
    else r.skip(t);
  }
  return out;
}

function decodePutResponseAt(buf: Uint8Array, start: number, end: number): PutResponse {
  const out: PutResponse = { header: null, prevKv: null };
  const r = new Reader(buf, start, end);
  while (!r.done()) {
    const [f, t] = r.tag();
    const h = headerField(r, f, t);
    if (h) out.header = h;
    else if (f === 2 && t === 2) {
      const [s, e] = r.delimited();
      out.prevKv = decodeKeyValue(buf, s, e);
    } else r.skip(t);
  }
  return out;
}

export function decodeRangeResponse(buf: Uint8Array): RangeResponse {
  return decodeRangeResponseAt(buf, 0, buf.length);
}

export function decodePutResponse(buf: Uint8Array): PutResponse {
  return decodePutResponseAt(buf, 0, buf.length);
}

export function decodeTxnResponse(buf: Uint8Array): TxnResponse {
  const out: TxnResponse = { header: null, succeeded: false, responses: [] };
  const r = new Reader(buf);
  while (!r.done()) {
    const [f, t] = r.tag();
    const h = headerField(r, f, t);
    if (h) out.header = h;
    else if (f === 2 && t === 0) out.succeeded = r.varint() !== 0;
    else if (f === 3 && t === 2) {
      const [s, e] = r.delimited();
      const op: ResponseOp = {};
      const or = new Reader(buf, s, e);
      while (!or.done()) {
        const [of, ot] = or.tag();
        if (of === 1 && ot === 2) {
          const [a, b] = or.delimited();
          op.responseRange = decodeRangeResponseAt(buf, a, b);
        } else if (of === 2 && ot === 2) {
          const [a, b] = or.delimited();
          op.responsePut = decodePutResponseAt(buf, a, b);
        } else or.skip(ot);
      }
      out.responses.push(op);
    } else r.skip(t);
  }
  return out;
}

export function decodeCompactionResponse(buf: Uint8Array): CompactionResponse {
  const out: CompactionResponse = { header: null };
  const r = new Reader(buf);
  while (!r.done()) {
    const [f, t] = r.tag();
    const h = headerField(r, f, t);
    if (h) out.header = h;
    else r.skip(t);
  }
  return out;
}

export function decodeStatusResponse(buf: Uint8Array): StatusResponse {
  const out: StatusResponse = {
    header: null,
    version: '',
    dbSize: 0,
    leader: 0n,
    raftIndex: 0,
    raftTerm: 0,
    raftAppliedIndex: 0,
    errors: [],
    dbSizeInUse: 0,
    isLearner: false,
  };
  const r = new Reader(buf);
  while (!r.done()) {
    const [f, t] = r.tag();
    const h = headerField(r, f, t);
    if (h) out.header = h;
    else if (f === 2 && t === 2) out.version = r.string();
    else if (f === 3 && t === 0) out.dbSize = r.varint();
    else if (f === 4 && t === 0) out.leader = r.varint64();
    else if (f === 5 && t === 0) out.raftIndex = r.varint();
    else if (f === 6 && t === 0) out.raftTerm = r.varint();
    else if (f === 7 && t === 0) out.raftAppliedIndex = r.varint();
    else if (f === 8 && t === 2) out.errors.push(r.string());
    else if (f === 9 && t === 0) out.dbSizeInUse = r.varint();
    else if (f === 10 && t === 0) out.isLearner = r.varint() !== 0;
    else r.skip(t);
  }
  return out;
}
