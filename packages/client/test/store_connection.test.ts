import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttemptTimeoutError, ClientClosedError, InvalidArgumentError, StoreUnavailableError } from '../src/errors.js';
import { StoreConnection } from '../src/store_connection.js';
import { FakeCluster, toMetaRegion } from '../src/testing/index.js';

/** Polls `cond` until it holds; throws after a deadline generous enough for a loaded machine. */
async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function ctx(c: FakeCluster) {
  const r = c.region(1);
  return { regionId: 1, regionEpoch: toMetaRegion(r).regionEpoch, peer: r.peers[0] };
}

test('requests of one event-loop turn go out as one frame; out-of-order answers split over frames reach their requests', async () => {
  const c = await FakeCluster.start({ stores: 1 });
  const store = c.stores.get(1)!;
  const conn = new StoreConnection(1, store.address);
  try {
    const context = ctx(c);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        conn.send({ rawPut: { context, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), cf: 'default' } }, 5000),
      ),
    );
    assert.equal(conn.stats.framesSent, 1);
    assert.equal(store.frames, 1);
    assert.ok(conn.stats.framesReceived >= 2, 'the fake answers in two frames');
    const rs = await Promise.all(
      Array.from({ length: 200 }, (_, i) => conn.send({ rawGet: { context, key: Buffer.from(`k${i}`), cf: 'default' } }, 5000)),
    );
    assert.equal(conn.stats.framesSent, 2);
    for (const [i, r] of rs.entries()) assert.equal(Buffer.from(r.rawGet!.value!).toString(), `v${i}`);
    assert.equal(conn.inflight, 0);
  } finally {
    conn.close();
    await c.close();
  }
});

test('a large queue is cut into frames of maxBatchRequests', async () => {
  const c = await FakeCluster.start({ stores: 1 });
  const conn = new StoreConnection(1, c.stores.get(1)!.address, { maxBatchRequests: 64 });
  try {
    const context = ctx(c);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => conn.send({ rawGet: { context, key: Buffer.from(`k${i}`), cf: 'default' } }, 5000)),
    );
    assert.equal(conn.stats.framesSent, 4);
    assert.equal(conn.stats.requestsSent, 200);
  } finally {
    conn.close();
    await c.close();
  }
});

test('per-request deadline: a request left unanswered times out alone, the stream keeps serving', async () => {
  const c = await FakeCluster.start({ stores: 1 });
  c.inject = ({ req }) => (Buffer.from(req.key ?? []).toString() === 'slow' ? { drop: true } : undefined);
  const conn = new StoreConnection(1, c.stores.get(1)!.address);
  try {
    const context = ctx(c);
    const slow = conn.send({ rawGet: { context, key: Buffer.from('slow'), cf: 'default' } }, 150);
    const fast = conn.send({ rawGet: { context, key: Buffer.from('fast'), cf: 'default' } }, 5000);
    assert.equal((await fast).rawGet!.notFound, true);
    await assert.rejects(slow, AttemptTimeoutError);
    assert.equal(conn.stats.timeouts, 1);
    const again = await conn.send({ rawGet: { context, key: Buffer.from('fast'), cf: 'default' } }, 5000);
    assert.equal(again.rawGet!.notFound, true);
    assert.equal(conn.stats.streamsOpened, 1);
  } finally {
    conn.close();
    await c.close();
  }
});

test('a failed stream fails its in-flight requests as retryable; the next request reconnects', async () => {
  const c = await FakeCluster.start({ stores: 1 });
  let hangReceived = false;
  c.inject = ({ req }) => {
    if (Buffer.from(req.key ?? []).toString() !== 'hang') return undefined;
    hangReceived = true;
    return { drop: true };
  };
  const conn = new StoreConnection(1, c.stores.get(1)!.address);
  try {
    const context = ctx(c);
    const hung = conn.send({ rawGet: { context, key: Buffer.from('hang'), cf: 'default' } }, 30_000);
    await until('the store received the request that hangs', () => hangReceived);
    await c.stopStore(1);
    await assert.rejects(hung, (e: unknown) => e instanceof StoreUnavailableError && e.retryable && /store 1/.test(e.message));
    assert.equal(conn.inflight, 0);
    // While the store is down requests fail fast (not at their deadline).
    const t0 = Date.now();
    await assert.rejects(conn.send({ rawGet: { context, key: Buffer.from('x'), cf: 'default' } }, 20_000), StoreUnavailableError);
    assert.ok(Date.now() - t0 < 10_000);
    await c.startStore(1);
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      try {
        await conn.send({ rawGet: { context, key: Buffer.from('x'), cf: 'default' } }, 2000);
        ok = true;
      } catch (e) {
        assert.ok(e instanceof StoreUnavailableError);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(ok, 'reconnected after the store came back');
    assert.ok(conn.stats.streamsOpened >= 2);
  } finally {
    conn.close();
    await c.close();
  }
});

test('close fails pending requests with ClientClosedError and refuses new ones', async () => {
  const c = await FakeCluster.start({ stores: 1 });
  let received = false;
  c.inject = () => {
    received = true;
    return { drop: true };
  };
  const conn = new StoreConnection(1, c.stores.get(1)!.address);
  try {
    const p = conn.send({ rawGet: { context: ctx(c), key: Buffer.from('a'), cf: 'default' } }, 30_000);
    await until('the store received the request (it is in flight)', () => received);
    conn.close();
    await assert.rejects(p, ClientClosedError);
    await assert.rejects(conn.send({ rawGet: { key: Buffer.from('a') } }, 1000), ClientClosedError);
  } finally {
    await c.close();
  }
});

test('transactional requests share the stream with raw ones, bigint timestamps exact; one the codec refuses fails alone', async () => {
  const c = await FakeCluster.start({ stores: 1 });
  const conn = new StoreConnection(1, c.stores.get(1)!.address);
  try {
    const context = ctx(c);
    const startVersion = 2n ** 63n + 2n ** 40n + 1n;
    const [pre, raw] = await Promise.all([
      conn.send(
        {
          prewrite: {
            context,
            mutations: [{ op: 0, key: Buffer.from('t'), value: Buffer.from('v') }],
            primaryLock: Buffer.from('t'),
            startVersion,
            lockTtl: 3000n,
          },
        },
        5000,
      ),
      conn.send({ rawGet: { context, key: Buffer.from('r'), cf: 'default' } }, 5000),
    ]);
    assert.deepEqual(pre.prewrite!.errors, []);
    assert.equal(raw.rawGet!.notFound, true);
    assert.equal(conn.stats.framesSent, 1, 'one frame for both');
    const got = await conn.send({ get: { context, key: Buffer.from('t'), version: startVersion + 1n } }, 5000);
    assert.equal(got.get!.error!.locked!.lockVersion, startVersion, 'the lock names the exact start ts');
    await assert.rejects(
      conn.send({ get: { context, key: Buffer.from('t'), version: 5 as unknown as bigint } }, 5000),
      (e: unknown) => e instanceof InvalidArgumentError && /must be a bigint/.test(e.message),
    );
    const after = await conn.send({ rawGet: { context, key: Buffer.from('r'), cf: 'default' } }, 5000);
    assert.equal(after.rawGet!.notFound, true);
    assert.equal(conn.stats.streamsOpened, 1, 'the stream was not lost');
  } finally {
    conn.close();
    await c.close();
  }
});
