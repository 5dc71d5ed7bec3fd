// A small seeded PRNG (mulberry32) so that every random choice of a test (dropped messages,
// partitions, client operations) is replayable from one printed seed. Timing is not
// deterministic (real timers, real disks), so a replay repeats the choices, not the interleaving.

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('pick from an empty array');
    return xs[this.int(xs.length)]!;
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  /** An independent stream derived from this one (so adding a consumer doesn't shift others). */
  fork(): Prng {
    return new Prng(Math.floor(this.next() * 4294967296));
  }
}

/** The seed of a test: TEST_SEED if set (replay), otherwise a fresh random one. */
export function testSeed(): number {
  const env = process.env['TEST_SEED'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) throw new Error(`TEST_SEED must be a non-negative integer, got '${env}'`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 4294967296) >>> 0;
}
