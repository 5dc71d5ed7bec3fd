// AsyncQueue: a push-based async iterable, the in-process stand-in for the receiving side of a
// stream (what a gRPC server stream is to a real transport). The producer pushes, ends or fails
// it; the consumer iterates and sees the failure as a thrown error.
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;
  private spaceWaiters: (() => void)[] = [];

  /** The failure the queue was closed with, if any. */
  get failure(): Error | null {
    return this.error;
  }

  get size(): number {
    return this.items.length;
  }

  /** Resolves once fewer than `max` items wait (backpressure for the producer). */
  async waitForSpace(max: number): Promise<void> {
    while (this.items.length >= max && !this.error && !this.ended) await new Promise<void>((r) => this.spaceWaiters.push(r));
  }

  push(item: T): void {
    if (this.ended || this.error) return;
    this.items.push(item);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(e: Error): void {
    this.error = e;
    this.notify();
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.error) throw this.error;
      const item = this.items.shift();
      if (item !== undefined) {
        for (const w of this.spaceWaiters.splice(0)) w();
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}
