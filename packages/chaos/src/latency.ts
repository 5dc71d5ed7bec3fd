// Latency figures of a set of samples (ms): count, p50, p99, p999, max.
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function latencySummary(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, p50: 0, p99: 0, p999: 0, max: 0 };
  const xs = [...samples].sort((a, b) => a - b);
  const q = (p: number): number => round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!);
  return { count: xs.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: round(xs[xs.length - 1]!) };
}

const round = (x: number): number => Math.round(x * 100) / 100;
