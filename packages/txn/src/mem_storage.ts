// An in-memory TxnStorage for tests and simulations, after TinyKV's MemStorage.
//
// Each CF is a sorted array that is never mutated once published: a write builds new arrays, so
// a reader is a true snapshot by holding the arrays of its moment (a write costs O(n) per CF it
// touches; fine at test sizes). Entries set with `set()` (test setup) are "fresh"; any write by a
// command, even of identical bytes, makes its entry not fresh, which is how the tests check that
// a command left an entry alone. A reader closed while one of its iterators is still open throws
// (TinyKV's test storage panics): commands must release every iterator.
import { compareBytes } from '@tskv/util';
import { CFS, type CfName, type ClosableReader, type Entry, type Modify, type TxnStorage } from './storage.js';

interface Item {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Set by `set()`, cleared by a write. */
  readonly fresh: boolean;
}

type Tables = Readonly<Record<CfName, readonly Item[]>>;

function checkCf(cf: unknown): asserts cf is CfName {
  if (!CFS.includes(cf as CfName)) throw new TypeError(`unknown column family: ${String(cf)}`);
}

/** Index of the first item with key >= `key`. */
function lowerBound(items: readonly Item[], key: Uint8Array): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(items[mid]!.key, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function find(items: readonly Item[], key: Uint8Array): Item | undefined {
  const i = lowerBound(items, key);
  const it = items[i];
  return it && compareBytes(it.key, key) === 0 ? it : undefined;
}

/** Puts (value given) or deletes (undefined) `key` in a mutable copy of a CF's items. */
function apply(items: Item[], key: Uint8Array, value: Uint8Array | undefined, fresh: boolean): void {
  const i = lowerBound(items, key);
  const hit = i < items.length && compareBytes(items[i]!.key, key) === 0;
  if (value === undefined) {
    if (hit) items.splice(i, 1);
  } else {
    const item: Item = { key: new Uint8Array(key), value: new Uint8Array(value), fresh };
    if (hit) items[i] = item;
    else items.splice(i, 0, item);
  }
}

export class MemStorage implements TxnStorage {
  #tables: Tables = { default: [], lock: [], write: [] };
  #openReaders = 0;

  /** A snapshot of the current state. */
  reader(): MemReader {
    this.#openReaders++;
    return new MemReader(this.#tables, () => {
      this.#openReaders--;
    });
  }

  /** Readers taken and not closed yet. */
  get openReaders(): number {
    return this.#openReaders;
  }

  /** Applies `modifies` in order, atomically (the last one on a key wins). */
  async write(modifies: readonly Modify[]): Promise<void> {
    this.writeSync(modifies);
  }

  writeSync(modifies: readonly Modify[]): void {
    const next: Partial<Record<CfName, Item[]>> = {};
    for (const m of modifies) {
      checkCf(m.cf);
      if (m.type !== 'put' && m.type !== 'delete') throw new TypeError(`unknown modify type: ${String((m as Modify).type)}`);
      if (m.type === 'put' && !(m.value instanceof Uint8Array)) throw new TypeError('a put needs a Uint8Array value');
      next[m.cf] ??= this.#tables[m.cf].slice();
      apply(next[m.cf]!, m.key, m.type === 'put' ? m.value : undefined, false);
    }
    this.#tables = { ...this.#tables, ...next };
  }

  /** Test setup: puts an entry marked fresh (see `hasChanged`). */
  set(cf: CfName, key: Uint8Array, value: Uint8Array): void {
    checkCf(cf);
    const items = this.#tables[cf].slice();
    apply(items, key, value, true);
    this.#tables = { ...this.#tables, [cf]: items };
  }

  get(cf: CfName, key: Uint8Array): Uint8Array | undefined {
    checkCf(cf);
    return find(this.#tables[cf], key)?.value;
  }

  /** True unless the entry exists and was put by `set()` and not written since. */
  hasChanged(cf: CfName, key: Uint8Array): boolean {
    checkCf(cf);
    const it = find(this.#tables[cf], key);
    return !it?.fresh;
  }

  len(cf: CfName): number {
    checkCf(cf);
    return this.#tables[cf].length;
  }

  entries(cf: CfName): Entry[] {
    checkCf(cf);
    return this.#tables[cf].map((it) => [it.key, it.value]);
  }
}

export class MemReader implements ClosableReader {
  #tables: Tables;
  #onClose: () => void;
  #closed = false;
  #openIterators = 0;

  /** Use `MemStorage.reader()`. */
  constructor(tables: Tables, onClose: () => void) {
    this.#tables = tables;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Iterators started and neither exhausted nor returned. */
  get openIterators(): number {
    return this.#openIterators;
  }

  #check(op: string, cf: unknown): asserts cf is CfName {
    if (this.#closed) throw new Error(`mem storage: ${op} on a closed reader`);
    checkCf(cf);
  }

  async get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#check('get', cf);
    return find(this.#tables[cf], key)?.value;
  }

  scan(cf: CfName, start: Uint8Array, end?: Uint8Array): AsyncIterable<Entry> {
    this.#check('scan', cf);
    const items = this.#tables[cf];
    const stop = end !== undefined && end.length > 0 ? end : undefined;
    const first = lowerBound(items, start);
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<Entry> => {
        this.#check('scan', cf);
        this.#openIterators++;
        let i = first;
        let open = true;
        const finish = (): IteratorReturnResult<undefined> => {
          if (open) {
            open = false;
            this.#openIterators--;
          }
          return { done: true, value: undefined };
        };
        return {
          next: async (): Promise<IteratorResult<Entry>> => {
            if (!open) return { done: true, value: undefined };
            if (this.#closed) throw new Error('mem storage: iterator used after its reader was closed');
            const it = items[i];
            if (!it || (stop && compareBytes(it.key, stop) >= 0)) return finish();
            i++;
            return { done: false, value: [it.key, it.value] };
          },
          return: async (): Promise<IteratorResult<Entry>> => finish(),
        };
      },
    };
  }

  /** Throws if an iterator is still open (a leak in the caller); closing twice is a no-op. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    if (this.#openIterators > 0) throw new Error(`mem storage: reader closed with ${this.#openIterators} open iterator(s)`);
  }
}
