// Seeded randomness. Everything random in a simulation, a test or a fault-injection run draws
// from a seeded stream, so a printed seed replays the same choices.

/** mulberry32: a tiny, fast 32-bit generator of floats in [0, 1), good enough for fuzzing. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** splitmix32: a generator of uint32 words (hash keys, e.g. Zobrist tables). */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * An independent 32-bit seed from a seed and stream labels. Separate streams keep, e.g., a
 * network's draws from shifting when a workload changes how many numbers it consumes.
 */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const l of labels) {
    h = Math.imul(h ^ (l >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * A seeded PRNG over mulberry32. Every method draws from `next` (one draw per number, in the
 * order the method's documentation gives), so a seed replays the same sequence of answers.
 */
export class Prng {
  /** A float in [0, 1). A bound function: it can be handed on alone (e.g. as raft's `random`). */
  readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [0, n), or with two arguments in [lo, hi). */
  int(n: number): number;
  int(lo: number, hi: number): number;
  int(a: number, b?: number): number {
    return b === undefined ? Math.floor(this.next() * a) : a + Math.floor(this.next() * (b - a));
  }

  /** An integer in [lo, hi], both ends included. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p; p <= 0 draws nothing (so a disabled fault leaves the stream alone). */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from an empty list');
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  /** An index chosen with probability proportional to its weight (one draw). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** Shuffles xs in place (Fisher-Yates from the end, one draw per position) and returns it. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }

  /** n random bytes (one draw each). */
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }

  /** A child generator with its own stream (one draw): adding draws in one place does not shift another's. */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296));
  }
}

/**
 * The seed in environment variable `name` (to replay a run), else a fresh random one. Throws if
 * the variable is set but not an integer in [0, 2^32).
 */
export function envSeed(name: string): number {
  const env = process.env[name];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n >= 4294967296) throw new Error(`${name} must be an integer in [0, 2^32), got '${env}'`);
    return n;
  }
  return Math.floor(Math.random() * 4294967296);
}
