// IdAllocator: cluster-unique ids (stores, regions, peers), never handed out twice, even across
// a crash. The storage keeps a high-water mark `end`: every id handed out is below it. When the
// ids run up to it, the allocator persists a new mark `step` further (synced) before handing
// out any id past the old one, so after a restart, which starts from the persisted mark, no id
// can repeat; at most `step` ids are skipped per restart.
import { Mutex } from './mutex.js';

export interface IdStore {
  saveAllocEnd(end: number): Promise<void>;
}

export class IdAllocator {
  private next: number;
  private end: number;
  private readonly mutex = new Mutex();

  /** `persistedEnd` is the loaded mark (0 on a fresh cluster: ids start at 1). */
  constructor(
    private readonly store: IdStore,
    persistedEnd: number,
    private readonly step: number,
  ) {
    this.next = Math.max(1, persistedEnd);
    this.end = this.next;
  }

  /** `count` consecutive fresh ids. */
  alloc(count = 1): Promise<number[]> {
    return this.mutex.run(async () => {
      await this.ensureLocked(count);
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push(this.next++);
      return out;
    });
  }

  /**
   * Runs `fn` with a synchronous source of up to `count` fresh ids, all already covered by the
   * persisted mark (the schedulers are synchronous and plan many operators per round). Runs
   * under the allocator's lock, so no other allocation takes the reserved ids meanwhile.
   */
  withReserved<T>(count: number, fn: (take: () => number) => T): Promise<T> {
    return this.mutex.run(async () => {
      await this.ensureLocked(count);
      const limit = this.next + count;
      return fn(() => {
        if (this.next >= limit) throw new Error('id allocator: more ids taken than reserved');
        return this.next++;
      });
    });
  }

  /** Ids already in use elsewhere (a bootstrap with its own ids) must never be handed out: skip past them. */
  bumpPast(id: number): Promise<void> {
    return this.mutex.run(async () => {
      if (id < this.next) return;
      this.next = id + 1;
      await this.ensureLocked(1);
    });
  }

  private async ensureLocked(count: number): Promise<void> {
    if (this.next + count <= this.end) return;
    const end = this.next + count + this.step;
    await this.store.saveAllocEnd(end);
    this.end = end;
  }

  /** The next id that would be handed out (for status and tests). */
  peek(): number {
    return this.next;
  }
}
