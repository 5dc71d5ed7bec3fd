import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type CfName, RAW_CFS } from '@tskv/engine';
import { eraftpb, type metapb, raft_serverpb } from '@tskv/proto';
import {
  fileChecksum,
  readSnapshotCf,
  readSst,
  receiveSnapshotChunks,
  type SnapKey,
  SnapManager,
  type SnapManagerOptions,
  SnapshotBusyError,
  SnapshotCorruptError,
  SnapshotNotFoundError,
  SstWriter,
  sendSnapshotChunks,
} from '../src/snap/index.js';
import type { RaftMessage } from '../src/transport.js';

// ---- helpers ----

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tskv-snap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const PATTERN = Buffer.from(Array.from({ length: 64 * 1024 + 256 }, (_, j) => (j * 131 + (j >> 8)) & 0xff));
const keyOf = (cf: string, i: number): Buffer => Buffer.from(`${cf}-${String(i).padStart(9, '0')}`);
/** Deterministic value of record i of a cf, so big sources need not be kept in memory. */
function valueAt(cf: string, i: number, len: number): Buffer {
  const v = Buffer.from(PATTERN.subarray(i % 251, (i % 251) + len));
  v.writeUInt32BE(i >>> 0, 0);
  v[4] = cf.charCodeAt(0);
  return v;
}

async function* records(cf: string, n: number, len: number): AsyncGenerator<[Uint8Array, Uint8Array]> {
  for (let i = 0; i < n; i++) yield [keyOf(cf, i), valueAt(cf, i, len)];
}

/** Checks that `got` yields exactly the records of `records(cf, n, len)`. */
async function expectRecords(got: AsyncIterable<[Uint8Array, Uint8Array]>, cf: string, n: number, len: number): Promise<void> {
  let i = 0;
  for await (const [k, v] of got) {
    assert.ok(i < n, `more than ${n} records`);
    assert.ok(Buffer.from(k).equals(keyOf(cf, i)), `key ${i} of ${cf}`);
    assert.ok(Buffer.from(v).equals(valueAt(cf, i, len)), `value ${i} of ${cf}`);
    i++;
  }
  assert.equal(i, n, `record count of ${cf}`);
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0]! ^= 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

const region = (id: number): metapb.IRegion => ({
  id,
  startKey: Buffer.alloc(0),
  endKey: Buffer.alloc(0),
  regionEpoch: { confVer: 1, version: 1 },
  peers: [
    { id: id * 10 + 1, storeId: 1 },
    { id: id * 10 + 2, storeId: 2 },
  ],
});

/** Per-cf sizes of a test snapshot: n records of len bytes. */
type Shape = Record<'default' | 'lock' | 'write', { n: number; len: number }>;
// The transactional CFs of a test snapshot are empty.
const sourceOf = (shape: Shape) => (cf: CfName) => records(cf, shape[cf as keyof Shape]?.n ?? 0, shape[cf as keyof Shape]?.len ?? 0);

async function buildSnap(mgr: SnapManager, key: SnapKey, shape: Shape, blockBytes?: number): Promise<raft_serverpb.ISnapshotMeta> {
  return mgr.build(key, region(key.regionId), sourceOf(shape), blockBytes ? { blockBytes } : {});
}

/** The MsgSnapshot a leader sends for a generated snapshot. */
function snapMsg(key: SnapKey, meta: raft_serverpb.ISnapshotMeta): RaftMessage {
  const data = raft_serverpb.RaftSnapshotData.encode({ region: meta.region, meta, fileSize: 0, version: 1 }).finish();
  return {
    regionId: key.regionId,
    fromPeer: { id: key.regionId * 10 + 1, storeId: 1 },
    toPeer: { id: key.regionId * 10 + 2, storeId: 2 },
    regionEpoch: { confVer: 1, version: 1 },
    message: {
      msgType: eraftpb.MessageType.MsgSnapshot,
      to: key.regionId * 10 + 2,
      from: key.regionId * 10 + 1,
      term: key.term,
      snapshot: {
        data,
        metadata: { index: key.index, term: key.term, confState: { voters: [key.regionId * 10 + 1, key.regionId * 10 + 2] } },
      },
    },
  };
}

/** Every chunk through protobuf encode/decode, as a wire would; `tap` may alter or cut the stream. */
async function* wire(
  src: AsyncIterable<raft_serverpb.ISnapshotChunk>,
  tap: (bytes: Uint8Array, i: number) => Uint8Array | 'stop' | 'fail' = (b) => b,
): AsyncGenerator<raft_serverpb.ISnapshotChunk> {
  let i = 0;
  for await (const c of src) {
    const b = tap(raft_serverpb.SnapshotChunk.encode(c).finish(), i++);
    if (b === 'stop') return;
    if (b === 'fail') throw new Error('connection reset');
    yield raft_serverpb.SnapshotChunk.decode(b);
  }
}

const SMALL: Shape = { default: { n: 300, len: 100 }, lock: { n: 50, len: 20 }, write: { n: 300, len: 40 } };
const MB3: Shape = { default: { n: 600, len: 4000 }, lock: { n: 2000, len: 60 }, write: { n: 2500, len: 300 } };
const KEY: SnapKey = { regionId: 7, term: 3, index: 42 };

async function revFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('rev_') || n.endsWith('.tmp'));
}

async function pair(t: { after(fn: () => Promise<void>): void }, opts: SnapManagerOptions = {}): Promise<[SnapManager, SnapManager]> {
  const a = new SnapManager(await tempDir(t), opts);
  const b = new SnapManager(await tempDir(t), opts);
  await a.init();
  await b.init();
  return [a, b];
}

async function expectShape(mgr: SnapManager, key: SnapKey, shape: Shape): Promise<void> {
  for (const cf of RAW_CFS) {
    const s = shape[cf as keyof Shape];
    await expectRecords(readSnapshotCf(mgr, 'rev', key, cf), cf, s.n, s.len);
  }
}

// ---- memory ----

/**
 * A full GC on demand. Garbage ArrayBuffers are only collected when V8 feels external-memory
 * pressure (tens of MB), so without it RSS shows collection lag rather than what is retained.
 * Two rounds: buffers die in the first and their memory is only released in the second.
 */
function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

// First of the tests, so that the rss baseline is not raised by the ones before.
test('memory stays bounded for a ~40 MB snapshot', async (t) => {
  const gc = fullGc();
  const [a, b] = await pair(t);
  // The default cf file alone is 30 MB: buffering one file whole breaks the heap+buffers limit.
  const big: Shape = { default: { n: 6000, len: 5000 }, lock: { n: 20000, len: 100 }, write: { n: 20000, len: 400 } };
  const dataBytes = 6000 * 5000 + 20000 * 100 + 20000 * 400;
  assert.ok(dataBytes >= 40e6);
  gc();
  const retained = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = { rss: process.memoryUsage().rss, retained: retained() };
  const peak = { ...base };
  const sample = (): void => {
    gc();
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    peak.retained = Math.max(peak.retained, retained());
  };
  const timer = setInterval(sample, 25);
  try {
    const meta = await buildSnap(a, KEY, big);
    await receiveSnapshotChunks(b, wire(sendSnapshotChunks(a, snapMsg(KEY, meta))));
    await expectShape(b, KEY, big);
  } finally {
    clearInterval(timer);
  }
  sample();
  const mb = (n: number): string => (n / 1e6).toFixed(1);
  t.diagnostic(`${mb(dataBytes)} MB of data: rss +${mb(peak.rss - base.rss)} MB, heap+buffers +${mb(peak.retained - base.retained)} MB`);
  assert.ok(peak.rss - base.rss < 60e6, `rss grew by ${mb(peak.rss - base.rss)} MB`);
  assert.ok(peak.retained - base.retained < 20e6, `heap + buffers grew by ${mb(peak.retained - base.retained)} MB`);
});

// ---- sst ----

test('sst: round trip over many blocks, counts, whole-file checksum', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'a.sst');
  const w = await SstWriter.create(path, { blockBytes: 1024 });
  for await (const [k, v] of records('default', 5000, 50)) await w.add(k, v);
  const info = await w.finish();
  assert.equal(info.count, 5000);
  assert.equal(info.size, (await stat(path)).size);
  assert.ok(info.size > 5000 * 50);
  assert.deepEqual(await fileChecksum(path), { size: info.size, checksum: info.checksum });
  await expectRecords(readSst(path), 'default', 5000, 50);
});

test('sst: empty file, oversized records, abort', async (t) => {
  const dir = await tempDir(t);
  const empty = join(dir, 'e.sst');
  const info = await (await SstWriter.create(empty)).finish();
  assert.equal(info.count, 0);
  assert.equal(info.size, 28);
  await expectRecords(readSst(empty), 'default', 0, 0);

  const big = join(dir, 'b.sst');
  const w = await SstWriter.create(big, { blockBytes: 512 });
  for await (const [k, v] of records('write', 20, 3000)) await w.add(k, v); // every record > a block
  await w.finish();
  await expectRecords(readSst(big), 'write', 20, 3000);

  const gone = join(dir, 'g.sst');
  const a = await SstWriter.create(gone);
  await a.add(Buffer.from('k'), Buffer.from('v'));
  await a.abort();
  await a.abort();
  await assert.rejects(stat(gone), { code: 'ENOENT' });
});

test('sst: keys must strictly increase, also across blocks', async (t) => {
  const dir = await tempDir(t);
  const w = await SstWriter.create(join(dir, 'k.sst'), { blockBytes: 16 });
  await w.add(Buffer.from('b'), Buffer.from('1'));
  await assert.rejects(w.add(Buffer.from('b'), Buffer.from('2')), /not greater/);
  await assert.rejects(w.add(Buffer.from('a'), Buffer.from('2')), /not greater/);
  await w.add(Buffer.from('c'), Buffer.alloc(40)); // flushes the block holding 'b'
  await w.add(Buffer.from('d'), Buffer.alloc(40));
  await assert.rejects(w.add(Buffer.from('c0'), Buffer.from('x')), /not greater/);
  await w.abort();
});

test('sst: flipped byte, truncation and a damaged footer are detected', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'c.sst');
  const w = await SstWriter.create(path, { blockBytes: 1024 });
  for await (const [k, v] of records('lock', 500, 30)) await w.add(k, v);
  const { size } = await w.finish();
  const drain = async (): Promise<void> => {
    for await (const _ of readSst(path));
  };

  const fh = await open(path, 'r');
  const h = Buffer.alloc(4);
  await fh.read(h, 0, 4, 0);
  await fh.close();
  const second = 12 + h.readUInt32BE(0); // offset of the second block
  await flipByte(path, second + 12 + 30); // inside its payload
  await assert.rejects(
    drain,
    (e: Error) => e instanceof SnapshotCorruptError && e.message.includes(path) && e.message.includes(`block 1 at offset ${second}: crc`),
  );
  await flipByte(path, second + 12 + 30);
  await drain();

  await flipByte(path, size - 10); // footer
  await assert.rejects(drain, SnapshotCorruptError);
  await flipByte(path, size - 10);

  await truncate(path, size - 5);
  await assert.rejects(drain, /magic/);
  await truncate(path, 10);
  await assert.rejects(drain, /truncated/);
});

// ---- manager ----

test('manager: build, readMeta, verify, corruption', async (t) => {
  const dir = await tempDir(t);
  const mgr = new SnapManager(dir);
  await mgr.init();
  assert.equal(await mgr.readMeta('gen', KEY), null);
  const meta = await buildSnap(mgr, KEY, SMALL, 512);
  assert.equal(mgr.stats.generated, 1);
  assert.equal(mgr.isRegistered(KEY), false);
  assert.deepEqual(
    meta.cfFiles!.map((f) => [f.cf, f.count]),
    [
      ['default', 300],
      ['lock', 50],
      ['write', 300],
    ],
  );
  const read = await mgr.readMeta('gen', KEY);
  assert.deepEqual(read!.toJSON().cfFiles, raft_serverpb.SnapshotMeta.fromObject(meta).toJSON().cfFiles);
  assert.deepEqual([read!.region!.id, read!.index, read!.term], [7, 42, 3]);
  assert.equal(await mgr.exists('gen', KEY), true);
  await mgr.verify('gen', KEY, meta);
  for (const cf of RAW_CFS)
    await expectRecords(readSnapshotCf(mgr, 'gen', KEY, cf), cf, SMALL[cf as keyof Shape].n, SMALL[cf as keyof Shape].len);
  assert.deepEqual((await readdir(dir)).sort(), [
    'gen_7_3_42.meta',
    'gen_7_3_42_default.sst',
    'gen_7_3_42_lock.sst',
    'gen_7_3_42_write.sst',
  ]);

  const lock = mgr.cfPath('gen', KEY, 'lock');
  await flipByte(lock, 100);
  await assert.rejects(
    mgr.verify('gen', KEY, meta),
    (e: Error) => e instanceof SnapshotCorruptError && e.message.includes(lock) && /checksum/.test(e.message),
  );
  await flipByte(lock, 100);
  await truncate(mgr.cfPath('gen', KEY, 'write'), 10);
  await assert.rejects(mgr.verify('gen', KEY, meta), /write\.sst: size 10/);
  await rm(mgr.cfPath('gen', KEY, 'default'));
  await assert.rejects(mgr.verify('gen', KEY, meta), /default\.sst: missing/);

  await flipByte(mgr.metaPath('gen', KEY), 3);
  await assert.rejects(mgr.readMeta('gen', KEY), SnapshotCorruptError);
});

test('manager: a failing source leaves nothing behind', async (t) => {
  const dir = await tempDir(t);
  const mgr = new SnapManager(dir);
  await mgr.init();
  const bad = (cf: CfName): AsyncIterable<[Uint8Array, Uint8Array]> =>
    cf === 'write'
      ? (async function* () {
          yield [Buffer.from('b'), Buffer.from('1')];
          yield [Buffer.from('a'), Buffer.from('1')];
        })()
      : records(cf, 10, 10);
  await assert.rejects(mgr.build(KEY, region(7), bad), /not greater/);
  assert.deepEqual(await readdir(dir), []);
  assert.equal(mgr.isRegistered(KEY), false);
});

test('manager: registration limits and counts', async (t) => {
  const mgr = new SnapManager(await tempDir(t), { maxConcurrentGenerating: 1, maxConcurrentReceiving: 2 });
  const k = (i: number): SnapKey => ({ regionId: i, term: 1, index: 10 });
  mgr.register(k(1), 'generating');
  assert.throws(() => mgr.register(k(2), 'generating'), SnapshotBusyError);
  await assert.rejects(mgr.build(k(3), region(3), sourceOf(SMALL)), SnapshotBusyError);
  mgr.register(k(2), 'receiving');
  mgr.register(k(3), 'receiving');
  assert.throws(() => mgr.register(k(4), 'receiving'), SnapshotBusyError);
  for (let i = 0; i < 10; i++) mgr.register(k(5), 'sending'); // no limit
  mgr.register(k(5), 'applying');
  mgr.deregister(k(5), 'applying');
  assert.equal(mgr.isRegistered(k(5), 'applying'), false);
  for (let i = 0; i < 9; i++) mgr.deregister(k(5), 'sending');
  assert.equal(mgr.isRegistered(k(5), 'sending'), true);
  mgr.deregister(k(5), 'sending');
  assert.equal(mgr.isRegistered(k(5)), false);
  mgr.deregister(k(1), 'generating');
  mgr.register(k(2), 'generating'); // a key may hold several purposes
  assert.equal(mgr.isRegistered(k(2), 'receiving') && mgr.isRegistered(k(2), 'generating'), true);
});

test('manager: delete, gc, totalSize, init', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'gen_1_1_1_default.sst.0a1b.tmp'), 'x');
  await writeFile(join(dir, 'other.tmp'), 'x');
  await writeFile(join(dir, 'keep.txt'), 'x');
  const mgr = new SnapManager(dir);
  await mgr.init();
  assert.deepEqual(await readdir(dir), ['keep.txt']);
  await rm(join(dir, 'keep.txt'));
  assert.equal(await mgr.totalSize(), 0);

  const k1: SnapKey = { regionId: 1, term: 1, index: 5 };
  const k2: SnapKey = { regionId: 2, term: 1, index: 5 };
  const k3: SnapKey = { regionId: 3, term: 2, index: 9 };
  await buildSnap(mgr, k1, SMALL);
  await buildSnap(mgr, k2, SMALL);
  const m3 = await buildSnap(mgr, k3, SMALL);
  assert.ok((await mgr.totalSize()) > 0);

  mgr.register(k1, 'sending');
  assert.equal(await mgr.delete('gen', k1), false);
  assert.equal(await mgr.exists('gen', k1), true);
  // Unwanted gen snapshots go at once, registered or wanted ones stay.
  assert.equal(await mgr.gc((_kind, key) => key.regionId === 3), 1);
  assert.equal(await mgr.exists('gen', k1), true);
  assert.equal(await mgr.exists('gen', k2), false);
  assert.equal(await mgr.exists('gen', k3), true);
  mgr.deregister(k1, 'sending');
  assert.equal(await mgr.delete('gen', k1), true);
  assert.equal(await mgr.exists('gen', k1), false);

  // A received snapshot (files copied from k3) plus leftovers of an interrupted receive.
  for (const cf of RAW_CFS) await writeFile(mgr.cfPath('rev', k3, cf), await readFile(mgr.cfPath('gen', k3, cf)));
  await mgr.writeMeta('rev', m3);
  await mgr.verify('rev', k3, m3);
  await writeFile(`${mgr.cfPath('rev', k1, 'lock')}.beef.tmp`, 'partial');
  assert.equal(await mgr.gc((kind) => kind === 'gen'), 0); // not stale yet (10 min)
  const eager = new SnapManager(dir, { staleAgeMs: 0 });
  eager.register(k3, 'applying');
  assert.equal(await eager.gc((kind) => kind === 'gen'), 1); // only the leftovers of k1
  assert.equal(await eager.exists('rev', k3), true);
  eager.deregister(k3, 'applying');
  assert.equal(await eager.gc((kind) => kind === 'gen'), 1);
  assert.equal(await eager.exists('rev', k3), false);
  assert.deepEqual(
    (await readdir(dir)).filter((n) => !n.startsWith('gen_3_2_9')),
    [],
  );

  assert.equal(await mgr.delete('gen', k3), true);
  assert.equal(await mgr.totalSize(), 0);
});

// The store's snapshot GC asks before each file whether its snapshot is wanted, not once before
// its scan: a snapshot that finishes generating during the GC's awaits is its peer's current one
// from then on, and deleting it would leave the peer offering a snapshot whose files are gone to
// every follower (a new voter that can only catch up by snapshot never would, and the region
// could lose its quorum).
test('manager: gc asks again before each file whether a snapshot is wanted; complete()', async (t) => {
  const dir = await tempDir(t);
  const mgr = new SnapManager(dir);
  await mgr.init();
  const k: SnapKey = { regionId: 1, term: 2, index: 30 };
  await buildSnap(mgr, k, SMALL);
  assert.ok(await mgr.complete('gen', k));
  // Unwanted when the scan starts, wanted from the first file on (it became current meanwhile).
  let asked = 0;
  assert.equal(await mgr.gc(() => ++asked > 1), 0);
  assert.ok(asked > 1, 'gc did not ask again');
  assert.ok(await mgr.complete('gen', k), 'gc deleted files of a snapshot that became wanted');
  // A snapshot missing a file is not complete (a generation must not reuse it).
  await rm(mgr.cfPath('gen', k, 'write'));
  assert.equal(await mgr.exists('gen', k), true);
  assert.equal(await mgr.complete('gen', k), null);
  assert.equal(await mgr.gc(() => false), 1);
  assert.equal(await mgr.complete('gen', k), null);
});

// ---- transfer ----

test('transfer: a few MB in 64 KiB chunks through protobuf, read back intact', async (t) => {
  const [a, b] = await pair(t);
  const meta = await buildSnap(a, KEY, MB3);
  const msg = snapMsg(KEY, meta);
  const sizes: number[] = [];
  const got = await receiveSnapshotChunks(
    b,
    wire(sendSnapshotChunks(a, msg, { chunkBytes: 64 * 1024 }), (bytes) => {
      sizes.push(bytes.byteLength);
      return bytes;
    }),
  );
  assert.equal(got.regionId, KEY.regionId);
  assert.equal(got.message!.snapshot!.metadata!.index, KEY.index);
  assert.ok(sizes.length > 40, `${sizes.length} chunks`);
  assert.ok(
    sizes.every((s) => s <= 64 * 1024 + 16),
    'chunks are bounded',
  );
  await b.verify('rev', KEY, meta);
  await expectShape(b, KEY, MB3);
  assert.deepEqual([a.stats.sent, a.stats.sendFailed, b.stats.received, b.stats.receiveFailed], [1, 0, 1, 0]);
  assert.equal(a.stats.bytesSent, b.stats.bytesReceived);
  assert.equal(a.isRegistered(KEY) || b.isRegistered(KEY), false);
  assert.equal(
    (await readdir(b.dir)).some((n) => n.endsWith('.tmp')),
    false,
  );

  // Again: already present, so it is drained and not rewritten.
  const before = await Promise.all(RAW_CFS.map((cf) => stat(b.cfPath('rev', KEY, cf))));
  const again = await receiveSnapshotChunks(b, wire(sendSnapshotChunks(a, msg, { chunkBytes: 64 * 1024 })));
  assert.equal(again.regionId, KEY.regionId);
  const after = await Promise.all(RAW_CFS.map((cf) => stat(b.cfPath('rev', KEY, cf))));
  assert.deepEqual(
    after.map((s) => [s.ino, s.mtimeMs]),
    before.map((s) => [s.ino, s.mtimeMs]),
  );
  assert.equal(a.stats.sent, 2);
  assert.equal(b.stats.received, 1);

  // A broken stream while draining fails the receive but keeps the complete copy.
  await assert.rejects(
    receiveSnapshotChunks(
      b,
      wire(sendSnapshotChunks(a, msg), (bytes, i) => (i === 2 ? 'fail' : bytes)),
    ),
    /connection reset/,
  );
  await b.verify('rev', KEY, meta);
  assert.equal(await b.exists('rev', KEY), true);

  // A damaged copy is replaced, unless it is being applied.
  await flipByte(b.cfPath('rev', KEY, 'write'), 50);
  b.register(KEY, 'applying');
  await assert.rejects(receiveSnapshotChunks(b, wire(sendSnapshotChunks(a, msg))), SnapshotBusyError);
  assert.equal(await b.exists('rev', KEY), true);
  b.deregister(KEY, 'applying');
  await receiveSnapshotChunks(b, wire(sendSnapshotChunks(a, msg)));
  await b.verify('rev', KEY, meta);
  assert.equal(b.stats.received, 2);
  assert.equal(a.isRegistered(KEY) || b.isRegistered(KEY), false);
});

test('transfer: a corrupted chunk fails the receive and leaves no files', async (t) => {
  const [a, b] = await pair(t);
  const meta = await buildSnap(a, KEY, MB3);
  const tap = (bytes: Uint8Array, i: number): Uint8Array => {
    if (i === 6) bytes[bytes.byteLength >> 1]! ^= 0x5a;
    return bytes;
  };
  await assert.rejects(
    receiveSnapshotChunks(b, wire(sendSnapshotChunks(a, snapMsg(KEY, meta), { chunkBytes: 64 * 1024 }), tap)),
    SnapshotCorruptError,
  );
  assert.deepEqual(await revFiles(b.dir), []);
  assert.equal(b.stats.receiveFailed, 1);
  assert.equal(b.stats.received, 0);
  assert.equal(b.isRegistered(KEY), false);
  assert.equal(a.isRegistered(KEY), false, 'the sender was stopped and released its registration');
  assert.equal(a.stats.sendFailed, 1);
  // The sender's snapshot is intact and a clean retry works.
  await receiveSnapshotChunks(b, wire(sendSnapshotChunks(a, snapMsg(KEY, meta), { chunkBytes: 64 * 1024 })));
  await expectShape(b, KEY, MB3);
});

test('transfer: a file damaged on disk between generation and send fails the send, and its files are removed', async (t) => {
  const [a, b] = await pair(t);
  const meta = await buildSnap(a, KEY, MB3);
  await flipByte(a.cfPath('gen', KEY, 'default'), 70_000); // same size: only the checksum tells
  const err = await receiveSnapshotChunks(b, wire(sendSnapshotChunks(a, snapMsg(KEY, meta), { chunkBytes: 64 * 1024 }))).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof SnapshotCorruptError, `the receive failed as corrupt: ${String(err)}`);
  assert.deepEqual(await revFiles(b.dir), [], 'nothing of it kept by the receiver');
  assert.equal(a.stats.sendFailed, 1);
  assert.equal(a.isRegistered(KEY), false);
  // The sender removed the damaged snapshot: regenerating at the same point builds new files
  // instead of reusing these (complete() only checks sizes), and a send of it is "not found".
  assert.equal(await a.exists('gen', KEY), false);
  assert.equal(await a.complete('gen', KEY), null);
  assert.deepEqual(
    (await readdir(a.dir)).filter((n) => n.startsWith('gen_')),
    [],
  );

  // The sender's own check, without a receiver: the error names the file and says why.
  const meta2 = await buildSnap(a, KEY, MB3);
  await flipByte(a.cfPath('gen', KEY, 'write'), 10);
  const drain = async (): Promise<void> => {
    for await (const _ of sendSnapshotChunks(a, snapMsg(KEY, meta2), { chunkBytes: 64 * 1024 }));
  };
  await assert.rejects(
    drain(),
    (e: Error) =>
      e instanceof SnapshotCorruptError &&
      e.message.includes(a.cfPath('gen', KEY, 'write')) &&
      /damaged on disk since it was generated/.test(e.message),
  );
  assert.equal(await a.exists('gen', KEY), false);

  // A damaged meta file: the send fails before any chunk, and the snapshot is removed too.
  const meta3 = await buildSnap(a, KEY, SMALL);
  await flipByte(a.metaPath('gen', KEY), 3);
  await assert.rejects(sendSnapshotChunks(a, snapMsg(KEY, meta3)).next(), SnapshotCorruptError);
  assert.equal(await a.exists('gen', KEY), false);
});

test('transfer: input ending early or failing cleans up', async (t) => {
  const [a, b] = await pair(t);
  const meta = await buildSnap(a, KEY, MB3);
  const send = (): AsyncGenerator<raft_serverpb.ISnapshotChunk> => sendSnapshotChunks(a, snapMsg(KEY, meta), { chunkBytes: 64 * 1024 });
  await assert.rejects(
    receiveSnapshotChunks(
      b,
      wire(send(), (bytes, i) => (i === 20 ? 'stop' : bytes)),
    ),
    SnapshotCorruptError,
  );
  assert.deepEqual(await revFiles(b.dir), []);
  await assert.rejects(
    receiveSnapshotChunks(
      b,
      wire(send(), (bytes, i) => (i === 1 ? 'stop' : bytes)),
    ),
    /archive ended without/,
  );
  await assert.rejects(
    receiveSnapshotChunks(
      b,
      wire(send(), (bytes, i) => (i === 9 ? 'fail' : bytes)),
    ),
    /connection reset/,
  );
  assert.deepEqual(await revFiles(b.dir), []);
  assert.equal(b.stats.receiveFailed, 3);
  assert.equal(b.isRegistered(KEY), false);
  assert.equal(a.isRegistered(KEY), false);
});

test('transfer: bad first chunks, busy receiver, missing gen snapshot', async (t) => {
  const [a, b] = await pair(t, { maxConcurrentReceiving: 1 });
  const meta = await buildSnap(a, KEY, SMALL);
  const msg = snapMsg(KEY, meta);
  const from = async function* (...c: raft_serverpb.ISnapshotChunk[]) {
    yield* c;
  };
  await assert.rejects(receiveSnapshotChunks(b, from()), /stream is empty/);
  await assert.rejects(receiveSnapshotChunks(b, from({ data: Buffer.from('x') })), /no raft message/);
  const append: RaftMessage = { ...msg, message: { ...msg.message, msgType: eraftpb.MessageType.MsgAppend } };
  await assert.rejects(receiveSnapshotChunks(b, from({ message: append })), /not MsgSnapshot/);
  const noMeta: RaftMessage = {
    ...msg,
    message: {
      ...msg.message,
      snapshot: { ...msg.message!.snapshot, data: raft_serverpb.RaftSnapshotData.encode({ version: 1 }).finish() },
    },
  };
  await assert.rejects(
    receiveSnapshotChunks(b, from({ message: noMeta })),
    (e: Error) => e instanceof SnapshotCorruptError && /no meta/.test(e.message),
  );
  assert.equal(b.stats.receiveFailed, 4);

  b.register({ regionId: 99, term: 1, index: 1 }, 'receiving');
  await assert.rejects(receiveSnapshotChunks(b, sendSnapshotChunks(a, msg)), SnapshotBusyError);
  assert.equal(b.stats.receiveFailed, 4);
  assert.equal(a.isRegistered(KEY), false);

  const missing = sendSnapshotChunks(a, snapMsg({ ...KEY, index: 43 }, meta));
  await assert.rejects(missing.next(), SnapshotNotFoundError);
});

test('transfer: sending holds its registration until the generator ends', async (t) => {
  const [a] = await pair(t);
  const meta = await buildSnap(a, KEY, MB3);
  const g = sendSnapshotChunks(a, snapMsg(KEY, meta), { chunkBytes: 64 * 1024 });
  assert.equal(a.isRegistered(KEY), false); // nothing runs before the first next()
  const first = await g.next();
  assert.ok(first.value?.message && !first.value.data?.byteLength);
  assert.equal(a.isRegistered(KEY, 'sending'), true);
  assert.equal(await a.delete('gen', KEY), false);
  assert.ok((await g.next()).value?.data?.byteLength);
  await g.return(undefined);
  assert.equal(a.isRegistered(KEY), false);
  assert.equal(a.stats.sendFailed, 1);

  let n = 0;
  for await (const _ of sendSnapshotChunks(a, snapMsg(KEY, meta), { chunkBytes: 64 * 1024 })) {
    if (++n === 5) {
      assert.equal(a.isRegistered(KEY, 'sending'), true);
      break;
    }
  }
  assert.equal(a.isRegistered(KEY), false);
  assert.equal(a.stats.sendFailed, 2);

  for await (const _ of sendSnapshotChunks(a, snapMsg(KEY, meta))) assert.equal(a.isRegistered(KEY, 'sending'), true);
  assert.equal(a.isRegistered(KEY), false);
  assert.equal(a.stats.sent, 1);
  await a.verify('gen', KEY, meta);
});
