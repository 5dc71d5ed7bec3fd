// Power loss: a crash that keeps only what each database synced (see src/power_loss.ts). The
// journal itself first, then the store's cross-database invariant: whatever the synced raft
// engine records under a region's configuration or range (a new region's term, vote and log; the
// votes counted under a new membership) must not outlive the kv records that define them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Engine, Engines, raftStateKey, regionStateKey } from '@tskv/engine';
import { raft_serverpb } from '@tskv/proto';
import { Cluster } from '../src/index.js';
import { PowerLossJournal } from '../src/power_loss.js';

const T = { timeout: 120_000 };
const b = (s: string): Uint8Array => Buffer.from(s);

test('power-loss journal: a database keeps exactly the writes up to its last synced one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tskv-powerloss-'));
  try {
    const live = join(dir, 'live');
    const journal = await PowerLossJournal.open(live, join(dir, 'shadow'));
    const open = (): Promise<Engine> => Engine.open(live, { sync: false });
    const put = async (e: Engine, k: string, sync: boolean): Promise<void> => {
      const wb = e.writeBatch().put('default', b(k), b(`v-${k}`));
      await e.write(wb, { sync });
      journal.recordWrite(wb, sync);
    };
    let e = await open();
    await put(e, 'a', false);
    await put(e, 'b', true); // makes a and b durable
    await put(e, 'c', false);
    await put(e, 'd', false);
    assert.equal(journal.unsyncedWrites, 2);
    await e.close();
    assert.deepEqual(await journal.powerLoss(), { writes: 2, ops: 2 });
    e = await open();
    assert.equal(Buffer.from((await e.get('default', b('a')))!).toString(), 'v-a');
    assert.equal(Buffer.from((await e.get('default', b('b')))!).toString(), 'v-b');
    assert.equal(await e.get('default', b('c')), undefined, 'an unsynced write survived the power loss');
    assert.equal(await e.get('default', b('d')), undefined, 'an unsynced write survived the power loss');
    // The reopened database goes on: a delete and an overwrite, unsynced, then lost again.
    const wb = e.writeBatch().delete('default', b('a')).put('default', b('b'), b('new'));
    await e.write(wb, { sync: false });
    journal.recordWrite(wb, false);
    await e.close();
    await journal.powerLoss();
    e = await open();
    assert.equal(Buffer.from((await e.get('default', b('a')))!).toString(), 'v-a', 'a lost delete was kept');
    assert.equal(Buffer.from((await e.get('default', b('b')))!).toString(), 'v-b', 'a lost overwrite was kept');
    await e.close();
    await journal.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

interface DurableRegion {
  /** The region's local state in the kv engine, if any. */
  state?: raft_serverpb.RegionLocalState;
  /** The region's raft local state in the raft engine, if any. */
  raft?: raft_serverpb.RaftLocalState;
}

/** What a stopped store's data directory holds for one region. */
async function durableRegion(dir: string, regionId: number): Promise<DurableRegion> {
  const e = await Engines.open(dir, { sync: false });
  try {
    const s = await e.kv.get('raft', regionStateKey(regionId));
    const r = await e.raft.get('raft', raftStateKey(regionId));
    return {
      state: s ? raft_serverpb.RegionLocalState.decode(s) : undefined,
      raft: r ? raft_serverpb.RaftLocalState.decode(r) : undefined,
    };
  } finally {
    await e.close();
  }
}

/** No raft-log GC: a synced CompactLog would make the kv engine durable and hide the losses. */
const NO_GC = { raftLogGcTickMs: 3_600_000 };

test('PowerLossSplit: a new region survives a power loss of every store with its term, vote and data', T, async () => {
  const c = new Cluster({ stores: 3, name: 'PowerLossSplit', powerLoss: true, config: NO_GC });
  try {
    await c.start();
    await c.mustPut('a', 'a0');
    await c.mustSplit('m');
    const right = c.scheduler.regionByKey(b('m'))!.region;
    // Writes to the new region are acknowledged after its peers voted and appended (synced).
    for (let i = 0; i < 20; i++) await c.mustPut(`m${i}`, `v${i}`);
    const leader = await c.waitForLeader(right.id!);
    const terms = new Map<number, number>();
    for (const id of c.storeIds()) terms.set(id, c.store(id)!.peer(right.id!)!.raw.raft.term);
    await c.crashAll();
    for (const id of c.storeIds()) {
      const d = await durableRegion(c.dataDir(id), right.id!);
      assert.ok(d.raft, `store ${id}: the new region's raft state was not synced`);
      assert.ok(
        d.state && d.state.state === raft_serverpb.PeerState.Normal,
        `store ${id}: the raft engine kept region ${right.id}'s term ${d.raft.hardState?.term} and vote ${d.raft.hardState?.vote}, ` +
          `but the kv engine lost the region itself (the split's write was not synced): after a restart the split is replayed ` +
          `and the peer starts over`,
      );
    }
    await c.startAll();
    for (const id of c.storeIds()) {
      const p = c.store(id)!.peer(right.id!);
      const notHosted = `store ${id} does not host region ${right.id} after the restart`;
      assert.ok(p, notHosted);
      assert.ok(p.isInitialized(), notHosted);
      assert.ok(
        p.raw.raft.term >= terms.get(id)!,
        `store ${id}: region ${right.id} went back from term ${terms.get(id)} to ${p.raw.raft.term}`,
      );
    }
    for (let i = 0; i < 20; i++) await c.mustGetEqual(`m${i}`, `v${i}`);
    await c.mustGetEqual('a', 'a0');
    c.log(`leader of region ${right.id} was ${leader.id}`);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('PowerLossConfChange: an acknowledged membership change survives a power loss of every store', T, async () => {
  const c = new Cluster({ stores: 4, name: 'PowerLossConfChange', powerLoss: true, config: NO_GC });
  try {
    await c.start();
    await c.mustPut('k', 'v');
    // Region 1 starts on all 4 stores; store 4's peer goes, a new one comes on it again.
    const removed = c.peerOnStore(1, 4)!;
    await c.mustRemovePeer(1, removed);
    const confVer = c.scheduler.region(1)!.regionEpoch!.confVer!;
    for (let i = 0; i < 10; i++) await c.mustPut(`k${i}`, `v${i}`);
    await c.crashAll();
    for (const id of [1, 2, 3]) {
      const d = await durableRegion(c.dataDir(id), 1);
      const onDisk = d.state?.region?.regionEpoch?.confVer ?? 0;
      assert.ok(
        onDisk >= confVer,
        `store ${id}: region 1's membership on disk is conf_ver ${onDisk} (peers ` +
          `${(d.state?.region?.peers ?? []).map((p) => p.id).join(',')}), ` +
          `but conf_ver ${confVer} was acknowledged and raft counted votes under it: its write was not synced`,
      );
    }
    await c.startAll();
    await c.mustAddPeer(1, { id: c.scheduler.allocId(), storeId: 4 });
    for (let i = 0; i < 10; i++) await c.mustGetEqual(`k${i}`, `v${i}`);
    await c.mustEngineGetEqual(4, 'k9', 'v9', 10_000);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('PowerLossOneStore: a store that loses power rejoins and catches up; nothing acknowledged is lost', T, async () => {
  const c = new Cluster({ stores: 3, name: 'PowerLossOneStore', powerLoss: true, config: NO_GC });
  try {
    await c.start();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) await c.mustPut(`r${round}-${i}`, `v${i}`);
      const victim = 1 + (round % 3);
      await c.crashStore(victim);
      await c.mustPut(`down${round}`, 'x');
      await sleep(100);
      await c.startStore(victim);
      await c.mustEngineGetEqual(victim, `down${round}`, 'x', 10_000);
    }
    assert.ok(c.crashStats.powerLosses >= 3);
    for (let round = 0; round < 3; round++) for (let i = 0; i < 20; i++) await c.mustGetEqual(`r${round}-${i}`, `v${i}`);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test(
  'PowerLossSnapshot: a store that caught up by snapshot keeps it through a power loss, and so do the raft-log GC and the leader',
  T,
  async () => {
    const c = new Cluster({ stores: 3, name: 'PowerLossSnapshot', powerLoss: true, config: { raftLogGcCountLimit: 10 } });
    try {
      await c.start();
      await c.mustPut('k0', 'v0');
      await c.mustEngineGetEqual(1, 'k0', 'v0');
      c.transport.partition([1], [2, 3]);
      for (let i = 1; i < 40; i++) await c.mustPut(`k${i}`, `v${i}`);
      const leader = c.leaderOf()!;
      const deadline = Date.now() + 10_000;
      const s1Applied = c.store(1)!.peer(1)!.storage.applyState.appliedIndex;
      while (c.store(leader.storeId!)!.peer(1)!.storage.applyState.truncatedIndex <= s1Applied) {
        assert.ok(Date.now() < deadline, 'the leader never compacted its log past store 1');
        await sleep(20);
      }
      const before = c.snapStats().applied;
      c.transport.clearFilters();
      await c.mustEngineGetEqual(1, 'k39', 'v39', 10_000);
      assert.ok(c.snapStats().applied > before, 'store 1 caught up without a snapshot');
      // Power goes on store 1 right after the snapshot, then on every store.
      await c.crashStore(1);
      await c.startStore(1);
      for (let i = 0; i < 40; i++) await c.mustEngineGetEqual(1, `k${i}`, `v${i}`, 10_000);
      await c.crashAll();
      await c.startAll();
      for (let i = 0; i < 40; i++) await c.mustGetEqual(`k${i}`, `v${i}`);
      for (const id of c.storeIds()) await c.mustEngineGetEqual(id, 'k39', 'v39', 10_000);
      assert.ok(c.crashStats.powerLosses >= 4);
      c.assertHealthy();
    } finally {
      await c.shutdown();
    }
  },
);
