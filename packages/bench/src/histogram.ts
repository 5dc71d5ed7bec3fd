// A latency histogram with HDR-style log-linear buckets: values (integer microseconds) below 256
// are exact; above, every power of two is cut into 128 equal buckets, so a bucket is at most
// 1/128 of its value wide (a percentile is within 0.4% of the true sample, taking the bucket's
// midpoint). Fixed memory (3,328 counters up to 2^32 µs, 71 minutes), O(1) record, mergeable.
const SUB_BITS = 8;
const SUB = 1 << SUB_BITS; // 256: exact below this
const HALF = SUB >> 1; // 128 buckets per power of two above it
const MAX_VALUE = 0xffff_ffff;
const BUCKETS = (32 - (SUB_BITS - 1)) * HALF + HALF; // shift 0..25 → 3,328

/** Bucket index of a non-negative integer value (µs). */
export function bucketOf(v: number): number {
  if (v < SUB) return v;
  const msb = 31 - Math.clz32(v);
  const shift = msb - (SUB_BITS - 1);
  return shift * HALF + (v >>> shift);
}

/** [low, high) of a bucket. */
export function bucketRange(i: number): [number, number] {
  if (i < SUB) return [i, i + 1];
  const shift = Math.floor(i / HALF) - 1;
  const mantissa = i - shift * HALF;
  const w = 2 ** shift;
  return [mantissa * w, (mantissa + 1) * w];
}

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** A histogram as plain data (postMessage between threads). */
export interface HistogramData {
  counts: Float64Array;
  count: number;
  min: number;
  max: number;
  sum: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  /** Records one value in microseconds (rounded; negative counts as 0, huge ones are clamped). */
  record(us: number): void {
    let v = Math.round(us);
    if (!(v >= 0)) v = 0;
    if (v > MAX_VALUE) v = MAX_VALUE;
    this.counts[bucketOf(v)]! += 1;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(o: Histogram): this {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += o.counts[i]!;
    this.count += o.count;
    this.sum += o.sum;
    this.min = Math.min(this.min, o.min);
    this.max = Math.max(this.max, o.max);
    return this;
  }

  data(): HistogramData {
    return { counts: this.counts.slice(), count: this.count, min: this.min, max: this.max, sum: this.sum };
  }

  static fromData(d: HistogramData): Histogram {
    const h = new Histogram();
    if (d.counts.length !== BUCKETS) throw new Error('histogram data of another layout');
    h.counts.set(d.counts);
    h.count = d.count;
    h.min = d.min;
    h.max = d.max;
    h.sum = d.sum;
    return h;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.min = Infinity;
    this.max = 0;
    this.sum = 0;
  }

  /**
   * The q-th percentile (0 < q <= 100) in µs: the value below which at least q% of the
   * samples lie (nearest rank), as its bucket's midpoint clamped to [min, max]. NaN if empty.
   */
  percentile(q: number): number {
    if (this.count === 0) return NaN;
    // (less a hair: 0.999 * 10000 is 9990.000000000002 in floating point)
    const rank = Math.max(1, Math.ceil((q / 100) * this.count - 1e-9));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const [lo, hi] = bucketRange(i);
        const mid = i < SUB ? lo : (lo + hi - 1) / 2;
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  mean(): number {
    return this.count ? this.sum / this.count : NaN;
  }

  /** Percentiles in milliseconds. */
  summary(): LatencySummary {
    const ms = (us: number): number => us / 1000;
    return {
      count: this.count,
      mean: ms(this.mean()),
      min: this.count ? ms(this.min) : NaN,
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      p999: ms(this.percentile(99.9)),
      max: this.count ? ms(this.max) : NaN,
    };
  }
}
