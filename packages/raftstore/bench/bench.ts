// Raftstore benchmark (a script, not a test): an in-process 3-store cluster on real LevelDB with
// sync raft writes; puts/s and p50/p99 latency for 1, 64 and 256 concurrent clients, 100-byte
// values, over 1, 16 and 128 regions pre-split by hand.
//   node dist/bench/bench.js [--duration-ms 5000] [--clients 1,64,256] [--regions 1,16,128] [--no-sync]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engines } from '@tskv/engine';
import { type metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { bootstrapRegion, bootstrapStore, Store, storeConfig } from '../src/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
process.env.TSKV_LOG ??= 'error';
const durationMs = Number(arg('duration-ms', '5000'));
const clientCounts = arg('clients', '1,64,256').split(',').map(Number);
const regionCounts = arg('regions', '1,16,128').split(',').map(Number);
const sync = !process.argv.includes('--no-sync');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const regionKey = (i: number): string => `k${String(i).padStart(3, '0')}`;

interface Result {
  regions: number;
  clients: number;
  puts: number;
  putsPerSec: number;
  p50Us: number;
  p99Us: number;
  raftWritesPerSec: number;
  entriesPerRaftWrite: number;
  /** CPU time of the process (3 stores, LevelDB threads, the clients) per put. */
  cpuUsPerPut: number;
}

async function runOne(nRegions: number, nClients: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-bench-'));
  const stores = new Map<number, Store>();
  const engines: Engines[] = [];
  const transport = {
    send(m: raft_serverpb.IRaftMessage): void {
      // A protobuf round trip per message, as on the wire.
      const b = raft_serverpb.RaftMessage.encode(m).finish();
      setImmediate(() => stores.get(m.toPeer!.storeId!)?.onRaftMessage(raft_serverpb.RaftMessage.decode(b)));
    },
  };
  const regions: metapb.IRegion[] = Array.from({ length: nRegions }, (_, i) => ({
    id: i + 1,
    startKey: i === 0 ? new Uint8Array() : enc(regionKey(i)),
    endKey: i === nRegions - 1 ? new Uint8Array() : enc(regionKey(i + 1)),
    regionEpoch: { confVer: 1, version: 1 },
    peers: [1, 2, 3].map((s) => ({ id: (i + 1) * 10 + s, storeId: s })),
  }));
  for (const id of [1, 2, 3]) {
    const e = await Engines.open(join(dir, `s${id}`));
    engines.push(e);
    await bootstrapStore(e, 1, id);
    for (const r of regions) await bootstrapRegion(e, r);
    const s = await Store.create(storeConfig({ storeId: id, raftBaseTickMs: 100, syncLog: sync, requestTimeoutMs: 10_000 }), e, transport, {
      regionHeartbeat: () => null,
    });
    stores.set(id, s);
    s.start();
  }
  const leaderOf = async (regionId: number): Promise<Store> => {
    for (;;) {
      for (const s of stores.values()) if (s.peer(regionId)?.isLeader()) return s;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const leaders = await Promise.all(regions.map((r) => leaderOf(r.id!)));
  const writesBefore = [...stores.values()].reduce((n, s) => n + s.stats().raftWorker.raftWrites, 0);
  const entriesBefore = [...stores.values()].reduce((n, s) => n + s.stats().raftWorker.entriesPersisted, 0);
  const value = new Uint8Array(100).fill(120);
  const lat: number[] = [];
  let puts = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const end = t0 + durationMs;
  await Promise.all(
    Array.from({ length: nClients }, async (_, c) => {
      const ri = c % nRegions;
      const r = regions[ri]!;
      let seq = 0;
      while (performance.now() < end) {
        const key = enc(`${regionKey(ri)}-c${c}-${seq++}`);
        const s = performance.now();
        const resp = await leaders[ri]!.call({
          header: { regionId: r.id, regionEpoch: r.regionEpoch },
          requests: [{ cmdType: raft_cmdpb.CmdType.Put, put: { cf: 'default', key, value } }],
        });
        if (resp.header?.error) throw new Error(`put failed: ${resp.header.error.message}`);
        lat.push(performance.now() - s);
        puts++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const writes = [...stores.values()].reduce((n, s) => n + s.stats().raftWorker.raftWrites, 0) - writesBefore;
  const entries = [...stores.values()].reduce((n, s) => n + s.stats().raftWorker.entriesPersisted, 0) - entriesBefore;
  for (const s of stores.values()) await s.stop();
  for (const e of engines) await e.close();
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => Math.round(1000 * (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0));
  return {
    regions: nRegions,
    clients: nClients,
    puts,
    putsPerSec: Math.round(puts / elapsed),
    p50Us: pct(0.5),
    p99Us: pct(0.99),
    raftWritesPerSec: Math.round(writes / elapsed),
    entriesPerRaftWrite: Number((entries / Math.max(1, writes)).toFixed(1)),
    cpuUsPerPut: Number(((cpu.user + cpu.system) / Math.max(1, puts)).toFixed(1)),
  };
}

async function main(): Promise<void> {
  console.log(`raftstore bench: node ${process.version}, ${cpus()[0]?.model ?? '?'} x${cpus().length}, sync raft log: ${sync}`);
  console.log(`command: node ${process.argv.slice(1).join(' ')}`);
  console.log('regions  clients     puts/s    p50 (ms)   p99 (ms)   raft writes/s  entries/raft write  CPU µs/put');
  const results: Result[] = [];
  for (const r of regionCounts) {
    for (const c of clientCounts) {
      const res = await runOne(r, c);
      results.push(res);
      console.log(
        `${String(r).padStart(7)}  ${String(c).padStart(7)}  ${String(res.putsPerSec).padStart(9)}  ` +
          `${(res.p50Us / 1000).toFixed(2).padStart(10)} ${(res.p99Us / 1000).toFixed(2).padStart(10)}  ` +
          `${String(res.raftWritesPerSec).padStart(13)}  ${String(res.entriesPerRaftWrite).padStart(18)}  ` +
          `${String(res.cpuUsPerPut).padStart(10)}`,
      );
    }
  }
  console.log(JSON.stringify({ bench: 'raftstore', node: process.version, sync, durationMs, results }));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
