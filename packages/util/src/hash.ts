/**
 * Murmur3's 32-bit finalizer: every input bit affects every output bit. Ids allocated in runs
 * (a split's region id, then one peer id per replica) share their low bits; mixing them first
 * makes `hash % n` spread them.
 */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
