// A peer created by a message may write a raft state (an empty log, maybe a vote) before the split
// that creates its region on this store; the split writes only the region's kv part. A restart
// must start that region's log where its apply state says, keeping a vote of the same term.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyStateKey, Engines, raftStateKey, regionStateKey } from '@tskv/engine';
import { type metapb, raft_serverpb } from '@tskv/proto';
import { PeerStorage } from '../src/peer_storage.js';

const REGION: metapb.IRegion = {
  id: 9,
  startKey: Buffer.from('m'),
  endKey: new Uint8Array(0),
  regionEpoch: { confVer: 1, version: 2 },
  peers: [
    { id: 91, storeId: 1 },
    { id: 92, storeId: 2 },
  ],
};

async function loadWith(hardState: { term: number; vote: number; commit: number }): Promise<PeerStorage> {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-splitinit-'));
  const e = await Engines.open(dir);
  try {
    const raftWb = e.raft.writeBatch();
    // The uninitialized incarnation's record: no log.
    raftWb.put('raft', raftStateKey(9), raft_serverpb.RaftLocalState.encode({ hardState, lastIndex: 0, lastTerm: 0 }).finish());
    await e.raft.write(raftWb, { sync: true });
    // What the split wrote: the region Normal, its apply state at the initial log position.
    const kvWb = e.kv.writeBatch();
    kvWb.put(
      'raft',
      applyStateKey(9),
      raft_serverpb.RaftApplyState.encode({ appliedIndex: 5, truncatedState: { index: 5, term: 5 } }).finish(),
    );
    kvWb.put(
      'raft',
      regionStateKey(9),
      raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Normal, region: REGION }).finish(),
    );
    await e.kv.write(kvWb, { sync: true });
    return await PeerStorage.load(e, REGION);
  } finally {
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a split over an uninitialized peer: the log starts at the apply state; a vote of an older term goes, one of a newer term stays', async () => {
  const older = await loadWith({ term: 3, vote: 92, commit: 0 });
  assert.equal(older.lastIndex(), 5);
  assert.equal(older.term(5), 5);
  assert.deepEqual(older.initialState().hardState, { term: 5, vote: 0, commit: 5 });

  const newer = await loadWith({ term: 7, vote: 92, commit: 0 });
  assert.equal(newer.lastIndex(), 5);
  assert.deepEqual(newer.initialState().hardState, { term: 7, vote: 92, commit: 5 });
});
