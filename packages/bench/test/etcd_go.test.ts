import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goArgs } from '../src/etcd/go_driver.js';
import { parseBashTimes, parseGoBenchmark } from '../src/etcd/go_output.js';
import { debSrcSources } from '../src/etcd/go_tool.js';
import { KeySpace } from '../src/keyspace.js';

// Captured stdout of etcd 3.4.23's tools/benchmark (as go_tool.ts builds it) against a local etcd,
// with --precise, progress bar (carriage returns) included: `put --total 2000`, `txn-put --total
// 200 --txn-ops 64` (too few requests for a 99.9% line), `txn-put --txn-ops 200` (all refused).
const PUT = `\r 0 / 2000    0.00%\r 569 / 2000   28.45%\r 1177 / 2000   58.85%\r 2000 / 2000  100.00% 0s

Summary:
  Total:\t0.595751035 secs.
  Slowest:\t0.011600697 secs.
  Fastest:\t0.000323201 secs.
  Average:\t0.0011876160550000027 secs.
  Stddev:\t0.0008977919247037715 secs.
  Requests/sec:\t3357.1070505987454

Response time histogram:
  0.000323201 [1]\t|
  0.0014509505999999999 [1633]\t|${'∎'.repeat(40)}
  0.0025787002 [276]\t|∎∎∎∎∎∎
  0.0037064497999999995 [53]\t|∎
  0.0048341994 [11]\t|
  0.005961949 [6]\t|
  0.0070896985999999995 [9]\t|
  0.0082174482 [7]\t|
  0.0093451978 [2]\t|
  0.0104729474 [1]\t|
  0.011600697 [1]\t|

Latency distribution:
  10% in 0.000603799 secs.
  25% in 0.000756106 secs.
  50% in 0.000977334 secs.
  75% in 0.001299604 secs.
  90% in 0.001836823 secs.
  95% in 0.002468414 secs.
  99% in 0.006188211 secs.
  99.9% in 0.010411817 secs.

`;

const TXN_PUT = `\r 0 / 200    0.00%\r 172 / 200   86.00%\r 200 / 200  100.00% 0s

Summary:
  Total:\t0.259920435 secs.
  Slowest:\t0.015368164 secs.
  Fastest:\t0.000932348 secs.
  Average:\t0.002585216585 secs.
  Stddev:\t0.0021995766117997285 secs.
  Requests/sec:\t769.4662406978505

Response time histogram:
  0.000932348 [1]\t|
  0.0023759296 [142]\t|${'∎'.repeat(40)}
  0.0038195112 [22]\t|∎∎∎∎∎∎
  0.0052630928 [12]\t|∎∎∎
  0.0067066744 [11]\t|∎∎∎
  0.008150256 [5]\t|∎
  0.009593837599999998 [3]\t|
  0.011037419199999999 [2]\t|
  0.0124810008 [0]\t|
  0.0139245824 [1]\t|
  0.015368164 [1]\t|

Latency distribution:
  10% in 0.001143077 secs.
  25% in 0.001355367 secs.
  50% in 0.001761702 secs.
  75% in 0.002770233 secs.
  90% in 0.005745476 secs.
  95% in 0.007100774 secs.
  99% in 0.013690026 secs.

`;

const TXN_ERRORS = `\r 0 / 20    0.00%\r 20 / 20  100.00% 0s

Error distribution:
  [20]\tetcdserver: too many operations in txn request

`;

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test('parseGoBenchmark: summary, percentiles in ms, request count', () => {
  const s = parseGoBenchmark(PUT);
  close(s.totalS, 0.595751035);
  close(s.requestsPerSec, 3357.1070505987454);
  assert.equal(s.requests, 2000);
  close(s.slowestMs, 11.600697);
  close(s.fastestMs, 0.323201);
  close(s.averageMs, 1.1876160550000028);
  close(s.percentilesMs['50']!, 0.977334);
  close(s.percentilesMs['99']!, 6.188211);
  close(s.percentilesMs['99.9']!, 10.411817);
  assert.deepEqual(Object.keys(s.percentilesMs), ['10', '25', '50', '75', '90', '95', '99', '99.9']);
  assert.equal(s.errors, 0);
  // the histogram's "[count]" lines are not errors
  assert.deepEqual(s.errorKinds, []);
});

test('parseGoBenchmark: a missing percentile line, an error distribution', () => {
  const t = parseGoBenchmark(TXN_PUT);
  assert.equal(t.requests, 200);
  close(t.percentilesMs['99']!, 13.690026);
  assert.equal(t.percentilesMs['99.9'], undefined);
  const e = parseGoBenchmark(TXN_ERRORS);
  assert.equal(e.requests, 0);
  assert.equal(e.errors, 20);
  assert.deepEqual(e.errorKinds, [{ count: 20, message: 'etcdserver: too many operations in txn request' }]);
  assert.throws(() => parseGoBenchmark('dial error: context deadline exceeded\n'), /no summary/);
});

test('parseBashTimes: the children line', () => {
  close(parseBashTimes('0m0.001s 0m0.000s\n1m2.345s 0m3.210s\n'), 65_555);
  assert.ok(Number.isNaN(parseBashTimes('')));
});

test('goArgs: the tool command of each workload', () => {
  const ks = new KeySpace(1000);
  const o = { endpoints: ['127.0.0.1:1', '127.0.0.1:2'], connections: 4, total: 1234.4, batchSize: 64, keys: ks };
  const g = ['--endpoints', '127.0.0.1:1,127.0.0.1:2', '--clients', '256', '--conns', '4', '--precise', '--dial-timeout', '10s'];
  const cell = { valueSize: 100, regions: 1, clients: 256 };
  assert.deepEqual(goArgs({ ...cell, workload: 'put' }, o), [
    ...g,
    'put',
    '--total',
    '1234',
    '--key-size',
    '14',
    '--key-space-size',
    '1000',
    '--val-size',
    '100',
  ]);
  assert.deepEqual(goArgs({ ...cell, workload: 'get' }, o), [...g, 'range', 'bench/00000500', '--total', '1234', '--consistency', 'l']);
  assert.deepEqual(goArgs({ ...cell, workload: 'batch-put' }, o), [
    ...g,
    'txn-put',
    '--total',
    '1234',
    '--txn-ops',
    '64',
    '--key-size',
    '14',
    '--key-space-size',
    '1000',
    '--val-size',
    '100',
  ]);
  assert.equal(goArgs({ ...cell, clients: 1, workload: 'put' }, o)[5], '1', 'no more connections than clients');
});

test('debSrcSources: deb-src twins of deb822 and one-line sources', () => {
  const d = debSrcSources([
    { name: 'debian.sources', text: 'Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\nComponents: main\n' },
    { name: 'x.list', text: '# comment\ndeb [arch=amd64] http://mirror.invalid/x stable main\n' },
    { name: 'y.list.disabled', text: 'deb http://mirror.invalid/y stable main\n' },
  ]);
  assert.deepEqual(d, [
    { name: 'debian.sources', text: 'Types: deb-src\nURIs: http://mirror.invalid/debian\nSuites: bookworm\nComponents: main\n' },
    { name: 'x.list', text: 'deb-src [arch=amd64] http://mirror.invalid/x stable main\n' },
  ]);
});
