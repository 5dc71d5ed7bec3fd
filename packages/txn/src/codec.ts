// MVCC keys, byte-exact with TinyKV: EncodeKey(k, ts) = memcomparable(k) ++ BE64(~ts).
//
// The memcomparable form keeps user-key order under byte comparison and is prefix-free, and ~ts
// makes versions of one key sort newest first. So all versions of a key are contiguous,
// EncodeKey(k, TsMax) is the first of them, EncodeKey(k, 0) the last, and a forward scan from
// EncodeKey(k, ts) starts at the newest version <= ts.

/** The largest u64 timestamp. A read at TsMax sees every committed version. */
export const TS_MAX = (1n << 64n) - 1n;

const GROUP = 8;
const MARKER = 0xff;

/** Throws unless `x` is a bigint in [0, 2^64): timestamps and TTLs are u64, never JS numbers. */
export function checkU64(name: string, x: unknown): asserts x is bigint {
  if (typeof x !== 'bigint') throw new TypeError(`${name} must be a bigint (u64), got ${typeof x} ${String(x)}`);
  if (x < 0n || x > TS_MAX) throw new RangeError(`${name} must be in [0, 2^64), got ${x}`);
}

/** ~x over 64 bits. */
export function notU64(x: bigint): bigint {
  return TS_MAX - x;
}

/** The physical (millisecond) part of a TSO timestamp: ts = physical << 18 | logical. */
export function physicalTime(ts: bigint): bigint {
  return ts >> 18n;
}

/** Length of memcomparable(k). */
function encodedLength(len: number): number {
  return (Math.floor(len / GROUP) + 1) * (GROUP + 1);
}

/**
 * memcomparable(k) followed by `extra` zero bytes. Groups of 8 bytes, the last one zero-padded,
 * each followed by the marker 0xFF - padCount; a length that is a multiple of 8 gets a trailing
 * empty group (marker 0xF7), so no encoding is a prefix of another.
 */
function encodeBytes(key: Uint8Array, extra: number): Uint8Array {
  const out = new Uint8Array(encodedLength(key.length) + extra); // zero-filled: the pads
  let o = 0;
  for (let i = 0; i <= key.length; i += GROUP) {
    const n = Math.min(GROUP, key.length - i);
    out.set(key.subarray(i, i + n), o);
    out[o + GROUP] = MARKER - (GROUP - n);
    o += GROUP + 1;
  }
  return out;
}

/** EncodeKey(userKey, ts): the key of a version in the default and write CFs. */
export function encodeKey(userKey: Uint8Array, ts: bigint): Uint8Array {
  checkU64('ts', ts);
  const out = encodeBytes(userKey, 8);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(out.length - 8, notU64(ts));
  return out;
}

export class KeyDecodeError extends Error {
  override name = 'KeyDecodeError';
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Reads memcomparable bytes at the start of `buf`: the user key and where the encoding ends. */
function decodeBytes(buf: Uint8Array): { userKey: Uint8Array; end: number } {
  const parts: Uint8Array[] = [];
  let pos = 0;
  for (;;) {
    if (pos + GROUP + 1 > buf.length) throw new KeyDecodeError(`truncated memcomparable key: ${hex(buf)}`);
    const marker = buf[pos + GROUP]!;
    const pad = MARKER - marker;
    if (pad > GROUP) throw new KeyDecodeError(`bad memcomparable marker 0x${marker.toString(16)} at byte ${pos + GROUP}: ${hex(buf)}`);
    const n = GROUP - pad;
    parts.push(buf.subarray(pos, pos + n));
    for (let i = pos + n; i < pos + GROUP; i++) {
      if (buf[i] !== 0) throw new KeyDecodeError(`non-zero padding in memcomparable key: ${hex(buf)}`);
    }
    pos += GROUP + 1;
    if (pad !== 0) break;
  }
  const userKey = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    userKey.set(p, o);
    o += p.length;
  }
  return { userKey, end: pos };
}

/** The user key and timestamp of an encoded key; throws KeyDecodeError unless it is exactly one. */
export function decodeKey(encoded: Uint8Array): { userKey: Uint8Array; ts: bigint } {
  const { userKey, end } = decodeBytes(encoded);
  if (encoded.length - end !== 8) {
    throw new KeyDecodeError(`encoded key must end with an 8-byte timestamp, found ${encoded.length - end} bytes: ${hex(encoded)}`);
  }
  const ts = notU64(new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength).getBigUint64(end));
  return { userKey, ts };
}

export function decodeUserKey(encoded: Uint8Array): Uint8Array {
  return decodeKey(encoded).userKey;
}

/** The timestamp of an encoded key (its last 8 bytes); the caller knows the key is well formed. */
export function decodeTs(encoded: Uint8Array): bigint {
  if (encoded.length < GROUP + 1 + 8) throw new KeyDecodeError(`encoded key too short: ${hex(encoded)}`);
  return notU64(new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength).getBigUint64(encoded.length - 8));
}

/** memcomparable(userKey): the prefix every version of the key shares (an encoded key minus 8 bytes). */
export function encodedPrefix(userKey: Uint8Array): Uint8Array {
  return encodeBytes(userKey, 0);
}

/**
 * The exclusive end of the versions of `userKey` in key order: EncodeKey(userKey, 0) ++ 0x00.
 * [EncodeKey(k, TsMax), versionsEnd(k)) holds exactly the versions of k.
 */
export function versionsEnd(userKey: Uint8Array): Uint8Array {
  const out = encodeBytes(userKey, 9);
  out.fill(0xff, out.length - 9, out.length - 1); // ~0 = all ones; the last byte stays 0x00
  return out;
}

/** Whether `encoded` is a version of the user key whose memcomparable form is `prefix`. */
export function isVersionOf(encoded: Uint8Array, prefix: Uint8Array): boolean {
  if (encoded.length !== prefix.length + 8) return false;
  for (let i = 0; i < prefix.length; i++) if (encoded[i] !== prefix[i]) return false;
  return true;
}
