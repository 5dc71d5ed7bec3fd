// Chunked snapshot transfer between stores, independent of the transport (in-process mock or
// gRPC stream): the first chunk carries the MsgSnapshot, the following ones a tar archive of the
// snapshot's files (entries `meta`, `<cf>.sst`) cut into pieces of at most chunkBytes.
//
// Memory is bounded on both sides: files are read and written in 64 KiB pieces, tar-stream's
// backpressure holds the producer while a chunk is in the consumer's hands, and the receiver
// pulls the next chunk only after the previous one has reached the disk.

import { open, rename } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import type { CfName } from '@tskv/engine';
import { eraftpb, raft_serverpb } from '@tskv/proto';
import type { Extract, Pack } from 'tar-stream';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import type { RaftMessage } from '../transport.js';
import { SnapshotBusyError, SnapshotCorruptError, SnapshotNotFoundError } from './errors.js';
import { readExactly, removeQuiet, tmpPathFor, writeAll } from './fsutil.js';
import { cfFilesOf, checkCfFiles, decodeMeta, MAX_META_BYTES, metaKey, type SnapshotMeta, sameCfFiles } from './meta.js';
import { type SnapKey, sameSnapKey, snapKeyOf, snapKeyString } from './snap_key.js';
import type { SnapKind, SnapManager } from './snap_manager.js';
import { readSst } from './sst.js';
import { Chunker, drained, mapErrors } from './stream_util.js';

export const SNAP_CHUNK_BYTES = 1024 * 1024;
const READ_BYTES = 64 * 1024;
const META_ENTRY = 'meta';
const cfEntry = (cf: string): string => `${cf}.sst`;

export interface SendOptions {
  /** Max bytes of archive per data chunk. */
  chunkBytes?: number;
}

/**
 * The chunks of the 'gen' snapshot `msg` refers to: `{ message: msg }`, then the archive.
 * The key is registered 'sending' while the generator runs, so it is not deleted mid-transfer.
 */
export async function* sendSnapshotChunks(
  mgr: SnapManager,
  msg: RaftMessage,
  opts: SendOptions = {},
): AsyncGenerator<raft_serverpb.ISnapshotChunk> {
  const chunker = new Chunker(opts.chunkBytes ?? SNAP_CHUNK_BYTES);
  const key = snapKeyOf(msg);
  const pack = tarPack();
  pack.on('error', () => undefined); // surfaced by the iterator below
  mgr.register(key, 'sending');
  let producer: Promise<unknown> | null = null;
  let ok = false;
  let damaged: unknown = null;
  try {
    let meta: SnapshotMeta | null;
    try {
      meta = await mgr.readMeta('gen', key);
    } catch (e) {
      damaged = e;
      throw e;
    }
    if (meta === null) throw new SnapshotNotFoundError(`gen snapshot ${snapKeyString(key)} not found`);
    yield { message: msg };
    producer = packFiles(pack, [
      { name: META_ENTRY, path: mgr.metaPath('gen', key) },
      ...cfFilesOf(meta).map((f) => ({ name: cfEntry(f.cf), path: mgr.cfPath('gen', key, f.cf), size: f.size, checksum: f.checksum })),
    ]);
    // A producer failure destroys the pack, which ends this loop with its error.
    for await (const data of pack) {
      for (const c of chunker.push(data as Buffer)) {
        mgr.stats.bytesSent += c.byteLength;
        yield { data: c };
      }
    }
    const last = chunker.flush();
    if (last !== null) {
      mgr.stats.bytesSent += last.byteLength;
      yield { data: last };
    }
    ok = true;
    mgr.stats.sent++;
  } finally {
    if (!ok) {
      mgr.stats.sendFailed++;
      pack.destroy(); // also when the consumer stopped early: unblocks the producer
    }
    const failed = await producer; // its files are closed before the key is released
    if (!(damaged instanceof SnapshotCorruptError) && failed instanceof SnapshotCorruptError) damaged = failed;
    if (damaged instanceof SnapshotCorruptError) {
      // Damaged on disk since it was generated: every follower would reject it (their checks use
      // the generation's checksums), and regenerating at the same point would reuse the files
      // (they have the right sizes). Remove them; the caller makes the peer generate anew.
      mgr.logger.warn('generated snapshot damaged on disk: removed, it will be generated again', {
        key: snapKeyString(key),
        err: String(damaged),
      });
      await mgr.removeFiles('gen', key).catch(() => undefined);
    }
    mgr.deregister(key, 'sending');
  }
}

/**
 * Streams files into the pack one entry at a time; failures destroy the pack (never rejects).
 * Resolves to the failure, if any.
 */
async function packFiles(pack: Pack, files: { name: string; path: string; size?: number; checksum?: number }[]): Promise<unknown> {
  try {
    for (const f of files) await packFile(pack, f.name, f.path, f.size, f.checksum);
    pack.finalize();
    return null;
  } catch (e) {
    pack.destroy(e as Error);
    return e;
  }
}

/**
 * One file as an archive entry. With `expectedChecksum` the file's crc32c is computed on the way
 * and checked before the entry is completed: a file damaged on disk after generation fails the
 * send here (the receiver would reject it anyway) so that the sender can drop the snapshot.
 */
async function packFile(
  pack: Pack,
  name: string,
  path: string,
  expectedSize: number | undefined,
  expectedChecksum: number | undefined,
): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const { size, mtime } = await fh.stat();
    if (expectedSize !== undefined && size !== expectedSize)
      throw new SnapshotCorruptError(`${path}: size ${size}, meta says ${expectedSize}`);
    let sink!: ReturnType<Pack['entry']>;
    const done = new Promise<void>((resolve, reject) => {
      sink = pack.entry({ name, size, mtime, type: 'file' }, (err) => (err ? reject(err) : resolve()));
    });
    done.catch(() => undefined); // observed below; a destroyed pack may settle it before then
    sink.on('error', () => undefined); // surfaced through drained()/done instead
    let crc = 0;
    for (let pos = 0; pos < size; ) {
      // A fresh buffer per read: the pack keeps references until the consumer takes them.
      const buf = await readExactly(fh, pos, Math.min(READ_BYTES, size - pos));
      if (buf === null) throw new SnapshotCorruptError(`${path}: shrank while being sent`);
      pos += buf.byteLength;
      crc = crc32c(buf, crc);
      if (!sink.write(buf)) await drained(sink);
    }
    if (expectedChecksum !== undefined && crc >>> 0 !== expectedChecksum >>> 0) {
      throw new SnapshotCorruptError(
        `${path}: checksum ${crc >>> 0}, meta says ${expectedChecksum >>> 0} (damaged on disk since it was generated)`,
      );
    }
    sink.end(undefined);
    await done;
  } finally {
    await fh.close();
  }
}

/**
 * Receives a snapshot into the 'rev' files of its key and returns the raft message of the first
 * chunk. Every cf file is checked against the sizes and checksums the message's snapshot data
 * lists before it is renamed into place; the meta goes last. On failure nothing of the key is
 * left behind. Data problems throw SnapshotCorruptError, an input error is rethrown as is.
 */
export async function receiveSnapshotChunks(mgr: SnapManager, chunks: AsyncIterable<raft_serverpb.ISnapshotChunk>): Promise<RaftMessage> {
  const it = chunks[Symbol.asyncIterator]();
  let key: SnapKey | null = null;
  try {
    const first = await it.next();
    const { msg, expected } = parseFirstChunk(first.done ? undefined : first.value);
    const k = snapKeyOf(msg);
    key = k;
    if (mgr.isRegistered(k, 'receiving')) throw new SnapshotBusyError(`snapshot ${snapKeyString(k)} is already being received`);
    mgr.register(k, 'receiving');
    try {
      if (await isPresent(mgr, k, expected)) {
        // The sender still streams the archive: take it and drop it. A failure here leaves the
        // complete copy alone.
        for (let r = await it.next(); !r.done; r = await it.next());
        return msg;
      }
      if (mgr.isRegistered(k, 'applying')) throw new SnapshotBusyError(`snapshot ${snapKeyString(k)} is being applied`);
      await receiveFiles(mgr, k, expected, it);
      return msg;
    } finally {
      mgr.deregister(k, 'receiving');
    }
  } catch (e) {
    if (!(e instanceof SnapshotBusyError)) {
      mgr.stats.receiveFailed++;
      mgr.logger.warn('snapshot receive failed', { key: key && snapKeyString(key), err: String(e) });
    }
    await closeQuietly(it); // let the sender see we stopped
    throw e;
  }
}

/** Replaces whatever 'rev' files the key has with the archive's; on failure removes them all. */
async function receiveFiles(
  mgr: SnapManager,
  key: SnapKey,
  expected: raft_serverpb.ISnapshotMeta,
  it: AsyncIterator<raft_serverpb.ISnapshotChunk>,
): Promise<void> {
  const tmps: { cf: CfName; path: string }[] = [];
  try {
    await mgr.removeFiles('rev', key); // an incomplete or damaged earlier copy
    const { meta, bytes } = await extractArchive(mgr, key, expected, it, tmps);
    for (const t of tmps) await rename(t.path, mgr.cfPath('rev', key, t.cf));
    tmps.length = 0;
    await mgr.writeMeta('rev', meta);
    mgr.stats.received++;
    mgr.stats.bytesReceived += bytes;
  } catch (e) {
    await Promise.all(tmps.map((t) => removeQuiet(t.path).catch(() => undefined)));
    await mgr.removeFiles('rev', key).catch(() => undefined);
    throw e;
  }
}

async function closeQuietly(it: AsyncIterator<unknown>): Promise<void> {
  try {
    await it.return?.();
  } catch {
    // the input is already broken; its error, if any, was reported
  }
}

function parseFirstChunk(chunk: raft_serverpb.ISnapshotChunk | undefined): { msg: RaftMessage; expected: raft_serverpb.ISnapshotMeta } {
  const bad = (what: string): SnapshotCorruptError => new SnapshotCorruptError(`invalid first snapshot chunk: ${what}`);
  if (chunk === undefined) throw bad('the stream is empty');
  const msg = chunk.message;
  if (!msg) throw bad('no raft message');
  if (chunk.data?.byteLength) throw bad('it carries data');
  if (msg.message?.msgType !== eraftpb.MessageType.MsgSnapshot) throw bad(`message type ${msg.message?.msgType} is not MsgSnapshot`);
  const data = msg.message.snapshot?.data;
  if (!data?.byteLength) throw bad('the snapshot has no data');
  let sd: raft_serverpb.RaftSnapshotData;
  try {
    sd = raft_serverpb.RaftSnapshotData.decode(data);
  } catch (e) {
    throw bad(`undecodable RaftSnapshotData: ${(e as Error).message}`);
  }
  if (!sd.meta) throw bad('RaftSnapshotData has no meta');
  checkCfFiles(sd.meta, 'snapshot data meta');
  return { msg, expected: sd.meta };
}

/** A complete 'rev' copy whose files match `expected` (a damaged one counts as absent). */
async function isPresent(mgr: SnapManager, key: SnapKey, expected: raft_serverpb.ISnapshotMeta): Promise<boolean> {
  try {
    if ((await mgr.readMeta('rev', key)) === null) return false;
    await mgr.verify('rev', key, expected);
    return true;
  } catch (e) {
    if (!(e instanceof SnapshotCorruptError)) throw e;
    mgr.logger.warn('replacing a damaged received snapshot', { key: snapKeyString(key), err: e.message });
    return false;
  }
}

/**
 * Unpacks the archive from the data chunks into temporaries (their paths pushed onto `tmps` as
 * they are created, for the caller's cleanup), checking each cf file as it is written. Returns
 * the archive's meta once every expected entry is there and agrees with `expected`.
 */
async function extractArchive(
  mgr: SnapManager,
  key: SnapKey,
  expected: raft_serverpb.ISnapshotMeta,
  it: AsyncIterator<raft_serverpb.ISnapshotChunk>,
  tmps: { cf: CfName; path: string }[],
): Promise<{ meta: SnapshotMeta; bytes: number }> {
  const ks = snapKeyString(key);
  const want = new Map(cfFilesOf(expected).map((f) => [cfEntry(f.cf), f]));
  const got = new Set<string>();
  let meta: SnapshotMeta | null = null;
  const ex = tarExtract();
  // The entry iterator listens for entries from its creation: create it before any data flows.
  const exIt = ex[Symbol.asyncIterator]();
  const feed = feedArchive(ex, it);
  // Errors of the archive stream: the input's own error as is, a parse error as corruption.
  const wrap = (e: unknown): unknown =>
    feed.inputError ??
    (e instanceof SnapshotCorruptError ? e : new SnapshotCorruptError(`snapshot ${ks}: bad archive: ${(e as Error).message}`));
  try {
    for await (const entry of mapErrors({ [Symbol.asyncIterator]: () => exIt }, wrap)) {
      const { name, type, size } = entry.header;
      const f = want.get(name);
      if (type !== 'file' || got.has(name) || (name !== META_ENTRY && f === undefined)) {
        throw new SnapshotCorruptError(`snapshot ${ks}: unexpected archive entry ${JSON.stringify(name)} (${type})`);
      }
      got.add(name);
      if (f === undefined) {
        if (size > MAX_META_BYTES) throw new SnapshotCorruptError(`snapshot ${ks}: meta entry of ${size} bytes`);
        const parts: Buffer[] = [];
        for await (const b of mapErrors(entry, wrap)) parts.push(b as Buffer);
        meta = decodeMeta(Buffer.concat(parts), `snapshot ${ks} meta entry`);
        continue;
      }
      if (size !== f.size) throw new SnapshotCorruptError(`snapshot ${ks} ${name}: ${size} bytes, expected ${f.size}`);
      const tmp = tmpPathFor(mgr.cfPath('rev', key, f.cf));
      tmps.push({ cf: f.cf, path: tmp });
      const r = await writeEntry(tmp, mapErrors(entry, wrap));
      if (r.size !== f.size || r.checksum !== f.checksum) {
        throw new SnapshotCorruptError(
          `snapshot ${ks} ${name}: got ${r.size} bytes crc ${r.checksum}, expected ${f.size} bytes crc ${f.checksum}`,
        );
      }
    }
  } catch (e) {
    ex.destroy();
    // Also stop the input: the feeder may be waiting for a chunk that would only be thrown away.
    void closeQuietly(it);
    throw e;
  } finally {
    await feed.done;
  }
  const missing = [META_ENTRY, ...want.keys()].filter((n) => !got.has(n));
  if (missing.length > 0) throw new SnapshotCorruptError(`snapshot ${ks}: archive ended without ${missing.join(', ')}`);
  if (!sameSnapKey(metaKey(meta!), key) || !sameCfFiles(meta!, expected)) {
    throw new SnapshotCorruptError(`snapshot ${ks}: archive meta does not match the raft message`);
  }
  return { meta: meta!, bytes: feed.bytes };
}

interface Feed {
  done: Promise<void>;
  inputError: unknown;
  bytes: number;
}

/** Pumps the data chunks into the extractor, one at a time; never rejects (errors destroy `ex`). */
function feedArchive(ex: Extract, it: AsyncIterator<raft_serverpb.ISnapshotChunk>): Feed {
  const feed: Feed = { done: Promise.resolve(), inputError: undefined, bytes: 0 };
  ex.on('error', () => undefined); // seen by the entry iterator
  feed.done = (async () => {
    for (;;) {
      let r: IteratorResult<raft_serverpb.ISnapshotChunk>;
      try {
        r = await it.next();
      } catch (e) {
        feed.inputError = e;
        ex.destroy(e as Error);
        return;
      }
      if (r.done) break;
      if (r.value.message) {
        ex.destroy(new SnapshotCorruptError('a raft message after the first snapshot chunk'));
        return;
      }
      const data = r.value.data;
      if (!data?.byteLength) continue;
      feed.bytes += data.byteLength;
      if (ex.write(data)) continue;
      try {
        await drained(ex);
      } catch {
        return; // the extractor is gone: its error is reported by the entry loop
      }
    }
    // An archive cut at an entry boundary parses fine: the entry check catches that case.
    ex.end(undefined);
  })();
  return feed;
}

/** Writes an entry's bytes to `path` (fsynced), computing size and crc32c on the way. */
async function writeEntry(path: string, data: AsyncIterable<unknown>): Promise<{ size: number; checksum: number }> {
  const fh = await open(path, 'wx');
  let size = 0;
  let checksum = 0;
  try {
    for await (const b of data) {
      checksum = crc32c(b as Buffer, checksum);
      size += (b as Buffer).byteLength;
      await writeAll(fh, b as Buffer);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { size, checksum };
}

/** The records of one cf file of a snapshot, verified block by block (see readSst). */
export function readSnapshotCf(mgr: SnapManager, kind: SnapKind, key: SnapKey, cf: CfName): AsyncGenerator<[Uint8Array, Uint8Array]> {
  return readSst(mgr.cfPath(kind, key, cf));
}
