// Idle-regions benchmark (a script, not a test): 3 stores in one process, each with a peer of
// every one of N regions (default 10,000), connected by an in-process transport that round-trips
// every message through protobuf. After every region has a leader, the process sits idle (no
// client traffic) and the script reports its CPU (% of one core, all 3 stores together and per
// store) and its memory per region: what ticks, heartbeats and bookkeeping cost when nothing
// happens. Also the time to elect every region and the raft messages per second while idle.
// Hibernation of idle regions is on (the default); --no-hibernate measures without it.
//   node dist/bench/idle.js [--regions 10000] [--measure-ms 10000] [--tick-ms 100] [--no-hibernate]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engines } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import { bootstrapRegion, bootstrapStore, Store, storeConfig } from '../src/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
process.env.TSKV_LOG ??= 'error';
const nRegions = Number(arg('regions', '10000'));
const measureMs = Number(arg('measure-ms', '10000'));
const tickMs = Number(arg('tick-ms', '100'));
const MB = 1024 * 1024;
const hibernate = !process.argv.includes('--no-hibernate');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-idle-'));
  const stores = new Map<number, Store>();
  const engines: Engines[] = [];
  let messages = 0;
  const transport = {
    send(m: raft_serverpb.IRaftMessage): void {
      messages++;
      const b = raft_serverpb.RaftMessage.encode(m).finish();
      setImmediate(() => stores.get(m.toPeer!.storeId!)?.onRaftMessage(raft_serverpb.RaftMessage.decode(b)));
    },
  };
  const key = (i: number): Uint8Array => Buffer.from(`r${String(i).padStart(6, '0')}`);
  const regions: metapb.IRegion[] = Array.from({ length: nRegions }, (_, i) => ({
    id: i + 1,
    startKey: i === 0 ? new Uint8Array() : key(i),
    endKey: i === nRegions - 1 ? new Uint8Array() : key(i + 1),
    regionEpoch: { confVer: 1, version: 1 },
    peers: [1, 2, 3].map((s) => ({ id: (i + 1) * 10 + s, storeId: s })),
  }));
  try {
    const tBoot = performance.now();
    for (const id of [1, 2, 3]) {
      const e = await Engines.open(join(dir, `s${id}`), { sync: false });
      engines.push(e);
      await bootstrapStore(e, 1, id);
      for (const r of regions) await bootstrapRegion(e, r);
    }
    const bootMs = performance.now() - tBoot;
    global.gc?.();
    const mem0 = process.memoryUsage();
    for (const id of [1, 2, 3]) {
      const cfg = storeConfig({
        storeId: id,
        raftBaseTickMs: tickMs,
        schedulerHeartbeatTickMs: 60_000,
        raftLogGcTickMs: 60_000,
        splitCheckTickMs: 60_000,
        hibernateRegions: hibernate,
      });
      const s = await Store.create(cfg, engines[id - 1]!, transport, { regionHeartbeat: () => null });
      stores.set(id, s);
      s.start();
    }
    const tElect = performance.now();
    for (;;) {
      let led = 0;
      for (let r = 1; r <= nRegions; r++) if ([...stores.values()].some((s) => s.peer(r)?.isLeader())) led++;
      if (led === nRegions) break;
      if (performance.now() - tElect > 300_000) throw new Error(`only ${led} of ${nRegions} regions elected a leader`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const electMs = performance.now() - tElect;
    // Settle: the elections' last appends, and with hibernation every region going to sleep.
    const tSettle = performance.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const asleep = [...stores.values()].reduce((n, s) => n + s.stats().hibernating, 0);
      if (!hibernate || asleep === nRegions * 3 || performance.now() - tSettle > 60_000) break;
    }
    const asleep = [...stores.values()].reduce((n, s) => n + s.stats().hibernating, 0);
    global.gc?.();
    const mem1 = process.memoryUsage();
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const m0 = messages;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, measureMs));
    const cpu = process.cpuUsage(cpu0);
    // The share of the time the stores' own JS ran; process CPU also counts LevelDB's and the
    // garbage collector's threads.
    const elu = performance.eventLoopUtilization(elu0);
    const wall = performance.now() - t0;
    const cpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
    const peers = nRegions * 3;
    const r = {
      regions: nRegions,
      tickMs,
      hibernate,
      hibernatingPeers: asleep,
      bootstrapMs: Math.round(bootMs),
      electAllMs: Math.round(electMs),
      idleCpuPctOneCoreAllStores: Number(cpuPct.toFixed(1)),
      idleCpuPctPerStore: Number((cpuPct / 3).toFixed(1)),
      idleEventLoopPct: Number((elu.utilization * 100).toFixed(1)),
      idleMessagesPerSec: Math.round(((messages - m0) / wall) * 1000),
      rssPerPeerKb: Number(((mem1.rss - mem0.rss) / peers / 1024).toFixed(1)),
      heapPerPeerKb: Number(((mem1.heapUsed - mem0.heapUsed) / peers / 1024).toFixed(1)),
      rssMb: Math.round(mem1.rss / MB),
    };
    const hibernation = hibernate ? `on (${asleep} of ${nRegions * 3} peers asleep)` : 'off';
    console.log(
      `idle regions: node ${process.version}, ${cpus()[0]?.model ?? '?'} x${cpus().length}; ` +
        `${nRegions} regions x 3 stores in one process, tick ${tickMs} ms, hibernation ${hibernation}`,
    );
    console.log(`  bootstrap ${r.bootstrapMs} ms, every region elected in ${r.electAllMs} ms`);
    console.log(
      `  idle CPU: ${r.idleCpuPctOneCoreAllStores}% of one core for the 3 stores (${r.idleCpuPctPerStore}% per store), ` +
        `${r.idleMessagesPerSec} raft messages/s`,
    );
    console.log(`  event loop busy ${r.idleEventLoopPct}% of the time (the stores' JS, without LevelDB's and the GC's threads)`);
    console.log(`  memory per peer: ${r.rssPerPeerKb} KiB RSS, ${r.heapPerPeerKb} KiB JS heap (process RSS ${r.rssMb} MB)`);
    console.log(JSON.stringify({ bench: 'idle', node: process.version, ...r }));
  } finally {
    for (const s of stores.values()) await s.stop();
    for (const e of engines) await e.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
