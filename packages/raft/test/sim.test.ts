// Deterministic simulation of Raft groups (3 nodes on even seeds, 5 on odd) under crashes,
// partitions, message loss / delay / reordering / duplication, membership changes, leader
// transfers and snapshots. Every safety invariant is checked after every step; durability and
// liveness after a final healing phase. See sim/cluster.ts. Override the range with SIM_FROM /
// SIM_SEEDS; replay a failure with the printed command (from packages/raft, after a build).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_STEPS, simulate } from '../sim/cluster.js';
import { replayCommand, runRangeParallel } from '../sim/runner.js';

const FROM = Number(process.env.SIM_FROM ?? 0);
const COUNT = Number(process.env.SIM_SEEDS ?? 2000);
const STEPS = DEFAULT_STEPS;

test(`simulation: seeds [${FROM}, ${FROM + COUNT}) keep every invariant`, async (t) => {
  t.diagnostic(`seeds [${FROM}, ${FROM + COUNT}), ${STEPS} steps each`);
  const res = await runRangeParallel({ from: FROM, count: COUNT, steps: STEPS });
  t.diagnostic(`${res.runs} seeds in ${(res.elapsedMs / 1000).toFixed(1)} s, ${res.failures.length} failure(s)`);
  const report = res.failures.map((f) => `${f.error}\n  replay: cd packages/raft && ${replayCommand(f, { steps: STEPS })}`).join('\n');
  assert.equal(res.failures.length, 0, `${res.failures.length} seed(s) failed:\n${report}`);
  assert.equal(res.runs, COUNT);
});

test('simulation: a seed replays exactly', () => {
  const trace = (): string[] => {
    const lines: string[] = [];
    const r = simulate({ seed: 7, steps: 800, verbose: true, log: (l) => lines.push(l) });
    assert.ok(r.ok, r.error);
    return lines;
  };
  const a = trace();
  assert.ok(a.length > 800);
  assert.deepEqual(trace(), a);
});
