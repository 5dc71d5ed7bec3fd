// Keys and values: Uint8Array on the wire, strings (utf8) accepted for convenience.

/** A key or a value: bytes, or a string taken as its utf8 encoding. */
export type Bytes = Uint8Array | string;

export const EMPTY = new Uint8Array(0);

export function toBytes(b: Bytes): Uint8Array {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

/** Key order and equality (part of this package's API, so users need not depend on @tskv/util). */
export { bytesEqual, compareBytes } from '@tskv/util';

/** The utf8 text of bytes (no copy). */
export function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** A key for humans: the quoted text if printable ASCII, else 0x-hex. */
export function showKey(k: Uint8Array | null | undefined): string {
  if (!k) return '""';
  const s = utf8(k);
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `0x${Buffer.from(k).toString('hex')}`;
}

/** The smallest key strictly greater than k (k followed by a zero byte). */
export function nextKey(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(k.length + 1);
  out.set(k);
  return out;
}
