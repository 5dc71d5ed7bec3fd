// A check of the client requests' protobuf wire format against their schema, before decoding.
//
// Why: protobufjs treats a known field sent with the wrong wire type as an unknown field and
// drops it (a key sent as a varint decodes as "no key"), and its decode errors name no field
// ("index out of range: 2 + 5 > 3"). This walk names the field, with its path, so a client with a
// broken encoder learns what it sent wrong. Field numbers never in the schema are skipped, as
// protobuf requires (a newer client may send more). The schema mirrors proto/kvrpcpb.proto and
// the metapb messages it uses; raft messages are left to the decoder and the store's checks.

type Kind = 'varint' | 'bytes' | 'string' | 'message';
interface Field {
  name: string;
  kind: Kind;
  repeated?: boolean;
  message?: Schema;
}
type Schema = Record<number, Field>;

const f = (name: string, kind: Kind, message?: Schema, repeated = false): Field => ({ name, kind, message, repeated });

const REGION_EPOCH: Schema = { 1: f('conf_ver', 'varint'), 2: f('version', 'varint') };
const PEER: Schema = { 1: f('id', 'varint'), 2: f('store_id', 'varint'), 3: f('is_learner', 'varint'), 4: f('role', 'varint') };
const CONTEXT: Schema = { 1: f('region_id', 'varint'), 2: f('region_epoch', 'message', REGION_EPOCH), 3: f('peer', 'message', PEER) };
const KV_PAIR: Schema = { 1: f('key', 'bytes'), 2: f('value', 'bytes') };

export const SCHEMAS = {
  RawGetRequest: { 1: f('context', 'message', CONTEXT), 2: f('key', 'bytes'), 3: f('cf', 'string') },
  RawPutRequest: { 1: f('context', 'message', CONTEXT), 2: f('key', 'bytes'), 3: f('value', 'bytes'), 4: f('cf', 'string') },
  RawDeleteRequest: { 1: f('context', 'message', CONTEXT), 2: f('key', 'bytes'), 3: f('cf', 'string') },
  RawScanRequest: { 1: f('context', 'message', CONTEXT), 2: f('start_key', 'bytes'), 3: f('limit', 'varint'), 4: f('cf', 'string') },
  RawBatchGetRequest: { 1: f('context', 'message', CONTEXT), 2: f('keys', 'bytes', undefined, true), 3: f('cf', 'string') },
  RawBatchPutRequest: { 1: f('context', 'message', CONTEXT), 2: f('pairs', 'message', KV_PAIR, true), 3: f('cf', 'string') },
} satisfies Record<string, Schema>;

const BATCH_REQUEST: Schema = {
  1: f('raw_get', 'message', SCHEMAS.RawGetRequest),
  2: f('raw_put', 'message', SCHEMAS.RawPutRequest),
  3: f('raw_delete', 'message', SCHEMAS.RawDeleteRequest),
  4: f('raw_scan', 'message', SCHEMAS.RawScanRequest),
  5: f('raw_batch_get', 'message', SCHEMAS.RawBatchGetRequest),
  6: f('raw_batch_put', 'message', SCHEMAS.RawBatchPutRequest),
};
export const BATCH_COMMANDS_REQUEST: Schema = {
  1: f('requests', 'message', BATCH_REQUEST, true),
  2: f('request_ids', 'varint', undefined, true),
};

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'wire type 6', 'wire type 7'];
const utf8 = new TextDecoder('utf-8', { fatal: true });

class WireError extends Error {}

/** Reads a varint at `pos` (at most 10 bytes); returns [value as a float, next position]. */
function varint(b: Uint8Array, pos: number, end: number, where: string): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new WireError(`${where}: truncated varint`);
    const x = b[pos++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
    if (x < 0x80) return [v, pos];
  }
  throw new WireError(`${where}: varint longer than 10 bytes`);
}

/** Skips a field of an unknown number; returns the next position. */
function skip(b: Uint8Array, pos: number, end: number, wire: number, num: number, where: string, depth: number): number {
  switch (wire) {
    case 0:
      return varint(b, pos, end, where)[1];
    case 1:
      if (pos + 8 > end) throw new WireError(`${where}: truncated fixed64 field ${num}`);
      return pos + 8;
    case 5:
      if (pos + 4 > end) throw new WireError(`${where}: truncated fixed32 field ${num}`);
      return pos + 4;
    case 2: {
      const [len, p] = varint(b, pos, end, where);
      if (p + len > end) throw new WireError(`${where}: field ${num} is ${len} bytes, past the end of its message`);
      return p + len;
    }
    case 3: {
      // A group: skip to its matching end (groups are deprecated, but legal on the wire).
      if (depth > 32) throw new WireError(`${where}: groups nested too deep`);
      let p = pos;
      for (;;) {
        if (p >= end) throw new WireError(`${where}: unterminated group ${num}`);
        const [tag, q] = varint(b, p, end, where);
        const w = tag % 8;
        const n = Math.floor(tag / 8);
        if (w === 4) {
          if (n !== num) throw new WireError(`${where}: group ${num} ended by ${n}`);
          return q;
        }
        p = skip(b, q, end, w, n, where, depth + 1);
      }
    }
    default:
      throw new WireError(`${where}: field ${num} has ${WIRE_NAMES[wire]}`);
  }
}

function walk(b: Uint8Array, pos: number, end: number, schema: Schema, path: string, depth: number): void {
  if (depth > 16) throw new WireError(`${path || 'message'}: nested too deep`);
  // Occurrences of each repeated field so far: paths name the element ("requests[3].raw_put.key").
  const seen = new Map<number, number>();
  while (pos < end) {
    const [tag, p] = varint(b, pos, end, path || 'message');
    const wire = tag % 8;
    const num = Math.floor(tag / 8);
    if (num === 0) throw new WireError(`${path || 'message'}: field number 0 at offset ${pos}`);
    const field = schema[num];
    let name = field ? (path ? `${path}.${field.name}` : field.name) : '';
    if (field?.repeated && field.kind !== 'varint') {
      const i = seen.get(num) ?? 0;
      seen.set(num, i + 1);
      name += `[${i}]`;
    }
    if (!field) {
      pos = skip(b, p, end, wire, num, path || 'message', depth);
      continue;
    }
    if (field.kind === 'varint') {
      if (wire === 0) {
        pos = varint(b, p, end, name)[1];
        continue;
      }
      if (wire === 2 && field.repeated) {
        // Packed: a run of varints.
        const [len, q] = varint(b, p, end, name);
        if (q + len > end) throw new WireError(`${name}: ${len} bytes past the end of its message`);
        let r = q;
        while (r < q + len) r = varint(b, r, q + len, name)[1];
        pos = r;
        continue;
      }
      throw new WireError(`${name}: ${WIRE_NAMES[wire]} where a varint is expected`);
    }
    if (wire !== 2)
      throw new WireError(
        `${name}: ${WIRE_NAMES[wire]} where ${field.kind === 'message' ? 'a message' : field.kind} (length-delimited) is expected`,
      );
    const [len, q] = varint(b, p, end, name);
    if (q + len > end) throw new WireError(`${name}: ${len} bytes, past the end of its message`);
    if (field.kind === 'string') {
      try {
        utf8.decode(b.subarray(q, q + len));
      } catch {
        throw new WireError(`${name}: not valid UTF-8`);
      }
    } else if (field.kind === 'message') {
      walk(b, q, q + len, field.message!, name, depth + 1);
    }
    pos = q + len;
  }
}

/** What is wrong with an encoded message of `schema`, naming the field; null if nothing. */
export function wireProblem(b: Uint8Array, schema: Schema, path = ''): string | null {
  try {
    walk(b, 0, b.length, schema, path, 0);
    return null;
  } catch (e) {
    if (e instanceof WireError) return e.message;
    throw e;
  }
}
