// The meta file of a snapshot: raft_serverpb.SnapshotMeta followed by a u32 (big endian)
// crc32c of the encoded message. It lists every cf file with its size, whole-file crc32c and
// record count, and is written last, so its presence means the snapshot is complete.
import { crc32c } from '@node-rs/crc32';
import { type CfName, DATA_CFS } from '@tskv/engine';
import { raft_serverpb } from '@tskv/proto';
import { SnapshotCorruptError } from './errors.js';
import type { SnapKey } from './snap_key.js';

export type SnapshotMeta = raft_serverpb.SnapshotMeta;

/** A meta file is tiny; anything bigger is garbage and is not read into memory. */
export const MAX_META_BYTES = 1024 * 1024;

export function encodeMeta(meta: raft_serverpb.ISnapshotMeta): Buffer {
  const body = raft_serverpb.SnapshotMeta.encode(meta).finish();
  const out = Buffer.allocUnsafe(body.byteLength + 4);
  out.set(body, 0);
  out.writeUInt32BE(crc32c(body), body.byteLength);
  return out;
}

/** Decodes and checks a meta file's bytes; `what` names the file in errors. */
export function decodeMeta(buf: Uint8Array, what: string): SnapshotMeta {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.byteLength < 4 || b.byteLength > MAX_META_BYTES) throw new SnapshotCorruptError(`${what}: bad size ${b.byteLength}`);
  const body = b.subarray(0, b.byteLength - 4);
  if (crc32c(body) !== b.readUInt32BE(body.byteLength)) throw new SnapshotCorruptError(`${what}: crc mismatch`);
  let meta: SnapshotMeta;
  try {
    meta = raft_serverpb.SnapshotMeta.decode(body);
  } catch (e) {
    throw new SnapshotCorruptError(`${what}: undecodable: ${(e as Error).message}`);
  }
  checkMeta(meta, what);
  return meta;
}

/** A complete meta: checkCfFiles, and the region has an id (the file name's key comes from it). */
export function checkMeta(meta: raft_serverpb.ISnapshotMeta, what: string): void {
  checkCfFiles(meta, what);
  if (!meta.region?.id) throw new SnapshotCorruptError(`${what}: no region`);
}

/** The cf files of a meta name distinct data column families, at least one. */
export function checkCfFiles(meta: raft_serverpb.ISnapshotMeta, what: string): void {
  const seen = new Set<string>();
  for (const f of meta.cfFiles ?? []) {
    const cf = f.cf ?? '';
    if (!DATA_CFS.includes(cf as CfName) || seen.has(cf))
      throw new SnapshotCorruptError(`${what}: bad or repeated cf ${JSON.stringify(cf)}`);
    seen.add(cf);
  }
  if (seen.size === 0) throw new SnapshotCorruptError(`${what}: no cf files`);
}

/** Both metas list the same cf files with the same sizes and checksums. */
export function sameCfFiles(a: raft_serverpb.ISnapshotMeta, b: raft_serverpb.ISnapshotMeta): boolean {
  const fmt = (m: raft_serverpb.ISnapshotMeta): string =>
    JSON.stringify(
      cfFilesOf(m)
        .map((f) => [f.cf, f.size, f.checksum])
        .sort(),
    );
  return fmt(a) === fmt(b);
}

export function metaKey(meta: raft_serverpb.ISnapshotMeta): SnapKey {
  return { regionId: Number(meta.region?.id ?? 0), term: Number(meta.term ?? 0), index: Number(meta.index ?? 0) };
}

/** The cf files of a meta as plain numbers. */
export function cfFilesOf(meta: raft_serverpb.ISnapshotMeta): { cf: CfName; size: number; checksum: number; count: number }[] {
  return (meta.cfFiles ?? []).map((f) => ({
    cf: f.cf as CfName,
    size: Number(f.size ?? 0),
    checksum: Number(f.checksum ?? 0) >>> 0,
    count: Number(f.count ?? 0),
  }));
}
