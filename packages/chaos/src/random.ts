// A seeded PRNG (mulberry32): every random choice of a run (the fault schedule, the workload's
// operations, the proxies' loss and jitter draws) comes from the run's seed, so a seed replays
// the same choices (timing on a real machine still differs, which is the point of running many).
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi]. */
export function randInt(r: Random, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

export function pick<T>(r: Random, xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('pick from an empty list');
  return xs[Math.floor(r() * xs.length)]!;
}

/** A child generator with its own stream (so adding draws in one place does not shift another's). */
export function fork(r: Random): Random {
  return seededRandom(Math.floor(r() * 4294967296));
}
