// Snapshots of regions holding transactional data next to raw data. A region [S, E) owns the
// raw keys in [S, E) of the raw CFs and txn_lock, and the MVCC-encoded keys in
// [memcomparable(S), memcomparable(E)) of txn_default and txn_write (region_ranges.ts). Here two
// neighbours [_, m) and [m, _) both hold raw and transactional data whose bytes sit right at the
// boundary; a store cut off from both catches up by snapshots, and must end with exactly the
// leader's data in every CF: nothing of one region lost to the other's snapshot apply, nothing
// of one carried in the other's snapshot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CfName } from '@tskv/engine';
import { Cluster } from '../src/index.js';

const T = { timeout: 120_000 };
const hex = (h: string): Uint8Array => Buffer.from(h, 'hex');
/** EncodeKey(user, ts) of @tskv/txn's codec: memcomparable(user) ++ BE64(~ts), for one-byte user keys. */
const mvcc = (user: string, ts: number): Uint8Array =>
  Buffer.concat([
    Buffer.from(user),
    Buffer.alloc(7),
    Buffer.of(0xf8),
    Buffer.from((0xffffffffffffffffn - BigInt(ts)).toString(16).padStart(16, '0'), 'hex'),
  ]);

const CFS: CfName[] = ['default', 'lock', 'write', 'txn_default', 'txn_lock', 'txn_write'];

test('a store catching up by snapshots gets both neighbours raw and MVCC data exactly, across the boundary', T, async () => {
  const c = new Cluster({ stores: 3, name: 'TxnSnapshotNeighbours', config: { raftLogGcCountLimit: 10 } });
  try {
    await c.start();
    await c.mustPut('a', 'raw-a');
    await c.mustSplit('m');
    const leader = c.leaderOf()!.storeId!;
    const lagging = c.storeIds().find((s) => s !== leader)!;
    await c.mustEngineGetEqual(lagging, 'a', 'raw-a');
    c.transport.isolate(lagging);
    // The key layout the ranges must keep apart: raw 'm' (right) sorts inside the left region's
    // encoded range if the two were one key space; mvcc('l') (left) starts with 'l'.
    for (const [user, region] of [
      ['l', 'left'],
      ['m', 'right'],
    ] as const) {
      await c.mustPut(user, `raw-${user}`);
      await c.mustPut(mvcc(user, 4), `value-${user}`, 'txn_default');
      await c.mustPut(mvcc(user, 5), `commit-${user}`, 'txn_write');
      await c.mustPut(user, `lock-${user}`, 'txn_lock');
      // Enough entries that each leader compacts its log past the cut-off store.
      for (let i = 0; i < 30; i++) await c.mustPut(`${user}${region}${String(i).padStart(2, '0')}`, `${i}`);
    }
    const before = c.snapStats().applied;
    await sleep(500); // the raft-log GC tick (100 ms) compacts
    c.transport.clearFilters();
    await c.mustEngineGetEqual(lagging, mvcc('m', 5), 'commit-m', 15_000, 'txn_write');
    await c.mustEngineGetEqual(lagging, mvcc('l', 5), 'commit-l', 15_000, 'txn_write');
    await c.mustEngineGetEqual(lagging, 'mright29', '29', 15_000);
    await c.mustEngineGetEqual(lagging, 'lleft29', '29', 15_000);
    assert.ok(c.snapStats().applied >= before + 1, 'the store caught up by snapshot');
    for (const cf of CFS) {
      const want = await c.engines(leader)!.kv.collect(cf, new Uint8Array(0), new Uint8Array(0));
      const got = await c.engines(lagging)!.kv.collect(cf, new Uint8Array(0), new Uint8Array(0));
      assert.deepEqual(
        got.map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v)}`),
        want.map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v)}`),
        `${cf} on the caught-up store`,
      );
    }
    assert.deepEqual(Buffer.from(mvcc('m', 5)).subarray(0, 9), hex('6d00000000000000f8'));
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});
