// PeerStorage's part in snapshots: the generate state machine behind raft's snapshot() calls, and
// crash recovery of a snapshot accepted between its kv write and its raft write; and the methods
// through which its states change.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engines, raftLogKey } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import { type Snapshot, SnapshotTemporarilyUnavailableError } from '@tskv/raft';
import { bootstrapRegion } from '../src/index.js';
import { PeerStorage } from '../src/peer_storage.js';

const region: metapb.IRegion = {
  id: 1,
  startKey: new Uint8Array(0),
  endKey: new Uint8Array(0),
  regionEpoch: { confVer: 1, version: 1 },
  peers: [
    { id: 1, storeId: 1 },
    { id: 2, storeId: 2 },
  ],
};
const ent = (index: number, term: number) => ({
  entryType: 0,
  term,
  index,
  data: new Uint8Array([index & 0xff]),
  context: new Uint8Array(),
});
const snapAt = (index: number, term: number): Snapshot => ({
  data: raft_serverpb.RaftSnapshotData.encode({ region, meta: { cfFiles: [] } }).finish(),
  metadata: { index, term, confState: { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
});

async function withStorage(fn: (e: Engines, ps: PeerStorage, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-pss-'));
  const e = await Engines.open(dir);
  try {
    await bootstrapRegion(e, region);
    const ps = await PeerStorage.load(e, region);
    const wb = e.raft.writeBatch();
    ps.append(
      [6, 7, 8, 9, 10].map((i) => ent(i, 6)),
      wb,
    );
    ps.setHardState({ term: 6, vote: 1, commit: 10 });
    ps.saveRaftState(wb);
    await e.raft.write(wb);
    await fn(e, ps, dir);
  } finally {
    await e.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Read through a function: TypeScript would otherwise narrow genState across the calls. */
const status = (ps: PeerStorage): string => ps.genState.status;

test('snapshot(): temporarily unavailable until generated, reused while recent, regenerated when stale', async () => {
  await withStorage(async (_e, ps) => {
    assert.throws(() => ps.snapshot(0, 2), SnapshotTemporarilyUnavailableError);
    assert.equal(status(ps), 'requested', 'the first call asks for a generation');
    ps.startGenerating();
    assert.throws(() => ps.snapshot(0, 2), SnapshotTemporarilyUnavailableError);
    assert.equal(status(ps), 'generating', 'a call while generating does not ask again');
    const s = snapAt(8, 6);
    ps.onSnapshotGenerated(s);
    assert.equal(ps.snapshot(0, 2), s);
    assert.equal(ps.snapshot(0, 3), s, 'reused for another follower');
    assert.throws(() => ps.snapshot(0, 9), SnapshotTemporarilyUnavailableError, 'peer 9 joined after it was taken');
    assert.equal(status(ps), 'requested');
    ps.onSnapshotGenerated(s);
    assert.throws(() => ps.snapshot(9, 2), SnapshotTemporarilyUnavailableError, 'older than the requested index');
    assert.equal(status(ps), 'requested');
    ps.onSnapshotGenerated(snapAt(8, 6));
    ps.compactTo(9, 6); // the log was compacted past it: a follower could not continue
    assert.throws(() => ps.snapshot(0, 2), SnapshotTemporarilyUnavailableError);
    assert.equal(status(ps), 'requested');
    ps.onSnapshotGenerated(null); // a failed generation: raft asks again later
    assert.equal(status(ps), 'idle');
  });
});

test('snapshot(): one taken before the region split is not sent again (a store with the split-off region drops it)', async () => {
  await withStorage(async (_e, ps) => {
    const s = snapAt(8, 6);
    ps.onSnapshotGenerated(s);
    assert.equal(ps.snapshot(0, 2), s, 'same epoch: reused');
    ps.setRegion({ ...region, endKey: new TextEncoder().encode('m'), regionEpoch: { confVer: 1, version: 2 } });
    assert.throws(() => ps.snapshot(0, 2), SnapshotTemporarilyUnavailableError);
    assert.equal(status(ps), 'requested', 'a new one is generated');
  });
});

test('onSnapshotMissing drops the ready snapshot only if it is the one whose files are gone', async () => {
  await withStorage(async (_e, ps) => {
    assert.throws(() => ps.snapshot(0, 2), SnapshotTemporarilyUnavailableError);
    ps.startGenerating();
    ps.onSnapshotGenerated(snapAt(8, 6));
    ps.onSnapshotMissing(6, 7);
    ps.onSnapshotMissing(5, 8);
    assert.equal(status(ps), 'ready', "another snapshot's files");
    ps.onSnapshotMissing(6, 8);
    assert.equal(status(ps), 'idle', 'the next request generates anew');
  });
});

test('state changes go through methods and are what the next save writes', async () => {
  await withStorage(async (e, ps) => {
    ps.setCommit(9);
    assert.equal(ps.raftState.hardState.commit, 9);
    ps.setApplied(8);
    ps.compactTo(7, 6);
    assert.deepEqual({ ...ps.applyState }, { appliedIndex: 8, truncatedIndex: 7, truncatedTerm: 6 });
    assert.equal(ps.firstIndex(), 8);
    const moved = { ...region, regionEpoch: { confVer: 2, version: 1 } };
    ps.setRegion(moved);
    assert.equal(ps.region, moved);
    const kvWb = e.kv.writeBatch();
    ps.saveApplyState(kvWb);
    const raftWb = e.raft.writeBatch();
    ps.saveRaftState(raftWb);
    await e.kv.write(kvWb);
    await e.raft.write(raftWb);
    const back = await PeerStorage.load(e, moved);
    assert.deepEqual({ ...back.applyState }, { appliedIndex: 8, truncatedIndex: 7, truncatedTerm: 6 });
    assert.equal(back.raftState.hardState.commit, 9);
  });
});

/** Stages the acceptance of a snapshot at (20, 7), as the raft worker does; returns both batches. */
function accept(e: Engines, ps: PeerStorage) {
  const raftWb = e.raft.writeBatch();
  const kvWb = e.kv.writeBatch();
  ps.acceptSnapshot(snapAt(20, 7), region, raftWb, kvWb);
  ps.append([ent(21, 7)], raftWb); // an entry that came in the same Ready
  ps.setHardState({ term: 7, vote: 0, commit: 20 });
  ps.saveRaftState(raftWb);
  ps.saveSnapshotRaftState(kvWb);
  return { raftWb, kvWb };
}

test('a crash between the snapshot kv write and its raft write: the restart starts the log at the snapshot', async () => {
  await withStorage(async (e, ps, dir) => {
    const { kvWb } = accept(e, ps);
    await e.kv.write(kvWb, { sync: true }); // ... and the process dies before the raft write
    await e.close();
    const e2 = await Engines.open(dir);
    try {
      const st = raft_serverpb.RegionLocalState.decode(e2.kv.getSync('raft', (await import('@tskv/engine')).regionStateKey(1))!);
      assert.equal(st.state, raft_serverpb.PeerState.Applying);
      const ps2 = await PeerStorage.load(e2, region, true);
      assert.equal(ps2.firstIndex(), 21);
      assert.equal(ps2.lastIndex(), 20, 'the log restarts at the snapshot, the old entries do not come back');
      assert.equal(ps2.term(20), 7);
      assert.equal(ps2.initialState().hardState.term, 6, 'the durable hard state (votes) is kept');
      for (let i = 6; i <= 10; i++) assert.equal(e2.raft.getSync('raft', raftLogKey(1, i)), undefined, `old entry ${i} still on disk`);
      // Loading again (a second restart) changes nothing.
      const ps3 = await PeerStorage.load(e2, region, true);
      assert.equal(ps3.lastIndex(), 20);
    } finally {
      await e2.close();
    }
  });
});

test('a crash after both snapshot writes: the restart keeps the persisted log (entries after the snapshot)', async () => {
  await withStorage(async (e, ps, dir) => {
    const { kvWb, raftWb } = accept(e, ps);
    await e.kv.write(kvWb, { sync: true });
    await e.raft.write(raftWb, { sync: true });
    await e.close();
    const e2 = await Engines.open(dir);
    try {
      const ps2 = await PeerStorage.load(e2, region, true);
      assert.equal(ps2.firstIndex(), 21);
      assert.equal(ps2.lastIndex(), 21, 'the acknowledged entry 21 must survive');
      assert.equal(ps2.term(21), 7);
      assert.equal(ps2.initialState().hardState.term, 7);
      assert.equal(e2.raft.getSync('raft', raftLogKey(1, 8)), undefined, 'the old log was deleted by the raft write');
    } finally {
      await e2.close();
    }
  });
});
