// Two snapshots whose regions overlap can reach one store before either is applied: a region's
// new peer is sent a snapshot taken before the region split, while the peer of the split-off
// region is sent one of its own (both peers are uninitialized here, so the store's range check at
// receipt passes both). Accepting both would give the store two regions over one key range; the
// raft worker refuses the second in the round that steps it, instead of dying on the overlap.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engines } from '@tskv/engine';
import { eraftpb, type metapb, raft_serverpb } from '@tskv/proto';
import { bootstrapStore, type RaftMessage, Store, storeConfig } from '../src/index.js';
import { receiveSnapshotChunks, SnapManager, sendSnapshotChunks } from '../src/snap/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const STORE = 3;

/** A MsgSnapshot from `leader` to this store's peer `to` of `region`, at (index, term). */
function snapshotMsg(
  region: metapb.IRegion,
  leader: metapb.IPeer,
  to: metapb.IPeer,
  index: number,
  term: number,
  meta?: raft_serverpb.ISnapshotMeta,
): RaftMessage {
  const m: raft_serverpb.IRaftMessage = {
    regionId: region.id,
    fromPeer: leader,
    toPeer: to,
    regionEpoch: region.regionEpoch,
    startKey: region.startKey,
    endKey: region.endKey,
    message: {
      msgType: eraftpb.MessageType.MsgSnapshot,
      from: leader.id,
      to: to.id,
      term,
      snapshot: {
        data: raft_serverpb.RaftSnapshotData.encode({ region, meta, version: 1 }).finish(),
        metadata: { index, term, confState: { voters: (region.peers ?? []).map((p) => p.id!) } },
      },
    },
  };
  return raft_serverpb.RaftMessage.decode(raft_serverpb.RaftMessage.encode(m).finish());
}

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('snapshots of overlapping regions stepped in one round: the second is refused, the store keeps running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-snapoverlap-'));
  const e = await Engines.open(dir);
  let store: Store | null = null;
  try {
    await bootstrapStore(e, 1, STORE);
    store = await Store.create(
      storeConfig({ storeId: STORE, raftBaseTickMs: 20, requestTimeoutMs: 3000 }),
      e,
      { send: () => {} },
      { regionHeartbeat: () => undefined },
    );
    const s = store;
    s.start();
    // Region 1 before its split (everything), and the region split off it ([m, end)).
    const whole: metapb.IRegion = {
      id: 1,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      regionEpoch: { confVer: 8, version: 3 },
      peers: [
        { id: 2, storeId: 2 },
        { id: 1052, storeId: STORE },
      ],
    };
    const right: metapb.IRegion = {
      id: 1072,
      startKey: enc('m'),
      endKey: new Uint8Array(0),
      regionEpoch: { confVer: 8, version: 4 },
      peers: [
        { id: 1073, storeId: 2 },
        { id: 1076, storeId: STORE },
      ],
    };
    // The files of the first snapshot (empty region data), received into this store's snap
    // directory as a leader's transport would send them; the message is delivered below.
    mkdirSync(join(dir, 'leader-snap'), { recursive: true });
    const leaderMgr = new SnapManager(join(dir, 'leader-snap'));
    const key = { regionId: 1, term: 11, index: 68 };
    const meta = await leaderMgr.build(key, whole, () => (async function* () {})());
    const first = await receiveSnapshotChunks(
      new SnapManager(join(dir, 'snap')),
      sendSnapshotChunks(leaderMgr, snapshotMsg(whole, whole.peers![0]!, whole.peers![1]!, 68, 11, meta)),
    );
    // Delivered in one event-loop turn: both land in the same raft worker round.
    s.onRaftMessage(first);
    s.onRaftMessage(snapshotMsg(right, right.peers![0]!, right.peers![1]!, 5, 5));
    await until('both peers created', () => s.peer(1) !== undefined && s.peer(1072) !== undefined);
    await until('a snapshot accepted', () => s.rangeIndex().length > 0);
    await until('the snapshot applied', () => s.peer(1)?.applyingSnapshot === null);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.failed, null, `the raft worker died: ${s.failed?.message}`);
    const ranges = s.rangeIndex();
    assert.equal(ranges.length, 1, `one region holds the range: ${JSON.stringify(ranges.map((r) => r.regionId))}`);
    assert.equal(ranges[0]!.regionId, 1, 'the first snapshot stepped wins');
    assert.equal(s.peer(1072)?.isInitialized(), false, 'the overlapping snapshot was not accepted');
  } finally {
    await store?.stop();
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
