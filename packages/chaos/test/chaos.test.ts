// A short fault schedule against real processes (about a minute): crashes, pauses, partitions,
// delay and loss between stores while clients read and write; the run must end linearizable
// with no acknowledged write lost and no process crashed. Seed: TSKV_CHAOS_SEED (printed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRecorded, DEFAULT_CHAOS, formatReport, type RecordedOp, runChaos } from '../src/index.js';
import { lostAppends } from '../src/run.js';

const seed = process.env.TSKV_CHAOS_SEED ? Number(process.env.TSKV_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);

test(`a one-minute fault schedule ends linearizable with nothing lost (seed ${seed}; replay with TSKV_CHAOS_SEED=${seed})`, {
  timeout: 240_000,
}, async () => {
  console.log(`chaos seed ${seed}`);
  const report = await runChaos({
    ...DEFAULT_CHAOS,
    seed,
    durationMs: 45_000,
    // Holds short enough that every fault kind is likely to come up in 45 s.
    holdMs: [2500, 4500],
    gapMs: [800, 1500],
    keepData: false,
    log: (m) => console.log(`[chaos] ${m}`),
  });
  const ops = report.opsRecorded;
  console.log(formatReport(report));
  assert.deepEqual(report.crashes, [], 'no process crashed');
  assert.ok(report.recovery.ok, `the cluster recovered: ${report.recovery.error}`);
  assert.ok(report.faults.length >= 5, `faults were injected (${report.faults.length})`);
  assert.ok(report.ops.ok > 500, `the workload made progress (${report.ops.ok} ok)`);
  assert.ok(
    report.ops.byKind.read!.ok > 0 && report.ops.byKind.get!.ok > 0 && report.ops.byKind.put!.ok > 0 && report.ops.byKind.append!.ok > 0,
  );
  assert.deepEqual(report.lostWrites, [], 'no acknowledged write lost');
  assert.equal(report.verdict.linearizable, true, 'the history is linearizable');
  assert.ok(report.ok);
  assert.ok(ops && ops.length === report.ops.total);

  // The same pipeline on a doctored copy of the history must fail: a get that saw a value no one
  // wrote, and a final set read that misses an acknowledged append.
  const doctored: RecordedOp[] = ops.map((o) => ({ ...o }));
  const get = doctored.find((o) => o.input.kind === 'get' && o.status === 'ok' && o.clientId !== 0)!;
  get.output = { value: 'never-written' };
  assert.equal(checkRecorded(doctored, 30_000).linearizable, false, 'a read of a value never written is caught');
  const finalRead = doctored.find(
    (o) => o.clientId === 0 && o.input.kind === 'read' && o.output && 'elements' in o.output && o.output.elements.length > 0,
  )!;
  const elements = (finalRead.output as { elements: string[] }).elements;
  finalRead.output = { elements: elements.slice(1) };
  assert.equal(lostAppends(doctored).length, 1, 'a missing acknowledged append is caught');
});
