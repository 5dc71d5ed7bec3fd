// Writes one data file under a temporary name, hashing every byte; finish() syncs it and renames it
// to its final name, so a file with a final name is always complete.
import { createHash } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Column, encodeRecord, header, trailer } from './format.js';

const FLUSH_BYTES = 1 << 20;

export const TMP_SUFFIX = '.tmp';

export class DataFileWriter {
  private readonly hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private size = 0;
  private count = 0;
  private done = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly dir: string,
    readonly name: string,
  ) {}

  /** Creates DIR/NAME.tmp (it must not exist). */
  static async create(dir: string, name: string): Promise<DataFileWriter> {
    const fh = await open(join(dir, name + TMP_SUFFIX), 'wx');
    const w = new DataFileWriter(fh, dir, name);
    w.push(header());
    return w;
  }

  async add(column: Column, key: Uint8Array, value: Uint8Array): Promise<void> {
    this.push(encodeRecord(column, key, value));
    this.count++;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** Writes the trailer, syncs, closes and renames to the final name; the file's size and SHA-256. */
  async finish(): Promise<{ size: number; sha256: string }> {
    this.push(trailer(this.count));
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
    this.done = true;
    await rename(join(this.dir, this.name + TMP_SUFFIX), join(this.dir, this.name));
    return { size: this.size, sha256: this.hash.digest('hex') };
  }

  /** Closes and removes the temporary file (after a failure). */
  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.fh.close().catch(() => {});
    }
    await rm(join(this.dir, this.name + TMP_SUFFIX), { force: true });
  }

  private push(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const b = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.hash.update(b);
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await this.fh.write(b, off, b.length - off);
      off += bytesWritten;
    }
    this.size += b.length;
  }
}
