// The seven transactional commands served by real stores (three servers over a fake scheduler,
// unary gRPC with the lossless u64 codec): the Percolator flow, region errors, bad input, and a
// bank workload across splits that the split checker makes from transactional data alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { TinyKvGrpcClient } from '@tskv/rpc';
import { unary } from '@tskv/rpc';
import { Action, decodeUserKey, Op } from '@tskv/txn';
import { compareBytes, keyInRegion } from '@tskv/util';
import type { TinyKvServer } from '../src/index.js';
import { ctxOf, dec, enc, leaderOf, TestCluster, waitFor } from './helpers.js';
import { RawTinyKv } from './raw_grpc.js';

type KvMethod = 'kvGet' | 'kvScan' | 'kvPrewrite' | 'kvCommit' | 'kvCheckTxnStatus' | 'kvBatchRollback' | 'kvResolveLock';
// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field
type Any = any;

function kv(c: TinyKvGrpcClient, method: KvMethod, req: object): Promise<Any> {
  return unary<object, Any>(c, c[method], req, 10_000);
}

const show = (x: unknown): string => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

/** Timestamps above 2^53: any lossy number on the way would show. */
let clock = 1n << 60n;
const tso = (): bigint => ++clock;

/** Routes by key to the leader of the region holding it, as the servers see it. */
class Router {
  constructor(readonly c: TestCluster) {}

  regionOf(key: Uint8Array): { regionId: number; server: TinyKvServer } | null {
    const live = this.c.live();
    for (const s of live) {
      for (const r of s.store.regionStatus()) {
        if (!keyInRegion(key, r.region)) continue;
        const leader = leaderOf(live, r.regionId);
        if (leader) return { regionId: r.regionId, server: leader };
      }
    }
    return null;
  }

  /** Sends `req` (built with the region's context) until it gets no region error. */
  async send(key: Uint8Array, method: KvMethod, req: object, timeoutMs = 20_000): Promise<Any> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const at = this.regionOf(key);
      if (at) {
        try {
          const r = await kv(this.c.clients.get(at.server.addr), method, { ...req, context: ctxOf(at.server, at.regionId) });
          if (!r.regionError) return r;
          last = show(r.regionError);
        } catch (e) {
          last = String(e);
        }
      }
      if (Date.now() > end) throw new Error(`${method} on ${dec(key)}: no answer (last: ${last})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('the Percolator commands over gRPC: prewrite, locked reads, commit, scan, rollback, status, resolve', async () => {
  const c = await TestCluster.start(3);
  try {
    const regionId = Number(c.fake.firstRegion()!.id);
    const leader = await c.waitReplicated(regionId);
    const lc = c.clients.get(leader.addr);
    const ctx = ctxOf(leader, regionId);

    const start = tso();
    const pw = await kv(lc, 'kvPrewrite', {
      context: ctx,
      mutations: [
        { op: Op.Put, key: enc('a'), value: enc('va') },
        { op: Op.Put, key: enc('b'), value: enc('vb') },
      ],
      primaryLock: enc('a'),
      startVersion: start,
      lockTtl: 3000n,
    });
    assert.equal(pw.regionError, undefined);
    assert.deepEqual(pw.errors, []);

    // A reader after the prewrite meets the lock, with its exact u64 start version.
    const r1 = await kv(lc, 'kvGet', { context: ctx, key: enc('a'), version: tso() });
    assert.equal(r1.error?.locked?.lockVersion, start);
    assert.equal(dec(r1.error?.locked?.primaryLock), 'a');

    const commitTs = tso();
    const cm = await kv(lc, 'kvCommit', { context: ctx, startVersion: start, keys: [enc('a'), enc('b')], commitVersion: commitTs });
    assert.equal(cm.error, undefined);
    const after = await kv(lc, 'kvGet', { context: ctx, key: enc('b'), version: tso() });
    assert.equal(dec(after.value), 'vb');
    // A snapshot before the commit does not see it.
    const before = await kv(lc, 'kvGet', { context: ctx, key: enc('b'), version: commitTs - 1n });
    assert.equal(before.notFound, true);

    const readKeys = (): number => c.fake.reads.get(regionId)?.keys ?? 0;
    const readBefore = readKeys();
    const scan = await kv(lc, 'kvScan', { context: ctx, startKey: enc('a'), limit: 10, version: tso() });
    // The pairs a transactional scan returns reach the scheduler as the region's reads.
    await waitFor('the scan in the region heartbeats', () => readKeys() >= readBefore + 2);
    assert.deepEqual(
      scan.pairs.map((p: Any) => [dec(p.key), dec(p.value)]),
      [
        ['a', 'va'],
        ['b', 'vb'],
      ],
    );

    // A transaction that is rolled back leaves nothing, and its late commit is refused.
    const t2 = tso();
    await kv(lc, 'kvPrewrite', {
      context: ctx,
      mutations: [{ op: Op.Put, key: enc('c'), value: enc('vc') }],
      primaryLock: enc('c'),
      startVersion: t2,
      lockTtl: 3000n,
    });
    const rb = await kv(lc, 'kvBatchRollback', { context: ctx, startVersion: t2, keys: [enc('c')] });
    assert.equal(rb.error, undefined);
    const late = await kv(lc, 'kvCommit', { context: ctx, startVersion: t2, keys: [enc('c')], commitVersion: tso() });
    assert.ok(late.error?.abort || late.error?.retryable, `a commit after rollback is refused: ${show(late)}`);

    // A crashed transaction: its lock expires (TTL 1 ms), CheckTxnStatus rolls it back, ResolveLock clears its locks.
    const t3 = tso();
    await kv(lc, 'kvPrewrite', {
      context: ctx,
      mutations: [
        { op: Op.Put, key: enc('d'), value: enc('vd') },
        { op: Op.Put, key: enc('e'), value: enc('ve') },
      ],
      primaryLock: enc('d'),
      startVersion: t3,
      lockTtl: 1n,
    });
    const st = await kv(lc, 'kvCheckTxnStatus', { context: ctx, primaryKey: enc('d'), lockTs: t3, currentTs: t3 + (1000n << 18n) });
    assert.equal(st.action, Action.TTLExpireRollback);
    const rl = await kv(lc, 'kvResolveLock', { context: ctx, startVersion: t3, commitVersion: 0n });
    assert.equal(rl.error, undefined);
    const e = await kv(lc, 'kvGet', { context: ctx, key: enc('e'), version: tso() });
    assert.equal(e.error, undefined, 'the secondary lock is gone');
    assert.equal(e.notFound, true);

    // A follower answers NotLeader in region_error.
    const f = c.live().find((s) => s !== leader)!;
    const nl = await kv(c.clients.get(f.addr), 'kvGet', { context: ctxOf(f, regionId), key: enc('a'), version: tso() });
    assert.ok(nl.regionError?.notLeader, show(nl));

    // Raw and transactional data live apart: a raw put of the same key is not a transactional value.
    await c.put(regionId, 'a', 'raw');
    assert.equal(dec((await kv(lc, 'kvGet', { context: ctx, key: enc('a'), version: tso() })).value), 'va');
    assert.equal(await c.get(regionId, 'a'), 'raw');
  } finally {
    await c.stopAll();
  }
});

test('bad transactional input gets a clear error and writes nothing', async () => {
  const c = await TestCluster.start(1);
  try {
    const regionId = Number(c.fake.firstRegion()!.id);
    const leader = await c.waitReplicated(regionId);
    const lc = c.clients.get(leader.addr);
    const ctx = ctxOf(leader, regionId);
    const big = new Uint8Array(64 * 1024);
    const t = tso();
    const tooBig = await kv(lc, 'kvPrewrite', {
      context: ctx,
      mutations: [
        { op: Op.Put, key: enc('ok'), value: enc('v') },
        { op: Op.Put, key: big, value: enc('v') },
      ],
      primaryLock: enc('ok'),
      startVersion: t,
      lockTtl: 100n,
    });
    assert.match(tooBig.errors[0]?.abort ?? '', /invalid request: key 1 is 65536 bytes, over the limit/);
    const badOp = await kv(lc, 'kvPrewrite', {
      context: ctx,
      mutations: [
        { op: Op.Put, key: enc('ok'), value: enc('v') },
        { op: Op.Rollback, key: enc('ok2') },
      ],
      primaryLock: enc('ok'),
      startVersion: t,
      lockTtl: 100n,
    });
    assert.match(badOp.errors[0]?.abort ?? '', /invalid request/);
    const backwards = await kv(lc, 'kvCommit', { context: ctx, startVersion: t, keys: [enc('ok')], commitVersion: t - 1n });
    assert.match(backwards.error?.abort ?? '', /invalid request/);
    const noCtx = await kv(lc, 'kvGet', { key: enc('ok'), version: t });
    assert.match(noCtx.error?.abort ?? '', /missing context/);
    // Nothing was written: no lock, no value.
    const g = await kv(lc, 'kvGet', { context: ctx, key: enc('ok'), version: tso() });
    assert.equal(g.error, undefined);
    assert.equal(g.notFound, true);
  } finally {
    await c.stopAll();
  }
});

test('a bank workload keeps its total while the split checker splits its regions at user keys', async () => {
  const c = await TestCluster.start(3, {
    storeConfig: { splitCheckTickMs: 100, regionMaxSize: 48 * 1024, regionSplitSize: 16 * 1024, regionSplitCheckDiff: 4 * 1024 },
  });
  try {
    const regionId = Number(c.fake.firstRegion()!.id);
    await c.waitReplicated(regionId);
    const router = new Router(c);
    const N = 12;
    const pad = 'x'.repeat(400); // versions grow the regions quickly
    const acct = (i: number): Uint8Array => enc(`acct-${String(i).padStart(2, '0')}`);
    const val = (n: number): Uint8Array => enc(`${n}|${pad}`);
    const num = (v: Uint8Array): number => Number(dec(v).split('|')[0]);

    /** One transaction over `keys` (the first is the primary): prewrite each, commit the primary, then the rest. */
    async function commitTxn(start: bigint, writes: [Uint8Array, Uint8Array][]): Promise<boolean> {
      const primary = writes[0]![0];
      const done: Uint8Array[] = [];
      for (const [k, v] of writes) {
        const r = await router.send(k, 'kvPrewrite', {
          mutations: [{ op: Op.Put, key: k, value: v }],
          primaryLock: primary,
          startVersion: start,
          lockTtl: 5000n,
        });
        if (r.errors.length > 0) {
          for (const d of [...done, k]) await router.send(d, 'kvBatchRollback', { startVersion: start, keys: [d] });
          return false;
        }
        done.push(k);
      }
      const ct = tso();
      const pc = await router.send(primary, 'kvCommit', { startVersion: start, keys: [primary], commitVersion: ct });
      assert.equal(pc.error, undefined, show(pc.error));
      for (const [k] of writes.slice(1)) await router.send(k, 'kvCommit', { startVersion: start, keys: [k], commitVersion: ct });
      return true;
    }

    async function read(k: Uint8Array, ts: bigint): Promise<number> {
      for (;;) {
        const r = await router.send(k, 'kvGet', { key: k, version: ts });
        if (!r.error) return num(r.value);
        assert.ok(r.error.locked, show(r.error));
        await new Promise((res) => setTimeout(res, 20)); // every writer here finishes: wait for it
      }
    }

    assert.ok(
      await commitTxn(
        tso(),
        Array.from({ length: N }, (_, i) => [acct(i), val(100)] as [Uint8Array, Uint8Array]),
      ),
    );
    let committed = 0;
    let aborted = 0;
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; n < 40; n++) {
        const a = (w * 7 + n * 3) % N;
        const b = (a + 1 + ((w + n) % (N - 1))) % N;
        const start = tso();
        const [va, vb] = [await read(acct(a), start), await read(acct(b), start)];
        const amt = 1 + ((w + n) % 5);
        if (
          await commitTxn(start, [
            [acct(a), val(va - amt)],
            [acct(b), val(vb + amt)],
          ])
        )
          committed++;
        else aborted++;
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));

    // The regions split along user keys: every boundary is an account key, never an encoded one.
    await waitFor('a split', () => c.live()[0]!.store.regionStatus().length > 1, 30_000);
    const boundaries = c
      .live()[0]!
      .store.regionStatus()
      .map((r) => r.region.startKey ?? new Uint8Array(0))
      .filter((k) => k.length > 0);
    for (const k of boundaries) assert.match(dec(k), /^acct-\d\d$/, `boundary ${Buffer.from(k).toString('hex')}`);
    assert.throws(() => decodeUserKey(boundaries[0]!), 'a boundary is a raw user key');

    const ts = tso();
    let total = 0;
    for (let i = 0; i < N; i++) total += await read(acct(i), ts);
    assert.equal(total, N * 100, `total after ${committed} transfers (${aborted} aborted)`);
    assert.ok(committed > 20, `${committed} transfers committed`);
    // Every region's scan returns exactly its own accounts, in order.
    const seen: string[] = [];
    let from = acct(0);
    for (;;) {
      const r = await router.send(from, 'kvScan', { startKey: from, limit: 100, version: tso() });
      for (const p of r.pairs) seen.push(dec(p.key));
      const at = router.regionOf(from)!;
      const end = at.server.store.regionStatus().find((x) => x.regionId === at.regionId)!.region.endKey;
      if (!end || end.length === 0 || compareBytes(end, enc('acct-99')) > 0) break;
      from = end;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: N }, (_, i) => dec(acct(i))),
    );
  } finally {
    await c.stopAll();
  }
});

test('MVCC GC through raft: versions below the safe point go on every replica, reads at or after it are unchanged', async () => {
  const c = await TestCluster.start(3, { tuning: { gcIntervalMs: 0 }, storeConfig: { compactDeletesThreshold: 20 } });
  try {
    const regionId = Number(c.fake.firstRegion()!.id);
    const leader = await c.waitReplicated(regionId);
    const lc = c.clients.get(leader.addr);
    const ctx = ctxOf(leader, regionId);
    const keys = ['g1', 'g2', 'g3'];
    const commits: bigint[] = [];
    // 10 versions of each key; the last one of g3 is a delete.
    for (let v = 0; v < 10; v++) {
      const start = tso();
      const mutations = keys.map((k) =>
        k === 'g3' && v === 9 ? { op: Op.Del, key: enc(k) } : { op: Op.Put, key: enc(k), value: enc(`${k}-v${v}`) },
      );
      const pw = await kv(lc, 'kvPrewrite', { context: ctx, mutations, primaryLock: enc('g1'), startVersion: start, lockTtl: 3000n });
      assert.deepEqual(pw.errors, []);
      const ct = tso();
      commits.push(ct);
      await kv(lc, 'kvCommit', { context: ctx, startVersion: start, keys: keys.map(enc), commitVersion: ct });
    }
    const readAll = async (ts: bigint): Promise<string[]> =>
      Promise.all(
        keys.map(async (k) => {
          const r = await kv(lc, 'kvGet', { context: ctx, key: enc(k), version: ts });
          return r.notFound ? '-' : dec(r.value);
        }),
      );
    const sp = commits[7]!;
    const atSp = await readAll(sp);
    const atEnd = await readAll(tso());
    assert.deepEqual(atSp, ['g1-v7', 'g2-v7', 'g3-v7']);
    assert.deepEqual(atEnd, ['g1-v9', 'g2-v9', '-']);
    const writeRecords = (s: TinyKvServer) => s.engines.kv.collect('txn_write', new Uint8Array(0), new Uint8Array(0)).then((x) => x.length);
    assert.equal(await writeRecords(leader), 30);

    c.fake.gcSafePoint = sp;
    await leader.gc.runOnce();
    assert.equal(leader.gc.stats.safePoint, sp);
    // Kept per key: versions 8 and 9 (above the safe point) and 7 (the one the safe point sees).
    assert.equal(leader.gc.stats.versionsDeleted, 21);
    assert.deepEqual(await readAll(sp), atSp);
    assert.deepEqual(await readAll(tso()), atEnd);
    // Through raft: every replica deleted the same.
    for (const s of c.live()) await waitFor(`GC applied on store ${s.storeId}`, async () => (await writeRecords(s)) === 9);
    // Every replica compacts the region after that many deletions, leader or not.
    for (const s of c.live()) await waitFor(`store ${s.storeId} compacted`, () => s.store.stats().deleteCompactions >= 1);
    const values = await leader.engines.kv.collect('txn_default', new Uint8Array(0), new Uint8Array(0));
    assert.equal(values.length, 8, 'the values of the deleted puts are gone (g3-v9 is a delete: no value)');
    // A second round at the same safe point finds nothing.
    await leader.gc.runOnce();
    assert.equal(leader.gc.stats.versionsDeleted, 21);
  } finally {
    await c.stopAll();
  }
});

test('a timestamp that does not fit u64 is refused on the wire, never truncated', async () => {
  const c = await TestCluster.start(1);
  const raw = new RawTinyKv(c.live()[0]!.addr);
  try {
    const regionId = Number(c.fake.firstRegion()!.id);
    await c.waitReplicated(regionId);
    // KvGetRequest { key: "k" (field 2), version (field 3): the varint of 2^64 }.
    const tooBig = Buffer.from([0x12, 0x01, 0x6b, 0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]);
    const out = await raw.unary('kvGet' as 'rawGet', tooBig);
    assert.equal(out.err?.code, grpcStatus.INVALID_ARGUMENT);
    assert.match(out.err?.details ?? '', /version/);
    // 2^64 - 1 fits: the request is decoded (and refused for its missing context, not its version).
    const max = Buffer.from([0x12, 0x01, 0x6b, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const ok = await raw.unary('kvGet' as 'rawGet', max);
    assert.equal(ok.err, null);
  } finally {
    raw.close();
    await c.stopAll();
  }
});
