// The simulator's agenda: a binary min-heap of events by (virtual time, insertion order). The
// insertion order breaks ties, so equal-time events run FIFO and runs are deterministic.

export interface Timed {
  at: number;
  seq: number;
}

/** Omit over each member of a union (plain Omit would collapse the union). */
export type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

export class EventQueue<T extends Timed> {
  private heap: T[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(ev: WithoutSeq<T>): void {
    const e = ev as unknown as T;
    e.seq = this.seq++;
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
