// The on-disk format of a backup: one data file per region and kind, and manifest.json.
//
// A data file is a header, records, and a trailer:
//
//   header   "TSKVBK" ++ u16 BE format version
//   record   u8 column (1 default, 2 lock, 3 write: raw CFs; 4 txn: a committed value at the
//            backup ts) ++ u32 BE key length ++ key ++ u32 BE value length ++ value
//   trailer  u8 0 ++ u32 BE record count
//
// Records are in key order within a column, columns in the order above. The trailer makes a
// truncated file detectable by itself; the manifest's SHA-256 of each file catches any other
// damage. Numbers in the manifest are JSON numbers except timestamps (u64: strings) and keys (hex).
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

export const FORMAT_NAME = 'tskv-backup';
export const FORMAT_VERSION = 1;
export const MANIFEST = 'manifest.json';
export const MAGIC = Buffer.from('TSKVBK', 'latin1');
export const HEADER_BYTES = MAGIC.length + 2;
export const TRAILER_BYTES = 1 + 4;

/** The raw API's column families, in file order. */
export const RAW_CFS = ['default', 'lock', 'write'] as const;
export type RawCf = (typeof RAW_CFS)[number];
/** A record's column: a raw CF, or 'txn' for transactional data. */
export type Column = RawCf | 'txn';

const CODE: Record<Column, number> = { default: 1, lock: 2, write: 3, txn: 4 };
const COLUMN_OF: (Column | undefined)[] = [undefined, 'default', 'lock', 'write', 'txn'];

export type Kind = 'raw' | 'txn';

export interface CfStats {
  keys: number;
  /** Bytes of keys plus values. */
  bytes: number;
  /** RawScan reads this CF of the region took; 1: the whole region at one read index. */
  reads: number;
}

export interface FileEntry {
  /** The file's name in the backup directory. */
  file: string;
  keys: number;
  /** Bytes of keys plus values. */
  bytes: number;
  /** Bytes of the file. */
  size: number;
  sha256: string;
  /** Raw files: per CF. */
  cfs?: Record<RawCf, CfStats>;
}

export interface RegionEntry {
  id: number;
  /** Hex; "" for the unbounded start or end. */
  startKey: string;
  endKey: string;
  confVer: number;
  version: number;
  raw: FileEntry;
  txn: FileEntry;
}

export interface Manifest {
  format: typeof FORMAT_NAME;
  version: number;
  startedAt: string;
  finishedAt: string;
  scheduler: string;
  clusterId: string;
  /** The timestamp of the transactional data (u64 as a decimal string). */
  backupTs: string;
  /** Wall-clock time of backupTs. */
  backupTsTime: string;
  /** The scheduler's GC safe point when the backup started, null if the scheduler keeps none. */
  gcSafePoint: string | null;
  consistency: { raw: string; txn: string };
  regions: RegionEntry[];
  totals: { regions: number; files: number; rawKeys: number; txnKeys: number; bytes: number; size: number };
  /** SHA-256 of this manifest serialized without this field (JSON, 2-space indent). */
  manifestSha256: string;
}

export type ManifestBody = Omit<Manifest, 'manifestSha256'>;

function manifestHash(body: ManifestBody): string {
  return createHash('sha256')
    .update(JSON.stringify(body, null, 2))
    .digest('hex');
}

/** The manifest's text: the body with its own checksum as the last field. */
export function manifestText(body: ManifestBody): string {
  const m: Manifest = { ...body, manifestSha256: manifestHash(body) };
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** Whether the manifest's checksum matches its content. */
export function manifestChecksumOk(m: Manifest): boolean {
  const { manifestSha256, ...body } = m;
  return typeof manifestSha256 === 'string' && manifestHash(body) === manifestSha256;
}

export function header(): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt16BE(FORMAT_VERSION, MAGIC.length);
  return h;
}

export function encodeRecord(column: Column, key: Uint8Array, value: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(1 + 4 + key.length + 4 + value.length);
  b[0] = CODE[column];
  b.writeUInt32BE(key.length, 1);
  b.set(key, 5);
  b.writeUInt32BE(value.length, 5 + key.length);
  b.set(value, 9 + key.length);
  return b;
}

export function trailer(count: number): Buffer {
  const t = Buffer.alloc(TRAILER_BYTES);
  t.writeUInt32BE(count, 1);
  return t;
}

export interface BackupRecord {
  column: Column;
  key: Buffer;
  value: Buffer;
}

/** A data file that does not parse: the message says where. */
export class FileFormatError extends Error {}

/**
 * The records of a data file, in file order, read in chunks (the whole file is never held). The
 * SHA-256 of every byte read goes to `hash` if given. Throws FileFormatError on a bad header, a
 * truncated record, a bad trailer, or bytes after the trailer.
 */
export async function* readRecords(fh: FileHandle, hash?: ReturnType<typeof createHash>): AsyncGenerator<BackupRecord> {
  const CHUNK = 1 << 20;
  let buf = Buffer.alloc(0);
  let pos = 0;
  let offset = 0; // file offset of buf[0]
  let eof = false;
  const fill = async (n: number): Promise<boolean> => {
    while (buf.length - pos < n && !eof) {
      const chunk = Buffer.allocUnsafe(Math.max(CHUNK, n));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) {
        eof = true;
        break;
      }
      const got = chunk.subarray(0, bytesRead);
      hash?.update(got);
      offset += pos;
      buf = Buffer.concat([buf.subarray(pos), got]);
      pos = 0;
    }
    return buf.length - pos >= n;
  };
  const at = (): number => offset + pos;
  if (!(await fill(HEADER_BYTES)) || !buf.subarray(0, MAGIC.length).equals(MAGIC))
    throw new FileFormatError('not a tskv backup data file (bad header)');
  const v = buf.readUInt16BE(MAGIC.length);
  if (v !== FORMAT_VERSION) throw new FileFormatError(`data format version ${v}, this tinykv reads ${FORMAT_VERSION}`);
  pos = HEADER_BYTES;
  let count = 0;
  for (;;) {
    if (!(await fill(1))) throw new FileFormatError(`truncated at byte ${at()} (no trailer)`);
    const code = buf[pos]!;
    if (code === 0) {
      if (!(await fill(TRAILER_BYTES))) throw new FileFormatError(`truncated trailer at byte ${at()}`);
      const n = buf.readUInt32BE(pos + 1);
      if (n !== count) throw new FileFormatError(`the trailer counts ${n} records, the file holds ${count}`);
      pos += TRAILER_BYTES;
      if (await fill(1)) throw new FileFormatError(`bytes after the trailer at byte ${at()}`);
      return;
    }
    const column = COLUMN_OF[code];
    if (!column) throw new FileFormatError(`unknown column code ${code} at byte ${at()}`);
    if (!(await fill(5))) throw new FileFormatError(`truncated record at byte ${at()}`);
    const kl = buf.readUInt32BE(pos + 1);
    if (!(await fill(5 + kl + 4))) throw new FileFormatError(`truncated record at byte ${at()}`);
    const vl = buf.readUInt32BE(pos + 5 + kl);
    if (!(await fill(9 + kl + vl))) throw new FileFormatError(`truncated record at byte ${at()}`);
    // Copies: buf is replaced as the file is read.
    const key = Buffer.from(buf.subarray(pos + 5, pos + 5 + kl));
    const value = Buffer.from(buf.subarray(pos + 9 + kl, pos + 9 + kl + vl));
    pos += 9 + kl + vl;
    count++;
    yield { column, key, value };
  }
}

/** A key of the manifest (hex) as bytes. */
export function keyOf(hex: string): Uint8Array {
  return Buffer.from(hex, 'hex');
}

export function hexOf(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');
}

/** Names of a region's files. */
export function fileName(regionId: number, kind: Kind): string {
  return `region-${regionId}.${kind}`;
}
