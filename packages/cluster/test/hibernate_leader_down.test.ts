// End to end with the real processes: a few hundred regions, most of them led by one store,
// hibernate; that store is SIGKILLed; with no client traffic at all, every region must get a
// new leader on the remaining stores, as the scheduler sees it. Followers of a sleeping region
// run no election timer: what wakes them is their stores' raft streams to the killed store
// breaking. Skips (saying why) until the scheduler and the server are built.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allRegions, type RegionInfo } from '@tskv/client';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN].filter((f) => !existsSync(f));
const skip = missing.length ? `not built yet: ${missing.join(', ')}` : false;

const REGIONS = 300;
// The server's default raft timing: ticks of 100 ms, election after 10.
const ELECTION_MS = 1000;
// Generous for 2 shared cores: the election itself takes well under one election timeout, and
// the scheduler hears of a new leader at the store's next heartbeat (every second).
const BOUND_MS = 20 * ELECTION_MS;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => console.log(`  [hibernate-leader-down] ${msg}`);

/** Polls until check() answers null (resolves the time it took) or timeoutMs passed (rejects with its last answer). */
async function until(what: string, timeoutMs: number, check: () => Promise<string | null>, pollMs = 200): Promise<number> {
  const t0 = Date.now();
  let why = 'not checked yet';
  for (;;) {
    try {
      const r = await check();
      if (r === null) return Date.now() - t0;
      why = r;
    } catch (e) {
      why = `check failed: ${(e as Error).message}`;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms: ${why}`);
    await sleep(pollMs);
  }
}

interface StoreStatus {
  regions: { id: number; hibernating: boolean }[];
}

async function storeStatus(statusAddr: string): Promise<StoreStatus> {
  const res = await fetch(`http://${statusAddr}/status`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${statusAddr}/status: ${res.status}`);
  return (await res.json()) as StoreStatus;
}

const leaderCounts = (regions: readonly RegionInfo[]): Record<number, number> => {
  const out: Record<number, number> = {};
  for (const r of regions) if (r.leader) out[r.leader.storeId] = (out[r.leader.storeId] ?? 0) + 1;
  return out;
};

test(`real cluster: the store leading most of ${REGIONS}+ sleeping regions is killed; every region gets a new leader with no ` +
  `client traffic`, {
  skip,
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-hibernate-down-'));
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  // No balancing: a split's new regions are mostly led where the split region was, so most
  // leaders stay on the store that led the first region (the one killed below). Tiny regions: a
  // few hundred KiB of writes split the key space into hundreds (up to 16 pieces per split
  // check, so a few passes).
  writeFileSync(join(configDir, 'scheduler.json'), JSON.stringify({ enableBalanceLeader: false, enableBalanceRegion: false }));
  writeFileSync(join(configDir, 'store.json'), JSON.stringify({ regionSplitSize: 1024, regionMaxSize: 1536, splitCheckTickMs: 200 }));
  const c = new ProcessCluster({ dataDir: join(dir, 'cluster'), schedulerPort: 0, basePort: 0, configDir, stopTimeoutMs: 10_000 });
  const unexpected: UnexpectedExit[] = [];
  c.on('unexpected-exit', (e) => unexpected.push(e));
  const t0 = Date.now();
  try {
    await c.start();
    await c.waitUntilReady({ timeoutMs: 60_000 });
    const pd = await c.pd();
    try {
      // Split by writing 1 KiB values until there are enough regions; then no client is left.
      const client = await c.client({ timeoutMs: 20_000 });
      try {
        const value = Buffer.alloc(1024, 'v');
        const keys = Array.from({ length: REGIONS + 20 }, (_, i) => `hib${String(i).padStart(5, '0')}`);
        await until(
          `${REGIONS} regions`,
          90_000,
          async () => {
            const n = (await allRegions(pd)).length;
            if (n >= REGIONS) return null;
            for (let i = 0; i < keys.length; i += 32) await client.batchPut(keys.slice(i, i + 32).map((k) => [k, value] as const));
            return `${n} regions`;
          },
          1000,
        );
      } finally {
        client.close();
      }
      const ready = await c.waitUntilReady({ timeoutMs: 60_000 });
      log(`${ready.regions.length} regions ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

      // Every region asleep on every store (and a while more: asleep is how idle regions are).
      const stores = c.addresses.stores;
      await until('every region hibernating', 60_000, async () => {
        for (const s of stores) {
          const awake = (await storeStatus(s.statusAddr)).regions.filter((r) => !r.hibernating);
          if (awake.length)
            return `store ${s.storeId}: ${awake.length} regions awake, e.g. ${awake
              .slice(0, 5)
              .map((r) => r.id)
              .join(', ')}`;
        }
        return null;
      });
      await sleep(2 * ELECTION_MS);

      const before = await allRegions(pd);
      const counts = leaderCounts(before);
      const victimId = Number(Object.entries(counts).sort((a, b) => b[1] - a[1])[0]![0]);
      const victim = stores.find((s) => s.storeId === victimId)!;
      log(
        `${before.length} regions asleep after ${((Date.now() - t0) / 1000).toFixed(1)} s; leaders per store ` +
          `${JSON.stringify(counts)}; killing store ${victimId}`,
      );
      assert.ok(counts[victimId]! >= before.length / 3, `store ${victimId} leads only ${counts[victimId]} of ${before.length} regions`);

      await c.kill(victim.index);
      const took = await until('a leader on a live store for every region, at the scheduler', BOUND_MS, async () => {
        const regions = await allRegions(pd);
        const stale = regions.filter((r) => !r.leader || r.leader.storeId === victimId);
        return stale.length
          ? `${stale.length} of ${regions.length} regions led by store ${victimId} (or by nobody), e.g. ${stale
              .slice(0, 5)
              .map((r) => r.id)
              .join(', ')}`
          : null;
      });
      const after = await allRegions(pd);
      log(
        `store ${victimId} killed: the scheduler knew a new leader for all ${after.length} regions after ${took} ms ` +
          `(${(took / ELECTION_MS).toFixed(1)} election timeouts; its heartbeats come every second); leaders per store ` +
          `${JSON.stringify(leaderCounts(after))}`,
      );
      assert.equal(after.length, before.length);
    } finally {
      pd.close();
    }
    assert.deepEqual(
      unexpected.map((e) => `${e.info.name}: ${e.logTail}`),
      [],
    );
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
    log(`whole test ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
});
