// Small measurement helpers shared by the benchmarks: clocks, percentiles, formatting.
import { hrtime } from 'node:process';

const BASE = hrtime.bigint();

/**
 * Monotonic nanoseconds since the module loaded, as a plain number. Subtracting a base keeps the
 * value far below 2^53, so converting from bigint loses no precision however long the machine is up.
 */
export function nowNs(): number {
  return Number(hrtime.bigint() - BASE);
}

/**
 * Log-linear latency histogram (HdrHistogram-like): 128 linear sub-buckets per power of two, so a
 * reported percentile is within 0.4% of the true sample. Memory stays fixed however long the run
 * (raw samples of a 1 M/s stream would grow by 8 MB a second).
 */
export class Histogram {
  private static readonly SUB_BITS = 7;
  private static readonly SUB = 1 << Histogram.SUB_BITS;
  private readonly counts = new Float64Array(Histogram.SUB * 48);
  private n = 0;
  max = 0;

  /** Records a non-negative value (ns); fractions are truncated. */
  record(v: number): void {
    const x = v < 1 ? 0 : Math.floor(v);
    if (x > this.max) this.max = x;
    this.counts[Histogram.index(x)]!++;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  private static index(x: number): number {
    const SUB = Histogram.SUB;
    if (x < SUB) return x;
    let shift: number;
    let sub: number;
    if (x < 2 ** 32) {
      // The common case (under 4.3 s): integer ops only, no log2 (this runs once per proposal).
      shift = 31 - Math.clz32(x) - Histogram.SUB_BITS;
      sub = x >>> shift;
    } else {
      let e = Math.floor(Math.log2(x));
      // log2 of a double can land a hair off at exact powers of two: correct it.
      if (2 ** e > x) e--;
      else if (2 ** (e + 1) <= x) e++;
      shift = e - Histogram.SUB_BITS;
      sub = Math.floor(x / 2 ** shift);
    }
    // sub is in [SUB, 2*SUB): the top SUB_BITS+1 bits of x.
    return Math.min(SUB + shift * SUB + (sub - SUB), SUB * 48 - 1);
  }

  /** Midpoint of bucket i (exact below SUB). */
  private static value(i: number): number {
    const SUB = Histogram.SUB;
    if (i < SUB) return i;
    const shift = Math.floor((i - SUB) / SUB);
    const sub = SUB + ((i - SUB) % SUB);
    return (sub + 0.5) * 2 ** shift;
  }

  /** Nearest-rank percentile, p in [0, 100]; NaN when empty. */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.n));
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      if (acc >= target) return Math.min(Histogram.value(i), this.max);
    }
    return this.max;
  }
}

/** Fixed-capacity FIFO of (number, number) pairs on typed arrays; used for in-flight batches. */
export class PairQueue {
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  private head = 0;
  private len = 0;

  constructor(cap: number) {
    this.a = new Float64Array(cap);
    this.b = new Float64Array(cap);
  }

  get length(): number {
    return this.len;
  }

  push(x: number, y: number): void {
    if (this.len === this.a.length) throw new Error('PairQueue full');
    let i = this.head + this.len;
    if (i >= this.a.length) i -= this.a.length;
    this.a[i] = x;
    this.b[i] = y;
    this.len++;
  }

  firstA(): number {
    return this.a[this.head]!;
  }

  firstB(): number {
    return this.b[this.head]!;
  }

  shift(): void {
    this.head++;
    if (this.head === this.a.length) this.head = 0;
    this.len--;
  }
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtFixed(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Renders rows as an aligned plain-text table (first row is the header). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}
