// Scanner: the user keys from a start key on, each with its value visible at the transaction's
// start ts, in key order. It merges two forward iterators, the write CF (versions) and the lock
// CF (so a key that has only a lock is seen too), and applies the read lock rule per key.
import { bytesEqual, compareBytes } from '@tskv/util';
import { decodeKey, encodedPrefix, encodeKey, isVersionOf, TS_MAX, versionsEnd } from './codec.js';
import type { MvccTxn } from './mvcc_txn.js';
import { type Lock, lockInfo, parseLock, parseWrite, WriteKind } from './records.js';
import type { CfName, Entry, MvccReader } from './storage.js';
import type { KvPair } from './types.js';

/** After this many skipped versions of one key, re-open the iterator past them instead of reading on. */
export const SEEK_BOUND = 8;

const UNBOUNDED = new Uint8Array(0);

/**
 * Whether `lock` stops a read of `key` at `ts`: a lock whose start ts is at or before the read's
 * could belong to a transaction that commits before `ts`. A read at TsMax (the "latest" read) is
 * blocked only by a primary lock.
 */
export function isLockedFor(lock: Lock, key: Uint8Array, ts: bigint): boolean {
  if (ts === TS_MAX && !bytesEqual(key, lock.primary)) return false;
  return lock.ts <= ts;
}

/** A forward iterator with a one-entry lookahead that can be re-opened further on. */
class Cursor {
  #reader: MvccReader;
  #cf: CfName;
  #it: AsyncIterator<Entry> | null = null;
  #head: Entry | null = null;
  #loaded = false;
  /** Scans opened (the first one included). */
  opened = 0;

  constructor(reader: MvccReader, cf: CfName, start: Uint8Array) {
    this.#reader = reader;
    this.#cf = cf;
    this.#open(start);
  }

  #open(start: Uint8Array): void {
    this.#it = this.#reader.scan(this.#cf, start, UNBOUNDED)[Symbol.asyncIterator]();
    this.#loaded = false;
    this.#head = null;
    this.opened++;
  }

  /** The current entry, or null at the end. */
  async peek(): Promise<Entry | null> {
    if (!this.#loaded) {
      this.#loaded = true;
      const it = this.#it;
      const r = it ? await it.next() : { done: true as const, value: undefined };
      if (r.done) {
        this.#it = null; // finished: nothing left to release
        this.#head = null;
      } else {
        this.#head = r.value;
      }
    }
    return this.#head;
  }

  /** Drops the current entry (peek first). */
  advance(): void {
    if (this.#it) this.#loaded = false;
  }

  /** Continues from the first entry >= `start`. */
  async seek(start: Uint8Array): Promise<void> {
    await this.close();
    this.#open(start);
  }

  async close(): Promise<void> {
    const it = this.#it;
    this.#it = null;
    this.#loaded = true;
    this.#head = null;
    await it?.return?.();
  }
}

export class Scanner {
  #txn: MvccTxn;
  #writes: Cursor;
  #locks: Cursor;
  #closed = false;

  /** Ready to read from `startKey` at the transaction's start ts. Close it when done. */
  constructor(startKey: Uint8Array, txn: MvccTxn) {
    this.#txn = txn;
    this.#writes = new Cursor(txn.reader, 'write', encodeKey(startKey, txn.startTs));
    this.#locks = new Cursor(txn.reader, 'lock', startKey);
  }

  /** Scans opened on the write CF so far (the first and every re-seek). */
  get writeSeeks(): number {
    return this.#writes.opened;
  }

  /**
   * The next key with a visible value ({key, value}), or blocked by a lock ({key, error.locked});
   * null when there is none left. Keys whose visible version is a Delete, or that have none, are
   * skipped.
   */
  async next(): Promise<KvPair | null> {
    if (this.#closed) throw new Error('scanner: next() after close()');
    const ts = this.#txn.startTs;
    for (;;) {
      const w = await this.#writes.peek();
      const l = await this.#locks.peek();
      if (!w && !l) return null;
      // The next user key is the smaller of the two heads.
      const wKey = w ? decodeKey(w[0]).userKey : null;
      let key: Uint8Array;
      if (wKey && (!l || compareBytes(wKey, l[0]) <= 0)) key = wKey;
      else key = l![0];
      const prefix = encodedPrefix(key);

      if (l && bytesEqual(l[0], key)) {
        const lock = parseLock(l[1]);
        this.#locks.advance();
        if (isLockedFor(lock, key, ts)) {
          await this.#skipKey(key, prefix, 0);
          return { key, error: { locked: lockInfo(lock, key) } };
        }
      }

      // The newest version committed at or before ts, rollbacks skipped.
      let skipped = 0;
      let visible: { kind: WriteKind; startTs: bigint } | null = null;
      for (;;) {
        const e = await this.#writes.peek();
        if (!e || !isVersionOf(e[0], prefix)) break;
        const commitTs = decodeKey(e[0]).ts;
        if (commitTs > ts) {
          this.#writes.advance();
          if (++skipped >= SEEK_BOUND) {
            await this.#writes.seek(encodeKey(key, ts));
            skipped = 0;
          }
          continue;
        }
        const write = parseWrite(e[1]);
        this.#writes.advance();
        if (write.kind === WriteKind.Rollback) {
          skipped++;
          continue;
        }
        visible = write;
        break;
      }
      await this.#skipKey(key, prefix, skipped);
      if (visible?.kind === WriteKind.Put) {
        const value = await this.#txn.reader.get('default', encodeKey(key, visible.startTs));
        if (value === undefined) throw new Error(`mvcc: the value of a committed put is missing (start ts ${visible.startTs})`);
        return { key, value };
      }
    }
  }

  /** Moves the write cursor past the remaining versions of `key`, re-seeking after SEEK_BOUND of them. */
  async #skipKey(key: Uint8Array, prefix: Uint8Array, skipped: number): Promise<void> {
    for (;;) {
      const e = await this.#writes.peek();
      if (!e || !isVersionOf(e[0], prefix)) return;
      if (skipped >= SEEK_BOUND) {
        await this.#writes.seek(versionsEnd(key));
        return;
      }
      this.#writes.advance();
      skipped++;
    }
  }

  /** Releases both iterators; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#writes.close();
    } finally {
      await this.#locks.close();
    }
  }
}
