// The rate limit of backup and restore, and a bounded pool of concurrent tasks.

/** 1 MB = 10^6 bytes, as the figures of docs/benchmarks.md. */
export const MB = 1_000_000;

/**
 * Bytes per second over all callers: consume(n) after moving n bytes returns when the total moved
 * so far fits the rate. Up to burstMs of unused allowance carries over (an idle moment is not
 * made up for by an unbounded burst later). A read is never cut to fit the rate: a large read is
 * followed by a correspondingly long pause, so the average holds.
 */
export class RateLimiter {
  /** When the bytes taken so far are paid for (ms); idle at first. */
  private next = Number.NEGATIVE_INFINITY;

  constructor(
    readonly bytesPerSecond: number,
    private readonly burstMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`rate must be > 0 bytes/s, got ${bytesPerSecond}`);
  }

  /** How long the caller must wait after moving n bytes (ms); the allowance is taken. */
  take(n: number): number {
    const now = this.now();
    this.next = Math.max(this.next, now - this.burstMs) + (n / this.bytesPerSecond) * 1000;
    return Math.max(0, this.next - now);
  }

  async consume(n: number): Promise<void> {
    const ms = this.take(n);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
}

/**
 * Runs tasks with at most `limit` at a time. run() waits for a free slot, then starts the task
 * and returns; the first failure is thrown by the next run() or by drain(), and no task starts
 * after it.
 */
export class Pool {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${limit}`);
  }

  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.check();
    const p: Promise<void> = task()
      .catch((e: unknown) => {
        if (!this.failure) this.failure = { error: e };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Waits for every started task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
    this.check();
  }

  /** Waits for every started task, failed or not (cleanup after a failure). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }
}
