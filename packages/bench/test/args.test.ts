import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgsError, cells, connectionsFor, parseArgs } from '../src/args.js';
import { threadShares } from '../src/runner.js';

test('defaults', () => {
  const o = parseArgs([], '/repo/docs/benchmarks.md');
  assert.deepEqual(o.clients, [1, 64, 256]);
  assert.deepEqual(o.values, [100, 1024]);
  assert.deepEqual(o.workloads, ['put', 'get', 'batch-put']);
  assert.deepEqual(o.regions, [1, 16, 128]);
  assert.equal(o.warmupS, 3);
  assert.equal(o.durationS, 10);
  assert.equal(o.batchSize, 64);
  assert.equal(o.connections, null);
  assert.equal(o.clientsPerConnection, 64);
  assert.equal(o.compare, null);
  assert.equal(o.writeDocs, null);
  assert.equal(o.json, null);
  assert.equal(o.attach, null);
  assert.equal(o.etcdEndpoints, 'leader');
  assert.equal(o.threads, 1);
  assert.equal(parseArgs(['--threads', '2']).threads, 2);
  assert.equal(o.etcdDriver, 'auto');
  assert.equal(parseArgs(['--etcd-driver', 'go']).etcdDriver, 'go');
  assert.equal(parseArgs(['--etcd-driver', 'node']).etcdDriver, 'node');
  assert.throws(() => parseArgs(['--etcd-driver', 'java']), ArgsError);
});

test('lists, numbers, compare, docs and json', () => {
  const o = parseArgs(
    [
      '--clients',
      '4, 8,8',
      '--values=10',
      '--regions',
      '1,128',
      '--warmup',
      '0.5',
      '--duration',
      '2',
      '--compare',
      'etcd',
      '--write-docs',
      '--json',
      'out.json',
      '--workloads',
      'get',
    ],
    '/d.md',
  );
  assert.deepEqual(o.clients, [4, 8]);
  assert.deepEqual(o.values, [10]);
  assert.deepEqual(o.regions, [1, 128]);
  assert.equal(o.warmupS, 0.5);
  assert.equal(o.durationS, 2);
  assert.equal(o.compare, 'etcd');
  assert.equal(o.writeDocs, '/d.md');
  assert.equal(o.json, 'out.json');
  assert.deepEqual(o.workloads, ['get']);
  assert.equal(parseArgs(['--write-docs', 'x.md']).writeDocs, 'x.md');
});

test('--quick changes only the defaults not given', () => {
  const q = parseArgs(['--quick']);
  assert.deepEqual(q.clients, [1, 64]);
  assert.deepEqual(q.values, [100]);
  assert.deepEqual(q.regions, [1, 16]);
  assert.equal(q.durationS, 3);
  assert.equal(q.warmupS, 1);
  assert.equal(q.keys, 5000);
  const q2 = parseArgs(['--quick', '--clients', '256', '--duration', '5']);
  assert.deepEqual(q2.clients, [256]);
  assert.equal(q2.durationS, 5);
  assert.deepEqual(q2.values, [100]);
});

test('--attach: regions as found, --pids only with it', () => {
  const o = parseArgs(['--attach', '127.0.0.1:2379', '--pids', '10,11,12']);
  assert.equal(o.attach, '127.0.0.1:2379');
  assert.deepEqual(o.pids, [10, 11, 12]);
  assert.deepEqual(o.regions, [0]);
  assert.throws(() => parseArgs(['--pids', '1']), /needs --attach/);
  assert.throws(() => parseArgs(['--attach', '127.0.0.1:2379', '--regions', '16']), /cannot be used with --attach/);
  assert.throws(() => parseArgs(['--attach', 'nope']), /host:port/);
});

test('bad flags are ArgsErrors with exit code 2; --help is exit code 0', () => {
  for (const bad of [
    ['--clients', '0'],
    ['--clients', 'a,b'],
    ['--values', ''],
    ['--workloads', 'scan'],
    ['--compare', 'redis'],
    ['--duration', '-1'],
    ['--nope'],
    ['extra'],
    ['--connections', '1.5'],
  ]) {
    assert.throws(
      () => parseArgs(bad),
      (e: unknown) => e instanceof ArgsError && e.exitCode === 2,
      bad.join(' '),
    );
  }
  assert.throws(
    () => parseArgs(['--help']),
    (e: unknown) => e instanceof ArgsError && e.exitCode === 0 && /--compare/.test(e.message),
  );
});

test('cells: the full matrix at the first region count, the largest client count at the others', () => {
  const o = parseArgs([]);
  const cs = cells(o);
  assert.equal(cs.length, 18 + 3 + 3);
  assert.deepEqual(cs[0], { workload: 'put', valueSize: 100, regions: 1, clients: 1 });
  assert.deepEqual(
    cs.slice(18).map((c) => `${c.regions}/${c.workload}/${c.clients}/${c.valueSize}`),
    ['16/put/256/100', '16/get/256/100', '16/batch-put/256/100', '128/put/256/100', '128/get/256/100', '128/batch-put/256/100'],
  );
  assert.equal(cells({ ...o, fullMatrix: true }).length, 54);
});

test('connections: one per 64 loops by default, or fixed, never more than the loops', () => {
  const d = { connections: null, clientsPerConnection: 64 };
  assert.deepEqual(
    [1, 64, 65, 256].map((c) => connectionsFor(c, d)),
    [1, 1, 2, 4],
  );
  assert.deepEqual(
    [1, 64, 256].map((c) => connectionsFor(c, { connections: 8, clientsPerConnection: 64 })),
    [1, 8, 8],
  );
});

test('threads: loops and connections split evenly, at least one connection each, never more threads than loops', () => {
  assert.deepEqual(threadShares(256, 4, 2), [
    { loops: 128, connections: 2 },
    { loops: 128, connections: 2 },
  ]);
  assert.deepEqual(threadShares(64, 1, 2), [
    { loops: 32, connections: 1 },
    { loops: 32, connections: 1 },
  ]);
  assert.deepEqual(threadShares(5, 3, 2), [
    { loops: 3, connections: 2 },
    { loops: 2, connections: 1 },
  ]);
  assert.deepEqual(threadShares(1, 1, 4), [{ loops: 1, connections: 1 }]);
});
