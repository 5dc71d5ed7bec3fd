// Small filesystem helpers shared by the snapshot files. Durability rule of this module: a file
// becomes visible under its final name only via rename of a fully written, fsynced temporary,
// and the directory is fsynced after the renames that matter.
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, rename, unlink } from 'node:fs/promises';

/** A fresh temporary name next to `final`; unique so concurrent writers never share one. */
export function tmpPathFor(final: string): string {
  return `${final}.${randomBytes(4).toString('hex')}.tmp`;
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Unlink, ignoring a file that is already gone. Returns whether something was removed. */
export async function removeQuiet(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** fsync a directory so renames and unlinks inside it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write all of `buf` (FileHandle.write may write less than asked). */
export async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, off, buf.byteLength - off);
    off += bytesWritten;
  }
}

/** Read exactly `len` bytes at `pos` into a new buffer; fewer bytes on disk is an error for the caller. */
export async function readExactly(fh: FileHandle, pos: number, len: number): Promise<Buffer | null> {
  const buf = Buffer.allocUnsafe(len);
  let off = 0;
  while (off < len) {
    const { bytesRead } = await fh.read(buf, off, len - off, pos + off);
    if (bytesRead === 0) return null;
    off += bytesRead;
  }
  return buf;
}

/** Durably replace `final` with `data`: temporary file, fsync, rename, fsync the directory. */
export async function writeFileDurable(dir: string, final: string, data: Uint8Array): Promise<void> {
  const tmp = tmpPathFor(final);
  try {
    const fh = await open(tmp, 'w');
    try {
      await writeAll(fh, data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
  } catch (e) {
    await removeQuiet(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dir);
}
