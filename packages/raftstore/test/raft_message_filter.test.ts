// Inbound raft messages that must not reach a peer: incomplete ones, ones for
// another store, from a non-member, for an older or destroyed peer, for a region that a message
// of that kind cannot start. Each is dropped and counted by reason; none moves the leader's term,
// none creates a peer where it must not, and the store keeps serving.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engines } from '@tskv/engine';
import { eraftpb, type metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import type { RaftMessage } from '../src/index.js';
import { bootstrapRegion, bootstrapStore, Store, storeConfig } from '../src/index.js';

const T = eraftpb.MessageType;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const STORE = 1;
const ME: metapb.IPeer = { id: 5, storeId: STORE };
const REGION: metapb.IRegion = {
  id: 1,
  startKey: new Uint8Array(0),
  endKey: enc('m'),
  regionEpoch: { confVer: 1, version: 1 },
  peers: [ME],
};

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Through protobuf, as the gRPC transport delivers it. */
function roundTrip(m: raft_serverpb.IRaftMessage): RaftMessage {
  return raft_serverpb.RaftMessage.decode(raft_serverpb.RaftMessage.encode(m).finish());
}

test('raft messages that must not reach a peer are dropped, counted, and change nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-raftmsg-'));
  const e = await Engines.open(dir);
  const sent: RaftMessage[] = [];
  let store: Store | null = null;
  try {
    await bootstrapStore(e, 1, STORE);
    await bootstrapRegion(e, REGION);
    store = await Store.create(
      storeConfig({ storeId: STORE, raftBaseTickMs: 20, requestTimeoutMs: 3000 }),
      e,
      { send: (m) => void sent.push(m) },
      { regionHeartbeat: () => undefined },
    );
    const s = store;
    s.start();
    await until('leader', () => s.peer(1)?.isLeader() === true);
    const term = (): number => s.regionStatus().find((r) => r.regionId === 1)!.term;
    const term0 = term();
    const put = await s.call({
      header: { regionId: 1, peer: ME, regionEpoch: REGION.regionEpoch },
      requests: [{ cmdType: raft_cmdpb.CmdType.Put, put: { cf: 'default', key: enc('k'), value: enc('v') } }],
    });
    assert.equal(put.header?.error ?? null, null);

    // A heartbeat of a much higher term: stepped, it would depose the leader.
    const hb = (to: number, from: number): eraftpb.IMessage => ({ msgType: T.MsgHeartbeat, to, from, term: term0 + 100, commit: 0 });
    const stranger: metapb.IPeer = { id: 9, storeId: 9 };
    const cases: [string, raft_serverpb.IRaftMessage][] = [
      ['malformed', {}],
      ['malformed', { regionId: 1, toPeer: ME, fromPeer: stranger, message: hb(5, 9) }], // no epoch
      ['malformed', { regionId: 1, toPeer: ME, regionEpoch: REGION.regionEpoch, message: hb(5, 9) }], // no sender
      // sender without store
      ['malformed', { regionId: 1, toPeer: ME, fromPeer: { id: 9 }, regionEpoch: REGION.regionEpoch, message: hb(5, 9) }],
      ['malformed', { regionId: 1, toPeer: ME, fromPeer: stranger, regionEpoch: REGION.regionEpoch }], // no raft message
      [
        'store_mismatch',
        { regionId: 1, toPeer: { id: 5, storeId: 2 }, fromPeer: stranger, regionEpoch: REGION.regionEpoch, message: hb(5, 9) },
      ],
      // From a store and peer the region does not know, same conf version: not a member we missed.
      ['not_member', { regionId: 1, toPeer: ME, fromPeer: stranger, regionEpoch: REGION.regionEpoch, message: hb(5, 9) }],
      // For an older peer of the region than ours.
      [
        'stale_peer',
        { regionId: 1, toPeer: { id: 3, storeId: STORE }, fromPeer: stranger, regionEpoch: { confVer: 5, version: 1 }, message: hb(3, 9) },
      ],
      // A region with no peer here: a MsgAppendResponse never starts one; a heartbeat for a range
      // overlapping region 1 cannot either.
      [
        'no_peer',
        {
          regionId: 7,
          toPeer: { id: 20, storeId: STORE },
          fromPeer: stranger,
          regionEpoch: { confVer: 2, version: 1 },
          message: { msgType: T.MsgAppendResponse, to: 20, from: 9, term: 3 },
        },
      ],
      [
        'no_peer',
        {
          regionId: 7,
          toPeer: { id: 20, storeId: STORE },
          fromPeer: stranger,
          regionEpoch: { confVer: 2, version: 1 },
          startKey: enc('a'),
          endKey: enc('z'),
          message: hb(20, 9),
        },
      ],
    ];
    for (const [reason, m] of cases) {
      const before = s.stats().raftDrops.get(reason as never) ?? 0;
      s.onRaftMessage(roundTrip(m));
      assert.equal(s.stats().raftDrops.get(reason as never) ?? 0, before + 1, `${reason}: ${JSON.stringify(m)}`);
    }
    await new Promise((r) => setTimeout(r, 200)); // a few rounds: anything delivered would show
    assert.equal(term(), term0, 'no dropped message reached raft');
    assert.ok(s.peer(1)!.isLeader());
    assert.equal(s.stats().regions, 1, 'no peer was created');

    // Control: a heartbeat for a free range starts an (uninitialized) peer of region 7...
    const newRegion = { regionId: 7, fromPeer: stranger, startKey: enc('m'), endKey: new Uint8Array(0) };
    s.onRaftMessage(
      roundTrip({
        ...newRegion,
        toPeer: { id: 20, storeId: STORE },
        regionEpoch: { confVer: 2, version: 1 },
        message: { msgType: T.MsgHeartbeat, to: 20, from: 9, term: 3 },
      }),
    );
    await until('peer 20 of region 7 created', () => s.peer(7)?.peerId === 20);
    // ...then it is told it was removed, and goes (a tombstone: peer 20, destroyed).
    s.onRaftMessage(
      roundTrip({ ...newRegion, toPeer: { id: 20, storeId: STORE }, regionEpoch: { confVer: 3, version: 1 }, isTombstone: true }),
    );
    await until('peer 20 destroyed', () => !s.peer(7) && s.tombstone(7) !== undefined);
    // A message of no newer membership than the destroyed peer's: stale, nothing created.
    const stale = s.stats().raftDrops.get('stale_peer') ?? 0;
    const destroyedAt = s.tombstone(7)!.epoch;
    s.onRaftMessage(
      roundTrip({
        ...newRegion,
        toPeer: { id: 20, storeId: STORE },
        regionEpoch: destroyedAt,
        message: { msgType: T.MsgHeartbeat, to: 20, from: 9, term: 4 },
      }),
    );
    assert.equal(s.stats().raftDrops.get('stale_peer'), stale + 1);
    assert.equal(s.peer(7), undefined);
    // A newer peer of a newer membership may come back.
    s.onRaftMessage(
      roundTrip({
        ...newRegion,
        toPeer: { id: 21, storeId: STORE },
        regionEpoch: { confVer: 9, version: 1 },
        message: { msgType: T.MsgHeartbeat, to: 21, from: 9, term: 4 },
      }),
    );
    await until('peer 21 of region 7 created', () => s.peer(7)?.peerId === 21);

    // Region 1 still serves, its data intact.
    assert.equal(s.failed, null);
    const get = await s.call({
      header: { regionId: 1, peer: ME, regionEpoch: REGION.regionEpoch },
      requests: [{ cmdType: raft_cmdpb.CmdType.Get, get: { cf: 'default', key: enc('k') } }],
    });
    assert.equal(new TextDecoder().decode(get.responses?.[0]?.get?.value ?? new Uint8Array()), 'v');
  } finally {
    await store?.stop();
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
