// The snapshot scenarios of TinyKV project 2C (kv/test_raftstore/test_test.go), with the same
// names and meaning: a small raft-log-GC limit, so logs really are compacted and followers that
// fall behind really catch up by snapshot (the generic test asserts both; see src/generic.ts).
// One scenario: node --test --test-name-pattern='^OneSnapshot$' dist/test/snapshot_scenarios.test.js
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { raftLogRange } from '@tskv/engine';
import { Cluster, type GenericOptions, runGeneric } from '../src/index.js';

const ROUND_MS = 5000;
const TIMEOUT = { timeout: 180_000 };

async function generic(o: Omit<GenericOptions, 'roundMs'>): Promise<void> {
  const r = await runGeneric({ roundMs: ROUND_MS, maxRaftLog: 100, ...o });
  for (const round of r.rounds) {
    assert.ok(round.appends.reduce((a, b) => a + b, 0) > 0, `[${o.name}] round ${round.round}: no append succeeded (seed ${r.seed})`);
  }
  assert.ok(r.snapshots.compactions > 0, `[${o.name}] the raft log was never compacted`);
  assert.ok(r.snapshots.applied > 0, `[${o.name}] no snapshot was applied`);
  console.log(`[${o.name}] ok: ${r.totalAppends} appends in ${r.ms} ms, snapshots ${JSON.stringify(r.snapshots)} (seed ${r.seed})`);
}

const off = { unreliable: false, crash: false, partitions: false };

test('OneSnapshot', TIMEOUT, async () => {
  const limit = 10;
  const c = new Cluster({ stores: 3, name: 'OneSnapshot', config: { raftLogGcCountLimit: limit } });
  try {
    await c.start();
    const cf = 'lock';
    await c.mustPut('k1', 'v1', cf);
    await c.mustPut('k2', 'v2', cf);
    await c.mustEngineGetEqual(1, 'k1', 'v1', 5000, cf);
    await c.mustEngineGetEqual(1, 'k2', 'v2', 5000, cf);

    // Store 1 is cut off while enough is written to compact the log past it.
    c.transport.partition([1], [2, 3]);
    for (let i = 100; i < 115; i++) await c.mustPut(`k${i}`, `v${i}`, cf);
    await c.mustDelete('k2', cf);
    await sleep(500);
    assert.equal(await c.engineGet(1, 'k100', cf), undefined, 'store 1 saw a write across the partition');
    const leader = c.leaderOf()!;
    const leaderState = c.store(leader.storeId!)!.peer(1)!.storage.applyState;
    const s1Applied = c.store(1)!.peer(1)!.storage.applyState.appliedIndex;
    assert.ok(
      leaderState.truncatedIndex > s1Applied,
      `the leader did not compact past store 1 (truncated ${leaderState.truncatedIndex}, store 1 applied ${s1Applied})`,
    );
    const before = c.snapStats();
    c.transport.clearFilters();

    // Store 1 can only catch up by snapshot: the delete of k2 is honoured, the CF kept.
    await c.mustEngineGetEqual(1, 'k1', 'v1', 10_000, cf);
    await c.mustEngineGetEqual(1, 'k100', 'v100', 10_000, cf);
    await c.mustEngineGetEqual(1, 'k114', 'v114', 10_000, cf);
    await c.mustEngineGetNone(1, 'k2', 5000, cf);
    const after = c.snapStats();
    assert.ok(after.applied > before.applied, `store 1 caught up without a snapshot: ${JSON.stringify(after)}`);
    assert.ok(c.store(1)!.stats().snap.applied >= 1, 'store 1 applied no snapshot');

    // It survives a restart.
    await c.stopStore(1);
    await c.startStore(1);
    await c.mustEngineGetEqual(1, 'k1', 'v1', 5000, cf);
    await c.mustEngineGetNone(1, 'k2', 5000, cf);
    await c.mustPut('k200', 'v200', cf);
    await c.mustEngineGetEqual(1, 'k200', 'v200', 5000, cf);

    // Every store's log is trimmed, on disk too: no entry at or below the truncated index remains.
    for (const id of c.storeIds()) {
      const store = c.store(id)!;
      await store.logGcIdle();
      const st = store.peer(1)!.storage.applyState;
      assert.ok(
        st.appliedIndex - st.truncatedIndex <= 2 * limit,
        `store ${id}: applied ${st.appliedIndex}, truncated ${st.truncatedIndex}`,
      );
      const { start } = raftLogRange(1, 0);
      const { start: end } = raftLogRange(1, st.truncatedIndex + 1);
      const left = await c.engines(id)!.raft.collect('raft', start, end);
      assert.equal(
        left.length,
        0,
        `store ${id}: ${left.length} log entries at or below truncated index ${st.truncatedIndex} are still on disk`,
      );
      assert.ok(st.truncatedIndex > 5, `store ${id}: the log was never compacted`);
    }
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('SnapshotRecover', TIMEOUT, () => generic({ name: 'SnapshotRecover', nclients: 1, ...off, crash: true }));

test('SnapshotRecoverManyClients', TIMEOUT, () =>
  generic({ name: 'SnapshotRecoverManyClients', nclients: 20, ...off, crash: true, crashMode: 'powerloss' }),
);

test('SnapshotUnreliable', TIMEOUT, () => generic({ name: 'SnapshotUnreliable', nclients: 5, ...off, unreliable: true }));

test('SnapshotUnreliableRecover', TIMEOUT, () =>
  generic({ name: 'SnapshotUnreliableRecover', nclients: 5, ...off, unreliable: true, crash: true }),
);

test('SnapshotUnreliableRecoverConcurrentPartition', TIMEOUT, () =>
  generic({ name: 'SnapshotUnreliableRecoverConcurrentPartition', nclients: 5, ...off, unreliable: true, crash: true, partitions: true }),
);
