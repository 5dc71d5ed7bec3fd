// Focused, faster tests of the store through the mock cluster: reads, durability of acknowledged
// writes across crashes, clear errors for bad requests, NotLeader hints, scheduler heartbeats.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type errorpb, raft_cmdpb } from '@tskv/proto';
import {
  appendKey,
  appendValue,
  bytesToString,
  Cluster,
  ClusterRequestError,
  checkAppends,
  clientRange,
  MessageType,
} from '../src/index.js';

const CmdType = raft_cmdpb.CmdType;
const T = { timeout: 60_000 };
const b = (s: string): Uint8Array => Buffer.from(s);

async function withCluster(opts: ConstructorParameters<typeof Cluster>[0], fn: (c: Cluster) => Promise<void>): Promise<void> {
  const c = new Cluster(opts);
  try {
    await c.start();
    await fn(c);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
}

/** Sends a command straight to the current leader's store (retrying while leadership moves). */
async function callLeader(c: Cluster, build: (storeId: number) => raft_cmdpb.IRaftCmdRequest): Promise<raft_cmdpb.IRaftCmdResponse> {
  for (let i = 0; i < 50; i++) {
    const leader = await c.waitForLeader();
    const resp = await c.call(leader.storeId!, build(leader.storeId!));
    if (!resp.header?.error?.notLeader) return resp;
    await sleep(50);
  }
  throw new Error('leadership kept moving');
}

/** Polls `cond` until it holds; throws after a deadline generous enough for a loaded machine. */
async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(20);
  }
}

function regionError(resp: raft_cmdpb.IRaftCmdResponse): errorpb.IError {
  const e = resp.header?.error;
  assert.ok(e, `expected a region error, got success: ${JSON.stringify(resp.responses)}`);
  return e;
}

/** Sequential appenders (each append waits for the previous acknowledgement), as in the generic test. */
function startAppenders(c: Cluster, n: number): { acked: number[]; stop: () => Promise<void> } {
  const acked = new Array<number>(n).fill(0);
  let done = false;
  const runs = acked.map(async (_, cli) => {
    while (!done) {
      const i = acked[cli]!;
      await c.mustPut(appendKey(cli, i), appendValue(cli, i));
      acked[cli] = i + 1;
    }
  });
  return {
    acked,
    stop: async () => {
      done = true;
      await Promise.all(runs);
    },
  };
}

async function checkAllAppends(c: Cluster, acked: number[]): Promise<void> {
  for (let cli = 0; cli < acked.length; cli++) {
    const [s, e] = clientRange(cli);
    const problem = checkAppends(cli, await c.scan(s, e), acked[cli]!);
    assert.equal(problem, null);
  }
}

/** Waits until a store's own engine holds exactly every acknowledged append (it caught up). */
async function waitEngineHasAppends(c: Cluster, storeId: number, acked: number[], timeoutMs = 10_000): Promise<void> {
  for (let cli = 0; cli < acked.length; cli++) {
    if (acked[cli]! > 0) await c.mustEngineGetEqual(storeId, appendKey(cli, acked[cli]! - 1), appendValue(cli, acked[cli]! - 1), timeoutMs);
    const [s, e] = clientRange(cli);
    const kvs = await c.engines(storeId)!.kv.collect('default', b(s), b(e));
    assert.equal(checkAppends(cli, kvs, acked[cli]!), null, `store ${storeId}'s engine`);
  }
}

describe('cluster basics', () => {
  test('a put is readable from the leader, and replicated to every store', T, () =>
    withCluster({ stores: 3, name: 'put-get' }, async (c) => {
      await c.mustPut('k', 'v');
      await c.mustGetEqual('k', 'v');
      const resp = await callLeader(c, (sid) => ({ header: c.header(1, sid), requests: [{ cmdType: CmdType.Get, get: { key: b('k') } }] }));
      assert.equal(resp.header?.error ?? null, null);
      assert.equal(resp.responses?.[0]?.get?.found, true);
      assert.equal(bytesToString(resp.responses?.[0]?.get?.value), 'v');
      for (const s of c.storeIds()) await c.mustEngineGetEqual(s, 'k', 'v');
      // Deletes, other column families, scans.
      await c.mustPut('k', 'l', 'lock');
      await c.mustDelete('k');
      await c.mustGetNone('k');
      await c.mustGetEqual('k', 'l', 'lock');
      await c.mustPut('a1', '1');
      await c.mustPut('a2', '2');
      await c.mustPut('b1', '3');
      const kvs = await c.scan('a', 'b');
      assert.deepEqual(
        kvs.map(([k, v]) => [bytesToString(k), bytesToString(v)]),
        [
          ['a1', '1'],
          ['a2', '2'],
        ],
      );
      const all = await c.scan('', '');
      assert.deepEqual(
        all.map(([k]) => bytesToString(k)),
        ['a1', 'a2', 'b1'],
      );
    }),
  );

  test('the scheduler learns the leader from region heartbeats', T, () =>
    withCluster({ stores: 3, name: 'heartbeat' }, async (c) => {
      const leader = await c.waitForLeader();
      await until('a region heartbeat', () => c.scheduler.heartbeats.length > 0);
      const hb = c.scheduler.heartbeats.at(-1);
      assert.ok(hb);
      assert.equal(hb.regionId, 1);
      assert.equal(hb.leader.id, c.leaderOf()!.id);
      assert.equal(c.scheduler.regionByKey(b('anything'))?.region.id, 1);
      assert.ok(leader.id);
      assert.ok(c.scheduler.allocId() >= 1000);
    }),
  );

  test('acknowledged writes survive stopping and restarting all stores', T, () =>
    withCluster({ stores: 3, name: 'restart-all' }, async (c) => {
      for (let i = 0; i < 30; i++) await c.mustPut(`key${i}`, `value${i}`);
      await c.stopAll();
      await c.startAll();
      for (let i = 0; i < 30; i++) await c.mustGetEqual(`key${i}`, `value${i}`);
      for (const s of c.storeIds()) await c.mustEngineGetEqual(s, 'key29', 'value29');
      // And once more, with writes after the first restart.
      await c.mustPut('after', 'restart');
      await c.stopAll();
      await c.startAll();
      await c.mustGetEqual('after', 'restart');
      assert.equal((await c.scan('', '')).length, 31);
    }),
  );

  test('bad requests get clear errors and lose no data', T, () =>
    withCluster({ stores: 3, name: 'errors', startKey: b('a'), endKey: b('m') }, async (c) => {
      await c.mustPut('c', '1');
      const hdr = (sid: number): raft_cmdpb.IRaftRequestHeader => c.header(1, sid);
      const put = (key: Uint8Array, cf = ''): raft_cmdpb.IRequest => ({ cmdType: CmdType.Put, put: { cf, key, value: b('x') } });
      const get = (key: Uint8Array): raft_cmdpb.IRequest => ({ cmdType: CmdType.Get, get: { key } });

      // A key outside the region: KeyNotInRegion with the region's range.
      for (const r of [put(b('z')), get(b('z')), put(b('0'))]) {
        const e = regionError(await callLeader(c, (sid) => ({ header: hdr(sid), requests: [r] })));
        assert.ok(e.keyNotInRegion, `want KeyNotInRegion, got ${JSON.stringify(e)}`);
        assert.equal(e.keyNotInRegion.regionId, 1);
        assert.equal(bytesToString(e.keyNotInRegion.startKey), 'a');
        assert.equal(bytesToString(e.keyNotInRegion.endKey), 'm');
      }
      // The client helper fails at once (no region holds the key), without retrying for 20 s:
      // giving up at the deadline would be a retryable error saying so.
      await assert.rejects(
        c.mustPut('z', 'x'),
        (e: unknown) =>
          e instanceof ClusterRequestError && !e.retryable && e.regionError === null && e.message === 'no region holds key "z"',
      );

      // Malformed requests: a plain message error.
      const malformed: [string, raft_cmdpb.IRequest[]][] = [
        ['empty request', []],
        ['empty key', [put(new Uint8Array(0))]],
        ['unknown column family', [put(b('c'), 'nope')]],
        ['reads mixed with writes', [put(b('c')), get(b('c'))]],
        ['unknown command type', [{ cmdType: CmdType.Invalid }]],
        ['put without a value', [{ cmdType: CmdType.Put, put: { key: b('c') } }]],
      ];
      for (const [what, requests] of malformed) {
        const e = regionError(await callLeader(c, (sid) => ({ header: hdr(sid), requests })));
        assert.match(e.message ?? '', /invalid request/, `${what}: ${JSON.stringify(e)}`);
        assert.ok(!e.notLeader && !e.epochNotMatch && !e.keyNotInRegion, `${what}: ${JSON.stringify(e)}`);
      }
      const noEpoch = regionError(
        await callLeader(c, (sid) => ({ header: { regionId: 1, peer: hdr(sid).peer }, requests: [put(b('c'))] })),
      );
      assert.match(noEpoch.message ?? '', /epoch/);

      // Unknown region.
      const leader = await c.waitForLeader();
      const nf = regionError(
        await c.call(leader.storeId!, { header: { regionId: 99, regionEpoch: { confVer: 1, version: 1 } }, requests: [get(b('c'))] }),
      );
      assert.equal(nf.regionNotFound?.regionId, 99);
      const noRegion = regionError(await c.call(leader.storeId!, { header: {}, requests: [get(b('c'))] }));
      assert.match(noRegion.message ?? '', /region id/);

      // A stale epoch: EpochNotMatch with the current region.
      const stale = regionError(
        await callLeader(c, (sid) => ({ header: { ...hdr(sid), regionEpoch: { confVer: 1, version: 0 } }, requests: [put(b('c'))] })),
      );
      assert.ok(stale.epochNotMatch, JSON.stringify(stale));
      assert.equal(stale.epochNotMatch.currentRegions?.[0]?.id, 1);

      // A request for another store's peer: StoreNotMatch.
      const snm = regionError(
        await callLeader(c, (sid) => ({ header: { ...hdr(sid), peer: { id: 99, storeId: (sid % 3) + 1 } }, requests: [put(b('c'))] })),
      );
      assert.ok(snm.storeNotMatch, JSON.stringify(snm));

      // Nothing was lost or written.
      await c.mustGetEqual('c', '1');
      const all = await c.scan('a', 'm');
      assert.deepEqual(
        all.map(([k, v]) => [bytesToString(k), bytesToString(v)]),
        [['c', '1']],
      );
      for (const s of c.storeIds()) {
        assert.equal(await c.engineGet(s, 'z'), undefined);
        assert.equal(await c.engineGet(s, '0'), undefined);
      }
      await c.mustPut('d', '2');
      await c.mustGetEqual('d', '2');
    }),
  );

  test('a follower answers NotLeader with the leader hint', T, () =>
    withCluster({ stores: 3, name: 'not-leader' }, async (c) => {
      await c.mustPut('k', 'v'); // the followers have heard from the leader
      const leader = await c.waitForLeader();
      for (const sid of c.storeIds()) {
        if (sid === leader.storeId) continue;
        for (const r of [
          { cmdType: CmdType.Get, get: { key: b('k') } },
          { cmdType: CmdType.Put, put: { key: b('k'), value: b('w') } },
        ]) {
          const e = regionError(await c.call(sid, { header: c.header(1, sid), requests: [r] }));
          assert.ok(e.notLeader, JSON.stringify(e));
          assert.equal(e.notLeader.regionId, 1);
          assert.equal(e.notLeader.leader?.id, leader.id, `store ${sid}'s hint`);
          assert.equal(e.notLeader.leader?.storeId, leader.storeId);
        }
      }
      await c.mustGetEqual('k', 'v');
    }),
  );

  test('the leader killed mid-write restarts with every acknowledged write present', T, () =>
    withCluster({ stores: 5, name: 'kill-leader' }, async (c) => {
      const w = startAppenders(c, 3);
      await until('every appender has acknowledged writes', () => w.acked.every((n) => n > 0));
      const leader = (await c.waitForLeader()).storeId!;
      await c.crashStore(leader);
      await sleep(800);
      // Kill a follower too while the new leader is taking writes.
      const next = (await c.waitForLeader()).storeId!;
      const follower = c.storeIds().find((s) => s !== leader && s !== next)!;
      await c.crashStore(follower);
      await sleep(500);
      await c.startStore(leader);
      await c.startStore(follower);
      const atRestart = [...w.acked];
      await until('every appender makes progress after the restarts', () => w.acked.every((n, i) => n > atRestart[i]!));
      await w.stop();
      await checkAllAppends(c, w.acked);
      await waitEngineHasAppends(c, leader, w.acked);
      await waitEngineHasAppends(c, follower, w.acked);
    }),
  );

  test('all stores killed mid-write restart with every acknowledged write present', T, () =>
    withCluster({ stores: 3, name: 'kill-all' }, async (c) => {
      const w = startAppenders(c, 3);
      await until('every appender has acknowledged writes', () => w.acked.every((n) => n > 0));
      await c.crashAll(); // requests in flight time out and are retried
      const ackedAtCrash = [...w.acked];
      await sleep(300);
      await c.startAll();
      await until('every appender makes progress after the restart', () => w.acked.every((n, i) => n > ackedAtCrash[i]!));
      await w.stop();
      await checkAllAppends(c, w.acked);
      for (const s of c.storeIds()) await waitEngineHasAppends(c, s, w.acked);
    }),
  );

  test("a follower cut off during 1500 writes catches up from the leader's raft engine, also after a restart", T, () =>
    withCluster({ stores: 3, name: 'catch-up' }, async (c) => {
      await c.mustPut('first', '1');
      const leader = (await c.waitForLeader()).storeId!;
      const lagging = c.storeIds().find((s) => s !== leader)!;
      c.transport.isolate(lagging);
      // More entries than the leader's in-memory log cache keeps (it trims past 1024 applied),
      // so the catch-up reads old entries from the raft engine.
      const writers = 10;
      const per = 150;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < per; i++) await c.mustPut(`w${w} ${String(i).padStart(4, '0')}`, `${w}/${i}`);
        }),
      );
      assert.equal(await c.engineGet(lagging, 'w0 0000'), undefined, 'the isolated store got writes');
      c.transport.clearFilters();
      await c.mustEngineGetEqual(lagging, `w${writers - 1} ${String(per - 1).padStart(4, '0')}`, `${writers - 1}/${per - 1}`, 15_000);
      for (let w = 0; w < writers; w++) {
        const kvs = await c.engines(lagging)!.kv.collect('default', b(`w${w} `), b(`w${w}!`));
        assert.equal(kvs.length, per, `writer ${w} on the caught-up store`);
      }

      // Again from disk alone: cut it off, write, restart every store (empty caches), heal.
      c.transport.isolate(lagging);
      for (let i = 0; i < 100; i++) await c.mustPut(`r ${String(i).padStart(4, '0')}`, `${i}`);
      await c.stopAll();
      await c.startAll();
      c.transport.isolate(lagging); // still cut off after the restart: a majority elects a leader
      await c.mustPut('after', 'restart');
      c.transport.clearFilters();
      await c.mustEngineGetEqual(lagging, 'after', 'restart', 15_000);
      assert.equal((await c.engines(lagging)!.kv.collect('default', b('r '), b('r!'))).length, 100);
      assert.equal((await c.scan('', '')).length, 1 + writers * per + 100 + 1);
    }),
  );

  test('a slow, reordering, lossy network loses no acknowledged write', T, () =>
    withCluster({ stores: 5, name: 'reorder' }, async (c) => {
      c.transport.delay(0, 40);
      c.transport.dropRandomly(0.05);
      c.transport.dropTypes([c.transport.rng.pick([MessageType.MsgAppendResponse, MessageType.MsgHeartbeatResponse])], {
        from: c.transport.rng.range(1, 5),
      });
      const w = startAppenders(c, 4);
      await sleep(3000); // the workload runs this long at least
      await until('every appender has acknowledged writes', () => w.acked.every((n) => n > 0));
      await w.stop();
      await checkAllAppends(c, w.acked);
      c.transport.clearFilters();
      for (const s of c.storeIds()) await waitEngineHasAppends(c, s, w.acked);
    }),
  );

  for (const readMode of ['readIndex', 'lease'] as const) {
    test(`a leader cut off from the majority serves no stale read (readMode ${readMode})`, T, () =>
      withCluster({ stores: 3, name: `stale-read-${readMode}`, config: { readMode } }, async (c) => {
        const get = (sid: number): raft_cmdpb.IRaftCmdRequest => ({
          header: c.header(1, sid),
          requests: [{ cmdType: CmdType.Get, get: { key: b('k') } }],
        });
        for (let trial = 0; trial < 3; trial++) {
          const old = `v${trial}`;
          const next = `v${trial + 1}`;
          await c.mustPut('k', old);
          const L = (await c.waitForLeader()).storeId!;
          for (let i = 0; i < 3; i++) await c.call(L, get(L), 200); // (lease mode: establishes a lease)
          await sleep(c.rng.int(300)); // a random phase of the heartbeat and check-quorum timers
          c.transport.isolate(L);
          let ackedAt = Infinity;
          let stop = false;
          let served = 0;
          const stale: number[] = [];
          // Reads at the cut-off leader, as fast as it answers.
          const reader = (async () => {
            while (!stop) {
              const t0 = performance.now();
              const r = await c.call(L, get(L), 100);
              if (!r.header?.error) {
                served++;
                if (bytesToString(r.responses?.[0]?.get?.value) === old && t0 > ackedAt) stale.push(Math.round(t0 - ackedAt));
              }
              await sleep(1);
            }
          })();
          // Meanwhile the majority elects a leader and acknowledges a newer value, as soon as it can.
          const others = c.storeIds().filter((s) => s !== L);
          for (let i = 0; ; i++) {
            const sid = others[i % others.length]!;
            const r = await c.call(
              sid,
              { header: c.header(1, sid), requests: [{ cmdType: CmdType.Put, put: { key: b('k'), value: b(next) } }] },
              50,
            );
            if (!r.header?.error) break;
            await sleep(2);
          }
          ackedAt = performance.now();
          await sleep(1200); // past any lease and check-quorum step-down
          stop = true;
          await reader;
          assert.deepEqual(
            stale,
            [],
            `trial ${trial}: the cut-off leader served ${stale.length} stale reads (ms after the newer write was acknowledged: ` +
              `${stale.slice(0, 5)})`,
          );
          c.transport.clearFilters();
          await c.mustGetEqual('k', next);
          c.log(`trial ${trial}: the cut-off leader served ${served} reads`);
        }
      }),
    );
  }
});
