// Transaction: a snapshot read at startTs plus a buffer of writes, committed atomically by
// two-phase commit (two_phase_commit.ts). Reads see the transaction's own buffered writes;
// writes reach the stores only at commit().
//
//   const txn = await client.begin();
//   const v = await txn.get('counter');
//   txn.put('counter', String(Number(v ? utf8(v) : '0') + 1));
//   const commitTs = await txn.commit();     // or WriteConflictError: run it again
import { type Bytes, compareBytes, EMPTY, showKey, toBytes } from './bytes.js';
import { InvalidArgumentError } from './errors.js';
import { checkKey, type KvPair } from './raw_client.js';
import { Snapshot } from './snapshot.js';
import { mutationOf, TwoPhaseCommit } from './two_phase_commit.js';
import { TxnFinishedError } from './txn_errors.js';
import type { TxnRuntime } from './txn_runtime.js';

type State = 'active' | 'committing' | 'committed' | 'rolledBack' | 'failed';

/** The buffer is keyed by the key's bytes as latin1 text (one char per byte: same order as the bytes). */
function id(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');
}

function checkValue(v: Bytes, op: string): Uint8Array {
  const b = v === undefined || v === null ? v : toBytes(v);
  if (!(b instanceof Uint8Array)) throw new InvalidArgumentError(`${op}: a value must be a string or a Uint8Array`);
  return b;
}

export class Transaction {
  /** Buffered writes in the order of their first write (the first key is the primary); null = delete. */
  private readonly buffer = new Map<string, { key: Uint8Array; value: Uint8Array | null }>();
  private state: State = 'active';
  private readonly snapshot: Snapshot;

  /** Use TxnClient.begin. */
  constructor(
    private readonly rt: TxnRuntime,
    readonly startTs: bigint,
    private readonly beganAt = Date.now(),
  ) {
    this.snapshot = new Snapshot(rt, startTs);
  }

  /** Whether commit() or rollback() has been called. */
  get finished(): boolean {
    return this.state !== 'active';
  }

  /** The value of key as of startTs, or this transaction's own buffered write of it; null if absent. */
  get(key: Bytes): Promise<Uint8Array | null> {
    try {
      this.checkActive('get');
      const k = checkKey(key, 'get');
      const b = this.buffer.get(id(k));
      if (b) return Promise.resolve(b.value);
      return this.rt.guard(this.snapshot.get(k, this.rt.router.state(`get ${showKey(k)} at ${this.startTs}`)));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The values of keys (null where absent), in the order of keys; one snapshot, the keys' regions in parallel. */
  batchGet(keys: readonly Bytes[]): Promise<(Uint8Array | null)[]> {
    try {
      this.checkActive('batchGet');
      if (!Array.isArray(keys)) throw new InvalidArgumentError('batchGet: keys must be an array');
      const ks = keys.map((k) => checkKey(k, 'batchGet'));
      const st = this.rt.router.state(`batchGet of ${ks.length} keys at ${this.startTs}`);
      return this.rt.guard(
        Promise.all(
          ks.map((k) => {
            const b = this.buffer.get(id(k));
            // Each key has its own backoff, all the operation's deadline.
            return b ? b.value : this.snapshot.get(k, this.rt.router.fork(st));
          }),
        ),
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The pairs start <= key < end (end empty: to the last key) as of startTs merged with this
   * transaction's buffered writes, in key order, at most limit (0: no limit). Crosses regions.
   */
  scan(start: Bytes, end: Bytes = EMPTY, limit = 0): Promise<KvPair[]> {
    try {
      this.checkActive('scan');
      const s = checkValue(start ?? EMPTY, 'scan start');
      const e = checkValue(end ?? EMPTY, 'scan end');
      if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError(`scan: limit must be an integer >= 0, got ${limit}`);
      return this.rt.guard(this.mergedScan(s, e, limit > 0 ? limit : Infinity));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async mergedScan(start: Uint8Array, end: Uint8Array, max: number): Promise<KvPair[]> {
    const out: KvPair[] = [];
    if (end.length > 0 && compareBytes(start, end) >= 0) return out;
    const mine = [...this.buffer.values()]
      .filter((b) => compareBytes(b.key, start) >= 0 && (end.length === 0 || compareBytes(b.key, end) < 0))
      .sort((x, y) => compareBytes(x.key, y.key));
    // Buffered deletes may hide stored pairs: ask for that many more, so one page usually does.
    const deletes = mine.filter((b) => b.value === null).length;
    const page = Math.min(this.rt.settings.scanBatchSize, max === Infinity ? Infinity : max + deletes);
    const it = this.snapshot.scan(start, end, page, `scan from ${showKey(start)} at ${this.startTs}`);
    try {
      let stored = await it.next();
      let i = 0;
      while (out.length < max) {
        const b = mine[i];
        const s = stored.done ? undefined : stored.value;
        if (!b && !s) break;
        const c = b && s ? compareBytes(b.key, s.key) : b ? -1 : 1;
        if (c <= 0) {
          // Our own write of the key replaces what is stored.
          if (b!.value !== null) out.push({ key: b!.key, value: b!.value });
          i++;
          if (c === 0) stored = await it.next();
        } else {
          out.push(s!);
          stored = await it.next();
        }
      }
    } finally {
      await it.return(undefined);
    }
    return out;
  }

  /** Buffers key = value (written at commit). */
  put(key: Bytes, value: Bytes): void {
    this.checkActive('put');
    const k = checkKey(key, 'put');
    const v = checkValue(value, 'put');
    // Copies: the caller may reuse its arrays before commit.
    this.write(Uint8Array.from(k), Uint8Array.from(v));
  }

  /** Buffers the deletion of key (written at commit; deleting an absent key is fine). */
  delete(key: Bytes): void {
    this.checkActive('delete');
    this.write(Uint8Array.from(checkKey(key, 'delete')), null);
  }

  private write(key: Uint8Array, value: Uint8Array | null): void {
    const i = id(key);
    const b = this.buffer.get(i);
    if (b) b.value = value;
    else this.buffer.set(i, { key, value });
  }

  /**
   * Commits the buffered writes atomically and returns the commit timestamp (a transaction
   * without writes commits trivially: startTs). Throws WriteConflictError, TxnAbortedError or
   * LockNotResolvedError when another transaction got in the way (nothing was committed: run it
   * again), AmbiguousResultError when the primary's commit has an unknown outcome.
   */
  commit(): Promise<bigint> {
    try {
      this.checkActive('commit');
    } catch (e) {
      return Promise.reject(e);
    }
    this.state = 'committing';
    const mutations = [...this.buffer.values()].map((b) => mutationOf(b.key, b.value));
    if (mutations.length === 0) {
      this.state = 'committed';
      return Promise.resolve(this.startTs);
    }
    const run = new TwoPhaseCommit(this.rt, this.startTs, mutations, this.beganAt).execute();
    return this.rt.guard(
      run.then(
        (ts) => {
          this.state = 'committed';
          return ts;
        },
        (e: unknown) => {
          this.state = 'failed';
          throw e;
        },
      ),
    );
  }

  /**
   * Drops the buffered writes; the transaction takes no more operations. Nothing was written
   * before commit, so nothing is sent. After commit() it is a no-op (a failed commit cleans up
   * after itself); rolling back a committed transaction throws TxnFinishedError.
   */
  async rollback(): Promise<void> {
    if (this.state === 'committed') throw new TxnFinishedError(`transaction ${this.startTs} is committed: it cannot roll back`);
    if (this.state === 'committing' || this.state === 'failed') return;
    this.state = 'rolledBack';
    this.buffer.clear();
  }

  private checkActive(op: string): void {
    if (this.state === 'active') return;
    const what = { committing: 'committing', committed: 'committed', rolledBack: 'rolled back', failed: 'done (its commit failed)' }[
      this.state
    ];
    throw new TxnFinishedError(`${op}: transaction ${this.startTs} is ${what}`);
  }
}
