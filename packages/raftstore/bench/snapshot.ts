// Snapshot benchmark (a script, not a test): a region of --mb megabytes (1 KiB random values, so
// LevelDB cannot compress them away) is loaded into one store's kv engine, then
//   generate: streamed from an engine snapshot into SST-like files (SnapManager.build, as the
//             region worker does);
//   transfer: sent as chunks (sendSnapshotChunks), each encoded and decoded as on the wire, and
//             received into a second store's snap directory (receiveSnapshotChunks: checksums);
//   apply:    the region worker's apply into the second store's kv engine (verify, delete old
//             range, batched writes, final synced state).
// Prints MB/s per phase and the process's peak RSS during the phases (sampled every 10 ms), and
// checks that every record arrived. The load runs in a child process, so that the memory it used
// (which the allocator keeps) does not count: the measuring process starts fresh.
//   node dist/bench/snapshot.js [--mb 256] [--json]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_CFS, Engines, regionStateKey } from '@tskv/engine';
import { eraftpb, type metapb, raft_serverpb } from '@tskv/proto';
import { storeConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { RegionWorker } from '../src/region_worker.js';
import { Router } from '../src/router.js';
import { receiveSnapshotChunks, type SnapKey, SnapManager, sendSnapshotChunks } from '../src/snap/index.js';
import type { SnapshotChunk } from '../src/transport.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
process.env.TSKV_LOG ??= 'error';
const MB = 1024 * 1024;
const totalMb = Number(arg('mb', '256'));
const json = process.argv.includes('--json');
const maxOpenFiles = Number(arg('max-open-files', '0')) || undefined;
const applyBatchKb = Number(arg('apply-batch-kb', '0'));
const VALUE_BYTES = 1024;

// RSS splits into anonymous memory (what the process allocated: JS heap, buffers, LevelDB's
// memtables and caches) and file-backed pages (LevelDB mmaps its table files for reading; those
// pages are page cache the kernel reclaims at will, but they count in RSS while mapped).
let peakRss = 0;
let peakAnon = 0;
let peakFile = 0;
function memSample(): { rss: number; anon: number; file: number } {
  const rss = process.memoryUsage.rss();
  try {
    const st = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string): number => Number((st.match(new RegExp(`${k}:\\s+(\\d+)`)) ?? [])[1] ?? 0) * 1024;
    return { rss, anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch {
    return { rss, anon: rss, file: 0 };
  }
}
function sampleRss(): void {
  const m = memSample();
  peakRss = Math.max(peakRss, m.rss);
  peakAnon = Math.max(peakAnon, m.anon);
  peakFile = Math.max(peakFile, m.file);
}

const records = Math.ceil((totalMb * MB) / (VALUE_BYTES + 16));

/** Child process: loads the region into `<dir>/a` and a stale key into `<dir>/b`, then exits. */
async function load(dir: string): Promise<void> {
  const a = await Engines.open(join(dir, 'a'), { sync: false });
  const b = await Engines.open(join(dir, 'b'), { sync: false });
  try {
    let wb = a.kv.writeBatch();
    for (let i = 0; i < records; i++) {
      const key = Buffer.from(`k${String(i).padStart(12, '0')}`);
      // Every 10th record in the lock and write CFs, so every CF file has data.
      const cf = i % 10 === 1 ? 'lock' : i % 10 === 2 ? 'write' : 'default';
      wb.put(cf, key, randomBytes(VALUE_BYTES));
      if (wb.count >= 1024) {
        await a.kv.write(wb);
        wb = a.kv.writeBatch();
      }
    }
    await a.kv.write(wb);
    // Old data on the receiving side inside the range: the apply must delete it.
    await b.kv.write(b.kv.writeBatch().put('default', Buffer.from('k_stale'), Buffer.from('x')));
  } finally {
    await a.close();
    await b.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-snapbench-'));
  const tLoad = performance.now();
  execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--load-into', dir, '--mb', String(totalMb)], { stdio: 'inherit' });
  const loadMs = performance.now() - tLoad;
  const a = await Engines.open(join(dir, 'a'), { sync: false, maxOpenFiles });
  const b = await Engines.open(join(dir, 'b'), { sync: false, maxOpenFiles });
  const region: metapb.IRegion = {
    id: 1,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    regionEpoch: { confVer: 1, version: 1 },
    peers: [
      { id: 1, storeId: 1 },
      { id: 2, storeId: 2 },
    ],
  };
  try {
    const base = memSample();
    peakRss = base.rss;
    peakAnon = base.anon;
    peakFile = base.file;
    const sampler = setInterval(sampleRss, 10);

    // ---- generate ----
    const logger = createLogger({ storeId: 0 });
    const mgrA = new SnapManager(join(dir, 'snap-a'), { logger });
    const mgrB = new SnapManager(join(dir, 'snap-b'), { logger });
    await mgrA.init();
    await mgrB.init();
    const key: SnapKey = { regionId: 1, term: 6, index: 100 };
    const tGen = performance.now();
    const kvSnap = a.kv.snapshot();
    const meta = await mgrA.build(key, region, (cf) => a.kv.scan(cf, new Uint8Array(0), new Uint8Array(0), { snapshot: kvSnap }));
    await kvSnap.close();
    const genMs = performance.now() - tGen;
    const genRss = peakRss;
    const genAnon = peakAnon;
    const fileBytes = (meta.cfFiles ?? []).reduce((s, f) => s + Number(f.size ?? 0), 0);

    // ---- transfer ----
    const data = raft_serverpb.RaftSnapshotData.encode({ region, fileSize: fileBytes, meta, version: 1 }).finish();
    const msg: raft_serverpb.IRaftMessage = {
      regionId: 1,
      fromPeer: { id: 1, storeId: 1 },
      toPeer: { id: 2, storeId: 2 },
      regionEpoch: region.regionEpoch,
      message: {
        msgType: eraftpb.MessageType.MsgSnapshot,
        to: 2,
        from: 1,
        term: 6,
        snapshot: { data, metadata: { index: key.index, term: key.term, confState: { voters: [1, 2] } } },
      },
    };
    let wireBytes = 0;
    async function* wire(): AsyncGenerator<SnapshotChunk> {
      for await (const c of sendSnapshotChunks(mgrA, msg, { chunkBytes: MB })) {
        const bytes = raft_serverpb.SnapshotChunk.encode(c).finish();
        wireBytes += bytes.length;
        yield raft_serverpb.SnapshotChunk.decode(bytes);
      }
    }
    const tXfer = performance.now();
    await receiveSnapshotChunks(mgrB, wire());
    const xferMs = performance.now() - tXfer;
    const xferRss = peakRss;
    const xferAnon = peakAnon;

    // ---- apply ----
    const cfg = storeConfig({ storeId: 2, ...(applyBatchKb ? { snapApplyBatchBytes: applyBatchKb * 1024 } : {}) });
    const worker = new RegionWorker(cfg, b, mgrB, new Router(), logger);
    let applyErr: Error | null = null;
    worker.onFatal = (e) => (applyErr = e);
    // What the raft worker's acceptance of the snapshot leaves for the region worker.
    await b.kv.write(
      b.kv
        .writeBatch()
        .put(
          'raft',
          regionStateKey(1),
          raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Applying, region }).finish(),
        ),
    );
    const tApply = performance.now();
    worker.apply({ region, key });
    await worker.idle();
    const applyMs = performance.now() - tApply;
    clearInterval(sampler);
    sampleRss();
    if (applyErr) throw applyErr;

    // ---- check ----
    let got = 0;
    for (const cf of DATA_CFS) for await (const _ of b.kv.scan(cf, new Uint8Array(0), new Uint8Array(0))) got++;
    if (got !== records) throw new Error(`applied ${got} records, loaded ${records}`);
    const dataMb = fileBytes / MB;
    const r = {
      regionMb: totalMb,
      records,
      fileMb: Math.round(dataMb * 10) / 10,
      loadMs: Math.round(loadMs),
      generateMBps: Math.round(dataMb / (genMs / 1000)),
      transferMBps: Math.round(wireBytes / MB / (xferMs / 1000)),
      applyMBps: Math.round(dataMb / (applyMs / 1000)),
      generateMs: Math.round(genMs),
      transferMs: Math.round(xferMs),
      applyMs: Math.round(applyMs),
      baseRssMb: Math.round(base.rss / MB),
      baseAnonMb: Math.round(base.anon / MB),
      peakRssMb: Math.round(peakRss / MB),
      peakAnonMb: Math.round(peakAnon / MB),
      peakFileMb: Math.round(peakFile / MB),
      peakRssGenerateMb: Math.round(genRss / MB),
      peakAnonGenerateMb: Math.round(genAnon / MB),
      peakRssTransferMb: Math.round(xferRss / MB),
      peakAnonTransferMb: Math.round(xferAnon / MB),
      recordsApplied: got,
    };
    if (json) console.log(JSON.stringify(r));
    else {
      console.log(`snapshot of a ${totalMb} MB region (${records} records, ${r.fileMb} MB of files), loaded in ${r.loadMs} ms`);
      console.log(`  generate  ${r.generateMBps} MB/s  (${r.generateMs} ms)`);
      console.log(`  transfer  ${r.transferMBps} MB/s  (${r.transferMs} ms, chunks of 1 MiB, encode+decode+checksums)`);
      console.log(`  apply     ${r.applyMBps} MB/s  (${r.applyMs} ms)`);
      console.log(
        `  RSS: ${r.baseRssMb} MB before, peak ${r.peakRssMb} MB (generate ${r.peakRssGenerateMb}, transfer ${r.peakRssTransferMb})`,
      );
      console.log(
        `  of which anonymous: ${r.baseAnonMb} MB before, peak ${r.peakAnonMb} MB (generate ${r.peakAnonGenerateMb}, ` +
          `transfer ${r.peakAnonTransferMb}); file-backed (mmapped LevelDB tables) peak ${r.peakFileMb} MB`,
      );
    }
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadInto = arg('load-into', '');
(loadInto ? load(loadInto) : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
