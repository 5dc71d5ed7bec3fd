// checkHistory as a whole: partitioning, time budgets, minimization, scale, reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkHistory,
  formatHistory,
  type Model,
  minimizeHistory,
  type RegisterOp,
  registerModel,
  searchPartition,
  setModel,
} from '../src/index.js';
import { RegisterHistory, SetHistory, seededRandom } from './helpers.js';
import { simulateRegister, simulateSet } from './sim.js';

/** Shifts ops to start after `t0` and renumbers them from `id0` (to splice histories). */
function shifted(ops: RegisterOp[], t0: number, id0: number): RegisterOp[] {
  return ops.map((o, i) => ({ ...o, id: id0 + i, call: o.call + t0, return: o.return + t0 }));
}

describe('partitioning', () => {
  it('checks keys independently: interleaved legal keys are ok', () => {
    const h = new RegisterHistory().put(1, 0, 10, 'a', 'x').put(2, 0, 10, 'a', 'y').get(3, 11, 12, 'a', 'x').get(3, 11, 12, 'a', 'y');
    const r = checkHistory(registerModel, h.ops);
    assert.equal(r.verdict, 'ok');
    assert.equal(r.partitions, 2);
  });

  it('a violation on one key is reported with that key and only its ops', () => {
    const h = new RegisterHistory()
      .put(1, 0, 1, 'a', 'x')
      .get(2, 2, 3, 'a', 'x')
      .put(1, 0, 1, 'a', 'y')
      .put(1, 2, 3, 'b', 'y')
      .get(2, 4, 5, 'a', 'y');
    const r = checkHistory(registerModel, h.ops);
    assert.equal(r.verdict, 'illegal');
    assert.equal(r.partitions, 2);
    assert.equal(r.failure!.partition, 'y');
    assert.deepEqual(
      r.failure!.ops.map((o) => o.id),
      [2, 3, 4],
    );
  });

  it('a value written to one key does not justify a read of another', () => {
    const h = new RegisterHistory().put(1, 0, 1, 'a', 'x').get(2, 2, 3, 'a', 'y');
    assert.equal(checkHistory(registerModel, h.ops).verdict, 'illegal');
  });

  it('a model without partition() is one partition', () => {
    const { partition: _drop, ...whole } = registerModel;
    const single: Model<string | null, RegisterOp['input'], RegisterOp['output']> = whole as typeof registerModel;
    const h = new RegisterHistory().put(1, 0, 1, 'a', 'x').get(2, 2, 3, 'a', 'x');
    const r = checkHistory(single, h.ops);
    assert.equal(r.partitions, 1);
    assert.equal(r.verdict, 'ok');
    // Without partitioning, a register spanning keys: a later put to y hides x's value.
    h.put(1, 4, 5, 'b', 'y').get(2, 6, 7, 'a', 'x');
    assert.equal(checkHistory(single, h.ops).verdict, 'illegal');
    assert.equal(checkHistory(registerModel, h.ops).verdict, 'ok');
  });
});

describe('time budget', () => {
  it("a tiny budget on a big history gives 'timeout', never 'ok'", () => {
    const rng = seededRandom('timeout big history');
    const ops = simulateRegister(rng, { clients: 10, opsPerClient: 2000, keys: 4, unknownRate: 0.02, maxGap: 1, maxDuration: 3 });
    const r = checkHistory(registerModel, ops, { timeoutMs: 1 });
    assert.equal(r.verdict, 'timeout');
    assert.ok(r.timedOut!.length >= 1);
    assert.equal(r.partitions, 4);
  });

  it('a genuinely exponential search stops at the budget', () => {
    // 24 concurrent puts, then a get of a value none wrote: to refute it the search would have
    // to try ~24 * 2^23 (linearized subset, last value) configurations.
    const h = new RegisterHistory();
    for (let i = 0; i < 24; i++) h.put(i, 0, 1000, `v${i}`);
    h.get(99, 2000, 2001, 'nobody');
    const t = performance.now();
    const r = checkHistory(registerModel, h.ops, { timeoutMs: 300 });
    assert.equal(r.verdict, 'timeout');
    assert.deepEqual(r.timedOut, ['x']);
    assert.ok(performance.now() - t < 3000, 'stopped near the budget');
  });

  it('an illegal partition wins over a timed-out one', () => {
    const h = new RegisterHistory();
    for (let i = 0; i < 24; i++) h.put(i, 0, 1000, `v${i}`, 'hard');
    h.get(99, 2000, 2001, 'nobody', 'hard');
    h.put(1, 0, 1, 'a', 'easy').put(1, 2, 3, 'b', 'easy').get(2, 4, 5, 'a', 'easy');
    const r = checkHistory(registerModel, h.ops, { timeoutMs: 300 });
    assert.equal(r.verdict, 'illegal');
    assert.equal(r.failure!.partition, 'easy');
  });
});

describe('unknown ops at scale', () => {
  it('many unknown deletes that never happened do not blow up the search (dominance pruning)', () => {
    // 40 unknown deletes concurrent with everything; a get of null proves nothing was deleted
    // for prune() to drop them, and the puts absorb any subset of them harmlessly.
    const h = new RegisterHistory().get(0, 0, 1, null);
    for (let i = 0; i < 40; i++) h.delUnknown(100 + i, 2 + i * 0.01);
    for (let i = 0; i < 300; i++) h.put(1, 10 + i * 4, 11 + i * 4, `v${i}`).get(2, 12 + i * 4, 13 + i * 4, `v${i}`);
    const t = performance.now();
    const r = searchPartition(registerModel, h.ops, performance.now() + 10_000);
    assert.equal(r.verdict, 'ok');
    assert.ok(performance.now() - t < 5000, `took ${(performance.now() - t).toFixed(0)} ms`);
    // And an illegal variant is still refuted in time.
    h.get(3, 5000, 5001, 'v3');
    assert.equal(searchPartition(registerModel, h.ops, performance.now() + 10_000).verdict, 'illegal');
  });
});

describe('minimization', () => {
  it('returns a smaller, still illegal, 1-minimal history containing the bad read', () => {
    const rng = seededRandom('minimize');
    const base = simulateRegister(rng, { clients: 5, opsPerClient: 100, keys: 1, unknownRate: 0.05, maxGap: 1, maxDuration: 3 });
    assert.equal(checkHistory(registerModel, base).verdict, 'ok');
    const end = Math.max(...base.filter((o) => o.status === 'ok').map((o) => o.return));
    const tail = new RegisterHistory().put(1, 1, 2, 'A', 'k0').put(1, 3, 4, 'B', 'k0').get(2, 5, 6, 'A', 'k0').get(3, 7, 8, 'B', 'k0').ops;
    const ops = [...base, ...shifted(tail, end + 10, base.length)];
    const r = checkHistory(registerModel, ops);
    assert.equal(r.verdict, 'illegal');
    const minimal = r.failure!.minimal;
    assert.ok(minimal.length < r.failure!.ops.length);
    // The real violation: put A, put B, then a get of A. Not "get B" alone, which only fails
    // once put B is dropped (tokens() keeps the minimizer from doing that).
    assert.deepEqual(
      minimal.map((o) => registerModel.describe!(o)),
      ['put k0 = "A"', 'put k0 = "B"', 'get k0 -> "A"'],
      formatHistory(minimal, registerModel),
    );
    assert.equal(checkHistory(registerModel, minimal, { minimize: false }).verdict, 'illegal');
    for (let i = 0; i < minimal.length; i++) {
      const without = minimal.filter((_, j) => j !== i);
      // Dropping a put also drops the gets that observed it (as the minimizer does).
      const orphaned = without.filter(
        (o) => o.input.kind === 'get' && !without.some((w) => w.input.kind === 'put' && w.input.value === o.output?.value),
      );
      const rest = without.filter((o) => !orphaned.includes(o));
      if (rest.length > 0) assert.equal(checkHistory(registerModel, rest, { minimize: false }).verdict, 'ok', `op ${i} was removable`);
    }
    assert.match(r.failure!.explanation, /No linearization of these \d ops/);
    console.log(
      `# minimal failing history:\n${formatHistory(minimal, registerModel)}\n# ${r.failure!.explanation.split('\n').join('\n# ')}`,
    );
  });

  it('shrinks a set history to the read that misses an acknowledged append', () => {
    const h = new SetHistory();
    for (let i = 0; i < 50; i++) h.append(1, i * 2, i * 2 + 1, `e${i}`);
    const all = Array.from({ length: 50 }, (_, i) => `e${i}`);
    h.read(2, 200, 201, all).read(
      2,
      202,
      203,
      all.filter((e) => e !== 'e17'),
    );
    const r = checkHistory(setModel, h.ops);
    assert.equal(r.verdict, 'illegal');
    const m = r.failure!.minimal;
    assert.ok(m.length < h.ops.length);
    assert.equal(checkHistory(setModel, m, { minimize: false }).verdict, 'illegal');
    assert.ok(
      m.some((o) => o.input.kind === 'read' && !o.output!.elements!.includes('e17')),
      'keeps the bad read',
    );
    // Reads are projected onto the appends kept (Model.project), so the rest fall away.
    assert.ok(m.length <= 3, formatHistory(m, setModel));
    assert.ok(m.some((o) => o.input.kind === 'append' && o.input.element === 'e17'));
  });

  it('respects its budget (returns what it has, still illegal)', () => {
    const h = new RegisterHistory();
    for (let i = 0; i < 500; i++) h.put(1, i * 2, i * 2 + 1, `v${i}`).get(2, i * 2 + 1.5, i * 2 + 1.9, `v${i}`);
    h.get(3, 5000, 5001, 'v0');
    const m = minimizeHistory(registerModel, h.ops, performance.now() - 1);
    assert.equal(m.length, h.ops.length);
    assert.equal(checkHistory(registerModel, m, { minimize: false }).verdict, 'illegal');
  });
});

describe('scale', () => {
  it('50 000 register ops over 20 keys, and one partition of 30 000 ops (iterative: no stack overflow)', () => {
    const rng = seededRandom('scale');
    const ops = simulateRegister(rng, { clients: 20, opsPerClient: 2500, keys: 20, unknownRate: 0.02, maxGap: 1, maxDuration: 5 });
    let t = performance.now();
    const r = checkHistory(registerModel, ops, { timeoutMs: 20_000 });
    console.log(`# 50 000 ops / 20 keys: ${r.verdict} in ${(performance.now() - t).toFixed(0)} ms`);
    assert.equal(r.verdict, 'ok');
    assert.equal(r.partitions, 20);

    const seq = new RegisterHistory();
    for (let i = 0; i < 15_000; i++) seq.put(1, i * 4, i * 4 + 1, `v${i}`).get(2, i * 4 + 2, i * 4 + 3, `v${i}`);
    t = performance.now();
    assert.equal(checkHistory(registerModel, seq.ops, { timeoutMs: 20_000 }).verdict, 'ok');
    console.log(`# 30 000 sequential ops on one key: ${(performance.now() - t).toFixed(0)} ms`);
  });

  it('20 000 set ops over 20 keys', () => {
    const rng = seededRandom('scale set');
    const ops = simulateSet(rng, { clients: 20, opsPerClient: 1000, keys: 20, unknownRate: 0.02, maxGap: 1, maxDuration: 5 });
    const t = performance.now();
    const r = checkHistory(setModel, ops, { timeoutMs: 20_000 });
    console.log(`# 20 000 set ops / 20 keys: ${r.verdict} in ${(performance.now() - t).toFixed(0)} ms`);
    assert.equal(r.verdict, 'ok');
  });
});

describe('formatHistory', () => {
  it('one line per op in call order, with client, times, status and the op', () => {
    const h = new RegisterHistory().get(2, 10.5, 11, null).put(1, 10, 12, 'a').putUnknown(3, 13, 'b');
    const text = formatHistory(h.ops, registerModel);
    const lines = text.split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^#1 +c1 +0\.000 \.\. +2\.000 +ok +put x = "a"$/);
    assert.match(lines[1]!, /^#0 +c2 +0\.500 \.\. +1\.000 +ok +get x -> null$/);
    assert.match(lines[2]!, /^#2 +c3 +3\.000 \.\. +∞ +unknown +put x = "b"$/);
    // Without a model: JSON of input and output.
    assert.match(formatHistory(h.ops), /\{"kind":"get","key":"x"\} -> \{"value":null\}/);
  });
});
