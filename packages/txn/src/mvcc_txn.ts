// MvccTxn: one command's view of the MVCC data. Reads go to a snapshot; writes are buffered as
// Modify records and written by the caller as one atomic batch, so a command is all or nothing.
// Checks read the snapshot, never the buffer.
import { checkU64, decodeTs, encodedPrefix, encodeKey, isVersionOf, TS_MAX, versionsEnd } from './codec.js';
import { type Lock, parseLock, parseWrite, serializeLock, serializeWrite, type Write, WriteKind } from './records.js';
import type { Modify, MvccReader } from './storage.js';

/** A write record and its commit ts (for a rollback record, the rolled back start ts). */
export interface CommittedWrite {
  write: Write;
  commitTs: bigint;
}

/**
 * The versions of `key` in the write CF with commit ts <= `fromTs`, newest first. Leaving the
 * loop early releases the underlying iterator.
 */
export async function* writesOf(reader: MvccReader, key: Uint8Array, fromTs: bigint = TS_MAX): AsyncGenerator<CommittedWrite> {
  const prefix = encodedPrefix(key);
  for await (const [k, v] of reader.scan('write', encodeKey(key, fromTs), versionsEnd(key))) {
    // The range holds only versions of `key`; a malformed stored key would end it.
    if (!isVersionOf(k, prefix)) return;
    yield { write: parseWrite(v), commitTs: decodeTs(k) };
  }
}

export class MvccTxn {
  /** The transaction's start ts: the snapshot version reads see, the ts values are written at. */
  startTs: bigint;
  readonly reader: MvccReader;
  #writes: Modify[] = [];

  constructor(reader: MvccReader, startTs: bigint) {
    checkU64('startTs', startTs);
    this.reader = reader;
    this.startTs = startTs;
  }

  /** The buffered modifications, in order. */
  get writes(): readonly Modify[] {
    return this.#writes;
  }

  /** Records `write` for `key` at commit ts `ts` (a rollback record uses the start ts). */
  putWrite(key: Uint8Array, ts: bigint, write: Write): void {
    this.#writes.push({ type: 'put', cf: 'write', key: encodeKey(key, ts), value: serializeWrite(write) });
  }

  /** The lock on `key`, or null. */
  async getLock(key: Uint8Array): Promise<Lock | null> {
    const v = await this.reader.get('lock', key);
    return v === undefined ? null : parseLock(v);
  }

  putLock(key: Uint8Array, lock: Lock): void {
    this.#writes.push({ type: 'put', cf: 'lock', key: new Uint8Array(key), value: serializeLock(lock) });
  }

  deleteLock(key: Uint8Array): void {
    this.#writes.push({ type: 'delete', cf: 'lock', key: new Uint8Array(key) });
  }

  /**
   * The value of `key` visible at startTs: that of the newest write committed at or before it,
   * rollbacks skipped; null if that write is a Delete or there is none.
   */
  async getValue(key: Uint8Array): Promise<Uint8Array | null> {
    let putStartTs: bigint | undefined;
    for await (const { write } of writesOf(this.reader, key, this.startTs)) {
      if (write.kind === WriteKind.Rollback) continue;
      if (write.kind === WriteKind.Put) putStartTs = write.startTs;
      break;
    }
    if (putStartTs === undefined) return null;
    const value = await this.reader.get('default', encodeKey(key, putStartTs));
    // A committed Put always has its value: its absence is lost data, not a missing key.
    if (value === undefined) throw new Error(`mvcc: the value of a committed put is missing (start ts ${putStartTs})`);
    return value;
  }

  putValue(key: Uint8Array, value: Uint8Array): void {
    this.#writes.push({ type: 'put', cf: 'default', key: encodeKey(key, this.startTs), value });
  }

  deleteValue(key: Uint8Array): void {
    this.#writes.push({ type: 'delete', cf: 'default', key: encodeKey(key, this.startTs) });
  }

  /**
   * The write of this transaction (start ts == startTs) on `key`, commit or rollback, or null.
   * A transaction's writes have commit ts >= its start ts, so the walk stops below startTs.
   */
  async currentWrite(key: Uint8Array): Promise<CommittedWrite | null> {
    for await (const cw of writesOf(this.reader, key)) {
      if (cw.commitTs < this.startTs) break;
      if (cw.write.startTs === this.startTs) return cw;
    }
    return null;
  }

  /** The newest write on `key` of any kind and any transaction, or null. */
  async mostRecentWrite(key: Uint8Array): Promise<CommittedWrite | null> {
    for await (const cw of writesOf(this.reader, key)) return cw;
    return null;
  }
}
