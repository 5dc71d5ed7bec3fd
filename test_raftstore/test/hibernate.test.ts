// Hibernating idle regions: once every region is idle, no store ticks them and no raft message
// flows; a request wakes its region; a leader that dies while everything sleeps is replaced when
// a request comes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from '../src/index.js';

const N = 20;
const key = (i: number): string => `h${String(i).padStart(3, '0')}`;

async function untilAllAsleep(c: Cluster, peers: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const asleep = c.storeIds().reduce((n, id) => n + (c.store(id)?.stats().hibernating ?? 0), 0);
    if (asleep === peers) return;
    if (Date.now() > deadline) throw new Error(`${asleep} of ${peers} peers hibernating after ${timeoutMs} ms`);
    await sleep(100);
  }
}

test('idle regions hibernate, wake on requests, and survive a leader dying in their sleep', { timeout: 120_000 }, async () => {
  const splitKeys = Array.from({ length: N - 1 }, (_, i) => key(i + 1));
  const c = new Cluster({ stores: 3, name: 'Hibernate', splitKeys, config: { hibernateRegions: true, hibernateIdleTicks: 10 } });
  try {
    await c.start();
    for (let i = 0; i < N; i++) await c.mustPut(`${key(i)}-a`, `v${i}`);
    await untilAllAsleep(c, N * 3);
    // Asleep: not one raft message in a second.
    const before = c.transport.stats.sent;
    await sleep(1000);
    assert.equal(c.transport.stats.sent - before, 0, 'raft messages flowed between hibernating regions');

    // A write wakes its region (and only it) and succeeds; reads see it.
    await c.mustPut(`${key(3)}-b`, 'woken');
    await c.mustGetEqual(`${key(3)}-b`, 'woken');
    const awake = c.storeIds().reduce((n, id) => n + (c.store(id)!.peer(4)!.hibernating ? 0 : 1), 0);
    assert.ok(awake >= 1, 'the written region did not wake');
    await untilAllAsleep(c, N * 3);

    // The leader of region 7 dies while everything sleeps: a request finds a new leader.
    const leader = c.leaderOf(7)!;
    await c.stopStore(leader.storeId!);
    await c.mustPut(`${key(6)}-c`, 'after the crash', 'default', { deadlineMs: 20_000 });
    await c.mustGetEqual(`${key(6)}-c`, 'after the crash');
    assert.notEqual(c.leaderOf(7)?.storeId, leader.storeId);
    await c.startStore(leader.storeId!);
    await c.mustEngineGetEqual(leader.storeId!, `${key(6)}-c`, 'after the crash', 10_000);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});
