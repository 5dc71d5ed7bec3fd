// Snapshots over the Snapshot stream: a follower that was down while the leader compacted its log
// catches up by snapshot; a corrupted chunk is rejected by the receiver, the sender is told, and
// raft sends the snapshot again.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SnapshotChunk } from '@tskv/raftstore';
import { dec, enc, startServer, TestCluster, waitFor } from './helpers.js';

test(
  'a follower behind the compacted log gets a snapshot over the Snapshot stream; a corrupted chunk is rejected and the ' +
    'snapshot resent',
  async () => {
    let corruptNext = 0;
    let corrupted = 0;
    const snapshotChunkFilter = (chunk: SnapshotChunk, index: number): SnapshotChunk => {
      if (corruptNext === 0 || index === 0 || !chunk.data || chunk.data.length === 0) return chunk;
      corruptNext--;
      corrupted++;
      const data = Uint8Array.from(chunk.data);
      data[data.length >> 1]! ^= 0xff;
      return { ...chunk, data };
    };
    const c = await TestCluster.start(3, {
      storeConfig: { raftLogGcTickMs: 100, raftLogGcCountLimit: 10, raftLogGcThreshold: 1 },
      snapshotChunkFilter,
    });
    try {
      const regionId = Number(c.fake.firstRegion()!.id);
      const leader = await c.waitReplicated(regionId);
      const idx = c.servers.findIndex((s) => s !== null && s !== leader);
      const victim = c.servers[idx]!;
      const appliedBefore = victim.store.regionStatus().find((r) => r.regionId === regionId)!.appliedIndex;
      await victim.stop();
      c.servers[idx] = null;

      // Values big enough that the middle of a data chunk is file content the checksums cover.
      const big = 'z'.repeat(2048);
      for (let i = 0; i < 60; i++) await c.put(regionId, `k${String(i).padStart(2, '0')}`, `${i}:${big}`);
      await waitFor(
        'leader compacted past the stopped follower',
        () => leader.store.regionStatus().find((r) => r.regionId === regionId)!.truncatedIndex > appliedBefore + 10,
      );

      corruptNext = 1;
      const sentOkBefore = await leader.metrics.value('tskv_snapshots_sent_total', { result: 'ok' });
      const back = await startServer(c.fake, c.dirs[idx]!, {
        storeConfig: { raftLogGcTickMs: 100, raftLogGcCountLimit: 10, raftLogGcThreshold: 1 },
        snapshotChunkFilter,
      });
      c.servers[idx] = back;
      await waitFor(
        'restarted follower has every key',
        async () => dec(await back.engines.kv.get('default', enc('k59'))) === `59:${big}`,
        30_000,
      );
      for (let i = 0; i < 60; i += 7)
        assert.equal(dec(await back.engines.kv.get('default', enc(`k${String(i).padStart(2, '0')}`))), `${i}:${big}`);

      assert.equal(corrupted, 1, 'one chunk was corrupted on the wire');
      assert.ok(
        (await back.metrics.value('tskv_snapshots_received_total', { result: 'failed' })) >= 1,
        'the receiver rejected the corrupted snapshot',
      );
      assert.ok((await back.metrics.value('tskv_snapshots_received_total', { result: 'ok' })) >= 1, 'and accepted the resent one');
      assert.ok((await leader.metrics.value('tskv_snapshots_sent_total', { result: 'failed' })) >= 1, 'the sender learnt of the failure');
      assert.ok((await leader.metrics.value('tskv_snapshots_sent_total', { result: 'ok' })) > sentOkBefore);
      assert.ok(back.store.stats().snap.receiveFailed >= 1);
      // And it serves as a full member again.
      await c.put(regionId, 'last', 'one');
      await waitFor('new writes reach it', async () => dec(await back.engines.kv.get('default', enc('last'))) === 'one');
    } finally {
      await c.stopAll();
    }
  },
);
