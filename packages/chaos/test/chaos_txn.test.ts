// Short fault schedules against real processes for the transactional workloads (about half a
// minute each): crashes, pauses and partitions while clients run Percolator transactions; the
// bank's snapshot reads must all sum to the total and the list-append history must hold snapshot
// isolation with real-time order. Seed: TSKV_CHAOS_SEED (printed). Each check is also shown to
// fail on a doctored copy of its history.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBank, checkListAppend, type ListAppendMop } from '@tskv/checker';
import { DEFAULT_CHAOS, formatReport, runChaos, type TxnWorkloadKind } from '../src/index.js';

const seed = process.env.TSKV_CHAOS_SEED ? Number(process.env.TSKV_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);

async function run(workload: TxnWorkloadKind) {
  const report = await runChaos({
    ...DEFAULT_CHAOS,
    seed,
    durationMs: 20_000,
    faults: ['kill', 'pause', 'partition'],
    holdMs: [2000, 3500],
    gapMs: [800, 1500],
    workload,
    keepData: false,
    log: (m) => console.log(`[chaos ${workload}] ${m}`),
  });
  console.log(formatReport(report));
  assert.deepEqual(report.crashes, [], 'no process crashed');
  assert.ok(report.recovery.ok, `the cluster recovered: ${report.recovery.error}`);
  assert.ok(report.faults.length >= 3, `faults were injected (${report.faults.length})`);
  assert.ok(report.txn, 'the transactional check ran');
  assert.ok(report.txn.txns.ok > 50, `the workload made progress (${report.txn.txns.ok} committed)`);
  assert.deepEqual(report.txn.anomalies, []);
  assert.equal(report.txn.valid, true);
  assert.ok(report.ok);
  return report;
}

test(`bank under faults: every snapshot read sums to the total (seed ${seed}; replay with TSKV_CHAOS_SEED=${seed})`, {
  timeout: 180_000,
}, async () => {
  const report = await run('bank');
  const ops = report.txnRecorded!.bank;
  const accounts = Object.keys(ops.find((o) => o.input.kind === 'read' && o.status === 'ok')!.output!.balances!);
  const total = 100 * accounts.length;
  assert.equal(checkBank(ops, { accounts, total }).valid, true);
  // A read that saw half a transfer is caught.
  const doctored = ops.map((o) => ({ ...o }));
  const read = doctored.find((o) => o.input.kind === 'read' && o.status === 'ok')!;
  const [first] = accounts;
  read.output = { balances: { ...read.output!.balances, [first!]: read.output!.balances![first!]! + 1 } };
  assert.equal(checkBank(doctored, { accounts, total }).valid, false);
});

test(`list-append under faults: snapshot isolation, nothing lost (seed ${seed}; replay with TSKV_CHAOS_SEED=${seed})`, {
  timeout: 180_000,
}, async () => {
  const report = await run('list-append');
  const txns = report.txnRecorded!.listAppend;
  // The final read lost one committed append: caught.
  const finalRead = txns.at(-1)!;
  const mops = finalRead.ops as ListAppendMop[];
  const at = mops.findIndex((m) => m[0] === 'r' && Array.isArray(m[2]) && m[2].length > 1);
  assert.ok(at >= 0, 'the final read saw appends');
  const m = mops[at]!;
  const doctored = txns.map((t) =>
    t === finalRead ? { ...t, ops: mops.map((x, i) => (i === at ? (['r', m[1], (m[2] as number[]).slice(0, -1)] as const) : x)) } : t,
  );
  const r = checkListAppend(doctored, { consistency: 'snapshot-isolation', realtime: true });
  assert.equal(r.valid, false, 'a lost append is caught');
});
