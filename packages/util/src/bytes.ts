// Byte strings as keys: their order and equality.

/**
 * Lexicographic byte order, the order keys sort in (regions, scans, LevelDB): -1, 0 or 1, as
 * Buffer.compare answers.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  // Keys are mostly short: a plain loop beats Buffer.compare's argument checks there.
  if (n > 64) return Buffer.compare(a, b);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}
