// The lossless protobuf codec of kvrpcpb's transactional messages. The generated code of
// @tskv/proto turns 64-bit fields into JS numbers (exact only up to 2^53), while transaction
// timestamps are u64 values far above that (physical ms << 18 | logical); here every u64 is a
// bigint, written and read as a 64-bit varint.
//
// The wire is protobuf's and the generated code's: fields in number order, a scalar equal to its
// default (0, empty, false) not written, a message written whenever it is set, so the bytes equal
// protobufjs's (and Go's) for values both can hold. Context and errorpb.Error have no u64
// timestamps: they are embedded with the generated encoders and decoders.
//
// Decoding gives the shapes of txn_types.ts: every scalar field is set (its default when absent,
// as proto3 cannot tell an absent field from a default one: a Put of an empty value has `value`
// set to an empty array), except KeyError's retryable and abort, which are set only when non-empty
// (which field is set is the error's meaning); message fields are set only when present. Bytes
// are views into the decoded buffer, as protobufjs's are. Unknown fields are skipped; a known
// field with the wrong wire type, a varint over 64 bits and a truncated message are errors
// naming the field.
import { errorpb, kvrpcpb } from '@tskv/proto';
import type {
  KeyError,
  KvBatchRollbackRequest,
  KvBatchRollbackResponse,
  KvCheckTxnStatusRequest,
  KvCheckTxnStatusResponse,
  KvCommitRequest,
  KvCommitResponse,
  KvGetRequest,
  KvGetResponse,
  KvPair,
  KvPrewriteRequest,
  KvPrewriteResponse,
  KvResolveLockRequest,
  KvResolveLockResponse,
  KvScanRequest,
  KvScanResponse,
  LockInfo,
  Mutation,
  WriteConflict,
} from './txn_types.js';

/** A message that cannot be encoded or decoded; the message names the field, e.g. `mutations[1].op`. */
export class TxnCodecError extends Error {
  override readonly name = 'TxnCodecError';
}

/** Encodes and decodes one message type. */
export interface TxnMessageCodec<T> {
  /** The protobuf message, e.g. `kvrpcpb.GetRequest`. */
  readonly type: string;
  /** Throws TxnCodecError for a value the field cannot hold (a u64 outside [0, 2^64), a non-bigint, ...). */
  encode(message: T): Uint8Array;
  /** Throws TxnCodecError for bytes that are not a valid encoding of the message. */
  decode(bytes: Uint8Array): T;
}

// ---- Errors

/** Raised inside the codec; the field path is prepended while it unwinds. */
export class FieldError extends Error {
  readonly path: string[] = [];
}

export function at(e: unknown, segment: string): unknown {
  if (e instanceof FieldError) e.path.unshift(segment);
  return e;
}

export function pathOf(e: FieldError): string {
  let s = '';
  for (const seg of e.path) s += seg.startsWith('[') ? seg : `.${seg}`;
  return s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

// ---- Writer

const U64_END = 1n << 64n;
const LOW32 = 0xffffffffn;

export class Writer {
  buf = new Uint8Array(128);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  /** An unsigned varint below 2^32. */
  varint32(v: number): void {
    this.room(5);
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** A varint of 64 bits given as its low and high 32 (unsigned). */
  varint64(lo: number, hi: number): void {
    this.room(10);
    const b = this.buf;
    let p = this.pos;
    while (hi) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  tag(no: number, wire: number): void {
    this.varint32(((no << 3) | wire) >>> 0);
  }

  /** Length-prefixed bytes. */
  bytes(v: Uint8Array): void {
    this.varint32(v.length);
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Bytes as they are (an encoded part). */
  raw(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Starts a length-delimited part: one byte is reserved for its length. */
  fork(): number {
    this.room(1);
    return this.pos++;
  }

  /** Writes the length of the part started at `start`, moving the part when it takes more than a byte. */
  ldelim(start: number): void {
    let len = this.pos - start - 1;
    let n = 1;
    for (let v = len; v > 127; v >>>= 7) n++;
    if (n > 1) {
      this.room(n - 1);
      this.buf.copyWithin(start + n, start + 1, this.pos);
      this.pos += n - 1;
    }
    let p = start;
    while (len > 127) {
      this.buf[p++] = (len & 127) | 128;
      len >>>= 7;
    }
    this.buf[p] = len;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

// ---- Reader

export const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'wire type 6', 'wire type 7'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  /** The last varint read: its low and high 32 bits, unsigned. */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  private truncated(start: number): FieldError {
    return new FieldError(`truncated varint at byte ${start}`);
  }

  /** Reads a varint of at most 64 bits into lo and hi. */
  varint(): void {
    const b = this.buf;
    const end = this.end;
    const start = this.pos;
    let p = start;
    let lo = 0;
    let x: number;
    for (let s = 0; s < 28; s += 7) {
      if (p >= end) throw this.truncated(start);
      x = b[p++]!;
      lo |= (x & 127) << s;
      if (x < 128) {
        this.lo = lo >>> 0;
        this.hi = 0;
        this.pos = p;
        return;
      }
    }
    if (p >= end) throw this.truncated(start);
    x = b[p++]!;
    lo |= (x & 127) << 28;
    let hi = (x & 127) >>> 4;
    if (x >= 128) {
      for (let s = 3; ; s += 7) {
        if (p >= end) throw this.truncated(start);
        x = b[p++]!;
        // The tenth byte holds bit 63 only: anything more is past 64 bits (or an eleventh byte).
        if (s === 31 && x > 1) throw new FieldError(`varint over 64 bits at byte ${start}`);
        hi |= (x & 127) << s;
        if (x < 128) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = p;
  }

  u64(): bigint {
    this.varint();
    return this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** A length that must fit in what is left of the message. */
  length(): number {
    const start = this.pos;
    this.varint();
    if (this.hi !== 0 || this.lo > this.end - this.pos) {
      throw new FieldError(`length at byte ${start} runs past the end of the message`);
    }
    return this.lo;
  }

  view(len: number): Uint8Array {
    const v = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, len);
    this.pos += len;
    return v;
  }

  /** Reads a tag; returns the field number and sets lo to the wire type. */
  tag(): number {
    const start = this.pos;
    this.varint();
    const no = this.lo >>> 3;
    if (this.hi !== 0 || no === 0) throw new FieldError(`invalid field number at byte ${start}`);
    this.lo &= 7;
    return no;
  }

  /** Skips the value of an unknown field. */
  skip(wire: number, no: number, depth = 0): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (this.end - this.pos < n) throw new FieldError(`truncated field ${no}`);
        this.pos += n;
        return;
      }
      case 2: {
        const len = this.length();
        this.pos += len;
        return;
      }
      case 3: {
        // A group (deprecated, but legal on the wire): skip to its end.
        if (depth > 32) throw new FieldError('groups nested too deep');
        for (;;) {
          if (this.pos >= this.end) throw new FieldError(`unterminated group ${no}`);
          const n = this.tag();
          const w = this.lo;
          if (w === 4) {
            if (n !== no) throw new FieldError(`group ${no} ended by ${n}`);
            return;
          }
          this.skip(w, n, depth + 1);
        }
      }
      default:
        throw new FieldError(`field ${no} has ${WIRE_NAMES[wire]}`);
    }
  }
}

// ---- Message descriptions

type Kind = 'u64' | 'uint32' | 'enum' | 'bool' | 'bytes' | 'string' | 'message' | 'extern';

/** A message of @tskv/proto's generated code, embedded as its bytes. */
interface Extern {
  encode(m: object): Uint8Array;
  decode(b: Uint8Array): object;
}

interface Field {
  no: number;
  name: string;
  kind: Kind;
  repeated: boolean;
  /** Left unset by decoding unless present with a non-default value (messages, KeyError's strings); repeated fields are always set. */
  sparse: boolean;
  message?: Desc;
  extern?: Extern;
}

interface Desc {
  name: string;
  fields: Field[];
  byNo: (Field | undefined)[];
}

const WIRE_OF: Record<Kind, number> = { u64: 0, uint32: 0, enum: 0, bool: 0, bytes: 2, string: 2, message: 2, extern: 2 };

function desc(name: string, fields: Field[]): Desc {
  const byNo: (Field | undefined)[] = [];
  for (const f of fields) {
    // No repeated varints here: packed encoding is not needed.
    if (f.repeated && WIRE_OF[f.kind] !== 2) throw new Error(`${name}.${f.name}: repeated ${f.kind} is not supported`);
    byNo[f.no] = f;
  }
  return { name, fields: [...fields].sort((a, b) => a.no - b.no), byNo };
}

const scalar = (no: number, name: string, kind: Kind, repeated = false): Field => ({ no, name, kind, repeated, sparse: false });
const sparseString = (no: number, name: string): Field => ({ no, name, kind: 'string', repeated: false, sparse: true });
const message = (no: number, name: string, m: Desc, repeated = false): Field => ({
  no,
  name,
  kind: 'message',
  repeated,
  sparse: true,
  message: m,
});
const extern = (no: number, name: string, e: Extern): Field => ({ no, name, kind: 'extern', repeated: false, sparse: true, extern: e });

const CONTEXT: Extern = {
  encode: (m) => kvrpcpb.Context.encode(m as kvrpcpb.Context.$Properties).finish(),
  decode: (b) => kvrpcpb.Context.decode(b),
};
const REGION_ERROR: Extern = {
  encode: (m) => errorpb.Error.encode(m as errorpb.Error.$Properties).finish(),
  decode: (b) => errorpb.Error.decode(b),
};
const context = extern(1, 'context', CONTEXT);
const regionError = extern(1, 'regionError', REGION_ERROR);

const LOCK_INFO = desc('LockInfo', [
  scalar(1, 'primaryLock', 'bytes'),
  scalar(2, 'lockVersion', 'u64'),
  scalar(3, 'key', 'bytes'),
  scalar(4, 'lockTtl', 'u64'),
]);
const WRITE_CONFLICT = desc('WriteConflict', [
  scalar(1, 'startTs', 'u64'),
  scalar(2, 'conflictTs', 'u64'),
  scalar(3, 'key', 'bytes'),
  scalar(4, 'primary', 'bytes'),
]);
const KEY_ERROR = desc('KeyError', [
  message(1, 'locked', LOCK_INFO),
  sparseString(2, 'retryable'),
  sparseString(3, 'abort'),
  message(4, 'conflict', WRITE_CONFLICT),
]);
const MUTATION = desc('Mutation', [scalar(1, 'op', 'enum'), scalar(2, 'key', 'bytes'), scalar(3, 'value', 'bytes')]);
const KV_PAIR = desc('TxnKvPair', [message(1, 'error', KEY_ERROR), scalar(2, 'key', 'bytes'), scalar(3, 'value', 'bytes')]);
const keyError = message(2, 'error', KEY_ERROR);

const DESCS = {
  LockInfo: LOCK_INFO,
  WriteConflict: WRITE_CONFLICT,
  KeyError: KEY_ERROR,
  Mutation: MUTATION,
  TxnKvPair: KV_PAIR,
  GetRequest: desc('GetRequest', [context, scalar(2, 'key', 'bytes'), scalar(3, 'version', 'u64')]),
  GetResponse: desc('GetResponse', [regionError, keyError, scalar(3, 'value', 'bytes'), scalar(4, 'notFound', 'bool')]),
  ScanRequest: desc('ScanRequest', [context, scalar(2, 'startKey', 'bytes'), scalar(3, 'limit', 'uint32'), scalar(4, 'version', 'u64')]),
  ScanResponse: desc('ScanResponse', [regionError, message(2, 'pairs', KV_PAIR, true), message(3, 'error', KEY_ERROR)]),
  PrewriteRequest: desc('PrewriteRequest', [
    context,
    message(2, 'mutations', MUTATION, true),
    scalar(3, 'primaryLock', 'bytes'),
    scalar(4, 'startVersion', 'u64'),
    scalar(5, 'lockTtl', 'u64'),
  ]),
  PrewriteResponse: desc('PrewriteResponse', [regionError, message(2, 'errors', KEY_ERROR, true)]),
  CommitRequest: desc('CommitRequest', [
    context,
    scalar(2, 'startVersion', 'u64'),
    scalar(3, 'keys', 'bytes', true),
    scalar(4, 'commitVersion', 'u64'),
  ]),
  CommitResponse: desc('CommitResponse', [regionError, keyError]),
  BatchRollbackRequest: desc('BatchRollbackRequest', [context, scalar(2, 'startVersion', 'u64'), scalar(3, 'keys', 'bytes', true)]),
  BatchRollbackResponse: desc('BatchRollbackResponse', [regionError, keyError]),
  CheckTxnStatusRequest: desc('CheckTxnStatusRequest', [
    context,
    scalar(2, 'primaryKey', 'bytes'),
    scalar(3, 'lockTs', 'u64'),
    scalar(4, 'currentTs', 'u64'),
  ]),
  CheckTxnStatusResponse: desc('CheckTxnStatusResponse', [
    regionError,
    scalar(2, 'lockTtl', 'u64'),
    scalar(3, 'commitVersion', 'u64'),
    scalar(4, 'action', 'enum'),
    message(5, 'error', KEY_ERROR),
  ]),
  ResolveLockRequest: desc('ResolveLockRequest', [context, scalar(2, 'startVersion', 'u64'), scalar(3, 'commitVersion', 'u64')]),
  ResolveLockResponse: desc('ResolveLockResponse', [regionError, keyError]),
};

// ---- Encoding

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function encodeMessage(d: Desc, m: Obj, w: Writer): void {
  for (const f of d.fields) {
    const v = m[f.name];
    if (v == null) continue;
    try {
      if (!f.repeated) {
        writeValue(f, v, w, false);
        continue;
      }
      if (!Array.isArray(v)) throw new FieldError(`must be an array, got ${describe(v)}`);
      for (let i = 0; i < v.length; i++) {
        try {
          writeValue(f, v[i], w, true);
        } catch (e) {
          throw at(e, `[${i}]`);
        }
      }
    } catch (e) {
      throw at(e, f.name);
    }
  }
}

/** Writes one value of field f; a scalar at its default is left out unless it is an element of a repeated field. */
function writeValue(f: Field, v: unknown, w: Writer, element: boolean): void {
  switch (f.kind) {
    case 'u64': {
      if (typeof v !== 'bigint') throw new FieldError(`must be a bigint (u64), got ${describe(v)}`);
      if (v < 0n || v >= U64_END) throw new FieldError(`${v} is outside the u64 range [0, 2^64)`);
      if (v === 0n && !element) return;
      w.tag(f.no, 0);
      if (v <= LOW32) w.varint32(Number(v));
      else w.varint64(Number(v & LOW32), Number(v >> 32n));
      return;
    }
    case 'uint32':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new FieldError(`must be an integer in [0, 2^32), got ${describe(v)}`);
      }
      if (v === 0 && !element) return;
      w.tag(f.no, 0);
      w.varint32(v);
      return;
    case 'enum':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new FieldError(`must be an enum value (an int32), got ${describe(v)}`);
      }
      if (v === 0 && !element) return;
      w.tag(f.no, 0);
      // A negative int32 is sign-extended to 64 bits, as protobuf requires.
      if (v < 0) w.varint64(v >>> 0, 0xffffffff);
      else w.varint32(v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new FieldError(`must be a boolean, got ${describe(v)}`);
      if (!v && !element) return;
      w.tag(f.no, 0);
      w.varint32(v ? 1 : 0);
      return;
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new FieldError(`must be a Uint8Array, got ${describe(v)}`);
      if (v.length === 0 && !element) return;
      w.tag(f.no, 2);
      w.bytes(v);
      return;
    case 'string':
      if (typeof v !== 'string') throw new FieldError(`must be a string, got ${describe(v)}`);
      if (v === '' && !element) return;
      w.tag(f.no, 2);
      w.bytes(Buffer.from(v, 'utf8'));
      return;
    case 'message': {
      if (!isObject(v)) throw new FieldError(`must be an object (${f.message!.name}), got ${describe(v)}`);
      w.tag(f.no, 2);
      const start = w.fork();
      encodeMessage(f.message!, v, w);
      w.ldelim(start);
      return;
    }
    case 'extern': {
      if (!isObject(v)) throw new FieldError(`must be an object, got ${describe(v)}`);
      let b: Uint8Array;
      try {
        b = f.extern!.encode(v);
      } catch (e) {
        throw new FieldError(e instanceof Error ? e.message : String(e));
      }
      w.tag(f.no, 2);
      w.bytes(b);
      return;
    }
  }
}

// ---- Decoding

function newMessage(d: Desc): Obj {
  const m: Obj = {};
  for (const f of d.fields) {
    if (f.repeated) m[f.name] = [];
    else if (f.sparse) continue;
    else if (f.kind === 'u64') m[f.name] = 0n;
    else if (f.kind === 'bool') m[f.name] = false;
    else if (f.kind === 'bytes') m[f.name] = new Uint8Array(0);
    else if (f.kind === 'string') m[f.name] = '';
    else m[f.name] = 0;
  }
  return m;
}

/** Decodes a message from r.pos to r.end; a target (a repeated occurrence of the field) is merged into. */
function decodeMessage(d: Desc, r: Reader, target?: Obj): Obj {
  const m = target ?? newMessage(d);
  while (r.pos < r.end) {
    const no = r.tag();
    const wire = r.lo;
    const f = d.byNo[no];
    if (f === undefined) {
      r.skip(wire, no);
      continue;
    }
    try {
      readField(f, wire, r, m);
    } catch (e) {
      throw at(e, f.name);
    }
  }
  return m;
}

function readField(f: Field, wire: number, r: Reader, m: Obj): void {
  const expected = WIRE_OF[f.kind];
  if (wire !== expected) {
    throw new FieldError(`field ${f.no} has ${WIRE_NAMES[wire]} (wire type ${wire}), expected ${WIRE_NAMES[expected]}`);
  }
  let v: unknown;
  switch (f.kind) {
    case 'u64':
      v = r.u64();
      break;
    case 'uint32':
      // Wider values are cut to 32 bits, as protobuf parsers do for uint32.
      r.varint();
      v = r.lo;
      break;
    case 'enum':
      r.varint();
      v = r.lo | 0;
      break;
    case 'bool':
      r.varint();
      v = (r.lo | r.hi) !== 0;
      break;
    case 'bytes':
      v = r.view(r.length());
      break;
    case 'string': {
      const b = r.view(r.length());
      try {
        v = utf8.decode(b);
      } catch {
        throw new FieldError('not valid UTF-8');
      }
      if (f.sparse && v === '') {
        delete m[f.name];
        return;
      }
      break;
    }
    case 'message': {
      const len = r.length();
      const end = r.end;
      r.end = r.pos + len;
      const list = f.repeated ? (m[f.name] as Obj[]) : undefined;
      try {
        v = decodeMessage(f.message!, r, list ? undefined : (m[f.name] as Obj | undefined));
      } catch (e) {
        throw list ? at(e, `[${list.length}]`) : e;
      }
      r.end = end;
      if (list) {
        list.push(v as Obj);
        return;
      }
      break;
    }
    case 'extern': {
      const b = r.view(r.length());
      try {
        v = f.extern!.decode(b);
      } catch (e) {
        throw new FieldError(e instanceof Error ? e.message : String(e));
      }
      break;
    }
  }
  if (f.repeated) (m[f.name] as unknown[]).push(v);
  else m[f.name] = v;
}

// ---- Codecs

const DESC_OF = new WeakMap<TxnMessageCodec<unknown>, Desc>();

/** Writes a message of `codec` into w (for an enclosing message); throws FieldError. */
export function writeMessage<T>(codec: TxnMessageCodec<T>, m: T, w: Writer): void {
  const d = DESC_OF.get(codec as TxnMessageCodec<unknown>)!;
  if (!isObject(m)) throw new FieldError(`must be an object (${d.name}), got ${describe(m)}`);
  encodeMessage(d, m, w);
}

/** Reads a message of `codec` from r.pos to r.end, merging into target if given; throws FieldError. */
export function readMessage<T>(codec: TxnMessageCodec<T>, r: Reader, target?: T): T {
  return decodeMessage(DESC_OF.get(codec as TxnMessageCodec<unknown>)!, r, target as Obj | undefined) as T;
}

function codecOf<T>(d: Desc): TxnMessageCodec<T> {
  const type = `kvrpcpb.${d.name}`;
  const codec: TxnMessageCodec<T> = {
    type,
    encode(m: T): Uint8Array {
      if (!isObject(m)) throw new TxnCodecError(`encode ${type}: must be an object, got ${describe(m)}`);
      const w = new Writer();
      try {
        encodeMessage(d, m, w);
      } catch (e) {
        if (e instanceof FieldError) throw new TxnCodecError(`encode ${type}${pathOf(e)}: ${e.message}`);
        throw e;
      }
      return w.finish();
    },
    decode(b: Uint8Array): T {
      if (!(b instanceof Uint8Array)) throw new TxnCodecError(`decode ${type}: expected bytes, got ${describe(b)}`);
      try {
        return decodeMessage(d, new Reader(b, 0, b.length)) as T;
      } catch (e) {
        if (e instanceof FieldError) throw new TxnCodecError(`decode ${type}${pathOf(e)}: ${e.message}`);
        throw e;
      }
    },
  };
  DESC_OF.set(codec as TxnMessageCodec<unknown>, d);
  return codec;
}

/**
 * The lossless codecs, by kvrpcpb message name. Requests carry `context` and responses
 * `regionError` (generated messages, numbers for ids); the rest is @tskv/txn's shapes.
 */
export const txnCodec = {
  LockInfo: codecOf<LockInfo>(DESCS.LockInfo),
  WriteConflict: codecOf<WriteConflict>(DESCS.WriteConflict),
  KeyError: codecOf<KeyError>(DESCS.KeyError),
  Mutation: codecOf<Mutation>(DESCS.Mutation),
  TxnKvPair: codecOf<KvPair>(DESCS.TxnKvPair),
  GetRequest: codecOf<KvGetRequest>(DESCS.GetRequest),
  GetResponse: codecOf<KvGetResponse>(DESCS.GetResponse),
  ScanRequest: codecOf<KvScanRequest>(DESCS.ScanRequest),
  ScanResponse: codecOf<KvScanResponse>(DESCS.ScanResponse),
  PrewriteRequest: codecOf<KvPrewriteRequest>(DESCS.PrewriteRequest),
  PrewriteResponse: codecOf<KvPrewriteResponse>(DESCS.PrewriteResponse),
  CommitRequest: codecOf<KvCommitRequest>(DESCS.CommitRequest),
  CommitResponse: codecOf<KvCommitResponse>(DESCS.CommitResponse),
  BatchRollbackRequest: codecOf<KvBatchRollbackRequest>(DESCS.BatchRollbackRequest),
  BatchRollbackResponse: codecOf<KvBatchRollbackResponse>(DESCS.BatchRollbackResponse),
  CheckTxnStatusRequest: codecOf<KvCheckTxnStatusRequest>(DESCS.CheckTxnStatusRequest),
  CheckTxnStatusResponse: codecOf<KvCheckTxnStatusResponse>(DESCS.CheckTxnStatusResponse),
  ResolveLockRequest: codecOf<KvResolveLockRequest>(DESCS.ResolveLockRequest),
  ResolveLockResponse: codecOf<KvResolveLockResponse>(DESCS.ResolveLockResponse),
} as const;
