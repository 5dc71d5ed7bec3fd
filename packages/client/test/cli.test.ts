// The tinykv command run as a child process (through its committed launcher) against the fake
// cluster of this process, and against a scheduler that is not there.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeCluster } from '../src/testing/index.js';

const CLI = fileURLToPath(new URL('../../cli/tinykv.mjs', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function tinykv(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    if (!env.TINYKV_SCHEDULER) delete e.TINYKV_SCHEDULER;
    execFile(process.execPath, [CLI, ...args], { env: e, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

let cluster: FakeCluster;
let S: string[];

before(async () => {
  cluster = await FakeCluster.start({ splitKeys: ['m'] });
  S = ['--scheduler', cluster.schedulerAddr];
});

after(async () => {
  await cluster.close();
});

test('put, get, not found (exit 1), delete', async () => {
  const put = await tinykv([...S, 'put', 'hello', 'world']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(put.stdout, 'OK\n');
  assert.equal(Buffer.from(cluster.get('hello')!).toString(), 'world');
  const get = await tinykv([...S, 'get', 'hello']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, 'world\n');
  const missing = await tinykv([...S, 'get', 'nope']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, '');
  assert.equal(missing.stderr, 'not found\n');
  const del = await tinykv([...S, 'delete', 'hello']);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await tinykv([...S, 'get', 'hello'])).code, 1);
});

test('the scheduler address from TINYKV_SCHEDULER; --json and --hex output', async () => {
  const env = { TINYKV_SCHEDULER: cluster.schedulerAddr };
  assert.equal((await tinykv(['put', 'k1', 'v1'], env)).code, 0);
  const j = await tinykv(['get', 'k1', '--json'], env);
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(JSON.parse(j.stdout), { found: true, value: 'v1' });
  const h = await tinykv(['--hex', 'get', Buffer.from('k1').toString('hex')], env);
  assert.equal(h.stdout.trim(), Buffer.from('v1').toString('hex'));
  const bad = await tinykv(['--hex', 'get', 'zz'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^tinykv: KEY is not hex/);
});

test('scan: key<TAB>value lines across regions, START/END, --limit, --json', async () => {
  for (const k of ['a', 'b', 'n', 'x'])
    cluster.data.get('default')!.set(Buffer.from(k).toString('hex'), { key: Buffer.from(k), value: Buffer.from(k.toUpperCase()) });
  const all = await tinykv([...S, 'scan']);
  assert.equal(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n');
  assert.ok(lines.includes('a\tA') && lines.includes('x\tX'));
  const keys = lines.map((l) => l.split('\t')[0]!);
  assert.deepEqual(keys, [...keys].sort(), 'in key order');
  assert.equal((await tinykv([...S, 'scan', 'b', 'x'])).stdout, 'b\tB\nk1\tv1\nn\tN\n');
  assert.equal((await tinykv([...S, 'scan', 'b', '--limit', '2'])).stdout, 'b\tB\nk1\tv1\n');
  const j = await tinykv([...S, '--json', 'scan', 'n', 'y']);
  assert.deepEqual(JSON.parse(j.stdout), [
    { key: 'n', value: 'N' },
    { key: 'x', value: 'X' },
  ]);
});

test('regions, stores and status show the scheduler view', async () => {
  const r = await tinykv([...S, 'regions']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^ID\s+START\s+END\s+EPOCH\s+PEERS\s+LEADER$/);
  assert.match(lines[1]!, /^1\s+-inf\s+"m"\s+1\/1\s+101@store1 102@store2 103@store3\s+store1 \(peer 101\)$/);
  assert.match(lines[2]!, /^2\s+"m"\s+\+inf\s+1\/1\s+201@store1 202@store2 203@store3\s+store1 \(peer 201\)$/);
  const rj = JSON.parse((await tinykv([...S, '--json', 'regions'])).stdout);
  assert.equal(rj.length, 2);
  assert.equal(rj[1].startKey, Buffer.from('m').toString('hex'));
  assert.equal(rj[0].leader.storeId, 1);

  const s = await tinykv([...S, 'stores']);
  assert.equal(s.code, 0, s.stderr);
  const sl = s.stdout.trim().split('\n');
  assert.match(sl[0]!, /^ID\s+ADDRESS\s+STATE\s+REGIONS\s+LEADERS\s+HEARTBEAT/);
  assert.equal(sl.length, 4);
  assert.match(sl[1]!, new RegExp(`^1\\s+${cluster.stores.get(1)!.address.replace(/\./g, '\\.')}\\s+Up\\s+2\\s+2\\s+1\\.0 s ago`));

  const st = await tinykv([...S, 'status']);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`scheduler\\s+${cluster.schedulerAddr.replace(/\./g, '\\.')} \\(cluster 4242\\)`));
  assert.match(st.stdout, /stores\s+3 up, 0 down, 3 in all/);
  assert.match(st.stdout, /regions\s+2/);
  assert.match(st.stdout, /leaders\s+store1: 2, store2: 0, store3: 0/);
  assert.match(st.stdout, /replicas\s+healthy/);
  const sj = JSON.parse((await tinykv([...S, 'status', '--json'])).stdout);
  assert.equal(sj.clusterId, 4242);
  assert.equal(sj.health.healthy, true);
  // Not healthy when more replicas are expected than there are.
  assert.match((await tinykv([...S, 'status', '--replicas', '5'])).stdout, /NOT healthy: 2 with fewer than 5 voters/);
});

test('an unreachable scheduler: one clear line on stderr within a few seconds, exit 1', async () => {
  for (const args of [['get', 'x'], ['status']]) {
    const r = await tinykv(['--scheduler', '127.0.0.1:1', ...args]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^tinykv: cannot reach the scheduler at 127\.0\.0\.1:1 within 3000 ms/);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack: ${r.stderr}`);
    assert.ok(r.ms < 8000, `took ${r.ms} ms`);
  }
});

test('usage errors exit non-zero', async () => {
  const r = await tinykv([...S, 'put', 'onlykey']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /missing required argument/);
  const e = await tinykv([...S, 'put', '', 'v']);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /^tinykv: put: the key is empty/);
});

test('txn put writes the pairs in one transaction and prints its commit ts; txn get reads them from one snapshot', async () => {
  // Keys on both sides of the region boundary at "m": the transaction spans two regions.
  const put = await tinykv([...S, 'txn', 'put', 'tk1', 'v1', 'tz2', 'v2']);
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stdout, /^\d+\n$/);
  const commitTs = BigInt(put.stdout.trim());
  assert.ok(commitTs > 2n ** 53n, 'a TSO timestamp, printed exactly');
  assert.deepEqual(
    cluster.txnStorage.entries('lock').map(([k]) => Buffer.from(k).toString()),
    [],
    'the secondary is committed before the command exits',
  );
  const get = await tinykv([...S, 'txn', 'get', 'tk1', 'tz2']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, 'tk1\tv1\ntz2\tv2\n');
  const some = await tinykv([...S, 'txn', 'get', 'tk1', 'nope']);
  assert.equal(some.code, 1);
  assert.equal(some.stdout, 'tk1\tv1\n');
  assert.equal(some.stderr, 'nope: not found\n');
  const j = await tinykv([...S, '--json', 'txn', 'get', 'tz2', 'nope']);
  assert.equal(j.code, 1);
  const parsed = JSON.parse(j.stdout);
  assert.ok(BigInt(parsed.startTs) > commitTs);
  assert.deepEqual(parsed.values, [
    { key: 'tz2', found: true, value: 'v2' },
    { key: 'nope', found: false },
  ]);
  const jp = await tinykv([...S, 'txn', 'put', '--json', 'tk1', 'v3']);
  assert.equal(jp.code, 0, jp.stderr);
  const p = JSON.parse(jp.stdout);
  assert.equal(p.ok, true);
  assert.ok(BigInt(p.commitTs) > commitTs);
  const h = await tinykv([...S, '--hex', 'txn', 'get', Buffer.from('tk1').toString('hex')]);
  assert.equal(h.stdout, `${Buffer.from('tk1').toString('hex')}\t${Buffer.from('v3').toString('hex')}\n`);
});

test('txn usage errors: an odd number of arguments, an empty key', async () => {
  const odd = await tinykv([...S, 'txn', 'put', 'a', '1', 'b']);
  assert.equal(odd.code, 1);
  assert.match(odd.stderr, /^tinykv: txn put: expected KEY VALUE pairs, got 3 arguments/);
  const empty = await tinykv([...S, 'txn', 'get', '']);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /^tinykv: batchGet: the key is empty/);
  const none = await tinykv([...S, 'txn', 'get']);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /missing required argument/);
});
