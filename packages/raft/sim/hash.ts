// 53-bit hashes (two murmur3 lanes packed into a safe integer) for entry digests and rolling
// prefix hashes. Equal inputs always hash equal, so a mismatch is a real difference; a collision
// (chance ~2^-53 per comparison) could only hide one.
import type { Entry } from '../src/index.js';

let lane1 = 0;
let lane2 = 0;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function begin(domain: number): void {
  lane1 = domain | 0;
  lane2 = (domain ^ 0x5bd1e995) | 0;
}

/** Adds a non-negative integer up to 2^53. */
function addNum(x: number): void {
  const lo = x >>> 0;
  const hi = Math.floor(x / 4294967296) >>> 0;
  lane1 = mix(mix(lane1, lo), hi);
  lane2 = mix(mix(lane2, lo ^ 0x27d4eb2f), hi ^ 0x165667b1);
}

function addBytes(b: Uint8Array): void {
  addNum(b.length);
  for (let i = 0; i < b.length; i++) {
    lane1 = mix(lane1, b[i]!);
    lane2 = mix(lane2, b[i]! ^ 0xa5);
  }
}

function end(): number {
  return fmix(lane1) * 2097152 + (fmix(lane2) >>> 11);
}

/** Everything that makes an entry what it is, including its position. */
export function entryDigest(e: Entry): number {
  begin(1);
  addNum(e.index);
  addNum(e.term);
  addNum(e.entryType);
  addBytes(e.data);
  addBytes(e.context);
  return end();
}

/** Hash of a log prefix ending in an entry with digest d, given the hash of the prefix before it. */
export function chain(prev: number, d: number): number {
  begin(2);
  addNum(prev);
  addNum(d);
  return end();
}

/** The prefix hash of the bootstrap snapshot every initial member starts from (index 1, term 1). */
export const BOOT_PREFIX = chain(0, 1);
