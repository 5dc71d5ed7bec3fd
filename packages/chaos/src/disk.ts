// Small disks for the disk-full fault: each store's data directory is its own tmpfs, and the
// fault fills one with a filler file until writes fail with ENOSPC. A store whose raft or kv
// write fails stops and exits 3 (tinykv-server's "restart me from disk" code); the harness plays
// the supervisor: once the filler is gone, it starts the store again, which must come back with
// every acknowledged write. Needs root (mount); without it the fault is left out, with a note.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const STORE_DISK_MB = 128;

/** Mounts a tmpfs of sizeMb at dir; returns an error message instead of throwing. */
export function mountTmpfs(dir: string, sizeMb = STORE_DISK_MB): string | null {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e).trim() || String(e);
  }
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  } catch {
    /* not mounted */
  }
}

/** Fills the file system of dir until ENOSPC; returns the filler's path and size. */
export function fillDisk(dir: string): { path: string; bytes: number } {
  const path = join(dir, 'chaos-filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  let bytes = 0;
  try {
    for (;;) {
      try {
        bytes += writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw e;
      }
    }
    // The last partial chunk: fill what is left byte-exactly, in smaller writes.
    for (let size = 1 << 16; size >= 512; size >>= 1) {
      const c = chunk.subarray(0, size);
      for (;;) {
        try {
          bytes += writeSync(fd, c);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return { path, bytes };
}

export function freeDisk(filler: string): void {
  rmSync(filler, { force: true });
}
