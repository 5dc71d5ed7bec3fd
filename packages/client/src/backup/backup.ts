// backup(): a consistent copy of a cluster's data in a directory (what `tinykv backup` runs).
//
// - Raw data: each region listed by the scheduler is read per raw CF with RawScan. One RawScan
//   is one snapshot of the region at one read index (through raft, as every read), so a region
//   read in one RawScan is a point-in-time copy of it, as TiKV's BR reads a region. The key limit
//   of a read is sized from the pairs seen so far so that a read carries about `readBytes`
//   (16 MiB: a quarter of the gRPC message limit). A region that split since it was listed, or
//   that holds more than one read carries, is read in several RawScans, each a snapshot at its
//   own read index; the manifest records the reads per region and CF.
// - Transactional data: one snapshot at one timestamp (a transaction's start ts) across all
//   regions; the GC safe point is checked before and after, so no version the snapshot needs was
//   collected during the backup.
//
// Files are written under temporary names and renamed once complete; the manifest is written
// last, so a directory without manifest.json is not a backup.
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { PdClient } from '@tskv/rpc';
import { allRegions, type RegionInfo } from '../admin.js';
import { compareBytes, EMPTY, nextKey, showKey } from '../bytes.js';
import { routerOptions } from '../raw_client.js';
import { RegionRouter } from '../region_router.js';
import { physicalMs } from '../timestamp.js';
import type { Transaction } from '../transaction.js';
import { TxnClient, type TxnClientOptions } from '../txn_client.js';
import { BackupError } from './errors.js';
import { DataFileWriter, TMP_SUFFIX } from './file_writer.js';
import {
  type CfStats,
  type FileEntry,
  FORMAT_NAME,
  FORMAT_VERSION,
  fileName,
  hexOf,
  MANIFEST,
  type Manifest,
  type ManifestBody,
  manifestText,
  RAW_CFS,
  type RawCf,
  type RegionEntry,
} from './format.js';
import { NO_PROGRESS, type ProgressSink } from './progress.js';
import { MB, Pool, RateLimiter } from './throttle.js';

export interface BackupOptions extends TxnClientOptions {
  /** The directory of the backup: created if missing, refused if not empty. */
  dir: string;
  /** At most this many MB (10^6 bytes) per second read from the cluster (default: no limit). */
  rateLimitMBps?: number;
  /** Regions read at the same time (default 4). */
  concurrency?: number;
  /** Bytes a RawScan is sized to carry (default 16 MiB); a region holding more is read in several. */
  readBytes?: number;
  /** Pairs per transactional scan call (default 8192; all at the same ts). */
  txnPageKeys?: number;
  progress?: ProgressSink;
}

export interface BackupSummary {
  dir: string;
  manifest: Manifest;
  seconds: number;
  /** Bytes of keys plus values per second (MB = 10^6 bytes). */
  mbPerSec: number;
  /** Region × CF ranges that took more than one RawScan (not one point in time). */
  multiReadRanges: number;
}

/** The smallest key (keys are at least one byte; a store refuses a KvScan from the empty key). */
export const MIN_KEY = new Uint8Array([0]);

const DEFAULT_READ_BYTES = 16 * 1024 * 1024;
/** Bytes per pair assumed before any pair has been seen. */
const INITIAL_PAIR_BYTES = 1024;

/** The scheduler's GC safe point; null if it keeps none (a scheduler without MVCC GC). */
async function gcSafePoint(pd: PdClient): Promise<bigint | null> {
  try {
    return await pd.getGCSafePoint();
  } catch (e) {
    if ((e as { code?: number }).code === grpcStatus.UNIMPLEMENTED) return null;
    throw e;
  }
}

/** The regions as the scheduler lists them, checked to cover the whole key space with no gap. */
async function regionsTilingKeySpace(pd: PdClient): Promise<RegionInfo[]> {
  let problem = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const rs = await allRegions(pd);
    problem = tilingProblem(rs);
    if (!problem) return rs;
    // The scheduler learns of a split from a heartbeat: a moment later the list is whole again.
    await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
  throw new BackupError(`the scheduler's regions do not cover the key space: ${problem}`);
}

export function tilingProblem(rs: readonly { startKey: Uint8Array; endKey: Uint8Array }[]): string {
  if (rs.length === 0) return 'no regions (is the cluster bootstrapped?)';
  if (rs[0]!.startKey.length !== 0) return `the first region starts at ${showKey(rs[0]!.startKey)}`;
  for (let i = 1; i < rs.length; i++)
    if (compareBytes(rs[i - 1]!.endKey, rs[i]!.startKey) !== 0)
      return `a region ends at ${showKey(rs[i - 1]!.endKey)}, the next starts at ${showKey(rs[i]!.startKey)}`;
  if (rs[rs.length - 1]!.endKey.length !== 0) return `the last region ends at ${showKey(rs[rs.length - 1]!.endKey)}`;
  return '';
}

async function prepareDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length === 0) return;
  const why = entries.includes(MANIFEST)
    ? 'it holds a backup already'
    : entries.some((e) => e.endsWith(TMP_SUFFIX))
      ? 'it holds the files of an interrupted backup'
      : `it holds ${entries.length} entries`;
  throw new BackupError(`${dir} is not empty (${why}): back up into a new or empty directory`);
}

interface Pair {
  key: Uint8Array;
  value: Uint8Array;
}

/** Reads a key range of one raw CF region by region, sizing each RawScan to carry about readBytes. */
class RawRangeReader {
  /** The largest average pair size seen in a read (null: none yet): the next read's key limit is sized by it. */
  private pairBytes: number | null = null;

  constructor(
    private readonly router: RegionRouter,
    private readonly readBytes: number,
  ) {}

  private limitFor(pairBytes: number): number {
    return Math.max(64, Math.min(1_000_000, Math.floor(this.readBytes / Math.max(1, pairBytes))));
  }

  /** Every pair start <= key < end of cf, in key order, handed to emit read by read; the reads taken. */
  async read(cf: RawCf, start: Uint8Array, end: Uint8Array, emit: (pairs: Pair[]) => Promise<void>): Promise<number> {
    let from = start;
    let reads = 0;
    let limit = this.limitFor(this.pairBytes ?? INITIAL_PAIR_BYTES);
    let rereads = 0;
    for (;;) {
      const at = from;
      const want = limit;
      const { res, region } = await this.router.single(
        at,
        this.router.state(`backup: RawScan of CF ${cf} from ${showKey(at)}`),
        (context) => ({ rawScan: { context, startKey: at, limit: want, cf } }),
        (r) => r.rawScan,
      );
      const kvs = res.kvs ?? [];
      let bytes = 0;
      for (const kv of kvs) bytes += (kv.key?.length ?? 0) + (kv.value?.length ?? 0);
      const avg = kvs.length > 0 ? bytes / kvs.length : 0;
      if (avg > (this.pairBytes ?? 0)) this.pairBytes = avg;
      const full = kvs.length >= want && kvs.length > 0;
      // A full read far below readBytes: the limit came from larger pairs elsewhere. Read again
      // from the same key with a limit sized by these pairs, so the region fits in one read.
      if (full && bytes < this.readBytes / 4 && rereads < 2) {
        rereads++;
        limit = this.limitFor(avg);
        continue;
      }
      reads++;
      const out: Pair[] = [];
      let reachedEnd = false;
      for (const kv of kvs) {
        const k = kv.key ?? EMPTY;
        if (compareBytes(k, at) < 0) continue;
        if (end.length > 0 && compareBytes(k, end) >= 0) {
          reachedEnd = true;
          break;
        }
        out.push({ key: k, value: kv.value ?? EMPTY });
      }
      if (out.length > 0) await emit(out);
      if (reachedEnd) return reads;
      if (full) {
        // The region holds more after the last key.
        from = nextKey(kvs[kvs.length - 1]!.key ?? EMPTY);
        if (region.endKey.length > 0 && compareBytes(from, region.endKey) >= 0) from = region.endKey;
      } else {
        // The region is done; it ended before `end` if it split since it was listed.
        if (region.endKey.length === 0) return reads;
        from = region.endKey;
      }
      if (end.length > 0 && compareBytes(from, end) >= 0) return reads;
      rereads = 0;
      limit = this.limitFor(this.pairBytes ?? INITIAL_PAIR_BYTES);
    }
  }
}

/** Takes a backup of the cluster at opts.schedulerAddr into opts.dir. */
export async function backup(opts: BackupOptions): Promise<BackupSummary> {
  const dir = resolve(opts.dir);
  const progress = opts.progress ?? NO_PROGRESS;
  const concurrency = opts.concurrency ?? 4;
  const readBytes = opts.readBytes ?? DEFAULT_READ_BYTES;
  const txnPageKeys = opts.txnPageKeys ?? 8192;
  if (opts.rateLimitMBps !== undefined && !(opts.rateLimitMBps > 0))
    throw new BackupError(`the rate limit must be > 0 MB/s, got ${opts.rateLimitMBps}`);
  const limiter = opts.rateLimitMBps ? new RateLimiter(opts.rateLimitMBps * MB) : null;
  const pool = new Pool(concurrency);
  await prepareDir(dir);

  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const txc = await TxnClient.connect(opts);
  const addr = txc.schedulerAddr;
  const router = new RegionRouter(txc.pd, addr, routerOptions(opts, 'backup tls'));
  const writers = new Set<DataFileWriter>();
  const written: string[] = [];
  let txn: Transaction | null = null;
  try {
    txn = await txc.begin();
    const backupTs = txn.startTs;
    const sp = await gcSafePoint(txc.pd);
    if (sp !== null && sp > backupTs)
      throw new BackupError(`the GC safe point ${sp} is past the backup ts ${backupTs}: the versions at it may be collected`);
    const regions = await regionsTilingKeySpace(txc.pd);
    const reader = new RawRangeReader(router, readBytes);
    progress.phase('backup', { units: regions.length, unitName: 'regions' });

    const moved = async (keys: number, bytes: number): Promise<void> => {
      progress.add(keys, bytes);
      await limiter?.consume(bytes);
    };
    const newFile = async (name: string): Promise<DataFileWriter> => {
      const w = await DataFileWriter.create(dir, name);
      writers.add(w);
      return w;
    };
    const finish = async (w: DataFileWriter, keys: number, bytes: number, cfs?: Record<RawCf, CfStats>): Promise<FileEntry> => {
      const { size, sha256 } = await w.finish();
      writers.delete(w);
      written.push(w.name);
      return { file: w.name, keys, bytes, size, sha256, ...(cfs ? { cfs } : {}) };
    };

    const backupRegion = async (r: RegionInfo): Promise<RegionEntry> => {
      const rw = await newFile(fileName(r.id, 'raw'));
      const cfs = {} as Record<RawCf, CfStats>;
      let rawKeys = 0;
      let rawBytes = 0;
      for (const cf of RAW_CFS) {
        const s: CfStats = { keys: 0, bytes: 0, reads: 0 };
        s.reads = await reader.read(cf, r.startKey, r.endKey, async (pairs) => {
          let b = 0;
          for (const p of pairs) {
            await rw.add(cf, p.key, p.value);
            b += p.key.length + p.value.length;
          }
          s.keys += pairs.length;
          s.bytes += b;
          await moved(pairs.length, b);
        });
        cfs[cf] = s;
        rawKeys += s.keys;
        rawBytes += s.bytes;
      }
      const raw = await finish(rw, rawKeys, rawBytes, cfs);

      const tw = await newFile(fileName(r.id, 'txn'));
      let txnKeys = 0;
      let txnBytes = 0;
      let from = r.startKey.length > 0 ? r.startKey : MIN_KEY;
      for (;;) {
        const pairs = await txn!.scan(from, r.endKey, txnPageKeys);
        let b = 0;
        for (const p of pairs) {
          await tw.add('txn', p.key, p.value);
          b += p.key.length + p.value.length;
        }
        txnKeys += pairs.length;
        txnBytes += b;
        await moved(pairs.length, b);
        if (pairs.length < txnPageKeys) break;
        from = nextKey(pairs[pairs.length - 1]!.key);
      }
      const txnEntry = await finish(tw, txnKeys, txnBytes);
      progress.unitDone();
      return {
        id: r.id,
        startKey: hexOf(r.startKey),
        endKey: hexOf(r.endKey),
        confVer: r.confVer,
        version: r.version,
        raw,
        txn: txnEntry,
      };
    };

    const entries: RegionEntry[] = new Array(regions.length);
    for (const [i, r] of regions.entries())
      await pool.run(async () => {
        entries[i] = await backupRegion(r);
      });
    await pool.drain();

    const spAfter = await gcSafePoint(txc.pd);
    if (spAfter !== null && spAfter > backupTs)
      throw new BackupError(
        `the GC safe point moved to ${spAfter}, past the backup ts ${backupTs}, during the backup: versions the backup ` +
          'read may have been collected; take the backup again',
      );
    progress.end();

    const t1 = Date.now();
    const totals = { regions: entries.length, files: 0, rawKeys: 0, txnKeys: 0, bytes: 0, size: 0 };
    for (const e of entries) {
      totals.files += 2;
      totals.rawKeys += e.raw.keys;
      totals.txnKeys += e.txn.keys;
      totals.bytes += e.raw.bytes + e.txn.bytes;
      totals.size += e.raw.size + e.txn.size;
    }
    const body: ManifestBody = {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      startedAt,
      finishedAt: new Date(t1).toISOString(),
      scheduler: addr,
      clusterId: String(txc.pd.clusterId),
      backupTs: String(backupTs),
      backupTsTime: new Date(Number(physicalMs(backupTs))).toISOString(),
      gcSafePoint: sp === null ? null : String(sp),
      consistency: {
        raw:
          'per region and raw CF: one RawScan, i.e. one snapshot at one read index, where cfs.<cf>.reads is 1; ' +
          'where it is more, the region split during the backup or held more than one read carries, and each read ' +
          'is a snapshot at its own read index',
        txn: 'every key as of backupTs: one snapshot at one timestamp across all regions',
      },
      regions: entries,
      totals,
    };
    const text = manifestText(body);
    const tmp = join(dir, MANIFEST + TMP_SUFFIX);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, MANIFEST));
    // The renames are durable once the directory is synced.
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    const seconds = (t1 - t0) / 1000;
    let multiReadRanges = 0;
    for (const e of entries) for (const cf of RAW_CFS) if (e.raw.cfs![cf].reads > 1) multiReadRanges++;
    return {
      dir,
      manifest: JSON.parse(text) as Manifest,
      seconds,
      mbPerSec: totals.bytes / MB / Math.max(seconds, 0.001),
      multiReadRanges,
    };
  } catch (e) {
    // A backup that failed leaves no files behind (it would be unusable without its manifest).
    await pool.settle();
    for (const w of writers) await w.abort();
    for (const name of written) await rm(join(dir, name), { force: true });
    await rm(join(dir, MANIFEST + TMP_SUFFIX), { force: true });
    throw e;
  } finally {
    progress.end();
    await txn?.rollback().catch(() => {});
    router.close();
    txc.close();
  }
}
