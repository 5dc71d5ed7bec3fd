import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { type CfName, cfPrefix, cfRange, encodeKey, isCfName } from './keys.js';

export type { CfName } from './keys.js';

/** The column families that hold user data (MVCC layers); `raft` holds local metadata. */
/** The CFs holding region data (everything but `raft`): snapshots, peer destroy and split checks cover them. */
export const DATA_CFS: readonly CfName[] = Object.freeze(['default', 'lock', 'write', 'txn_default', 'txn_lock', 'txn_write'] as CfName[]);

/** The raw API's CFs (the rest of DATA_CFS is written by transactional commands only). */
export const RAW_CFS: readonly CfName[] = Object.freeze(['default', 'lock', 'write'] as CfName[]);

export type EngineErrorCode =
  /** The engine (or the snapshot) was closed. */
  | 'CLOSED'
  /** Not one of 'default' | 'lock' | 'write' | 'raft'. */
  | 'INVALID_CF'
  /** A bad argument: a key or value that is not a Uint8Array, a bad limit. */
  | 'INVALID_ARGUMENT'
  /** Another process (or another Engine in this one) holds the database's LOCK file. */
  | 'LOCKED'
  /** LevelDB reported corruption. */
  | 'CORRUPTION'
  /** Any other failure of the storage, e.g. ENOSPC, EIO, a failed open. */
  | 'IO_ERROR';

/** Every failure of the engine. `cause` holds the classic-level error when there is one. */
export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    readonly path?: string,
    readonly op?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface WriteOptions {
  /** fsync the write-ahead log before resolving. Default: the engine's `sync` option. */
  sync?: boolean;
}

export interface ScanOptions {
  /** At most this many entries (default: all). */
  limit?: number;
  /** Descending key order (the same range, from its end). */
  reverse?: boolean;
  /** Read through this snapshot instead of the latest state. */
  snapshot?: EngineSnapshot;
}

export interface EngineOpenOptions {
  /** Default for `write()`: true makes every write durable before it resolves. Default true. */
  sync?: boolean;
  /**
   * LevelDB's open table files (default 1000). LevelDB memory-maps the table files it reads, and
   * mapped pages count in the process's RSS while the table stays open: fewer open tables bound
   * that (at some cost in re-opening tables for reads).
   */
  maxOpenFiles?: number;
}

export type Entry = [key: Uint8Array, value: Uint8Array];

type Db = ClassicLevel<Uint8Array, Uint8Array>;
type LevelSnapshot = ReturnType<Db['snapshot']>;
type Op = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

const ITER_BATCH = 1000;

function checkBytes(what: string, b: unknown): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new EngineError('INVALID_ARGUMENT', `${what} must be a Uint8Array`);
}

function checkCf(cf: unknown): asserts cf is CfName {
  if (!isCfName(cf)) throw new EngineError('INVALID_CF', `unknown column family: ${String(cf)}`);
}

/**
 * A set of puts and deletes across CFs, applied atomically by `Engine.write`. Operations apply
 * in order (the last one on a key wins). Keys are copied when added; values are not: do not
 * mutate a value buffer before the batch is written.
 */
export class WriteBatch {
  #ops: Op[] = [];
  #bytes = 0;

  put(cf: CfName, key: Uint8Array, value: Uint8Array): this {
    checkCf(cf);
    checkBytes('key', key);
    checkBytes('value', value);
    const k = encodeKey(cf, key);
    this.#ops.push({ type: 'put', key: k, value });
    this.#bytes += k.length + value.length;
    return this;
  }

  delete(cf: CfName, key: Uint8Array): this {
    checkCf(cf);
    checkBytes('key', key);
    const k = encodeKey(cf, key);
    this.#ops.push({ type: 'del', key: k });
    this.#bytes += k.length;
    return this;
  }

  /** Number of operations. */
  get count(): number {
    return this.#ops.length;
  }

  /** Payload size: the stored keys (CF prefix included) plus the values, in bytes. */
  get byteSize(): number {
    return this.#bytes;
  }

  isEmpty(): boolean {
    return this.#ops.length === 0;
  }

  clear(): void {
    this.#ops = [];
    this.#bytes = 0;
  }

  /** Appends `other`'s operations after this batch's (`other` is unchanged). */
  merge(other: WriteBatch): this {
    this.#ops.push(...other.#ops);
    this.#bytes += other.#bytes;
    return this;
  }

  /** @internal The operations in classic-level's batch format. */
  static ops(b: WriteBatch): readonly Op[] {
    return b.#ops;
  }
}

/** A consistent point-in-time view of an engine: reads never see writes made after it was taken. */
export class EngineSnapshot {
  #closed = false;
  #engine: Engine;
  #inner: LevelSnapshot;

  /** Use `Engine.snapshot()`. */
  constructor(engine: Engine, inner: LevelSnapshot) {
    this.#engine = engine;
    this.#inner = inner;
  }

  /** @internal */
  static inner(s: EngineSnapshot): LevelSnapshot {
    return s.#inner;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#engine.get(cf, key, this);
  }

  getSync(cf: CfName, key: Uint8Array): Uint8Array | undefined {
    return this.#engine.getSync(cf, key, this);
  }

  scan(cf: CfName, start: Uint8Array, end: Uint8Array, opts: Omit<ScanOptions, 'snapshot'> = {}): AsyncIterable<Entry> {
    return this.#engine.scan(cf, start, end, { ...opts, snapshot: this });
  }

  collect(cf: CfName, start: Uint8Array, end: Uint8Array, opts: Omit<ScanOptions, 'snapshot'> = {}): Promise<Entry[]> {
    return this.#engine.collect(cf, start, end, { ...opts, snapshot: this });
  }

  /** Releases the snapshot (idempotent). Closing the engine closes its snapshots too. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#engine.closed) return; // closing the engine closed it
    try {
      await this.#inner.close();
    } catch (err) {
      throw wrap(err, this.#engine.path, 'snapshot close');
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * One LevelDB database holding the CFs `default`, `lock`, `write` and `raft` as key prefixes
 * (see keys.ts). Keys given to and returned by the engine are the keys inside a CF, without
 * the prefix.
 */
export class Engine {
  #db: Db;
  #sync: boolean;
  #closed = false;

  private constructor(
    readonly path: string,
    db: Db,
    sync: boolean,
  ) {
    this.#db = db;
    this.#sync = sync;
  }

  /** Opens (creating if missing, with parent directories) the database at `path`. */
  static async open(path: string, opts: EngineOpenOptions = {}): Promise<Engine> {
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await mkdir(path, { recursive: true });
      await db.open({ createIfMissing: true, ...(opts.maxOpenFiles ? { maxOpenFiles: opts.maxOpenFiles } : {}) });
    } catch (err) {
      throw wrap(err, path, 'open');
    }
    return new Engine(path, db, opts.sync ?? true);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether `write()` syncs by default. */
  get syncByDefault(): boolean {
    return this.#sync;
  }

  /** Closes the database and every snapshot and iterator still open on it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#db.close();
    } catch (err) {
      throw wrap(err, this.path, 'close');
    }
  }

  async get(cf: CfName, key: Uint8Array, snapshot?: EngineSnapshot): Promise<Uint8Array | undefined> {
    const k = this.#key('get', cf, key, snapshot);
    try {
      return snapshot ? await this.#db.get(k, { snapshot: EngineSnapshot.inner(snapshot) }) : await this.#db.get(k);
    } catch (err) {
      throw wrap(err, this.path, 'get');
    }
  }

  /**
   * Synchronous point read (blocks the event loop for the LevelDB lookup, usually a memtable or
   * block-cache hit; a cold read goes to disk).
   */
  getSync(cf: CfName, key: Uint8Array, snapshot?: EngineSnapshot): Uint8Array | undefined {
    const k = this.#key('getSync', cf, key, snapshot);
    try {
      return snapshot ? this.#db.getSync(k, { snapshot: EngineSnapshot.inner(snapshot) }) : this.#db.getSync(k);
    } catch (err) {
      throw wrap(err, this.path, 'getSync');
    }
  }

  writeBatch(): WriteBatch {
    return new WriteBatch();
  }

  /**
   * Applies `batch` atomically: after a crash either all of it or none of it is there. With
   * `sync` (default: the engine's setting) it is on disk (the log fsynced) when the promise
   * resolves. An empty batch is a no-op. The batch is left as it was (call `clear()` to reuse it).
   */
  async write(batch: WriteBatch, opts: WriteOptions = {}): Promise<void> {
    this.#checkOpen('write');
    const ops = WriteBatch.ops(batch);
    if (ops.length === 0) return;
    try {
      // A chained batch, not db.batch(array): abstract-level's array path clones and re-validates
      // every operation and the binding then reads each one's properties by name, about 5-7 µs
      // per operation on the event loop; the chained batch hands each key and value straight to
      // LevelDB's WriteBatch (about 0.6 µs). The write is the same single atomic LevelDB write.
      const b = this.#db.batch();
      for (const op of ops) {
        if (op.type === 'put') b.put(op.key, op.value);
        else b.del(op.key);
      }
      await b.write({ sync: opts.sync ?? this.#sync });
    } catch (err) {
      throw wrap(err, this.path, 'write');
    }
  }

  /**
   * Entries of `cf` with `start <= key < end` in key order (descending with `reverse`); an empty
   * `end` means the end of the CF. Keys come back without the CF prefix. The iteration reads one
   * consistent view: the state when the iteration began (its first `next()`), or `opts.snapshot`. Argument errors and a
   * closed engine throw at the call; I/O errors surface from the iteration.
   */
  scan(cf: CfName, start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): AsyncIterable<Entry> {
    this.#checkOpen('scan');
    checkCf(cf);
    checkBytes('start', start);
    checkBytes('end', end);
    const { limit, reverse = false, snapshot } = opts;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
      throw new EngineError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${limit}`);
    }
    this.#checkSnapshot('scan', snapshot);
    const range = cfRange(cf, start, end);
    return this.#iterate(range.gte, range.lt, limit, reverse, snapshot);
  }

  async *#iterate(
    gte: Uint8Array,
    lt: Uint8Array,
    limit: number | undefined,
    reverse: boolean,
    snapshot: EngineSnapshot | undefined,
  ): AsyncGenerator<Entry> {
    if (limit === 0) return;
    let it: ReturnType<Db['iterator']>;
    try {
      this.#checkOpen('scan');
      this.#checkSnapshot('scan', snapshot);
      const snap = snapshot && EngineSnapshot.inner(snapshot);
      it = this.#db.iterator({ gte, lt, reverse, limit: limit ?? -1, snapshot: snap });
    } catch (err) {
      throw wrap(err, this.path, 'scan');
    }
    try {
      for (;;) {
        let entries: Entry[];
        try {
          entries = (await it.nextv(ITER_BATCH)) as Entry[];
        } catch (err) {
          throw wrap(err, this.path, 'scan');
        }
        if (entries.length === 0) return;
        for (const [k, v] of entries) yield [k.subarray(1), v];
      }
    } finally {
      await it.close().catch(() => {});
    }
  }

  /** `scan` into an array. */
  async collect(cf: CfName, start: Uint8Array, end: Uint8Array, opts: ScanOptions = {}): Promise<Entry[]> {
    const out: Entry[] = [];
    for await (const e of this.scan(cf, start, end, opts)) out.push(e);
    return out;
  }

  /**
   * The keys of `cf` in `[start, end)` in key order, without their values (LevelDB still reads
   * the blocks, but no value is copied out): the cheap way to check which keys of a range exist
   * (e.g. that a raft log has no hole) at startup. Same range and error rules as `scan`.
   */
  async *scanKeys(cf: CfName, start: Uint8Array, end: Uint8Array): AsyncGenerator<Uint8Array> {
    this.#checkOpen('scanKeys');
    checkCf(cf);
    checkBytes('start', start);
    checkBytes('end', end);
    const { gte, lt } = cfRange(cf, start, end);
    let it: ReturnType<Db['keys']>;
    try {
      it = this.#db.keys({ gte, lt });
    } catch (err) {
      throw wrap(err, this.path, 'scanKeys');
    }
    try {
      for (;;) {
        let keys: Uint8Array[];
        try {
          keys = (await it.nextv(ITER_BATCH)) as Uint8Array[];
        } catch (err) {
          throw wrap(err, this.path, 'scanKeys');
        }
        if (keys.length === 0) return;
        for (const k of keys) yield k.subarray(1);
      }
    } finally {
      await it.close().catch(() => {});
    }
  }

  /** A consistent point-in-time view; close it when done (it pins old data in LevelDB). */
  snapshot(): EngineSnapshot {
    this.#checkOpen('snapshot');
    try {
      return new EngineSnapshot(this, this.#db.snapshot());
    } catch (err) {
      throw wrap(err, this.path, 'snapshot');
    }
  }

  /**
   * Deletes every key of `cf` in `[start, end)` (empty `end`: to the end of the CF) in one
   * atomic write; returns how many keys were deleted. LevelDB has no range tombstone, so this
   * reads every key in the range and writes one tombstone per key: O(n) reads, O(n) writes and
   * the keys held in memory. Keys written concurrently into the range after the scan began are
   * not deleted.
   */
  async deleteRange(cf: CfName, start: Uint8Array, end: Uint8Array, opts: WriteOptions = {}): Promise<number> {
    const batch = new WriteBatch();
    const n = await this.deleteRangeInto(batch, cf, start, end);
    await this.write(batch, opts);
    return n;
  }

  /**
   * Adds a delete for every key of `cf` in `[start, end)` to `batch` (to commit it atomically
   * with other writes); returns how many. Same cost as `deleteRange`.
   */
  async deleteRangeInto(batch: WriteBatch, cf: CfName, start: Uint8Array, end: Uint8Array): Promise<number> {
    this.#checkOpen('deleteRange');
    checkCf(cf);
    checkBytes('start', start);
    checkBytes('end', end);
    const { gte, lt } = cfRange(cf, start, end);
    const it = this.#db.keys({ gte, lt });
    let n = 0;
    try {
      for (;;) {
        const keys = await it.nextv(ITER_BATCH);
        if (keys.length === 0) break;
        for (const k of keys) batch.delete(cf, k.subarray(1));
        n += keys.length;
      }
    } catch (err) {
      throw wrap(err, this.path, 'deleteRange');
    } finally {
      await it.close().catch(() => {});
    }
    return n;
  }

  /** Approximate bytes on disk used by `cf` keys in `[start, end)` (memtable data not counted). */
  async approximateSize(cf: CfName, start: Uint8Array, end: Uint8Array): Promise<number> {
    this.#checkOpen('approximateSize');
    checkCf(cf);
    const { gte, lt } = cfRange(cf, start, end);
    try {
      return await this.#db.approximateSize(gte, lt);
    } catch (err) {
      throw wrap(err, this.path, 'approximateSize');
    }
  }

  /** Compacts the LevelDB files covering `cf` keys in `[start, end)`, dropping deleted data. */
  async compactRange(cf: CfName, start: Uint8Array, end: Uint8Array): Promise<void> {
    this.#checkOpen('compactRange');
    checkCf(cf);
    const { gte, lt } = cfRange(cf, start, end);
    try {
      await this.#db.compactRange(gte, lt);
    } catch (err) {
      throw wrap(err, this.path, 'compactRange');
    }
  }

  #checkOpen(op: string): void {
    if (this.#closed) throw new EngineError('CLOSED', `engine ${this.path}: ${op} after close`, this.path, op);
  }

  #checkSnapshot(op: string, snapshot: EngineSnapshot | undefined): void {
    if (snapshot === undefined) return;
    if (snapshot.closed) throw new EngineError('CLOSED', `engine ${this.path}: ${op} through a closed snapshot`, this.path, op);
  }

  #key(op: string, cf: CfName, key: Uint8Array, snapshot: EngineSnapshot | undefined): Uint8Array {
    this.#checkOpen(op);
    checkCf(cf);
    checkBytes('key', key);
    this.#checkSnapshot(op, snapshot);
    const k = new Uint8Array(key.length + 1);
    k[0] = cfPrefix(cf);
    k.set(key, 1);
    return k;
  }
}

/** Turns a classic-level (or fs) error into an EngineError naming the path and operation. */
function wrap(err: unknown, path: string, op: string): EngineError {
  if (err instanceof EngineError) return err;
  const codes: string[] = [];
  for (let e: unknown = err; e instanceof Error && codes.length < 4; e = e.cause) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') codes.push(c);
  }
  const code: EngineErrorCode = codes.includes('LEVEL_LOCKED')
    ? 'LOCKED'
    : codes.includes('LEVEL_CORRUPTION')
      ? 'CORRUPTION'
      : op !== 'open' && codes[0] === 'LEVEL_DATABASE_NOT_OPEN'
        ? 'CLOSED'
        : 'IO_ERROR';
  const detail = err instanceof Error ? describe(err) : String(err);
  return new EngineError(code, `engine ${path}: ${op} failed: ${detail}`, path, op, { cause: err });
}

function describe(err: Error): string {
  const inner = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${inner}`;
}
