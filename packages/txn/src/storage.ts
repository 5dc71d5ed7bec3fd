// What the transaction layer needs of a storage: a snapshot reader, and an atomic batch write.
//
// Keys are the keys inside a column family: in `default` and `write` they are MVCC-encoded
// (EncodeKey(userKey, ts)), in `lock` they are raw user keys. A store implements the reader over
// its engine snapshot (an @tskv/engine EngineSnapshot fits as is: same get/scan/close shapes,
// and this layer always passes an explicit `end`, empty for "unbounded") and clamps scans to the
// region: lock keys by the raw region range, default/write keys to
// [EncodeKey(regionStart, TsMax), EncodeKey(regionEnd, TsMax)), which holds exactly the versions
// of the user keys in the region.

export type CfName = 'default' | 'lock' | 'write';
export const CFS: readonly CfName[] = Object.freeze(['default', 'lock', 'write'] as CfName[]);

export type Entry = [key: Uint8Array, value: Uint8Array];

/** A consistent point-in-time view: reads never see writes made after it was taken. */
export interface MvccReader {
  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * Entries with start <= key < end in ascending byte order; a missing or empty `end` means the
   * end of the CF. Leaving a `for await` early (break, return, throw) must release the iterator.
   */
  scan(cf: CfName, start: Uint8Array, end?: Uint8Array): AsyncIterable<Entry>;
}

/** A reader its owner closes when the command is done (after every iterator has been closed). */
export interface ClosableReader extends MvccReader {
  close(): void | Promise<void>;
}

export type Modify = { type: 'put'; cf: CfName; key: Uint8Array; value: Uint8Array } | { type: 'delete'; cf: CfName; key: Uint8Array };

/**
 * A storage the executor runs commands over. `reader()` takes a snapshot; `write()` applies a
 * command's modifications atomically (all or none). Under raft, both are one region's: the
 * reader is a region snapshot and the write one proposal; their failures (e.g. a region error)
 * reject, and the executor passes the rejection on.
 */
export interface TxnStorage {
  reader(): ClosableReader | Promise<ClosableReader>;
  write(modifies: readonly Modify[]): Promise<void>;
}
