// The snapshot-file layer, for use inside the package.
export { SnapshotBusyError, SnapshotCorruptError, SnapshotNotFoundError } from './errors.js';
export { cfFilesOf, decodeMeta, encodeMeta, type SnapshotMeta } from './meta.js';
export { parseSnapKey, type SnapKey, sameSnapKey, snapKeyOf, snapKeyString } from './snap_key.js';
export {
  type SnapKind,
  SnapManager,
  type SnapManagerOptions,
  type SnapPurpose,
  type SnapSource,
  type SnapStats,
} from './snap_manager.js';
export { fileChecksum, readSst, SST_BLOCK_BYTES, type SstFileInfo, SstWriter, type SstWriterOptions } from './sst.js';
export { readSnapshotCf, receiveSnapshotChunks, type SendOptions, SNAP_CHUNK_BYTES, sendSnapshotChunks } from './transfer.js';
