// The benchmark's key space: keys "bench/00000000" .. "bench/<keys-1>" (fixed width, so byte
// order is index order), values from a small pool of random buffers per size, and the key
// ranges of the regions, so that a batch of consecutive keys can be picked inside one region.
import { randomBytes } from 'node:crypto';
import { compareBytes } from '@tskv/client';

export const KEY_PREFIX = 'bench/';

export function keyOf(i: number): Uint8Array {
  return Buffer.from(KEY_PREFIX + String(i).padStart(8, '0'));
}

/** A range of key indices [lo, hi). */
export interface IndexRange {
  lo: number;
  hi: number;
}

export class KeySpace {
  readonly keys: Uint8Array[];
  private readonly pools = new Map<number, Uint8Array[]>();

  constructor(readonly size: number) {
    this.keys = Array.from({ length: size }, (_, i) => keyOf(i));
  }

  /** A random key index. */
  random(): number {
    return Math.floor(Math.random() * this.size);
  }

  /** 16 random values of this size (a put picks one; content does not matter, size does). */
  values(size: number): Uint8Array[] {
    let p = this.pools.get(size);
    if (!p) {
      p = Array.from({ length: 16 }, () => randomBytes(size));
      this.pools.set(size, p);
    }
    return p;
  }

  /** The first index whose key is >= key (size if none). */
  lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The index ranges of regions given by [start, end) keys (empty end: unbounded), in key
   * order; regions holding none of the keys are left out. No regions: one range of everything.
   */
  rangesOf(regions: { startKey: Uint8Array; endKey: Uint8Array }[]): IndexRange[] {
    const out: IndexRange[] = [];
    for (const r of regions) {
      const lo = r.startKey.length ? this.lowerBound(r.startKey) : 0;
      const hi = r.endKey.length ? this.lowerBound(r.endKey) : this.size;
      if (hi > lo) out.push({ lo, hi });
    }
    out.sort((a, b) => a.lo - b.lo);
    return out.length ? out : [{ lo: 0, hi: this.size }];
  }
}

/**
 * Picks `n` consecutive key indices inside one range: a random range (uniformly, so every region
 * gets the same share of batches), then a random start in it. A range smaller than n gives its
 * first n keys from its start on, running into the next region(s) (wrapping at the end).
 */
export function pickBatch(ranges: IndexRange[], n: number, total: number, rnd: () => number = Math.random): number[] {
  const r = ranges[Math.floor(rnd() * ranges.length)]!;
  const span = r.hi - r.lo;
  const start = span >= n ? r.lo + Math.floor(rnd() * (span - n + 1)) : r.lo;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = (start + i) % total;
  return out;
}

/** `n` distinct key indices in [0, total), uniformly at random (n is small: rejection of repeats). */
export function pickDistinct(n: number, total: number, rnd: () => number = Math.random): number[] {
  if (n > total) throw new RangeError(`cannot pick ${n} distinct keys out of ${total}`);
  const out: number[] = [];
  while (out.length < n) {
    const i = Math.floor(rnd() * total);
    if (!out.includes(i)) out.push(i);
  }
  return out;
}
