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

/** Append-only sample buffer on a Float64Array: no per-sample boxing, doubles when full. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  private n = 0;

  push(v: number): void {
    if (this.n === this.buf.length) {
      const b = new Float64Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = v;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentiles (p in [0, 100]); sorts a copy once for all requested ranks. */
  percentiles(...ps: number[]): number[] {
    if (this.n === 0) return ps.map(() => NaN);
    const s = this.buf.slice(0, this.n).sort();
    return ps.map((p) => s[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))]!);
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
