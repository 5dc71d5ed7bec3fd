// The power-loss disk: a store's data directory is a lazyfs mount (native/lazyfs.c, a FUSE
// passthrough to a backing directory elsewhere) that keeps what was never fsynced apart, and
// "discard" rolls every file back to what its last fsync made durable, as a machine losing
// power would. The process answers commands on stdin with one line on stdout each; closing its
// stdin (this process exiting) makes it unmount by itself.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Built by native/build.sh next to dist/src. */
export const LAZYFS_BIN = fileURLToPath(new URL('../lazyfs', import.meta.url));

export const LAZYFS_NOT_BUILT =
  'lazyfs not built: install fuse3 libfuse3-dev (and pkg-config), then rebuild (npm run build -w @tskv/chaos)';

/** Why lazyfs cannot be used here (null: it can). */
export function lazyfsProblem(): string | null {
  if (!existsSync(LAZYFS_BIN)) return LAZYFS_NOT_BUILT;
  if (!existsSync('/dev/fuse')) return 'lazyfs needs /dev/fuse (FUSE), which this machine lacks';
  return null;
}

export interface DiscardResult {
  /** Files that had unsynced changes. */
  files: number;
  /** Bytes restored plus bytes cut off. */
  bytes: number;
}

export class LazyFs {
  private readonly waiting: ((line: string) => void)[] = [];
  private exited: Promise<void>;
  private alive = true;

  private constructor(
    readonly backing: string,
    readonly mountpoint: string,
    private readonly child: ChildProcess,
    private readonly logFile: string | undefined,
  ) {
    this.exited = new Promise((res) => child.once('exit', () => res()));
    child.once('exit', () => {
      this.alive = false;
      for (const w of this.waiting.splice(0)) w('error lazyfs exited');
    });
  }

  /**
   * Mounts backing at mountpoint (both created if missing); resolves once mounted. stderr goes
   * to logFile when given (lazyfs logs its discards and its unmount there).
   */
  static async mount(backing: string, mountpoint: string, logFile?: string): Promise<LazyFs> {
    const problem = lazyfsProblem();
    if (problem) throw new Error(problem);
    mkdirSync(backing, { recursive: true });
    mkdirSync(mountpoint, { recursive: true });
    const errFd = logFile ? openSync(logFile, 'a') : 'pipe';
    const child = spawn(LAZYFS_BIN, [backing, mountpoint], { stdio: ['pipe', 'pipe', errFd] });
    if (typeof errFd === 'number') closeSync(errFd);
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const fs = new LazyFs(backing, mountpoint, child, logFile);
    const lines = createInterface({ input: child.stdout! });
    let ready!: () => void;
    const isReady = new Promise<void>((res) => (ready = res));
    lines.on('line', (line) => {
      if (line === 'ready') return ready();
      fs.waiting.shift()?.(line);
    });
    const failed = new Promise<never>((_, rej) =>
      child.once('exit', (code, signal) =>
        rej(
          new Error(
            `lazyfs at ${mountpoint} exited (${signal ?? `code ${code}`}) before it was mounted: ${(stderr || fs.logTail()).trim()}`,
          ),
        ),
      ),
    );
    const spawnError = new Promise<never>((_, rej) => child.once('error', rej));
    await Promise.race([isReady, failed, spawnError]);
    failed.catch(() => {});
    spawnError.catch(() => {});
    return fs;
  }

  private logTail(): string {
    if (!this.logFile) return '';
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  }

  private command(cmd: string): Promise<DiscardResult> {
    if (!this.alive) return Promise.reject(new Error(`lazyfs at ${this.mountpoint} is not running`));
    return new Promise((res, rej) => {
      this.waiting.push((line) => {
        const m = /^ok (\d+) (\d+)$/.exec(line);
        if (m) res({ files: Number(m[1]), bytes: Number(m[2]) });
        else rej(new Error(`lazyfs at ${this.mountpoint}: ${cmd}: ${line}`));
      });
      this.child.stdin!.write(`${cmd}\n`);
    });
  }

  /** Rolls every file back to its last fsync. Only safe while nothing uses the mount. */
  discard(): Promise<DiscardResult> {
    return this.command('discard');
  }

  /** What discard() would roll back now. */
  pending(): Promise<DiscardResult> {
    return this.command('pending');
  }

  /** Unmounts (SIGTERM; SIGKILL and a lazy umount if it does not go within 5 s). */
  async unmount(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      let t: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise<boolean>((r) => (t = setTimeout(() => r(true), 5000))),
      ]);
      clearTimeout(t);
      if (timedOut) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    // A lazyfs that died leaves "transport endpoint is not connected" behind: detach it.
    try {
      execFileSync('umount', ['-l', this.mountpoint], { stdio: 'pipe' });
    } catch {
      /* not mounted any more: the normal case */
    }
  }
}
