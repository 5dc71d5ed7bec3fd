// The lossless codec of the scheduler's GC safe point messages (PD's GetGCSafePoint and
// UpdateGCSafePoint). A safe point is a TSO timestamp (physical ms << 18 | logical, ~2^60), which
// the generated code of @tskv/proto would round to a double; here it is a bigint, written and
// read as a 64-bit varint. The header (field 1) has no such value: it is embedded with the
// generated encoder and decoder, so ids stay numbers as everywhere else in schedulerpb.
//
// The wire is protobuf's: header first, then the u64 at field 2, left out when 0, so the bytes
// equal protobufjs's (and Go's) for values both can hold. Decoding sets the u64 (0n when absent)
// and the header only when present; unknown fields are skipped; a wrong wire type, a varint over
// 64 bits or a truncated message is a GcCodecError naming the field.
import { schedulerpb } from '@tskv/proto';
import type { TxnMessageCodec } from './txn_codec.js';
import { describe, FieldError, LOW32, Reader, U64_END, WIRE_NAMES, Writer } from './txn_wire.js';

export interface GetGCSafePointRequest {
  header?: schedulerpb.IRequestHeader | null;
}

export interface GetGCSafePointResponse {
  header?: schedulerpb.IResponseHeader | null;
  /** 0n until a safe point is set. */
  safePoint: bigint;
}

export interface UpdateGCSafePointRequest {
  header?: schedulerpb.IRequestHeader | null;
  safePoint: bigint;
}

export interface UpdateGCSafePointResponse {
  header?: schedulerpb.IResponseHeader | null;
  /** The safe point after the update: the current one when the request was not above it. */
  newSafePoint: bigint;
}

/** A GC message that cannot be encoded or decoded; the message names the type and the field. */
export class GcCodecError extends Error {
  override readonly name = 'GcCodecError';
}

interface HeaderCodec {
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
}

const HEADER_NO = 1;
const U64_NO = 2;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** A codec of `{ header, [u64Field]: bigint }` (u64Field null: the header alone). */
function headerAndU64<T>(type: string, header: HeaderCodec, u64Field: string | null): TxnMessageCodec<T> {
  const fieldName = (no: number): string => (no === HEADER_NO ? 'header' : (u64Field ?? String(no)));
  return {
    type,
    encode(m: T): Uint8Array {
      if (!isObject(m)) throw new GcCodecError(`encode ${type}: must be an object, got ${describe(m)}`);
      const w = new Writer();
      let field = 'header';
      try {
        const h = m.header;
        if (h != null) {
          if (!isObject(h)) throw new FieldError(`must be an object, got ${describe(h)}`);
          let b: Uint8Array;
          try {
            b = header.encode(h).finish();
          } catch (e) {
            throw new FieldError(e instanceof Error ? e.message : String(e));
          }
          w.tag(HEADER_NO, 2);
          w.bytes(b);
        }
        if (u64Field !== null) {
          field = u64Field;
          const v = m[u64Field];
          if (v != null) {
            if (typeof v !== 'bigint') throw new FieldError(`must be a bigint (u64), got ${describe(v)}`);
            if (v < 0n || v >= U64_END) throw new FieldError(`${v} is outside the u64 range [0, 2^64)`);
            if (v !== 0n) {
              w.tag(U64_NO, 0);
              if (v <= LOW32) w.varint32(Number(v));
              else w.varint64(Number(v & LOW32), Number(v >> 32n));
            }
          }
        }
      } catch (e) {
        if (e instanceof FieldError) throw new GcCodecError(`encode ${type}.${field}: ${e.message}`);
        throw e;
      }
      return w.finish();
    },
    decode(b: Uint8Array): T {
      if (!(b instanceof Uint8Array)) throw new GcCodecError(`decode ${type}: expected bytes, got ${describe(b)}`);
      const m: Record<string, unknown> = {};
      if (u64Field !== null) m[u64Field] = 0n;
      const r = new Reader(b, 0, b.length);
      let no = 0;
      try {
        while (r.pos < r.end) {
          no = 0;
          no = r.tag();
          const wire = r.lo;
          const known = no === HEADER_NO || (no === U64_NO && u64Field !== null);
          if (!known) {
            r.skip(wire, no);
            continue;
          }
          const expected = no === HEADER_NO ? 2 : 0;
          if (wire !== expected) {
            throw new FieldError(`field ${no} has ${WIRE_NAMES[wire]} (wire type ${wire}), expected ${WIRE_NAMES[expected]}`);
          }
          if (no === U64_NO) {
            m[u64Field!] = r.u64();
            continue;
          }
          const bytes = r.view(r.length());
          try {
            m.header = header.decode(bytes);
          } catch (e) {
            throw new FieldError(e instanceof Error ? e.message : String(e));
          }
        }
      } catch (e) {
        if (e instanceof FieldError) throw new GcCodecError(`decode ${type}${no ? `.${fieldName(no)}` : ''}: ${e.message}`);
        throw e;
      }
      return m as T;
    },
  };
}

const REQUEST_HEADER: HeaderCodec = {
  encode: (m) => schedulerpb.RequestHeader.encode(m as schedulerpb.IRequestHeader),
  decode: (b) => schedulerpb.RequestHeader.decode(b),
};
const RESPONSE_HEADER: HeaderCodec = {
  encode: (m) => schedulerpb.ResponseHeader.encode(m as schedulerpb.IResponseHeader),
  decode: (b) => schedulerpb.ResponseHeader.decode(b),
};

/** The lossless codecs of the four GC safe point messages, by schedulerpb message name. */
export const gcCodec = {
  GetGCSafePointRequest: headerAndU64<GetGCSafePointRequest>('schedulerpb.GetGCSafePointRequest', REQUEST_HEADER, null),
  GetGCSafePointResponse: headerAndU64<GetGCSafePointResponse>('schedulerpb.GetGCSafePointResponse', RESPONSE_HEADER, 'safePoint'),
  UpdateGCSafePointRequest: headerAndU64<UpdateGCSafePointRequest>('schedulerpb.UpdateGCSafePointRequest', REQUEST_HEADER, 'safePoint'),
  UpdateGCSafePointResponse: headerAndU64<UpdateGCSafePointResponse>(
    'schedulerpb.UpdateGCSafePointResponse',
    RESPONSE_HEADER,
    'newSafePoint',
  ),
} as const;
