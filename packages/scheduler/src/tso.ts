// Tso: the timestamp oracle. A timestamp is (physical wall-clock ms, logical counter); each one
// is strictly greater than every one before it, across restarts and even if the clock goes back.
//
// The storage keeps the end of a window: no timestamp handed out has reached it. A request whose
// physical time would reach it first extends the window by tsoSaveWindowMs (a synced write), so
// after a restart, which starts at the persisted end, every new timestamp is above every old one.
// The window is renewed ahead of time (once a third of it is left) so requests seldom wait.
// When the clock does not move (or moves back), the logical part counts up; when it overflows,
// the physical part advances by one ms on its own.
import { Mutex } from './mutex.js';

export interface TsoStore {
  saveTsoEnd(ms: number): Promise<void>;
}

export interface Timestamp {
  physical: number;
  logical: number;
}

/** Logical values per physical ms (as PD: 18 bits). */
export const MAX_LOGICAL = 1 << 18;

export class Tso {
  private physical: number;
  private logical = 0;
  private end: number;
  private readonly mutex = new Mutex();
  private renewing: Promise<void> | null = null;
  private requested = 0;

  constructor(
    private readonly store: TsoStore,
    persistedEnd: number,
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    // Old timestamps are all below persistedEnd: start there if the clock is behind it.
    this.physical = Math.max(clock(), persistedEnd);
    this.end = persistedEnd;
  }

  /** Persists the first window (before serving). */
  async init(): Promise<void> {
    await this.mutex.run(() => this.extend());
  }

  /**
   * `count` consecutive timestamps; returns the last (the others are its logical predecessors in
   * the same ms, as PD answers).
   */
  next(count = 1): Promise<Timestamp> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_LOGICAL)
      return Promise.reject(new RangeError(`tso count must be in [1, ${MAX_LOGICAL}], got ${count}`));
    return this.mutex.run(async () => {
      const now = this.clock();
      if (now > this.physical) {
        this.physical = now;
        this.logical = 0;
      }
      if (this.logical + count >= MAX_LOGICAL) {
        this.physical += 1;
        this.logical = 0;
      }
      if (this.physical >= this.end) await this.extend();
      else if (this.end - this.physical < this.windowMs / 3 && !this.renewing) this.renewInBackground();
      this.logical += count;
      return { physical: this.physical, logical: this.logical };
    });
  }

  /**
   * The window end to persist next: never lower than one asked for before, so the persisted end
   * only grows whatever order a background renewal and a foreground extension finish in (their
   * writes reach the storage in call order).
   */
  private nextEnd(): number {
    this.requested = Math.max(this.requested, Math.max(this.physical, this.clock()) + this.windowMs);
    return this.requested;
  }

  private async extend(): Promise<void> {
    const end = this.nextEnd();
    await this.store.saveTsoEnd(end);
    this.end = Math.max(this.end, end);
  }

  private renewInBackground(): void {
    // Outside the mutex: requests keep being served from the current window meanwhile.
    const end = this.nextEnd();
    this.renewing = this.store
      .saveTsoEnd(end)
      .then(() => {
        this.end = Math.max(this.end, end);
      })
      .catch(() => {})
      .finally(() => {
        this.renewing = null;
      });
  }

  /** Waits for a background renewal (before closing the storage). */
  async settle(): Promise<void> {
    await this.renewing;
  }
}
