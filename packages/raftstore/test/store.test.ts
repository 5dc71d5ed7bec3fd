import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engines, raftLogKey } from '@tskv/engine';
import { type metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { bootstrapRegion, bootstrapStore, Store, storeConfig } from '../src/index.js';
import { PeerStorage } from '../src/peer_storage.js';

const CmdType = raft_cmdpb.CmdType;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array());

/** N stores in one process; the transport round-trips every message through protobuf. */
class MiniCluster {
  stores = new Map<number, Store>();
  engines = new Map<number, Engines>();
  readonly dir = mkdtempSync(join(tmpdir(), 'tskv-raftstore-'));
  heartbeats: { regionId: number; leaderStore: number; from: number; bytesRead: number; keysRead: number }[] = [];
  constructor(
    readonly n: number,
    readonly regions: metapb.IRegion[],
  ) {}

  /** Stores cut off from everyone (messages to or from them are dropped). */
  isolated = new Set<number>();
  readMode: 'readIndex' | 'lease' = 'readIndex';

  transport = {
    send: (m: raft_serverpb.IRaftMessage): void => {
      if (this.isolated.has(m.fromPeer!.storeId!) || this.isolated.has(m.toPeer!.storeId!)) return;
      const b = raft_serverpb.RaftMessage.encode(m).finish();
      setImmediate(() => this.stores.get(m.toPeer!.storeId!)?.onRaftMessage(raft_serverpb.RaftMessage.decode(b)));
    },
  };

  async start(id: number): Promise<void> {
    const e = await Engines.open(join(this.dir, `s${id}`));
    this.engines.set(id, e);
    await bootstrapStore(e, 1, id);
    const heartbeats = this.heartbeats;
    const s = await Store.create(
      storeConfig({ storeId: id, raftBaseTickMs: 20, requestTimeoutMs: 3000, schedulerHeartbeatTickMs: 100, readMode: this.readMode }),
      e,
      this.transport,
      {
        regionHeartbeat: (r, leader, stats) =>
          void heartbeats.push({
            regionId: Number(r.id),
            leaderStore: Number(leader.storeId),
            from: id,
            bytesRead: stats?.bytesRead ?? 0,
            keysRead: stats?.keysRead ?? 0,
          }),
      },
    );
    this.stores.set(id, s);
    s.start();
  }

  async bootstrap(): Promise<void> {
    for (let id = 1; id <= this.n; id++) {
      const e = await Engines.open(join(this.dir, `s${id}`));
      for (const r of this.regions) await bootstrapRegion(e, r);
      await e.close();
    }
    for (let id = 1; id <= this.n; id++) await this.start(id);
  }

  async stop(id: number): Promise<void> {
    await this.stores.get(id)?.stop();
    this.stores.delete(id);
    await this.engines.get(id)?.close();
    this.engines.delete(id);
  }

  async shutdown(): Promise<void> {
    for (const id of [...this.stores.keys()]) await this.stop(id);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async leader(regionId: number): Promise<Store> {
    for (let i = 0; i < 500; i++) {
      for (const s of this.stores.values()) if (s.peer(regionId)?.isLeader()) return s;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no leader for region ${regionId}`);
  }

  header(region: metapb.IRegion): raft_cmdpb.IRaftRequestHeader {
    return { regionId: region.id, regionEpoch: region.regionEpoch };
  }
}

function region(id: number, start: string, end: string, stores: number[]): metapb.IRegion {
  return {
    id,
    startKey: enc(start),
    endKey: enc(end),
    regionEpoch: { confVer: 1, version: 1 },
    peers: stores.map((s) => ({ id: id * 100 + s, storeId: s })),
  };
}

/** Polls `cond` until it holds; throws after a deadline generous enough for a loaded machine. */
async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const put = (key: string, value: string): raft_cmdpb.IRequest => ({
  cmdType: CmdType.Put,
  put: { cf: 'default', key: enc(key), value: enc(value) },
});
const get = (key: string): raft_cmdpb.IRequest => ({ cmdType: CmdType.Get, get: { cf: 'default', key: enc(key) } });

test('a put is replicated, applied on every store, and readable linearizably from the leader', async () => {
  const r1 = region(1, '', '', [1, 2, 3]);
  const c = new MiniCluster(3, [r1]);
  await c.bootstrap();
  try {
    const leader = await c.leader(1);
    const resp = await leader.call({ header: c.header(r1), requests: [put('k1', 'v1')] });
    assert.equal(resp.header?.error, undefined, JSON.stringify(resp.header?.error));
    const got = await leader.call({ header: c.header(r1), requests: [get('k1')] });
    assert.equal(dec(got.responses![0]!.get!.value), 'v1');
    // Every replica eventually applies it to its own kv engine.
    for (const [id, e] of c.engines) await until(`store ${id} applied k1`, () => dec(e.kv.getSync('default', enc('k1'))) === 'v1');
  } finally {
    await c.shutdown();
  }
});

test(
  'clear errors for bad requests: KeyNotInRegion, RegionNotFound, EpochNotMatch, NotLeader, ' + 'malformed — and nothing is lost',
  async () => {
    const r1 = region(1, '', 'm', [1, 2, 3]);
    const r2 = region(2, 'm', '', [1, 2, 3]);
    const c = new MiniCluster(3, [r1, r2]);
    await c.bootstrap();
    try {
      const leader = await c.leader(1);
      assert.equal((await leader.call({ header: c.header(r1), requests: [put('a', '1')] })).header?.error, undefined);

      const notIn = await leader.call({ header: c.header(r1), requests: [put('z', '1')] });
      assert.ok(notIn.header?.error?.keyNotInRegion, JSON.stringify(notIn.header));
      assert.equal(dec(notIn.header!.error!.keyNotInRegion!.key), 'z');

      const unknown = await leader.call({ header: { regionId: 99, regionEpoch: { confVer: 1, version: 1 } }, requests: [put('a', '1')] });
      assert.equal(Number(unknown.header?.error?.regionNotFound?.regionId), 99);

      const stale = await leader.call({ header: { regionId: 1, regionEpoch: { confVer: 1, version: 0 } }, requests: [put('a', '2')] });
      assert.ok(stale.header?.error?.epochNotMatch, JSON.stringify(stale.header));
      assert.equal(Number(stale.header!.error!.epochNotMatch!.currentRegions![0]!.regionEpoch!.version), 1);

      const follower = [...c.stores.values()].find((s) => s !== leader)!;
      const nl = await follower.call({ header: c.header(r1), requests: [get('a')] });
      assert.equal(Number(nl.header?.error?.notLeader?.leader?.storeId), leader.storeId);

      const emptyKey = await leader.call({
        header: c.header(r1),
        requests: [{ cmdType: CmdType.Put, put: { cf: 'default', key: new Uint8Array(), value: enc('x') } }],
      });
      assert.match(emptyKey.header?.error?.message ?? '', /invalid request: put key must be non-empty/);
      const badCf = await leader.call({
        header: c.header(r1),
        requests: [{ cmdType: CmdType.Put, put: { cf: 'nope', key: enc('b'), value: enc('x') } }],
      });
      assert.match(badCf.header?.error?.message ?? '', /unknown column family 'nope'/);
      const mixed = await leader.call({ header: c.header(r1), requests: [put('b', '1'), get('a')] });
      assert.match(mixed.header?.error?.message ?? '', /mixes reads and writes/);

      // The rejected writes changed nothing; the accepted one is intact.
      const a = await leader.call({ header: c.header(r1), requests: [get('a')] });
      assert.equal(dec(a.responses![0]!.get!.value), '1');
      const b = await leader.call({ header: c.header(r1), requests: [get('b')] });
      assert.equal(b.responses![0]!.get!.found, false);
    } finally {
      await c.shutdown();
    }
  },
);

test('scan (Snap) returns the keys of a range clipped to the region', async () => {
  const r1 = region(1, '', 'm', [1, 2, 3]);
  const r2 = region(2, 'm', '', [1, 2, 3]);
  const c = new MiniCluster(3, [r1, r2]);
  await c.bootstrap();
  try {
    const l1 = await c.leader(1);
    const l2 = await c.leader(2);
    for (const k of ['a', 'b', 'c'])
      assert.equal((await l1.call({ header: c.header(r1), requests: [put(k, k.toUpperCase())] })).header?.error, undefined);
    for (const k of ['m', 'n']) assert.equal((await l2.call({ header: c.header(r2), requests: [put(k, k)] })).header?.error, undefined);
    const s = await l1.call({
      header: c.header(r1),
      requests: [{ cmdType: CmdType.Snap, snap: { cf: 'default', startKey: enc('b'), endKey: enc('zz') } }],
    });
    assert.deepEqual(
      s.responses![0]!.snap!.kvs!.map((kv) => `${dec(kv.key)}=${dec(kv.value)}`),
      ['b=B', 'c=C'],
    );
  } finally {
    await c.shutdown();
  }
});

test('acknowledged writes survive stopping and restarting every store; peers rebuild from disk alone', async () => {
  const r1 = region(1, '', '', [1, 2, 3]);
  const c = new MiniCluster(3, [r1]);
  await c.bootstrap();
  try {
    let leader = await c.leader(1);
    const acked: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 10; i++) {
          const k = `w${w}-${i}`;
          const r = await leader.call({ header: c.header(r1), requests: [put(k, k)] });
          if (!r.header?.error) acked.push(k);
        }
      }),
    );
    assert.equal(acked.length, 80);
    const term = leader.peer(1)!.raw.raft.term;
    for (const id of [1, 2, 3]) await c.stop(id);
    for (const id of [1, 2, 3]) await c.start(id);
    leader = await c.leader(1);
    assert.ok(leader.peer(1)!.raw.raft.term > term, 'a new election after the restart');
    for (const k of acked) {
      const r = await leader.call({ header: c.header(r1), requests: [get(k)] });
      assert.equal(dec(r.responses?.[0]?.get?.value), k, `${k} after restart`);
    }
  } finally {
    await c.shutdown();
  }
});

test('group commit: concurrent writes to many regions share raft-engine batches', async () => {
  const regions = Array.from({ length: 8 }, (_, i) =>
    region(i + 1, i === 0 ? '' : String.fromCharCode(97 + i), i === 7 ? '' : String.fromCharCode(98 + i), [1, 2, 3]),
  );
  const c = new MiniCluster(3, regions);
  await c.bootstrap();
  try {
    const leaders = await Promise.all(regions.map((r) => c.leader(r.id!)));
    const before = [...c.stores.values()].reduce((n, s) => n + s.stats().raftWorker.raftWrites, 0);
    let ok = 0;
    await Promise.all(
      regions.map(async (r, i) => {
        for (let j = 0; j < 10; j++) {
          const key = `${String.fromCharCode(97 + i)}${j}`;
          const resp = await leaders[i]!.call({ header: c.header(r), requests: [put(key, 'v')] });
          if (!resp.header?.error) ok++;
        }
      }),
    );
    assert.equal(ok, 80);
    const writes = [...c.stores.values()].reduce((n, s) => n + s.stats().raftWorker.raftWrites, 0) - before;
    const entries = [...c.stores.values()].reduce((n, s) => n + s.stats().raftWorker.entriesPersisted, 0);
    // 80 proposals replicated to 3 stores = 240 entry writes; without group commit that is >= 240
    // raft-engine writes. Batching across regions must do markedly better.
    assert.ok(entries >= 240, `entries persisted ${entries}`);
    assert.ok(writes < entries / 2, `raft-engine writes ${writes} for ${entries} entries`);
  } finally {
    await c.shutdown();
  }
});

test('PeerStorage: appended entries, a truncated conflicting suffix and the hard state reload from disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-ps-'));
  try {
    const e = await Engines.open(dir);
    const r1 = region(1, '', '', [1]);
    await bootstrapRegion(e, r1);
    const ps = await PeerStorage.load(e, r1);
    assert.equal(ps.firstIndex(), 6);
    assert.equal(ps.lastIndex(), 5);
    assert.equal(ps.term(5), 5);
    const ent = (index: number, term: number, d: string) => ({ entryType: 0, term, index, data: enc(d), context: new Uint8Array() });
    let wb = e.raft.writeBatch();
    ps.append([ent(6, 6, 'a'), ent(7, 6, 'b'), ent(8, 6, 'c')], wb);
    ps.setHardState({ term: 6, vote: 1, commit: 7 });
    ps.saveRaftState(wb);
    await e.raft.write(wb);
    wb = e.raft.writeBatch();
    ps.append([ent(7, 7, 'B')], wb); // a new leader overwrote 7 and dropped 8
    ps.saveRaftState(wb);
    await e.raft.write(wb);
    assert.equal(e.raft.getSync('raft', raftLogKey(1, 8)), undefined, 'the stale suffix is deleted on disk');
    await e.close();

    const e2 = await Engines.open(dir);
    const ps2 = await PeerStorage.load(e2, r1);
    assert.equal(ps2.lastIndex(), 7);
    assert.equal(ps2.term(7), 7);
    assert.deepEqual(
      ps2.entries(6, 8).map((x) => `${x.index}/${x.term}/${dec(x.data)}`),
      ['6/6/a', '7/7/B'],
    );
    assert.deepEqual(ps2.initialState().hardState, { term: 6, vote: 1, commit: 7 });
    assert.throws(() => ps2.entries(5, 7), /compaction/);
    await e2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the ticker drives scheduler heartbeats: only the leader reports its region', async () => {
  const r1 = region(1, '', '', [1, 2, 3]);
  const c = new MiniCluster(3, [r1]);
  await c.bootstrap();
  try {
    const leader = await c.leader(1);
    c.heartbeats.length = 0;
    await until('two scheduler heartbeats', () => c.heartbeats.length >= 2);
    for (const h of c.heartbeats) {
      assert.equal(h.regionId, 1);
      assert.equal(h.from, leader.storeId);
      assert.equal(h.leaderStore, leader.storeId);
    }
  } finally {
    await c.shutdown();
  }
});

test('reads served by the leader are counted for its heartbeat, and each heartbeat starts them from zero', async () => {
  const r1 = region(1, '', '', [1, 2, 3]);
  const c = new MiniCluster(3, [r1]);
  await c.bootstrap();
  try {
    const leader = await c.leader(1);
    for (const [k, v] of [
      ['a', 'A'],
      ['b', 'BB'],
    ])
      assert.equal((await leader.call({ header: c.header(r1), requests: [put(k!, v!)] })).header?.error, undefined);
    // A found key counts its key and value, a missing one nothing; a scan counts what it returns.
    assert.equal((await leader.call({ header: c.header(r1), requests: [get('a'), get('zz')] })).header?.error, undefined);
    const snap = await leader.call({ header: c.header(r1), requests: [{ cmdType: CmdType.Snap, snap: { cf: 'default' } }] });
    assert.equal(snap.responses![0]!.snap!.kvs!.length, 2);
    // What the transactional commands read from a snapshotRead view.
    leader.recordRead(1, 7, 1);
    const sum = (k: 'bytesRead' | 'keysRead'): number => c.heartbeats.reduce((a, h) => a + h[k], 0);
    await until('the reads in heartbeats', () => sum('keysRead') >= 4);
    assert.equal(sum('keysRead'), 4);
    assert.equal(sum('bytesRead'), 2 + (2 + 3) + 7);
    const seen = c.heartbeats.length;
    await until('two more heartbeats', () => c.heartbeats.length >= seen + 2);
    for (const h of c.heartbeats.slice(seen)) assert.deepEqual([h.keysRead, h.bytesRead], [0, 0], 'counted once');
  } finally {
    await c.shutdown();
  }
});

test('lease reads: served without a heartbeat round inside the lease, never stale after the leader is cut off', async () => {
  const r1 = region(1, '', '', [1, 2, 3]);
  const c = new MiniCluster(3, [r1]);
  c.readMode = 'lease';
  await c.bootstrap();
  try {
    const leader = await c.leader(1);
    assert.equal((await leader.call({ header: c.header(r1), requests: [put('k', 'v0')] })).header?.error, undefined);
    for (let i = 0; i < 20; i++) {
      const r = await leader.call({ header: c.header(r1), requests: [get('k')] });
      assert.equal(dec(r.responses?.[0]?.get?.value), 'v0');
    }
    assert.ok(leader.peer(1)!.leaseReads >= 15, `lease reads ${leader.peer(1)!.leaseReads} of 20`);

    // Cut the leader off; keep reading from it while the others elect and accept a new write.
    c.isolated.add(leader.storeId);
    let writtenAt = Infinity;
    let stop = false;
    const stale: number[] = [];
    const reader = (async () => {
      while (!stop) {
        const t0 = performance.now();
        const r = await leader.call({ header: c.header(r1), requests: [get('k')] }, 50);
        if (!r.header?.error && dec(r.responses?.[0]?.get?.value) === 'v0' && t0 > writtenAt) stale.push(t0 - writtenAt);
        await new Promise((res) => setTimeout(res, 2));
      }
    })();
    const others = [...c.stores.values()].filter((s) => s !== leader);
    try {
      const deadline = performance.now() + 10_000;
      for (let i = 0; ; i++) {
        const s = others[i % others.length]!;
        const r = await s.call({ header: c.header(r1), requests: [put('k', 'v1')] }, 100);
        if (!r.header?.error) break;
        assert.ok(performance.now() < deadline, 'the majority never accepted the write');
        await new Promise((res) => setTimeout(res, 10));
      }
      writtenAt = performance.now();
      await new Promise((res) => setTimeout(res, 600));
    } finally {
      stop = true;
      await reader;
    }
    assert.deepEqual(stale, [], 'the cut-off leader served the old value after the new one was acknowledged');
  } finally {
    await c.shutdown();
  }
});
