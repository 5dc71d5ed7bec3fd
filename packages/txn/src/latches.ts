// Latches: per-user-key mutexes (one per user key, over all CFs), held by a write command from
// before it opens its snapshot until its batch is written, so that its read-check-write is atomic
// against other commands on the same keys (e.g. a commit and a rollback of one key). They are
// in-process and never seen by clients; reads do not take them.
//
// A command takes its whole key set at once, or nothing: if any key is held it waits for that
// holder to release and then retries the whole set. Nobody holds some keys while waiting for
// others, so there is no deadlock (there is no fairness either: a waiter may lose the race).

function latchKey(key: Uint8Array): string {
  // latin1 maps each byte to one UTF-16 unit: distinct byte strings stay distinct.
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** One acquisition: the keys it still holds, and a promise its waiters wait on. */
interface Holder {
  names: Set<string>;
  released: Promise<void>;
  wake: () => void;
}

function newHolder(names: Set<string>): Holder {
  let wake!: () => void;
  const released = new Promise<void>((resolve) => {
    wake = resolve;
  });
  return { names, released, wake };
}

export class Latches {
  #held = new Map<string, Holder>();

  /**
   * Takes every key of `keys` if none is held, and returns undefined; otherwise takes nothing and
   * returns a promise that resolves when a holder of one of them releases (then try again).
   * Duplicate keys are fine.
   */
  tryAcquire(keys: readonly Uint8Array[]): Promise<void> | undefined {
    const names = keys.map(latchKey);
    for (const n of names) {
      const h = this.#held.get(n);
      if (h) return h.released;
    }
    const holder = newHolder(new Set(names));
    for (const n of holder.names) this.#held.set(n, holder);
    return undefined;
  }

  /** Takes every key of `keys`, waiting as long as it takes. */
  async acquire(keys: readonly Uint8Array[]): Promise<void> {
    for (;;) {
      const wait = this.tryAcquire(keys);
      if (!wait) return;
      await wait;
    }
  }

  /**
   * Frees the named keys (those not held are ignored) and wakes whoever waits on their holders.
   * Only the named keys are freed: release exactly the set that was acquired. (If a holder keeps
   * some keys, they move to a fresh promise, so its woken waiters do not spin on a resolved one.)
   */
  release(keys: readonly Uint8Array[]): void {
    const touched = new Set<Holder>();
    for (const key of keys) {
      const n = latchKey(key);
      const h = this.#held.get(n);
      if (!h) continue;
      this.#held.delete(n);
      h.names.delete(n);
      touched.add(h);
    }
    for (const h of touched) {
      if (h.names.size > 0) {
        const rest = newHolder(h.names);
        for (const n of rest.names) this.#held.set(n, rest);
      }
      h.wake();
    }
  }

  /** Whether `key` is held. */
  isHeld(key: Uint8Array): boolean {
    return this.#held.has(latchKey(key));
  }

  /** Number of keys held. */
  get size(): number {
    return this.#held.size;
  }
}
