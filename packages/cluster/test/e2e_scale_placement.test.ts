// End to end at scale with the real processes: tinykv-scheduler and
// tinykv-server as child processes on free ports of 127.0.0.1, a temp data dir, sync writes,
// driven by RawClient. On one cluster: 1. splits: small regions, a few MB written, many regions
// tiling the key space; 2. a fourth store gets its share of replicas and leaders; 3. a store
// killed for good has its replicas replaced (maxStoreDownTimeMs short). Data checked after each
// step.
//
// Skips (saying why) until the scheduler and the server are built. Waits poll with generous
// deadlines (2 shared cores): nothing here asserts on speed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allRegions, compareBytes, type RegionInfo } from '@tskv/client';
import { findPeer, keyInRegion } from '@tskv/util';
import {
  fmtCounts,
  getJson,
  healthProblem,
  KiB,
  log,
  monitorPlacement,
  operatorCounts,
  operatorEnds,
  type Probe,
  perStore,
  pool,
  type SchedulerStatus,
  type StoreStatus,
  secs,
  shuffled,
  skip,
  storeIndexOf,
  tilingProblem,
  verifyAll,
  waitFor,
  withCluster,
} from './e2e_scale_helpers.js';

test('real cluster at scale: regions split many times, a fourth store gets its share of replicas and leaders, a dead store has ' +
  'its replicas replaced', {
  skip,
  timeout: 280_000,
}, async () => {
  await withCluster(
    'scale',
    {
      scheduler: { scheduleIntervalMs: 300, maxStoreDownTimeMs: 8000 },
      store: { schedulerHeartbeatTickMs: 500, regionMaxSize: 256 * KiB, regionSplitSize: 128 * KiB, splitCheckTickMs: 500 },
    },
    async ({ c }) => {
      await c.waitUntilReady({ timeoutMs: 90_000 });
      const pd = await c.pd();
      const client = await c.client({ timeoutMs: 30_000 });
      const acked = new Map<string, string>();
      const N = 3600; // 1 KiB values: ~3.6 MB, 3 replicas
      const key = (i: number): string => `s${String(i).padStart(6, '0')}`;
      const value = (i: number): string => {
        const head = `v${i}:`;
        return head + String.fromCharCode(97 + (i % 26)).repeat(KiB - head.length);
      };
      const schedStatus = c.addresses.schedulerStatus;
      try {
        // ---- 1. splits ----
        let t0 = Date.now();
        const order = shuffled(N, 3);
        await pool(order.slice(0, 2000), 64, async (i) => {
          await client.put(key(i), value(i));
          acked.set(key(i), value(i));
        });
        const rest = order.slice(2000);
        const batches = Array.from({ length: Math.ceil(rest.length / 50) }, (_, b) => rest.slice(b * 50, (b + 1) * 50));
        await pool(batches, 4, async (batch) => {
          await client.batchPut(batch.map((i) => [key(i), value(i)] as const));
          for (const i of batch) acked.set(key(i), value(i));
        });
        const writeMs = Date.now() - t0;
        assert.equal(acked.size, N);
        const keysIn = (r: RegionInfo): number => {
          let n = 0;
          for (const k of acked.keys()) {
            const b = Buffer.from(k);
            if (keyInRegion(b, r)) n++;
          }
          return n;
        };
        // Done splitting: no region holds more than regionMaxSize (256 KiB: ~250 values of 1 KiB; 300 with slack).
        const split = await waitFor(
          'at least 8 regions tiling the key space, none over regionMaxSize, each with a leader and 3 voters',
          90_000,
          async (): Promise<Probe<RegionInfo[]>> => {
            const { regions, why } = await healthProblem(pd, schedStatus, new Set(c.addresses.stores.map((s) => s.storeId!)));
            if (regions.length < 8) return { ok: false, why: `${regions.length} regions` };
            const big = regions.filter((r) => keysIn(r) > 300);
            if (big.length) return { ok: false, why: `${regions.length} regions, ${big.length} with more than 300 keys` };
            return why ? { ok: false, why } : { ok: true, value: regions };
          },
          500,
        );
        log(
          `wrote ${N} keys of 1 KiB (2000 puts, ${batches.length} batchPuts) in ${secs(writeMs)}; ${split.length} regions ` +
            `${secs(Date.now() - t0)} after the start of the writes`,
        );
        assert.equal(tilingProblem(split), null);
        assert.ok(split.length >= 8, `${split.length} regions`);
        const keysPerRegion = [...split].sort((x, y) => compareBytes(x.startKey, y.startKey)).map(keysIn);
        log(`keys per region, in key order: ${keysPerRegion.join(' ')}`);
        assert.equal(
          keysPerRegion.reduce((x, y) => x + y, 0),
          N,
        );
        const fresh = await c.client({ timeoutMs: 30_000 });
        try {
          await verifyAll(fresh, acked, 'after the splits (fresh client)', { gets: 400 });
        } finally {
          fresh.close();
        }
        // The first client's cache predates most splits: it follows EpochNotMatch.
        await verifyAll(client, acked, 'after the splits (the writing client)', { scan: false });

        // ---- 2. a fourth store ----
        const monitor = monitorPlacement(pd);
        t0 = Date.now();
        const idx4 = await c.addStore();
        const s4 = c.store(idx4).storeId!;
        log(`store${idx4} added (store id ${s4})`);
        const allFour = new Set(c.addresses.stores.map((s) => s.storeId!));
        const balanced = await waitFor(
          `store ${s4} to hold its share of replicas and some leaders`,
          120_000,
          async (): Promise<Probe<RegionInfo[]>> => {
            const { regions, why } = await healthProblem(pd, schedStatus, allFour);
            const { replicas, leaders } = perStore(regions);
            const share = Math.floor((regions.length * 3) / 4) - 2;
            const got = replicas.get(s4) ?? 0;
            const lead = leaders.get(s4) ?? 0;
            if (got < share || lead < 1)
              return {
                ok: false,
                why: `store ${s4}: ${got} replicas (want >= ${share}), ${lead} leaders; replicas ${fmtCounts(replicas)}`,
              };
            return why ? { ok: false, why } : { ok: true, value: regions };
          },
          500,
        );
        const rebalanceMs = Date.now() - t0;
        const b = perStore(balanced);
        log(
          `rebalanced in ${secs(rebalanceMs)}: ${balanced.length} regions, replicas ${fmtCounts(b.replicas)}, leaders ` +
            `${fmtCounts(b.leaders)}; operators ${await operatorCounts(schedStatus)}`,
        );
        // The new store's own view agrees: it holds the replicas and leads some regions.
        const st4 = await waitFor(`store ${s4}'s /status to agree`, 30_000, async (): Promise<Probe<StoreStatus>> => {
          const st = await getJson<StoreStatus>(c.store(idx4).statusAddr, '/status');
          const want = balanced.filter((r) => findPeer(r, s4)).map((r) => r.id);
          const has = new Set(st.regions.map((r) => r.id));
          const absent = want.filter((id) => !has.has(id));
          if (absent.length || st.leaderCount < 1)
            return { ok: false, why: `missing regions ${absent.join(',')}, ${st.leaderCount} leaders` };
          return { ok: true, value: st };
        });
        assert.equal(st4.failed, null);
        await verifyAll(client, acked, 'after the rebalance', { gets: 200 });

        // ---- 3. replica repair ----
        // Kill the store (of the first three) leading the most regions, for good.
        const { leaders } = perStore(await allRegions(pd));
        const deadId = [...leaders.entries()].filter(([s]) => s !== s4).sort((x, y) => y[1] - x[1])[0]![0];
        const deadIdx = storeIndexOf(c, deadId);
        const onDead = balanced.filter((r) => findPeer(r, deadId)).length;
        await c.kill(deadIdx);
        t0 = Date.now();
        log(`store${deadIdx} (id ${deadId}, ${leaders.get(deadId)} leaders, ${onDead} replicas) SIGKILLed for good`);
        const live = new Set([...allFour].filter((s) => s !== deadId));
        const repaired = await waitFor(
          `every region to have 3 voters on the live stores ${[...live].join(',')}`,
          120_000,
          async (): Promise<Probe<RegionInfo[]>> => {
            const { regions, why } = await healthProblem(pd, schedStatus, live);
            return why ? { ok: false, why } : { ok: true, value: regions };
          },
          500,
        );
        const r = perStore(repaired);
        log(
          `repaired in ${secs(Date.now() - t0)}: ${repaired.length} regions, replicas ${fmtCounts(r.replicas)}, leaders ` +
            `${fmtCounts(r.leaders)}; operators ${await operatorCounts(schedStatus)}`,
        );
        assert.equal(r.replicas.get(deadId) ?? 0, 0, 'no replica left on the dead store');
        assert.equal(
          repaired.length * 3,
          [...r.replicas.values()].reduce((x, y) => x + y, 0),
        );
        const sst = await getJson<SchedulerStatus>(schedStatus, '/status');
        assert.equal(sst.stores.find((s) => s.id === deadId)?.down, true, 'the scheduler counts the dead store as down');

        log(`operators cancelled or timed out (scheduler log): ${operatorEnds(c.processes()[0]!.logFile)}`);
        const { violations, samples } = await monitor.stop();
        log(`placement checked ${samples} times during the rebalance and the repair`);
        assert.deepEqual(violations, [], 'never two replicas on one store, never fewer than 3 voters');

        // Still all there, and writable, through the old client and a fresh one.
        await verifyAll(client, acked, 'after the repair (the old client)', { scan: false });
        for (let j = 0; j < 200; j++) {
          const i = N + j;
          await client.put(key(i), value(i));
          acked.set(key(i), value(i));
        }
        const last = await c.client({ timeoutMs: 30_000 });
        try {
          await verifyAll(last, acked, 'after the repair and 200 more puts (fresh client)', { gets: 200 });
        } finally {
          last.close();
        }
      } finally {
        pd.close();
        client.close();
      }
    },
  );
});
