// A FIFO async mutex: run() calls its functions one at a time, in call order, whether they
// resolve or throw. Used where an in-memory check and a durable write must not interleave with
// another caller's (id allocation, the TSO window, bootstrap).
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.tail.then(fn);
    this.tail = p.catch(() => {});
    return p;
  }
}
