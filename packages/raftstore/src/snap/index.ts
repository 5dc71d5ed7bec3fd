// The snapshot-file layer, for use inside the package.
export { SnapshotBusyError, SnapshotCorruptError, SnapshotNotFoundError } from './errors.js';
export { SstWriter, readSst, fileChecksum, SST_BLOCK_BYTES, type SstWriterOptions, type SstFileInfo } from './sst.js';
export { type SnapKey, snapKeyString, parseSnapKey, snapKeyOf, sameSnapKey } from './snap_key.js';
export { type SnapshotMeta, encodeMeta, decodeMeta } from './meta.js';
export {
  SnapManager,
  type SnapKind,
  type SnapPurpose,
  type SnapManagerOptions,
  type SnapStats,
  type SnapSource,
} from './snap_manager.js';
export { sendSnapshotChunks, receiveSnapshotChunks, readSnapshotCf, SNAP_CHUNK_BYTES, type SendOptions } from './transfer.js';
