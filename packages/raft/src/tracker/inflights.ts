// Flow control window for MsgAppend: the last entry index of each in-flight message, oldest first.
// Indexes are added in increasing order, so freeing acknowledged messages is a prefix pop.

export class Inflights {
  // Ring buffer; grows lazily by push up to `cap` so idle peers cost nothing, then wraps.
  // Invariant: while buffer.length < cap, start + count <= buffer.length (no wrap yet).
  private buffer: number[] = [];
  private start = 0;
  private cnt = 0;
  private readonly capacity: number;

  constructor(cap: number) {
    if (!Number.isInteger(cap) || cap < 0) throw new RangeError(`invalid inflights capacity ${cap}`);
    this.capacity = cap;
  }

  get count(): number {
    return this.cnt;
  }

  get cap(): number {
    return this.capacity;
  }

  full(): boolean {
    return this.cnt === this.capacity;
  }

  /** Records a sent message whose last entry is `index`. Callers must check full() first. */
  add(index: number): void {
    if (this.cnt === this.capacity) throw new Error('cannot add into a full inflights');
    let next = this.start + this.cnt;
    if (next >= this.capacity) next -= this.capacity;
    if (next === this.buffer.length) this.buffer.push(index);
    else this.buffer[next] = index;
    this.cnt++;
  }

  /** Frees every inflight with index <= to (the follower acked up to `to`). */
  freeTo(to: number): void {
    if (this.cnt === 0 || to < this.buffer[this.start]!) return;
    const buf = this.buffer;
    const cap = this.capacity;
    let idx = this.start;
    let i = 0;
    while (i < this.cnt && buf[idx]! <= to) {
      idx++;
      if (idx >= cap) idx -= cap;
      i++;
    }
    this.cnt -= i;
    // Rewind to the buffer's beginning when empty: keeps the no-wrap prefix compact.
    this.start = this.cnt === 0 ? 0 : idx;
  }

  /** Frees the oldest inflight (used when a heartbeat response shows the peer is alive but the window is full). */
  freeFirstOne(): void {
    if (this.cnt === 0) return;
    this.freeTo(this.buffer[this.start]!);
  }

  /** Drops everything and releases the backing storage. */
  reset(): void {
    this.cnt = 0;
    this.start = 0;
    this.buffer.length = 0;
  }

  clone(): Inflights {
    const c = new Inflights(this.capacity);
    c.buffer = this.buffer.slice();
    c.start = this.start;
    c.cnt = this.cnt;
    return c;
  }

  /** The in-flight indexes, oldest first (a fresh array; for tests and debugging). */
  toArray(): number[] {
    const out: number[] = [];
    let idx = this.start;
    for (let i = 0; i < this.cnt; i++) {
      out.push(this.buffer[idx]!);
      idx++;
      if (idx >= this.capacity) idx -= this.capacity;
    }
    return out;
  }
}
