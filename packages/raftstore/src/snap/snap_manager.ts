// The snapshot directory: file naming, the meta file, who is using which snapshot, building a
// snapshot from the kv data, verification and garbage collection.
//
// Invariants:
// - Every file is written under a temporary name (`*.tmp`) and renamed into place; the meta file
//   is renamed last and the directory fsynced, so "meta present" means "snapshot complete".
//   Removal goes the other way: meta first (and the directory fsynced), then the cf files.
// - A snapshot registered for any purpose is never deleted by delete() or gc().

import { access, type FileHandle, mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type CfName, DATA_CFS, RAW_CFS } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import { createLogger, type Logger } from '../logger.js';
import { SnapshotBusyError, SnapshotCorruptError } from './errors.js';
import { fsyncDir, isNotFound, readExactly, removeQuiet, tmpPathFor, writeFileDurable } from './fsutil.js';
import { cfFilesOf, checkCfFiles, checkMeta, decodeMeta, encodeMeta, MAX_META_BYTES, metaKey, type SnapshotMeta } from './meta.js';
import { parseSnapKey, type SnapKey, sameSnapKey, snapKeyString } from './snap_key.js';
import { fileChecksum, SstWriter, type SstWriterOptions } from './sst.js';

/** 'gen': generated here to be sent; 'rev': received here to be applied. */
export type SnapKind = 'gen' | 'rev';
export type SnapPurpose = 'generating' | 'sending' | 'receiving' | 'applying';

export interface SnapManagerOptions {
  maxConcurrentGenerating?: number;
  maxConcurrentReceiving?: number;
  /** Unwanted received snapshots (and leftovers) are collected once their files are this old. */
  staleAgeMs?: number;
  logger?: Logger;
}

export interface SnapStats {
  generated: number;
  sent: number;
  sendFailed: number;
  received: number;
  receiveFailed: number;
  applied: number;
  applyFailed: number;
  bytesSent: number;
  bytesReceived: number;
}

/** Produces the records of one column family in strictly increasing key order. */
export type SnapSource = (cf: CfName) => AsyncIterable<[Uint8Array, Uint8Array]>;

// gen_1_5_10_default.sst, gen_1_5_10.meta, and either with a `.<hex>.tmp` suffix.
const FILE_RE = /^(gen|rev)_(\d+_\d+_\d+)(?:_([a-z]+)\.sst|\.meta)(\.[0-9a-f]+\.tmp)?$/;

interface FileGroup {
  kind: SnapKind;
  key: SnapKey;
  paths: string[];
}

export class SnapManager {
  readonly stats: SnapStats = {
    generated: 0,
    sent: 0,
    sendFailed: 0,
    received: 0,
    receiveFailed: 0,
    applied: 0,
    applyFailed: 0,
    bytesSent: 0,
    bytesReceived: 0,
  };
  readonly maxConcurrentGenerating: number;
  readonly maxConcurrentReceiving: number;
  readonly staleAgeMs: number;
  readonly logger: Logger;
  /** key string -> purpose -> how many holders. */
  private readonly registry = new Map<string, Map<SnapPurpose, number>>();
  private readonly totals: Record<SnapPurpose, number> = { generating: 0, sending: 0, receiving: 0, applying: 0 };

  constructor(
    readonly dir: string,
    opts: SnapManagerOptions = {},
  ) {
    this.maxConcurrentGenerating = opts.maxConcurrentGenerating ?? 2;
    this.maxConcurrentReceiving = opts.maxConcurrentReceiving ?? 4;
    this.staleAgeMs = opts.staleAgeMs ?? 10 * 60_000;
    this.logger = opts.logger ?? createLogger({ module: 'snap' });
  }

  /** Creates the directory and drops temporaries a crash left behind (nothing can own them yet). */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp') && (await removeQuiet(join(this.dir, name)))) removed++;
    }
    if (removed > 0) this.logger.info('removed leftover snapshot temporaries', { dir: this.dir, removed });
  }

  cfPath(kind: SnapKind, key: SnapKey, cf: CfName): string {
    return join(this.dir, `${kind}_${snapKeyString(key)}_${cf}.sst`);
  }

  metaPath(kind: SnapKind, key: SnapKey): string {
    return join(this.dir, `${kind}_${snapKeyString(key)}.meta`);
  }

  /** Durably writes the meta (its key comes from region id, term, index): this completes a snapshot. */
  async writeMeta(kind: SnapKind, meta: raft_serverpb.ISnapshotMeta): Promise<void> {
    checkMeta(meta, `meta of ${kind} snapshot`);
    await writeFileDurable(this.dir, this.metaPath(kind, metaKey(meta)), encodeMeta(meta));
  }

  /** The meta, or null when the snapshot is absent or incomplete. A damaged meta throws. */
  async readMeta(kind: SnapKind, key: SnapKey): Promise<SnapshotMeta | null> {
    const path = this.metaPath(kind, key);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
    try {
      const { size } = await fh.stat();
      if (size > MAX_META_BYTES) throw new SnapshotCorruptError(`${path}: bad size ${size}`);
      const buf = await readExactly(fh, 0, size);
      if (buf === null) throw new SnapshotCorruptError(`${path}: truncated`);
      const meta = decodeMeta(buf, path);
      if (!sameSnapKey(metaKey(meta), key)) throw new SnapshotCorruptError(`${path}: describes ${snapKeyString(metaKey(meta))}`);
      return meta;
    } finally {
      await fh.close();
    }
  }

  /** Marks `key` as in use. Generating and receiving are limited (they cost disk and CPU). */
  register(key: SnapKey, purpose: SnapPurpose): void {
    const limit =
      purpose === 'generating' ? this.maxConcurrentGenerating : purpose === 'receiving' ? this.maxConcurrentReceiving : Infinity;
    if (this.totals[purpose] >= limit) {
      throw new SnapshotBusyError(`${this.totals[purpose]} snapshots already ${purpose} (limit ${limit}); ${snapKeyString(key)} must wait`);
    }
    const ks = snapKeyString(key);
    let m = this.registry.get(ks);
    if (m === undefined) {
      m = new Map();
      this.registry.set(ks, m);
    }
    m.set(purpose, (m.get(purpose) ?? 0) + 1);
    this.totals[purpose]++;
  }

  deregister(key: SnapKey, purpose: SnapPurpose): void {
    const ks = snapKeyString(key);
    const m = this.registry.get(ks);
    const n = m?.get(purpose) ?? 0;
    if (m === undefined || n === 0) {
      this.logger.warn('deregistering a snapshot that is not registered', { key: ks, purpose });
      return;
    }
    if (n === 1) m.delete(purpose);
    else m.set(purpose, n - 1);
    if (m.size === 0) this.registry.delete(ks);
    this.totals[purpose]--;
  }

  /** How many snapshots are registered for each purpose now (metrics, tests). */
  inUse(): Record<SnapPurpose, number> {
    return { ...this.totals };
  }

  isRegistered(key: SnapKey, purpose?: SnapPurpose): boolean {
    const m = this.registry.get(snapKeyString(key));
    return m !== undefined && (purpose === undefined || m.has(purpose));
  }

  /**
   * Writes the 'gen' snapshot `key` of `region`: one sst per data cf from `source`, then the meta.
   * Rebuilding a key replaces the old files; refused while the key is being generated or sent.
   */
  async build(key: SnapKey, region: metapb.IRegion, source: SnapSource, opts: SstWriterOptions = {}): Promise<SnapshotMeta> {
    if (this.isRegistered(key, 'generating') || this.isRegistered(key, 'sending')) {
      throw new SnapshotBusyError(`snapshot ${snapKeyString(key)} is already being generated or sent`);
    }
    this.register(key, 'generating');
    try {
      await this.removeFiles('gen', key);
      const cfFiles: raft_serverpb.ISnapshotCFFile[] = [];
      for (const cf of DATA_CFS) {
        const final = this.cfPath('gen', key, cf);
        const w = await SstWriter.create(tmpPathFor(final), opts);
        try {
          for await (const [k, v] of source(cf)) await w.add(k, v);
          const info = await w.finish();
          // A transactional CF without records gets no file: a region of raw data alone has
          // exactly the raw CFs' files (as snapshots had before those CFs existed).
          if (info.count === 0 && !RAW_CFS.includes(cf)) {
            await w.abort();
            continue;
          }
          cfFiles.push({ cf, ...info });
          await rename(w.path, final);
        } catch (e) {
          await w.abort();
          throw e;
        }
      }
      const meta = raft_serverpb.SnapshotMeta.create({ cfFiles, region, index: key.index, term: key.term });
      await this.writeMeta('gen', meta);
      this.stats.generated++;
      return meta;
    } catch (e) {
      await this.removeFiles('gen', key).catch(() => undefined);
      throw e;
    } finally {
      this.deregister(key, 'generating');
    }
  }

  /** Every cf file of `expected` is on disk with exactly its size and whole-file crc32c. */
  async verify(kind: SnapKind, key: SnapKey, expected: raft_serverpb.ISnapshotMeta): Promise<void> {
    checkCfFiles(expected, `expected meta of ${kind} ${snapKeyString(key)}`);
    for (const f of cfFilesOf(expected)) {
      const path = this.cfPath(kind, key, f.cf);
      let got: { size: number; checksum: number };
      try {
        const size = (await stat(path)).size; // cheap check before reading everything
        got = size === f.size ? await fileChecksum(path) : { size, checksum: NaN };
      } catch (e) {
        if (isNotFound(e)) throw new SnapshotCorruptError(`${path}: missing`);
        throw e;
      }
      if (got.size !== f.size) throw new SnapshotCorruptError(`${path}: size ${got.size}, expected ${f.size}`);
      if (got.checksum !== f.checksum) throw new SnapshotCorruptError(`${path}: checksum ${got.checksum}, expected ${f.checksum}`);
    }
  }

  /** The meta of a snapshot whose files are all on disk with their recorded sizes, else null. */
  async complete(kind: SnapKind, key: SnapKey): Promise<SnapshotMeta | null> {
    const meta = await this.readMeta(kind, key).catch(() => null);
    if (meta === null) return null;
    for (const f of cfFilesOf(meta)) {
      try {
        if ((await stat(this.cfPath(kind, key, f.cf))).size !== f.size) return null;
      } catch (e) {
        if (isNotFound(e)) return null;
        throw e;
      }
    }
    return meta;
  }

  async exists(kind: SnapKind, key: SnapKey): Promise<boolean> {
    try {
      await access(this.metaPath(kind, key));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Removes the snapshot's files of `kind`; false (and nothing removed) while the key is registered. */
  async delete(kind: SnapKind, key: SnapKey): Promise<boolean> {
    if (this.isRegistered(key)) return false;
    await this.removeFiles(kind, key);
    return true;
  }

  /**
   * Removes every file of the snapshot, meta first, regardless of registration: only for the
   * holder of the key's registration (build/receive cleaning up) and for delete().
   */
  async removeFiles(kind: SnapKind, key: SnapKey): Promise<void> {
    if (await removeQuiet(this.metaPath(kind, key))) await fsyncDir(this.dir);
    const g = (await this.scan()).get(`${kind}_${snapKeyString(key)}`);
    for (const p of g?.paths ?? []) await removeQuiet(p);
  }

  /**
   * Deletes snapshots (complete or leftovers) that are not registered, not wanted, and either
   * 'gen' (an unwanted generated snapshot is useless at once) or older than staleAgeMs. Returns
   * how many snapshots were deleted. `isWanted` is asked again before every unlink: what is
   * wanted changes during the awaits (a snapshot generated meanwhile becomes a peer's current one).
   */
  async gc(isWanted: (kind: SnapKind, key: SnapKey) => boolean): Promise<number> {
    let deleted = 0;
    for (const g of (await this.scan()).values()) {
      if (this.isRegistered(g.key) || isWanted(g.kind, g.key)) continue;
      if (g.kind !== 'gen' && !(await this.olderThan(g.paths, this.staleAgeMs))) continue;
      // Only files listed before: anything created later belongs to a newer owner. Registration
      // and want are re-checked before each unlink since an owner may have appeared during the
      // awaits; the meta goes first, so a snapshot cut short here is never taken as complete.
      let removed = false;
      for (const p of g.paths) {
        if (this.isRegistered(g.key) || isWanted(g.kind, g.key)) break;
        if (await removeQuiet(p)) removed = true;
        if (p.endsWith('.meta')) await fsyncDir(this.dir);
      }
      if (removed) deleted++;
    }
    if (deleted > 0) this.logger.info('collected snapshots', { dir: this.dir, deleted });
    return deleted;
  }

  /** Bytes of all files in the directory. */
  async totalSize(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      try {
        total += (await stat(join(this.dir, name))).size;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return total;
  }

  /** Snapshot files grouped by kind and key; the meta (if any) comes first in each group. */
  private async scan(): Promise<Map<string, FileGroup>> {
    const groups = new Map<string, FileGroup>();
    for (const name of (await readdir(this.dir)).sort()) {
      const m = FILE_RE.exec(name);
      if (m === null) continue;
      const id = `${m[1]}_${m[2]}`;
      let g = groups.get(id);
      if (g === undefined) {
        g = { kind: m[1] as SnapKind, key: parseSnapKey(m[2]!), paths: [] };
        groups.set(id, g);
      }
      const path = join(this.dir, name);
      if (name.endsWith('.meta')) g.paths.unshift(path);
      else g.paths.push(path);
    }
    return groups;
  }

  /** All (still existing) files were last modified at least `ageMs` ago. */
  private async olderThan(paths: string[], ageMs: number): Promise<boolean> {
    const now = Date.now();
    for (const p of paths) {
      try {
        if (now - (await stat(p)).mtimeMs < ageMs) return false;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return true;
  }
}
