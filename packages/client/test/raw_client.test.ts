import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, RawClient, RegionUnavailableError, RequestError, SchedulerUnavailableError } from '../src/index.js';
import { FakeCluster } from '../src/testing/index.js';

const s = (b: Uint8Array | null | undefined): string | null => (b ? Buffer.from(b).toString() : null);

async function setup(opts: Parameters<typeof FakeCluster.start>[0] = {}, clientOpts: Parameters<typeof RawClient.connect>[0] = {}) {
  const cluster = await FakeCluster.start(opts);
  const client = await RawClient.connect({ schedulerAddr: cluster.schedulerAddr, timeoutMs: 8000, ...clientOpts });
  return {
    cluster,
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      await cluster.close();
    },
  };
}

function served(c: FakeCluster, storeId: number): number {
  return c.stores.get(storeId)!.served.length;
}

/** Region lookups the client made at the scheduler (single ones and prefetching scans). */
function regionLookups(cluster: { schedulerCalls: Map<string, number> }): number {
  return (cluster.schedulerCalls.get('getRegion') ?? 0) + (cluster.schedulerCalls.get('scanRegions') ?? 0);
}

test('put, get, delete, not found, empty values; requests go to the leader over one stream', async () => {
  await using t = await setup({ splitKeys: ['m'] });
  const { client, cluster } = t;
  await client.put('hello', 'world');
  assert.equal(s(await client.get('hello')), 'world');
  assert.equal(s(cluster.get('hello')), 'world');
  assert.equal(await client.get('absent'), null);
  await client.put(Buffer.from('zz'), new Uint8Array(0));
  const empty = await client.get('zz');
  assert.ok(empty && empty.length === 0, 'an empty value is not "not found"');
  await client.delete('hello');
  assert.equal(await client.get('hello'), null);
  await client.put('k', 'v', 'write');
  assert.equal(await client.get('k'), null, 'column families are separate');
  assert.equal(s(await client.get('k', 'write')), 'v');
  assert.equal(served(cluster, 2) + served(cluster, 3), 0, 'only the leader (store 1) was asked');
  assert.equal(client.connections().size, 1);
  assert.equal(client.cache.size, 2, 'both regions cached');
});

test('empty keys and bad arguments are refused before anything is sent', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  await assert.rejects(client.put('', 'v'), (e: unknown) => e instanceof InvalidArgumentError && /empty/.test(e.message));
  await assert.rejects(client.get(new Uint8Array(0)), InvalidArgumentError);
  await assert.rejects(client.batchGet(['a', '']), InvalidArgumentError);
  await assert.rejects(client.scan('a', 'b', -1), InvalidArgumentError);
  assert.equal(served(cluster, 1), 0);
});

test('many concurrent requests share frames', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  await Promise.all(Array.from({ length: 500 }, (_, i) => client.put(`key${i}`, `value${i}`)));
  const got = await Promise.all(Array.from({ length: 500 }, (_, i) => client.get(`key${i}`)));
  for (const [i, v] of got.entries()) assert.equal(s(v), `value${i}`);
  assert.ok(cluster.stores.get(1)!.frames <= 10, `1,000 requests in ${cluster.stores.get(1)!.frames} frames`);
});

test('scan across regions: concatenated in order, end key exclusive, limit, pages within a region', async () => {
  await using t = await setup({ splitKeys: ['c', 'f', 'p'] }, { scanBatchSize: 3 });
  const { client } = t;
  const keys = 'abcdefghijklmnopqrstuvwxyz'.split('');
  await client.batchPut(keys.map((k) => [k, k.toUpperCase()] as const));
  const all = await client.scan();
  assert.deepEqual(
    all.map((p) => s(p.key)),
    keys,
  );
  assert.equal(s(all[3]!.value), 'D');
  assert.deepEqual((await client.scan('b', 'q')).map((p) => s(p.key)).join(''), 'bcdefghijklmnop');
  assert.deepEqual((await client.scan('b', 'q', 5)).map((p) => s(p.key)).join(''), 'bcdef');
  assert.deepEqual((await client.scan('x')).map((p) => s(p.key)).join(''), 'xyz');
  assert.deepEqual(await client.scan('q', 'b'), []);
  assert.deepEqual(
    (await client.scan('f', 'f\0')).map((p) => s(p.key)),
    ['f'],
  );
});

test('batchGet and batchPut: one request per region, results in the order of the keys', async () => {
  await using t = await setup({ splitKeys: ['g', 'p'] });
  const { client, cluster } = t;
  await client.batchPut([
    { key: 'a', value: '1' },
    { key: 'h', value: '2' },
    { key: 'q', value: '3' },
    { key: 'b', value: '4' },
  ]);
  const leaderServed = cluster.stores.get(1)!.served;
  assert.deepEqual(leaderServed.filter((k) => k === 'rawBatchPut').length, 3, 'three regions, three RawBatchPut');
  const vals = await client.batchGet(['q', 'nope', 'a', 'h', 'b']);
  assert.deepEqual(vals.map(s), ['3', null, '1', '2', '4']);
  assert.equal(leaderServed.filter((k) => k === 'rawBatchGet').length, 3);
  assert.deepEqual(await client.batchGet([]), []);
});

test('NotLeader with a leader: switch at once, and keep going to the new leader', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  await client.put('a', '1');
  cluster.setLeader(1, 3); // the scheduler still says store 1
  assert.equal(s(await client.get('a')), '1');
  assert.equal(cluster.stores.get(3)!.served.length, 1);
  const asked1 = cluster.stores.get(1)!.requests;
  for (let i = 0; i < 5; i++) await client.get('a');
  assert.equal(cluster.stores.get(1)!.requests, asked1, 'store 1 is not asked again');
  assert.equal(client.cache.lookup(Buffer.from('a'))!.leader!.storeId, 3);
});

test('NotLeader without a leader: the other peers are tried until the leader answers', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  cluster.leaderHints = false;
  cluster.setLeader(1, 2);
  await client.put('a', '1');
  assert.equal(s(cluster.get('a')), '1');
  assert.deepEqual(cluster.stores.get(2)!.served, ['rawPut']);
  // An election: no leader anywhere for a while, then store 3 wins.
  cluster.setLeader(1, null);
  setTimeout(() => cluster.setLeader(1, 3), 300);
  assert.equal(s(await client.get('a')), '1');
  assert.deepEqual(cluster.stores.get(3)!.served, ['rawGet']);
});

test('EpochNotMatch after a split: the current regions from the store replace the cache, data lands in the right region', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  await client.put('b', '1');
  assert.equal(client.cache.size, 1);
  const right = cluster.split('m'); // the scheduler does not know yet
  const lookups = regionLookups(cluster);
  await client.put('x', '2');
  await client.put('c', '3');
  assert.equal(s(cluster.get('x')), '2');
  assert.equal(client.cache.size, 2);
  assert.equal(client.cache.lookup(Buffer.from('x'))!.id, right.id);
  assert.equal(client.cache.lookup(Buffer.from('x'))!.epoch.version, 2);
  assert.equal(regionLookups(cluster), lookups, 'no scheduler lookup needed');
  assert.deepEqual(
    (await client.scan()).map((p) => s(p.key)),
    ['b', 'c', 'x'],
  );
});

test('EpochNotMatch without current regions: reloaded from the scheduler', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  await client.put('b', '1');
  cluster.epochRegions = false;
  cluster.split('m', true);
  const before = regionLookups(cluster);
  await client.put('x', '2');
  assert.equal(s(cluster.get('x')), '2');
  assert.ok(regionLookups(cluster) > before);
  // A batch over both halves after another split regroups its keys.
  cluster.split('t', true);
  await client.batchPut([
    ['a', 'A'],
    ['n', 'N'],
    ['u', 'U'],
  ]);
  assert.deepEqual((await client.batchGet(['u', 'n', 'a'])).map(s), ['U', 'N', 'A']);
});

test('ServerIsBusy, StaleCommand and KeyNotInRegion are retried with backoff until they pass', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  let n = 0;
  cluster.inject = ({ kind }) => {
    if (kind !== 'rawPut') return undefined;
    n++;
    if (n === 1) return { regionError: { message: 'busy', serverIsBusy: { reason: 'apply queue full' } } };
    if (n === 2) return { regionError: { message: 'stale', staleCommand: {} } };
    if (n === 3) return { regionError: { message: 'moved', keyNotInRegion: { key: Buffer.from('a'), regionId: 1 } } };
    return undefined;
  };
  const lookups = regionLookups(cluster);
  await client.put('a', '1');
  assert.equal(n, 4);
  assert.equal(s(cluster.get('a')), '1');
  assert.ok(regionLookups(cluster) > lookups, 'KeyNotInRegion reloads the region');
});

test('a request error is thrown at once, not retried', async () => {
  await using t = await setup();
  const { client, cluster } = t;
  let n = 0;
  cluster.inject = () => {
    n++;
    return { error: 'value too large' };
  };
  await assert.rejects(
    client.put('a', '1'),
    (e: unknown) => e instanceof RequestError && !e.retryable && /value too large/.test(e.message),
  );
  assert.equal(n, 1);
  cluster.inject = null;
  await assert.rejects(client.get('a', 'nosuchcf'), (e: unknown) => e instanceof RequestError && /column family/.test(e.message));
});

test('a dead store fails over: the leader store stops, a peer on another store takes over', async () => {
  await using t = await setup({}, { timeoutMs: 10_000 });
  const { client, cluster } = t;
  await client.put('a', '1');
  await cluster.stopStore(1);
  setTimeout(() => cluster.setLeader(1, 2), 200); // the election
  const t0 = Date.now();
  assert.equal(s(await client.get('a')), '1');
  assert.ok(Date.now() - t0 < 8000);
  assert.equal(client.cache.lookup(Buffer.from('a'))!.leader!.storeId, 2);
  await client.put('b', '2');
  assert.equal(s(cluster.get('b')), '2');
  // The store comes back as a follower; the client keeps using the leader.
  await cluster.startStore(1);
  assert.equal(s(await client.get('b')), '2');
});

test('a hung store (no answer) is given up per attempt, then another peer serves', async () => {
  await using t = await setup({}, { timeoutMs: 10_000, attemptTimeoutMs: 300 });
  const { client, cluster } = t;
  cluster.inject = ({ storeId }) => (storeId === 1 ? { drop: true } : undefined);
  cluster.setLeader(1, 2);
  await client.put('a', '1');
  assert.equal(s(cluster.get('a')), '1');
});

test('giving up at the deadline says what was tried last', async () => {
  await using t = await setup({}, { timeoutMs: 800, maxBackoffMs: 100 });
  const { client, cluster } = t;
  cluster.inject = () => ({ regionError: { message: 'busy', serverIsBusy: { reason: 'too many writes' } } });
  const t0 = Date.now();
  await assert.rejects(client.put('a', '1'), (e: unknown) => {
    assert.ok(e instanceof RegionUnavailableError, String(e));
    assert.match(e.message, /put "a": gave up after \d+ ms and \d+ attempts; last: store 1, region 1: ServerIsBusy \(too many writes\)/);
    assert.ok(e.attempts > 2);
    assert.ok(e.regionError?.serverIsBusy);
    return true;
  });
  assert.ok(Date.now() - t0 >= 700 && Date.now() - t0 < 5000);
});

test('connect to an unreachable scheduler fails with SchedulerUnavailableError within the connect timeout', async () => {
  const t0 = Date.now();
  await assert.rejects(
    RawClient.connect({ schedulerAddr: '127.0.0.1:1', connectTimeoutMs: 500 }),
    (e: unknown) => e instanceof SchedulerUnavailableError && /127\.0\.0\.1:1/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 3000);
});

test('the scheduler going away does not matter while the cache is warm; cold lookups then fail at the deadline', async () => {
  // One region per lookup, so that the region of 'z' is still cold.
  await using t = await setup({ splitKeys: ['m'] }, { timeoutMs: 1000, regionPrefetch: 1 });
  const { client, cluster } = t;
  await client.put('a', '1');
  await cluster.stopScheduler();
  assert.equal(s(await client.get('a')), '1');
  await assert.rejects(
    client.get('z'),
    (e: unknown) => e instanceof RegionUnavailableError && /region lookup at the scheduler/.test(e.message),
  );
});
