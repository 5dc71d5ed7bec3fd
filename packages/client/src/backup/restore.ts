// verifyBackup() and restore(): what `tinykv restore` runs.
//
// Every check comes before the first write: the manifest (format, its own checksum, regions that
// tile the key space, file names), then every data file (size, SHA-256, records that parse, key
// counts and order, keys inside their region). A damaged backup is refused naming the file; a
// target cluster holding any key is refused. Then raw data is loaded with RawClient.batchPut per
// CF, transactional data in transactions of a batch of keys each (committed at new timestamps:
// the values are those of the backup ts).
import { createHash } from 'node:crypto';
import { type FileHandle, open, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { compareBytes, EMPTY, showKey } from '../bytes.js';
import { RawClient } from '../raw_client.js';
import { TxnClient, type TxnClientOptions } from '../txn_client.js';
import { MIN_KEY } from './backup.js';
import { BackupDamagedError, TargetNotEmptyError } from './errors.js';
import { TMP_SUFFIX } from './file_writer.js';
import {
  type BackupRecord,
  type Column,
  type FileEntry,
  FileFormatError,
  FORMAT_NAME,
  FORMAT_VERSION,
  type Kind,
  keyOf,
  MANIFEST,
  type Manifest,
  manifestChecksumOk,
  RAW_CFS,
  type RawCf,
  type RegionEntry,
  readRecords,
} from './format.js';
import { NO_PROGRESS, type ProgressSink } from './progress.js';
import { MB, Pool, RateLimiter } from './throttle.js';

export interface RestoreOptions extends TxnClientOptions {
  /** The directory of the backup. */
  dir: string;
  /** At most this many MB (10^6 bytes) per second written to the cluster (default: no limit). */
  rateLimitMBps?: number;
  /** Batches (raw batchPuts, transactions) in flight at once (default 8). */
  concurrency?: number;
  /** Pairs per raw batchPut (default 2048) and at most this many bytes (default 1 MiB). */
  batchKeys?: number;
  batchBytes?: number;
  /** Keys per transaction (default 256). */
  txnBatchKeys?: number;
  progress?: ProgressSink;
}

export interface RestoreSummary {
  dir: string;
  manifest: Manifest;
  verifySeconds: number;
  /** Loading only (verification and the emptiness check not counted). */
  seconds: number;
  rawKeys: number;
  txnKeys: number;
  bytes: number;
  /** Bytes of keys plus values loaded per second (MB = 10^6 bytes). */
  mbPerSec: number;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function damaged(dir: string, file: string, why: string): BackupDamagedError {
  return new BackupDamagedError(`backup ${dir} is damaged: ${file}: ${why}; nothing was restored`, file);
}

const isInt = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isHex = (s: unknown): s is string => typeof s === 'string' && /^([0-9a-f]{2})*$/.test(s);

function fileEntryProblem(f: FileEntry | undefined, kind: Kind): string {
  if (!f || typeof f !== 'object') return `no ${kind} file`;
  if (typeof f.file !== 'string' || !SAFE_NAME.test(f.file) || f.file === MANIFEST)
    return `bad ${kind} file name ${JSON.stringify(f.file)}`;
  if (!isInt(f.keys) || !isInt(f.bytes) || !isInt(f.size)) return `bad counts of ${f.file}`;
  if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) return `bad sha256 of ${f.file}`;
  if (kind === 'raw') {
    if (!f.cfs) return `no per-CF counts of ${f.file}`;
    let keys = 0;
    for (const cf of RAW_CFS) {
      const c = f.cfs[cf];
      if (!c || !isInt(c.keys) || !isInt(c.bytes) || !isInt(c.reads)) return `bad counts of CF ${cf} in ${f.file}`;
      keys += c.keys;
    }
    if (keys !== f.keys) return `the CF counts of ${f.file} do not add up`;
  }
  return '';
}

/** Why the manifest cannot be used ('' if it can). */
function manifestProblem(m: Manifest): string {
  if (m.format !== FORMAT_NAME) return `not a tskv backup manifest (format ${JSON.stringify(m.format)})`;
  if (m.version !== FORMAT_VERSION) return `format version ${m.version}, this tinykv restores version ${FORMAT_VERSION}`;
  if (!manifestChecksumOk(m)) return 'its checksum does not match its content (edited or damaged)';
  if (typeof m.backupTs !== 'string' || !/^\d+$/.test(m.backupTs)) return 'bad backupTs';
  if (!Array.isArray(m.regions) || m.regions.length === 0) return 'no regions';
  const names = new Set<string>();
  let prevEnd: string | null = null;
  for (const [i, r] of m.regions.entries()) {
    if (!r || !isInt(r.id) || !isHex(r.startKey) || !isHex(r.endKey)) return `bad region entry ${i}`;
    if (prevEnd === null ? r.startKey !== '' : r.startKey !== prevEnd)
      return `region ${r.id} starts at ${showKey(keyOf(r.startKey))}, not where the previous one ends: the regions do not cover the key space`;
    if (r.endKey !== '' && compareBytes(keyOf(r.startKey), keyOf(r.endKey)) >= 0) return `region ${r.id} has an empty range`;
    prevEnd = r.endKey;
    for (const kind of ['raw', 'txn'] as const) {
      const p = fileEntryProblem(r[kind], kind);
      if (p) return `region ${r.id}: ${p}`;
      if (names.has(r[kind].file)) return `file ${r[kind].file} listed twice`;
      names.add(r[kind].file);
    }
  }
  if (prevEnd !== '') return 'the last region does not reach the end of the key space';
  return '';
}

async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const entries = await readdir(dir).catch(() => null);
    if (entries === null) throw damaged(dir, MANIFEST, `the directory ${dir} cannot be read`);
    const partial = entries.some((n) => n.endsWith(TMP_SUFFIX) || n.startsWith('region-'));
    throw damaged(
      dir,
      MANIFEST,
      partial
        ? 'missing: the backup is incomplete (the manifest is written last, and this backup did not finish)'
        : 'missing: not a backup directory',
    );
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw damaged(dir, MANIFEST, `not valid JSON (${(e as Error).message})`);
  }
  if (!m || typeof m !== 'object') throw damaged(dir, MANIFEST, 'not a JSON object');
  const p = manifestProblem(m);
  if (p) throw damaged(dir, MANIFEST, p);
  return m;
}

/** Reads a whole data file through its checks: why it does not match its manifest entry ('' if it does). */
async function fileProblem(dir: string, r: RegionEntry, kind: Kind, progress: ProgressSink): Promise<string> {
  const f = r[kind];
  let fh: FileHandle;
  try {
    fh = await open(join(dir, f.file), 'r');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `cannot be read (${(e as Error).message})`;
  }
  try {
    const size = (await fh.stat()).size;
    if (size !== f.size) return `${size} bytes where the manifest says ${f.size} (truncated or damaged)`;
    const hash = createHash('sha256');
    const start = keyOf(r.startKey);
    const end = keyOf(r.endKey);
    const counts = new Map<Column, { keys: number; bytes: number }>();
    let formatProblem = '';
    let prev: BackupRecord | null = null;
    let pendingKeys = 0;
    let pendingBytes = 0;
    let reported = 0;
    try {
      for await (const rec of readRecords(fh, hash)) {
        const ok = kind === 'txn' ? rec.column === 'txn' : rec.column !== 'txn';
        if (!ok) throw new FileFormatError(`a record of column ${rec.column} in a ${kind} file`);
        if (prev && prev.column === rec.column && compareBytes(prev.key, rec.key) >= 0)
          throw new FileFormatError(`key ${showKey(rec.key)} out of order`);
        if (compareBytes(rec.key, start) < 0 || (end.length > 0 && compareBytes(rec.key, end) >= 0))
          throw new FileFormatError(`key ${showKey(rec.key)} outside region ${r.id}`);
        const c = counts.get(rec.column) ?? { keys: 0, bytes: 0 };
        c.keys++;
        c.bytes += rec.key.length + rec.value.length;
        counts.set(rec.column, c);
        prev = rec;
        pendingKeys++;
        pendingBytes += rec.key.length + rec.value.length + 9;
        if (pendingBytes >= 1 << 20) {
          progress.add(pendingKeys, pendingBytes);
          reported += pendingBytes;
          pendingKeys = 0;
          pendingBytes = 0;
        }
      }
    } catch (e) {
      if (!(e instanceof FileFormatError)) throw e;
      formatProblem = e.message;
      // The rest of the file still goes through the hash: a checksum mismatch is the better report.
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
      }
    }
    // Header and trailer included: the phase's total is the files' sizes.
    progress.add(pendingKeys, Math.max(0, size - reported));
    const sha = hash.digest('hex');
    if (sha !== f.sha256) return `SHA-256 ${sha} where the manifest says ${f.sha256}`;
    if (formatProblem) return `the checksum matches but the data does not parse: ${formatProblem}`;
    const columns: Column[] = kind === 'txn' ? ['txn'] : [...RAW_CFS];
    let keys = 0;
    let bytes = 0;
    for (const col of columns) {
      const c = counts.get(col) ?? { keys: 0, bytes: 0 };
      keys += c.keys;
      bytes += c.bytes;
      const want = kind === 'raw' ? f.cfs![col as RawCf] : f;
      if (c.keys !== want.keys || c.bytes !== want.bytes)
        return `${c.keys} keys (${c.bytes} bytes) of ${col} where the manifest says ${want.keys} (${want.bytes} bytes)`;
    }
    if (keys !== f.keys || bytes !== f.bytes) return `${keys} keys where the manifest says ${f.keys}`;
    return '';
  } finally {
    await fh.close();
  }
}

/**
 * Checks the manifest and every data file; the manifest if all is well, else BackupDamagedError
 * naming the first file at fault.
 */
export async function verifyBackup(dirArg: string, progress: ProgressSink = NO_PROGRESS): Promise<Manifest> {
  const dir = resolve(dirArg);
  const m = await readManifest(dir);
  progress.phase('verify', { units: m.totals.files, unitName: 'files', bytes: m.totals.size });
  for (const r of m.regions)
    for (const kind of ['raw', 'txn'] as const) {
      const p = await fileProblem(dir, r, kind, progress);
      if (p) {
        progress.end();
        throw damaged(dir, r[kind].file, p);
      }
      progress.unitDone();
    }
  progress.end();
  return m;
}

/** Every record of a verified backup, region by region (raw file, then txn file). */
export async function* backupRecords(dirArg: string, m: Manifest): AsyncGenerator<BackupRecord & { regionId: number }> {
  const dir = resolve(dirArg);
  for (const r of m.regions)
    for (const kind of ['raw', 'txn'] as const) {
      const fh = await open(join(dir, r[kind].file), 'r');
      try {
        for await (const rec of readRecords(fh)) yield { ...rec, regionId: r.id };
      } finally {
        await fh.close();
      }
    }
}

/** Why the target is not empty, or '' (a key in any raw CF, or a transactional key visible now). */
async function nonEmpty(raw: RawClient, txc: TxnClient): Promise<string> {
  for (const cf of RAW_CFS) {
    const kvs = await raw.scan(EMPTY, EMPTY, 1, cf);
    if (kvs.length > 0) return `raw CF ${cf} holds key ${showKey(kvs[0]!.key)}`;
  }
  const t = await txc.begin();
  try {
    const kvs = await t.scan(MIN_KEY, EMPTY, 1);
    if (kvs.length > 0) return `it holds transactional key ${showKey(kvs[0]!.key)}`;
  } finally {
    await t.rollback();
  }
  return '';
}

/** Verifies the backup in opts.dir, then loads it into the (empty) cluster at opts.schedulerAddr. */
export async function restore(opts: RestoreOptions): Promise<RestoreSummary> {
  const dir = resolve(opts.dir);
  const progress = opts.progress ?? NO_PROGRESS;
  const batchKeys = opts.batchKeys ?? 2048;
  const batchBytes = opts.batchBytes ?? 1 << 20;
  const txnBatchKeys = opts.txnBatchKeys ?? 256;
  if (opts.rateLimitMBps !== undefined && !(opts.rateLimitMBps > 0))
    throw new RangeError(`the rate limit must be > 0 MB/s, got ${opts.rateLimitMBps}`);
  const limiter = opts.rateLimitMBps ? new RateLimiter(opts.rateLimitMBps * MB) : null;
  const pool = new Pool(opts.concurrency ?? 8);

  const v0 = Date.now();
  const m = await verifyBackup(dir, progress);
  const verifySeconds = (Date.now() - v0) / 1000;

  const raw = await RawClient.connect(opts);
  let txc: TxnClient | null = null;
  try {
    txc = await TxnClient.connect(opts);
    const tc = txc;
    const why = await nonEmpty(raw, tc);
    if (why)
      throw new TargetNotEmptyError(
        `the target cluster at ${raw.schedulerAddr} is not empty: ${why}. restore loads into an empty cluster only, so that ` +
          'it ends up holding exactly the backup; nothing was restored',
      );

    const t0 = Date.now();
    progress.phase('restore', {
      units: m.totals.files,
      unitName: 'files',
      keys: m.totals.rawKeys + m.totals.txnKeys,
      bytes: m.totals.bytes,
    });
    let rawKeys = 0;
    let txnKeys = 0;
    let bytes = 0;
    const done = async (keys: number, b: number): Promise<void> => {
      bytes += b;
      progress.add(keys, b);
      await limiter?.consume(b);
    };
    for (const r of m.regions)
      for (const kind of ['raw', 'txn'] as const) {
        const fh = await open(join(dir, r[kind].file), 'r');
        try {
          let batch: { key: Uint8Array; value: Uint8Array }[] = [];
          let batchCol: Column = 'default';
          let size = 0;
          const flush = async (): Promise<void> => {
            if (batch.length === 0) return;
            const pairs = batch;
            const col = batchCol;
            const b = size;
            batch = [];
            size = 0;
            if (col === 'txn') {
              txnKeys += pairs.length;
              await pool.run(async () => {
                await tc.runTxn(async (t) => {
                  for (const p of pairs) t.put(p.key, p.value);
                });
                await done(pairs.length, b);
              });
            } else {
              rawKeys += pairs.length;
              await pool.run(async () => {
                await raw.batchPut(pairs, col);
                await done(pairs.length, b);
              });
            }
          };
          for await (const rec of readRecords(fh)) {
            const max = rec.column === 'txn' ? txnBatchKeys : batchKeys;
            if (rec.column !== batchCol || batch.length >= max || size >= batchBytes) await flush();
            batchCol = rec.column;
            batch.push({ key: rec.key, value: rec.value });
            size += rec.key.length + rec.value.length;
          }
          await flush();
        } finally {
          await fh.close();
        }
        progress.unitDone();
      }
    await pool.drain();
    // Secondary keys are committed in the background: the restore is done once they are.
    await tc.whenIdle();
    progress.end();
    const seconds = (Date.now() - t0) / 1000;
    return { dir, manifest: m, verifySeconds, seconds, rawKeys, txnKeys, bytes, mbPerSec: bytes / MB / Math.max(seconds, 0.001) };
  } catch (e) {
    await pool.settle();
    throw e;
  } finally {
    progress.end();
    raw.close();
    txc?.close();
  }
}
