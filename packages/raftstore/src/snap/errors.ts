// Errors of the snapshot-file layer. They are not region errors (nothing here is answered to a
// client), so they extend Error rather than StoreError.

/** Snapshot data failed a check: bad crc, size, magic, counts, tar layout or message. Not retryable as is. */
export class SnapshotCorruptError extends Error {
  override readonly name = 'SnapshotCorruptError';
}

/** Too many snapshots are being generated or received, or this one is already in progress. Retry later. */
export class SnapshotBusyError extends Error {
  override readonly name = 'SnapshotBusyError';
}

/** The snapshot asked for is not on disk (never built, or collected). */
export class SnapshotNotFoundError extends Error {
  override readonly name = 'SnapshotNotFoundError';
}
