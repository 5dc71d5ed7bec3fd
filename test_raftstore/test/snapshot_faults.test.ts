// Snapshot faults: a corrupted chunk on the wire, a generated snapshot file damaged on disk before
// it is sent, and a store killed while applying a snapshot.
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { test } from 'node:test';
import { regionStateKey } from '@tskv/engine';
import { raft_serverpb } from '@tskv/proto';
import { Cluster, CorruptSnapshotFilter, type Filter } from '../src/index.js';

const TIMEOUT = { timeout: 60_000 };

/** Cuts `lagging` off, writes `n` keys, and waits until the leader's log is compacted past it. */
async function fallBehind(c: Cluster, lagging: number, n: number, value = 'v'): Promise<void> {
  const filter = c.transport.isolate(lagging);
  const applied = c.store(lagging)!.peer(1)!.storage.applyState.appliedIndex;
  for (let i = 0; i < n; i++) await c.mustPut(`key${String(i).padStart(4, '0')}`, `${value}${i}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const l = c.leaderOf();
    const truncated = l ? c.store(l.storeId!)!.peer(1)!.storage.applyState.truncatedIndex : 0;
    if (truncated > applied) break;
    if (Date.now() > deadline) throw new Error(`the leader did not compact past store ${lagging}'s applied index ${applied}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  c.transport.removeFilter(filter);
}

test('a corrupted snapshot chunk is rejected by checksum and the snapshot retried', TIMEOUT, async () => {
  const c = new Cluster({ stores: 3, name: 'CorruptChunk', config: { raftLogGcCountLimit: 10 } });
  try {
    await c.start();
    await c.waitForLeader();
    const leader = c.leaderOf()!.storeId!;
    const lagging = c.storeIds().find((id) => id !== leader)!;
    await fallBehind(c, lagging, 40);
    const corrupt = c.transport.addFilter(new CorruptSnapshotFilter(1));
    await c.mustEngineGetEqual(lagging, 'key0039', 'v39', 15_000);
    await c.mustEngineGetEqual(lagging, 'key0000', 'v0', 1000);
    assert.equal(corrupt.corrupted, 1, 'no chunk was corrupted: the test did not test anything');
    const st = c.snapStats();
    assert.ok(st.receiveFailed >= 1, `the corrupted snapshot was not rejected: ${JSON.stringify(st)}`);
    assert.ok(st.applied >= 1, `no snapshot applied after the retry: ${JSON.stringify(st)}`);
    assert.ok(c.transport.stats.snapshotsFailed >= 1 && c.transport.stats.snapshotsDelivered >= 1, JSON.stringify(c.transport.stats));
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

/** Flips the middle byte of a file in place (same size: only a checksum can tell). */
function flipMiddleByte(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    const at = Math.floor(fstatSync(fd).size / 2);
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0]! ^= 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

test(
  'a generated snapshot file damaged on disk before it is sent: the send fails, the snapshot is generated again, the follower catches up',
  TIMEOUT,
  async () => {
    const c = new Cluster({ stores: 3, name: 'DamagedGenFile', config: { raftLogGcCountLimit: 10 } });
    try {
      await c.start();
      await c.waitForLeader();
      const leader = c.leaderOf()!.storeId!;
      const lagging = c.storeIds().find((id) => id !== leader)!;
      await fallBehind(c, lagging, 40);
      let damaged = 0;
      // The first chunk (the message) is handed over before the sender opens any file: damaging
      // the file then is "between generation and send".
      const damage: Filter = {
        name: 'damage the generated default.sst once',
        before: () => true,
        onSnapshotChunk: (chunk, index, msg) => {
          if (index !== 0 || damaged > 0) return chunk;
          const md = msg.message!.snapshot!.metadata!;
          const key = { regionId: Number(msg.regionId), term: Number(md.term), index: Number(md.index) };
          flipMiddleByte(c.store(msg.fromPeer!.storeId!)!.snapshotFiles('gen', key).cfs.default);
          damaged++;
          return chunk;
        },
      };
      c.transport.addFilter(damage);
      await c.mustEngineGetEqual(lagging, 'key0039', 'v39', 20_000);
      await c.mustEngineGetEqual(lagging, 'key0000', 'v0', 1000);
      assert.equal(damaged, 1, 'no file was damaged: the test did not test anything');
      const sender = c.store(leader)!.stats().snap;
      assert.ok(sender.sendFailed >= 1, `the damaged snapshot was sent: ${JSON.stringify(sender)}`);
      assert.ok(sender.generated >= 2, `the snapshot was not generated again: ${JSON.stringify(sender)}`);
      assert.ok(c.store(lagging)!.stats().snap.applied >= 1);
      c.assertHealthy();
    } finally {
      await c.shutdown();
    }
  },
);

test('a store killed while applying a snapshot finishes it at restart', TIMEOUT, async () => {
  // Tiny apply batches: the apply takes many writes, and the kill lands between two of them.
  const c = new Cluster({ stores: 3, name: 'CrashDuringApply', config: { raftLogGcCountLimit: 10, snapApplyBatchBytes: 512 } });
  try {
    await c.start();
    await c.waitForLeader();
    const leader = c.leaderOf()!.storeId!;
    const lagging = c.storeIds().find((id) => id !== leader)!;
    // Old data on the lagging store that the snapshot must replace.
    await c.mustPut('key0005', 'old');
    await c.mustEngineGetEqual(lagging, 'key0005', 'old');
    let batches = 0;
    c.store(lagging)!.beforeSnapshotApplyBatch((_regionId, n) => {
      batches = n;
      if (n === 3) {
        c.silence(lagging); // its failure is expected, not news
        c.failWrites(lagging); // the disk "dies": this and every later write fails
      }
    });
    await fallBehind(c, lagging, 60);
    // The apply starts, fails at its third batch, and the store stops (a failed write is fatal).
    const deadline = Date.now() + 15_000;
    while (!c.store(lagging)!.failed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(c.store(lagging)!.failed, `store ${lagging} did not fail (apply batches seen: ${batches})`);
    assert.equal(batches, 3);
    await c.crashStore(lagging);

    // On disk: the region is still Applying (the commit point was never reached).
    const { Engines } = await import('@tskv/engine');
    const e = await Engines.open(c.dataDir(lagging));
    const rs = raft_serverpb.RegionLocalState.decode((await e.kv.get('raft', regionStateKey(1)))!);
    await e.close();
    assert.equal(rs.state, raft_serverpb.PeerState.Applying, 'the region state is not Applying after the kill');

    await c.startStore(lagging);
    await c.mustEngineGetEqual(lagging, 'key0059', 'v59', 15_000);
    await c.mustEngineGetEqual(lagging, 'key0005', 'v5', 1000);
    await c.mustPut('after', 'restart');
    await c.mustEngineGetEqual(lagging, 'after', 'restart');
    assert.ok(c.store(lagging)!.stats().snap.applied >= 1, 'the restarted store applied no snapshot');
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});
