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
import { DESCS, type Desc, type Field, WIRE_OF } from './txn_descs.js';
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
import { at, describe, FieldError, LOW32, pathOf, Reader, U64_END, WIRE_NAMES, Writer } from './txn_wire.js';

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

const utf8 = new TextDecoder('utf-8', { fatal: true });

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
