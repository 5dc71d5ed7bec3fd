// The transaction workloads' pure parts: flags, key picking, the loops' commit/abort/error
// accounting (with a scripted connection), the abort rate, the tables and the docs section, the
// etcd-txn driver's command line and output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cells, isTxnWorkload, parseArgs, txnKeyCount } from '../src/args.js';
import { parseTxnToolOutput, txnToolArgs } from '../src/etcd/go_txn.js';
import { KeySpace, pickDistinct } from '../src/keyspace.js';
import { abortRate, describeRun, docsSection, fmtPct, type Machine, resultsTable, runLine, txnTable } from '../src/report.js';
import { type KvConn, LoadLoops, type RunResult, type TxnOutcome } from '../src/runner.js';

test('txn workloads: selectable by name, not run by default', () => {
  assert.deepEqual(parseArgs([]).workloads, ['put', 'get', 'batch-put']);
  const o = parseArgs(['--workloads', 'put,txn1,txn4rmw', '--regions', '1', '--values', '100']);
  assert.deepEqual(o.workloads, ['put', 'txn1', 'txn4rmw']);
  assert.deepEqual(o.clients, [1, 64, 256]);
  assert.deepEqual(
    cells(o).map((c) => `${c.workload}×${c.clients}`),
    ['put×1', 'put×64', 'put×256', 'txn1×1', 'txn1×64', 'txn1×256', 'txn4rmw×1', 'txn4rmw×64', 'txn4rmw×256'],
  );
  assert.ok(isTxnWorkload('txn1') && isTxnWorkload('txn4rmw') && !isTxnWorkload('put') && !isTxnWorkload('batch-put'));
  assert.equal(txnKeyCount('txn1'), 1);
  assert.equal(txnKeyCount('txn4rmw'), 4);
});

test('pickDistinct: n distinct indices in range, repeats rejected', () => {
  for (let i = 0; i < 500; i++) {
    const p = pickDistinct(4, 10);
    assert.equal(p.length, 4);
    assert.equal(new Set(p).size, 4);
    for (const x of p) assert.ok(Number.isInteger(x) && x >= 0 && x < 10);
  }
  // A generator that repeats itself: the repeats are skipped.
  const seq = [0.1, 0.1, 0.5, 0.1, 0.5, 0.9, 0.3];
  let j = 0;
  assert.deepEqual(
    pickDistinct(4, 10, () => seq[j++]!),
    [1, 5, 9, 3],
  );
  assert.deepEqual(pickDistinct(4, 4).sort(), [0, 1, 2, 3]);
  assert.throws(() => pickDistinct(5, 4), RangeError);
});

/**
 * A connection whose i-th transaction (1-based) throws when i % 7 == 0, aborts when i % 4 == 0,
 * commits otherwise, and calls `at(i)` as it starts (to move the loops between phases).
 */
class ScriptedConn implements KvConn {
  calls = 0;
  readonly seen: { keys: number; read: boolean }[] = [];
  constructor(private readonly at: (i: number) => void) {}
  put(): Promise<void> {
    throw new Error('not used');
  }
  get(): Promise<Uint8Array | null> {
    throw new Error('not used');
  }
  batchPut(): Promise<void> {
    throw new Error('not used');
  }
  async txn(keys: Uint8Array[], values: Uint8Array[], read: boolean): Promise<TxnOutcome> {
    const i = ++this.calls;
    this.at(i);
    assert.equal(values.length, keys.length);
    assert.equal(new Set(keys.map((k) => Buffer.from(k).toString())).size, keys.length, 'distinct keys');
    this.seen.push({ keys: keys.length, read });
    await new Promise((r) => setImmediate(r));
    if (i % 7 === 0) throw new Error(`scripted failure ${i}`);
    return i % 4 === 0 ? 'aborted' : 'committed';
  }
  close(): void {}
}

test('LoadLoops: a commit is a request, an abort is counted apart (no latency, no retry), other failures are errors', async () => {
  let loops: LoadLoops | null = null;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const conn = new ScriptedConn((i) => {
    // Calls 11..40 complete in the measured period.
    if (i === 11) loops!.measure();
    if (i === 41) loops!.endMeasure();
    if (i === 45) done();
  });
  const ks = new KeySpace(100);
  loops = new LoadLoops([conn], 'txn4rmw', 10, 64, ks, [{ lo: 0, hi: 100 }], 1);
  loops.start();
  await finished;
  const r = await loops.stop();
  // In 11..40: failures at 14, 21, 28, 35; aborts at multiples of 4 but 28.
  assert.equal(r.errors, 4);
  assert.equal(r.aborts, 7);
  assert.equal(r.requests, 30 - 4 - 7);
  assert.equal(r.hist.count, r.requests, 'a latency per commit, none per abort');
  // Warm-up (1..10): a failure at 7, aborts at 4 and 8.
  assert.equal(r.warmupErrors, 1);
  assert.equal(r.warmupAborts, 2);
  assert.match(r.errorSample!, /^warm-up: scripted failure 7/);
  assert.ok(conn.seen.every((s) => s.keys === 4 && s.read));
  assert.ok(conn.calls >= 45);

  const one = new ScriptedConn(() => {});
  const l1 = new LoadLoops([one], 'txn1', 10, 64, ks, [{ lo: 0, hi: 100 }], 3);
  l1.start();
  await new Promise((r) => setTimeout(r, 20));
  await l1.stop();
  assert.ok(one.seen.length > 0 && one.seen.every((s) => s.keys === 1 && !s.read), 'txn1: one key, blind write');
});

test('abortRate: aborted / attempted (committed + aborted + errors); fmtPct', () => {
  assert.equal(abortRate(90, 10, 0), 0.1);
  assert.equal(abortRate(80, 10, 10), 0.1);
  assert.equal(abortRate(100, 0, 0), 0);
  assert.ok(Number.isNaN(abortRate(0, 0, 0)));
  assert.equal(abortRate(0, 5, 0), 1);
  assert.equal(fmtPct(0), '0%');
  assert.equal(fmtPct(0.0053), '0.53%');
  assert.equal(fmtPct(0.065), '6.5%');
  assert.equal(fmtPct(0.274), '27%');
  assert.equal(fmtPct(NaN), '-');
});

function run(p: Partial<RunResult> & Pick<RunResult, 'system' | 'workload' | 'clients'>): RunResult {
  const requests = p.requests ?? 1000;
  return {
    driver: p.system === 'etcd' ? 'go' : 'node',
    valueSize: 100,
    regions: 1,
    connections: 1,
    threads: 1,
    batchSize: 1,
    measuredS: 10,
    requests,
    requestsPerSec: requests / 10,
    keysPerSec: requests / 10,
    latency: { count: requests, mean: 2, min: 1, p50: 2, p90: 3, p99: 4.5, p999: 12.3, max: 20 },
    errors: 0,
    warmupErrors: 0,
    errorSample: null,
    cpu: { store1: 50, bench: 10 },
    loopDelay: { mean: 1, p50: 1, p99: 2, max: 3 },
    info: { regionCount: 1 },
    ...p,
  };
}

test('tables: raw rows keep their table, transaction rows get their own with an abort % per system', () => {
  const results = [
    run({ system: 'tskv', workload: 'put', clients: 1, requests: 8000 }),
    run({ system: 'etcd', workload: 'put', clients: 1, requests: 10000 }),
    run({ system: 'tskv', workload: 'txn4rmw', clients: 256, requests: 9000, aborts: 1000, errors: 0 }),
    run({ system: 'etcd', workload: 'txn4rmw', clients: 256, requests: 3000, aborts: 1000, errors: 0 }),
    run({ system: 'tskv', workload: 'txn1', clients: 1, requests: 500, aborts: 0 }),
  ];
  const raw = resultsTable(results);
  assert.equal(raw.split('\n').length, 3, 'header, separator, the put row');
  assert.match(raw.split('\n')[0]!, /\| tskv ops\/s \|.*\| err \| etcd driver \|/);
  assert.doesNotMatch(raw, /txn|abort/);
  const txn = txnTable(results);
  const lines = txn.split('\n');
  assert.equal(lines.length, 4);
  assert.deepEqual(
    lines[0]!.split('|').map((c) => c.trim()),
    [
      '',
      'workload',
      'value B',
      'regions',
      'clients',
      'conns',
      'tskv txn/s',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'abort %',
      'err',
      'etcd driver',
      'etcd txn/s',
      'p50 ms',
      'p99 ms',
      'p99.9 ms',
      'abort %',
      'err',
      'tskv/etcd',
      '',
    ],
  );
  assert.deepEqual(
    lines[2]!.split('|').map((c) => c.trim()),
    [
      '',
      'txn4rmw',
      '100',
      '1',
      '256',
      '1',
      '900',
      '2.00',
      '4.50',
      '12.3',
      '10%',
      '0',
      'go',
      '300',
      '2.00',
      '4.50',
      '12.3',
      '25%',
      '0',
      '3.00',
      '',
    ],
  );
  assert.deepEqual(
    lines[3]!
      .split('|')
      .map((c) => c.trim())
      .slice(1, 12),
    ['txn1', '100', '1', '1', '1', '50', '2.00', '4.50', '12.3', '0%', '0'],
  );
  assert.ok(
    lines[3]!
      .split('|')
      .slice(12, 20)
      .every((c) => c.trim() === '-'),
    'no etcd run of that cell',
  );
  assert.equal(txnTable(results.slice(0, 2)), '');
  assert.equal(resultsTable(results.slice(2)), '');
  assert.match(runLine(results[2]!), /900 txn\/s .* aborts 1000 \(10%\) {2}errors 0/);
  assert.doesNotMatch(runLine(results[0]!), /aborts/);
});

test('docsSection: the transaction table and its description after the raw one', () => {
  const results = [
    run({ system: 'tskv', workload: 'put', clients: 1 }),
    run({ system: 'tskv', workload: 'txn1', clients: 1, aborts: 0 }),
    run({ system: 'etcd', workload: 'txn1', clients: 1, aborts: 0 }),
  ];
  const o = parseArgs(['--compare', 'etcd', '--workloads', 'put,txn1']);
  const machine: Machine = {
    cores: 2,
    cpuModel: 'x',
    memoryGiB: 1,
    node: 'v20',
    kernel: '6',
    etcd: '3.4.23',
    loadAvgStart: [1, 1, 1],
    loadAvgEnd: [2, 2, 2],
  };
  const description = describeRun(o, 2, [], ['go']);
  const s = docsSection({ command: 'npm run bench:cluster', date: '2026-12-07', machine, results, description, notes: [] });
  const iRaw = s.indexOf('| tskv ops/s');
  const iTxn = s.indexOf('| tskv txn/s');
  const iCpu = s.indexOf('CPU per process');
  assert.ok(iRaw > 0 && iTxn > iRaw && iCpu > iTxn, 'raw table, then the transaction table, then CPU');
  assert.match(s, /Transactions: txn1 writes one random key/);
  assert.match(s, /Txn\{compare: mod_revision\(k\) = the revision read/);
  assert.match(s, /etcd-txn/);
  assert.doesNotMatch(describeRun(o, 2, ['go']).join('\n'), /Transactions:/, 'no transaction paragraph without transaction rows');
});

test('etcd-txn driver: command line and result line', () => {
  const ks = new KeySpace(20000);
  const args = txnToolArgs(
    { workload: 'txn4rmw', valueSize: 100, regions: 1, clients: 256 },
    { endpoints: ['127.0.0.1:1', '127.0.0.1:2'], connections: 4, keys: ks, timing: { warmupMs: 3000, durationMs: 12500 } },
  );
  assert.deepEqual(args, [
    '--endpoints',
    '127.0.0.1:1,127.0.0.1:2',
    '--clients',
    '256',
    '--conns',
    '4',
    '--workload',
    'txn4rmw',
    '--keys',
    '20000',
    '--key-prefix',
    'bench/',
    '--key-width',
    '8',
    '--val-size',
    '100',
    '--warmup',
    '3000ms',
    '--duration',
    '12500ms',
  ]);
  assert.equal(
    txnToolArgs(
      { workload: 'txn1', valueSize: 1, regions: 1, clients: 1 },
      { endpoints: ['a:1'], connections: 4, keys: ks, timing: { warmupMs: 0, durationMs: 1 } },
    )[5],
    '1',
  );

  const out =
    'phase measure\nphase end\nresult {"committed":2950,"aborted":1290,"errors":1,"warmupCommitted":1199,"warmupAborted":484,' +
    '"warmupErrors":0,"errorSample":"context deadline exceeded","measuredS":2.0003,"cpuS":0.69,"latencyMs":{"count":2950,' +
    '"mean":7.4,"min":1.1,"p50":6.55,"p90":12.7,"p99":19.0,"p999":24.7,"max":25.8}}\n';
  const r = parseTxnToolOutput(out);
  assert.equal(r.committed, 2950);
  assert.equal(r.aborted, 1290);
  assert.equal(r.errors, 1);
  assert.equal(r.latencyMs.p99, 19.0);
  assert.equal(r.errorSample, 'context deadline exceeded');
  const none = parseTxnToolOutput(
    'result {"committed":0,"aborted":3,"errors":0,"measuredS":1,"cpuS":0.1,"latencyMs":{"count":0,"mean":0,"min":0,"p50":-1,"p90":-1,"p99":-1,"p999":-1,"max":0}}',
  );
  assert.ok(Number.isNaN(none.latencyMs.p50), 'no commit: no latency');
  assert.throws(() => parseTxnToolOutput('phase measure\n'), /no result line/);
  assert.throws(() => parseTxnToolOutput('result {"aborted":1}'), /without committed/);
});
