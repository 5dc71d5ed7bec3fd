// The snapshot's file format: one file per column family holding its records in key order.
//
// Layout (integers big endian):
//   file    := block* footer
//   block   := u32 payloadLen | u32 recordCount | u32 crc32c(payload) | payload
//   payload := (u32 keyLen | u32 valueLen | key | value)*
//   footer  := magic(8) | u32 version | u32 blockCount | u64 recordCount | u32 crc32c(first 24 bytes)
//
// The footer is written last, so a file without a valid one was cut short. Blocks are the unit of
// verification and of memory: a writer holds one block, a reader one block at a time.

import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { SnapshotCorruptError } from './errors.js';
import { readExactly, removeQuiet, writeAll } from './fsutil.js';

export { SnapshotCorruptError } from './errors.js';

export const SST_BLOCK_BYTES = 64 * 1024;
const HEADER = 12;
const RECORD_HEADER = 8;
const FOOTER = 28;
const MAGIC = Buffer.from('TSKVSST\0', 'latin1');
const VERSION = 1;

export interface SstWriterOptions {
  /** Target block payload size; a single larger record gets a block of its own. */
  blockBytes?: number;
}

/** What the manager records per cf file: byte size, crc32c of the whole file, record count. */
export interface SstFileInfo {
  size: number;
  checksum: number;
  count: number;
}

export class SstWriter {
  /** Header space followed by the payload of the block being built; reused across blocks. */
  private buf: Buffer;
  private len = HEADER;
  private blockRecords = 0;
  private blocks = 0;
  private count = 0;
  private size = 0;
  /** crc32c of every byte written so far: the whole-file checksum without a second read. */
  private crc = 0;
  /** Last key once its block is flushed; while it is in the current block, lastKeyAt/Len locate it in buf. */
  private lastKey: Buffer | null = null;
  private lastKeyAt = 0;
  private lastKeyLen = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly blockBytes: number,
  ) {
    this.buf = Buffer.allocUnsafe(HEADER + blockBytes);
  }

  static async create(path: string, opts: SstWriterOptions = {}): Promise<SstWriter> {
    const blockBytes = opts.blockBytes ?? SST_BLOCK_BYTES;
    if (!Number.isInteger(blockBytes) || blockBytes <= 0) throw new RangeError(`invalid blockBytes ${blockBytes}`);
    return new SstWriter(path, await open(path, 'w'), blockBytes);
  }

  /**
   * Appends a record; keys must be strictly increasing. Waits only while a full block is written
   * (one block in flight is the backpressure). Await each call before the next.
   */
  async add(key: Uint8Array, value: Uint8Array): Promise<void> {
    if (this.closed) throw new Error(`sst ${this.path}: add after finish/abort`);
    const prev = this.blockRecords > 0 ? this.buf.subarray(this.lastKeyAt, this.lastKeyAt + this.lastKeyLen) : this.lastKey;
    if (prev !== null && Buffer.compare(key, prev) <= 0) {
      throw new Error(`sst ${this.path}: key ${Buffer.from(key).toString('hex')} is not greater than the previous key`);
    }
    const rec = RECORD_HEADER + key.byteLength + value.byteLength;
    if (this.blockRecords > 0 && this.len - HEADER + rec > this.blockBytes) await this.flush();
    if (this.len + rec > this.buf.byteLength) this.buf = Buffer.allocUnsafe(HEADER + rec); // oversized record, block is empty
    const b = this.buf;
    b.writeUInt32BE(key.byteLength, this.len);
    b.writeUInt32BE(value.byteLength, this.len + 4);
    this.lastKeyAt = this.len + RECORD_HEADER;
    this.lastKeyLen = key.byteLength;
    b.set(key, this.lastKeyAt);
    b.set(value, this.lastKeyAt + key.byteLength);
    this.len += rec;
    this.blockRecords++;
    this.count++;
  }

  /** Writes the last block and the footer, fsyncs and closes. */
  async finish(): Promise<SstFileInfo> {
    if (this.closed) throw new Error(`sst ${this.path}: finish after finish/abort`);
    if (this.blockRecords > 0) await this.flush();
    const f = Buffer.alloc(FOOTER);
    MAGIC.copy(f, 0);
    f.writeUInt32BE(VERSION, 8);
    f.writeUInt32BE(this.blocks, 12);
    f.writeBigUInt64BE(BigInt(this.count), 16);
    f.writeUInt32BE(crc32c(f.subarray(0, FOOTER - 4)), FOOTER - 4);
    await this.write(f);
    await this.fh.sync();
    this.closed = true;
    await this.fh.close();
    return { size: this.size, checksum: this.crc, count: this.count };
  }

  /** Closes and removes the file; safe to call at any point and more than once. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => undefined);
    }
    await removeQuiet(this.path).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    const b = this.buf;
    b.writeUInt32BE(this.len - HEADER, 0);
    b.writeUInt32BE(this.blockRecords, 4);
    b.writeUInt32BE(crc32c(b.subarray(HEADER, this.len)), 8);
    // The last key must outlive the buffer's reuse for the next block.
    this.lastKey = Buffer.from(b.subarray(this.lastKeyAt, this.lastKeyAt + this.lastKeyLen));
    await this.write(b.subarray(0, this.len));
    this.blocks++;
    this.len = HEADER;
    this.blockRecords = 0;
    if (b.byteLength > HEADER + this.blockBytes) this.buf = Buffer.allocUnsafe(HEADER + this.blockBytes);
  }

  private async write(data: Buffer): Promise<void> {
    this.crc = crc32c(data, this.crc);
    this.size += data.byteLength;
    await writeAll(this.fh, data);
  }
}

/**
 * Streams the records of an sst file, verifying each block's crc before yielding any of its
 * records, and the footer's block/record counts. Any problem throws SnapshotCorruptError; a count
 * mismatch can only be seen at the end, so consumers must treat an error as "nothing applied".
 */
export async function* readSst(path: string): AsyncGenerator<[Uint8Array, Uint8Array]> {
  const fail = (what: string): SnapshotCorruptError => new SnapshotCorruptError(`sst ${path}: ${what}`);
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size < FOOTER) throw fail(`truncated: ${size} bytes, no footer`);
    const footer = parseFooter(await readExactly(fh, size - FOOTER, FOOTER), fail);
    const end = size - FOOTER;
    let pos = 0;
    let blocks = 0;
    let records = 0;
    while (pos < end) {
      const at = `block ${blocks} at offset ${pos}`;
      if (blocks >= footer.blocks) throw fail(`${at}: more blocks than the footer's ${footer.blocks}`);
      const h = end - pos >= HEADER ? await readExactly(fh, pos, HEADER) : null;
      if (h === null) throw fail(`${at}: truncated block header`);
      const len = h.readUInt32BE(0);
      const n = h.readUInt32BE(4);
      // Check the length against the file before allocating: a corrupt header must not cost memory.
      if (len > end - pos - HEADER) throw fail(`${at}: payload length ${len} runs past the footer`);
      const payload = await readExactly(fh, pos + HEADER, len);
      if (payload === null) throw fail(`${at}: truncated payload`);
      if (crc32c(payload) !== h.readUInt32BE(8)) throw fail(`${at}: crc mismatch`);
      const out = parseBlock(payload, n, (what) => fail(`${at}: ${what}`));
      pos += HEADER + len;
      blocks++;
      records += n;
      yield* out;
    }
    if (blocks !== footer.blocks || records !== footer.records) {
      throw fail(`footer says ${footer.blocks} blocks/${footer.records} records, file has ${blocks}/${records}`);
    }
  } finally {
    await fh.close();
  }
}

function parseFooter(f: Buffer | null, fail: (what: string) => SnapshotCorruptError): { blocks: number; records: number } {
  if (f === null) throw fail('truncated footer');
  if (!f.subarray(0, 8).equals(MAGIC)) throw fail('bad footer magic (truncated or not an sst file)');
  if (crc32c(f.subarray(0, FOOTER - 4)) !== f.readUInt32BE(FOOTER - 4)) throw fail('footer crc mismatch');
  const version = f.readUInt32BE(8);
  if (version !== VERSION) throw fail(`unsupported format version ${version}`);
  return { blocks: f.readUInt32BE(12), records: Number(f.readBigUInt64BE(16)) };
}

/** Records of a crc-verified block, as views into its buffer. */
function parseBlock(p: Buffer, n: number, fail: (what: string) => SnapshotCorruptError): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    if (p.byteLength - off < RECORD_HEADER) throw fail(`record ${i} header past the payload`);
    const kl = p.readUInt32BE(off);
    const vl = p.readUInt32BE(off + 4);
    const k = off + RECORD_HEADER;
    if (kl + vl > p.byteLength - k) throw fail(`record ${i} past the payload`);
    out.push([p.subarray(k, k + kl), p.subarray(k + kl, k + kl + vl)]);
    off = k + kl + vl;
  }
  if (off !== p.byteLength) throw fail(`${p.byteLength - off} bytes after the last of ${n} records`);
  return out;
}

/** Size and crc32c of a whole file, streamed in 64 KiB reads. */
export async function fileChecksum(path: string): Promise<{ size: number; checksum: number }> {
  let checksum = 0;
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
    checksum = crc32c(chunk as Buffer, checksum);
    size += (chunk as Buffer).byteLength;
  }
  return { size, checksum };
}
