// End to end at scale with the real processes: tinykv-scheduler and
// tinykv-server as child processes on free ports of 127.0.0.1, a temp data dir, sync writes,
// driven by RawClient. Durability through a crash: 10,000 keys, the leader's store SIGKILLed
// while 2,000 more are written, restarted on its data; every acknowledged key read back; the
// restarted store catches up (its applied indexes reach the leader's commit index), then the
// leader's store is killed too and the restarted one is half of the remaining quorum.
//
// Skips (saying why) until the scheduler and the server are built. Waits poll with generous
// deadlines (2 shared cores): nothing here asserts on speed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allRegions } from '@tskv/client';
import { findPeer } from '@tskv/util';
import {
  clientCounters,
  fmtCounts,
  getJson,
  getText,
  log,
  metricSum,
  type Probe,
  perStore,
  pool,
  type StoreStatus,
  secs,
  shuffled,
  skip,
  storeIndexOf,
  verifyAll,
  waitFor,
  withCluster,
} from './e2e_scale_helpers.js';

test('real cluster at scale: 10,000 keys, the leader store SIGKILLed while 2,000 more are written, restarted, every acknowledged ' +
  'key read back, the restarted store caught up', {
  skip,
  timeout: 200_000,
}, async () => {
  await withCluster(
    'crash',
    {
      scheduler: { scheduleIntervalMs: 300 },
      // Raft-log GC every second: the log is compacted while the store is down, so it most
      // likely catches up from a snapshot rather than from the log.
      store: { schedulerHeartbeatTickMs: 500, raftLogGcTickMs: 1000, raftLogGcCountLimit: 2000 },
    },
    async ({ c }) => {
      await c.waitUntilReady({ timeoutMs: 90_000 });
      const client = await c.client({ timeoutMs: 30_000 });
      const pd = await c.pd();
      const acked = new Map<string, string>();
      const key = (i: number): string => `k${String(i).padStart(6, '0')}`;
      const value = (i: number, phase: string): string => `${phase}-${i}-${'x'.repeat(64 + (i % 64))}`;
      try {
        // 5,000 single puts (64 in flight), then 5,000 in batchPuts of 100 (4 in flight).
        let t0 = Date.now();
        await pool(shuffled(5000, 1), 64, async (i) => {
          const v = value(i, 'a');
          await client.put(key(i), v);
          acked.set(key(i), v);
        });
        const singleMs = Date.now() - t0;
        t0 = Date.now();
        const batches = Array.from({ length: 50 }, (_, b) => Array.from({ length: 100 }, (_, j) => 5000 + b * 100 + j));
        await pool(batches, 4, async (batch) => {
          await client.batchPut(batch.map((i) => [key(i), value(i, 'a')] as const));
          for (const i of batch) acked.set(key(i), value(i, 'a'));
        });
        log(`wrote ${acked.size} keys: 5000 puts in ${secs(singleMs)}, 5000 in 50 batchPuts in ${secs(Date.now() - t0)}`);
        assert.equal(acked.size, 10_000);

        // The store leading the most regions (the data's only region at this size).
        const before = await allRegions(pd);
        const { leaders } = perStore(before);
        const victimId = [...leaders.entries()].sort((a, b) => b[1] - a[1])[0]![0];
        const victim = storeIndexOf(c, victimId);
        log(
          `${before.length} region(s), leaders ${fmtCounts(leaders)}; killing store${victim} (store id ${victimId}) during the next writes`,
        );

        // 2,000 more single puts; the leader's store is SIGKILLed once 200 of them are acknowledged.
        let phaseB = 0;
        let killed: Promise<unknown> | null = null;
        let killedAt = 0;
        let slowest = 0;
        const c0 = clientCounters(client);
        t0 = Date.now();
        await pool(shuffled(2000, 2), 64, async (j) => {
          const i = 10_000 + j;
          const v = value(i, 'b');
          const s = Date.now();
          await client.put(key(i), v);
          slowest = Math.max(slowest, Date.now() - s);
          acked.set(key(i), v);
          if (++phaseB === 200) {
            killedAt = Date.now();
            killed = c.kill(victim);
          }
        });
        await killed;
        assert.ok(killed, 'the store was killed during the writes');
        assert.deepEqual(c.store(victim).lastExit, { code: null, signal: 'SIGKILL' });
        const c1 = clientCounters(client);
        let notLeader = 0;
        for (const s of c.addresses.stores) {
          if (s.index !== victim)
            notLeader += metricSum(
              (await getText(s.statusAddr, '/metrics'))
                .split('\n')
                .filter((l) => l.includes('NotLeader') || l.includes('not_leader'))
                .join('\n'),
              'tskv_client_region_errors_total',
            );
        }
        log(
          `wrote 2000 more keys in ${secs(Date.now() - t0)} (store${victim} SIGKILLed after 200 of them; ` +
            `the slowest put took ${secs(slowest)}, all acknowledged; ` +
            `${c1.sent - c0.sent} requests sent for them, ${c1.streamFailures - c0.streamFailures} stream failures, ` +
            `${c1.timeouts - c0.timeouts} attempt timeouts, ${notLeader} NotLeader answers from the other stores)`,
        );
        assert.equal(acked.size, 12_000);

        // Every acknowledged key is there with the store down.
        await verifyAll(client, acked, `with store${victim} down`, { scan: false });

        // Restart it on its data; read everything again.
        t0 = Date.now();
        await c.restart(victim);
        await c.waitUntilReady({ timeoutMs: 90_000 });
        log(`store${victim} restarted, cluster ready again in ${secs(Date.now() - t0)} (${secs(Date.now() - killedAt)} after the kill)`);
        assert.equal(c.store(victim).storeId, victimId, 'same store id from its data dir');
        await verifyAll(client, acked, 'after the restart', { gets: 500 });

        // Caught up: no writes any more, so once the restarted store's applied index of every
        // region reaches the leader's commit index (read now, after the last acknowledged
        // write), it has applied every acknowledged write.
        const regions = await allRegions(pd);
        const target = new Map<number, number>();
        for (const r of regions) {
          assert.ok(r.leader, `region ${r.id} has a leader`);
          const ls = await getJson<StoreStatus>(c.store(storeIndexOf(c, r.leader.storeId)).statusAddr, '/status');
          const lr = ls.regions.find((x) => x.id === r.id);
          assert.ok(lr, `the leader's store reports region ${r.id}`);
          target.set(r.id, lr.commitIndex);
          assert.ok(findPeer(r, victimId), `region ${r.id} still has a replica on store ${victimId}`);
        }
        t0 = Date.now();
        const caught = await waitFor('the restarted store to catch up', 60_000, async (): Promise<Probe<StoreStatus>> => {
          const st = await getJson<StoreStatus>(c.store(victim).statusAddr, '/status');
          const behind: string[] = [];
          for (const [id, idx] of target) {
            const r = st.regions.find((x) => x.id === id);
            if (!r) behind.push(`region ${id} missing`);
            else if (r.appliedIndex < idx || r.applyingSnapshot) behind.push(`region ${id}: applied ${r.appliedIndex} < ${idx}`);
          }
          return behind.length ? { ok: false, why: behind.join('; ') } : { ok: true, value: st };
        });
        const snaps = metricSum(await getText(c.store(victim).statusAddr, '/metrics'), 'tskv_snapshots_received_total');
        const applied = caught.regions.map(
          (r) => `region ${r.id} applied ${r.appliedIndex} (leader commit ${target.get(r.id)}, truncated ${r.truncatedIndex})`,
        );
        log(`store${victim} caught up in ${secs(Date.now() - t0)}: ${applied.join(', ')}; snapshots received ${snaps}`);

        // Now kill the leader's store: the restarted store is one of the two left, so nothing
        // is served without it (a quorum of 2 of 3), and its log must be complete to lead.
        const now = await allRegions(pd);
        const leaderId = perStore(now).leaders;
        const others = c.addresses.stores.map((s) => s.storeId!).filter((s) => s !== victimId);
        // The leader's store unless the restarted store leads: then either of the others.
        const second = [...leaderId.entries()].filter(([s]) => s !== victimId).sort((a, b) => b[1] - a[1])[0]?.[0] ?? others[0]!;
        const secondIdx = storeIndexOf(c, second);
        await c.kill(secondIdx);
        t0 = Date.now();
        for (let j = 0; j < 100; j++) {
          const i = 12_000 + j;
          const v = value(i, 'c');
          await client.put(key(i), v);
          acked.set(key(i), v);
        }
        log(`store${secondIdx} (id ${second}) SIGKILLed too: 100 puts acknowledged by the remaining two in ${secs(Date.now() - t0)}`);
        await verifyAll(client, acked, `with store${secondIdx} down and store${victim} restarted`, { scan: true });
        const after = await allRegions(pd);
        log(`leaders now ${fmtCounts(perStore(after).leaders)}`);
      } finally {
        pd.close();
        client.close();
      }
    },
  );
});
