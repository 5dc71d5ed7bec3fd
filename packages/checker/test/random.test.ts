// Randomized tests: simulated linearizable stores must check 'ok'; one impossible read makes
// them 'illegal'; and on tiny random histories the checker agrees with brute force.
// Seeded: the seed is printed; replay with TSKV_CHECKER_SEED=<seed>.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Prng } from '@tskv/util';
import { checkHistory, formatHistory, type RegisterOp, registerModel, type SetOp, setModel } from '../src/index.js';
import { bruteForceLinearizable, seededRandom } from './helpers.js';
import { simulateRegister, simulateSet } from './sim.js';

function simOptions(rng: Prng) {
  return {
    clients: 2 + rng.int(6),
    opsPerClient: 5 + rng.int(60),
    keys: 1 + rng.int(3),
    unknownRate: rng.pick([0, 0.05, 0.2]),
    maxGap: rng.pick([0.5, 2, 10]),
    maxDuration: rng.pick([1, 5, 20]),
  };
}

const clone = <T>(ops: T[]): T[] => structuredClone(ops);

/** A stale read: a get after w2, which completed after w1 completed; values are unique, so w1's value is impossible. */
function staleReadMutation(ops: RegisterOp[], rng: Prng): RegisterOp[] | undefined {
  const writes = ops.filter((o) => o.status === 'ok' && o.input.kind !== 'get');
  const gets = ops.filter((o) => o.status === 'ok' && o.input.kind === 'get');
  for (let attempt = 0; attempt < 50 && gets.length > 0; attempt++) {
    const g = rng.pick(gets);
    const key = g.input.key;
    const w1 = writes.find(
      (w1) =>
        w1.input.key === key &&
        w1.input.kind === 'put' &&
        writes.some((w2) => w2.input.key === key && w2 !== w1 && w2.call > w1.return && w2.return < g.call),
    );
    if (w1 !== undefined && w1.input.kind === 'put') {
      const out = clone(ops);
      out[ops.indexOf(g)]!.output = { value: w1.input.value };
      return out;
    }
  }
  return undefined;
}

describe('randomized register histories', () => {
  it('simulated linearizable histories are ok; an impossible read makes them illegal', () => {
    const rng = seededRandom('register random');
    for (let round = 0; round < 40; round++) {
      const opts = simOptions(rng);
      const ops = simulateRegister(rng, opts);
      const r = checkHistory(registerModel, ops, { timeoutMs: 5000 });
      assert.equal(r.verdict, 'ok', `round ${round} ${JSON.stringify(opts)} seed=${rng.seed}:\n${formatHistory(ops, registerModel)}`);

      const gets = ops.filter((o) => o.status === 'ok' && o.input.kind === 'get');
      if (gets.length === 0) continue;
      const never = clone(ops);
      never[ops.indexOf(rng.pick(gets))]!.output = { value: 'never-written' };
      assert.equal(
        checkHistory(registerModel, never, { timeoutMs: 5000, minimize: false }).verdict,
        'illegal',
        `round ${round} never-written seed=${rng.seed}`,
      );

      const stale = staleReadMutation(ops, rng);
      if (stale !== undefined) {
        const rs = checkHistory(registerModel, stale, { timeoutMs: 5000 });
        assert.equal(rs.verdict, 'illegal', `round ${round} stale read seed=${rng.seed}:\n${formatHistory(stale, registerModel)}`);
        const m = rs.failure!.minimal;
        assert.ok(
          m.length < stale.length && m.length <= 8,
          `minimal stale-read history has ${m.length} ops:\n${formatHistory(m, registerModel)}`,
        );
        assert.equal(checkHistory(registerModel, m, { minimize: false }).verdict, 'illegal');
      }
    }
  });
});

describe('randomized set histories', () => {
  it('simulated linearizable histories are ok; dropping an element that must be there makes them illegal', () => {
    const rng = seededRandom('set random');
    for (let round = 0; round < 40; round++) {
      const opts = simOptions(rng);
      const ops = simulateSet(rng, opts);
      assert.equal(
        checkHistory(setModel, ops, { timeoutMs: 5000 }).verdict,
        'ok',
        `round ${round} seed=${rng.seed}:\n${formatHistory(ops, setModel)}`,
      );

      // A read missing an element whose ok append returned before the read was called.
      const candidates: [SetOp, string][] = [];
      for (const r of ops) {
        if (r.status !== 'ok' || r.input.kind !== 'read') continue;
        for (const a of ops) {
          if (a.status === 'ok' && a.input.kind === 'append' && a.input.key === r.input.key && a.return < r.call)
            candidates.push([r, a.input.element]);
        }
      }
      if (candidates.length === 0) continue;
      const [read, element] = rng.pick(candidates);
      const bad = clone(ops);
      const out = bad[ops.indexOf(read)]!.output!;
      out.elements = out.elements!.filter((e) => e !== element);
      const rb = checkHistory(setModel, bad, { timeoutMs: 5000 });
      assert.equal(rb.verdict, 'illegal', `round ${round} seed=${rng.seed}`);
      const m = rb.failure!.minimal;
      assert.ok(m.length <= 4, `minimal has ${m.length} ops:\n${formatHistory(m, setModel)}`);
      assert.equal(checkHistory(setModel, m, { minimize: false }).verdict, 'illegal');
    }
  });
});

describe('agreement with brute force on tiny random histories', () => {
  it('register: same verdict as exhaustive search (random results, many illegal)', () => {
    const rng = seededRandom('register brute force');
    let illegal = 0;
    for (let round = 0; round < 1500; round++) {
      const n = 1 + rng.int(7);
      const ops: RegisterOp[] = [];
      for (let id = 0; id < n; id++) {
        const call = rng.int(10);
        const unknown = rng.next() < 0.25;
        const ret = call + rng.int(5); // equal times happen: exercises the touching rule
        const r = rng.next();
        const value = rng.pick(['a', 'b', 'c']);
        const input =
          r < 0.4
            ? { kind: 'put' as const, key: 'x', value }
            : r < 0.55
              ? { kind: 'delete' as const, key: 'x' }
              : { kind: 'get' as const, key: 'x' };
        const output = unknown ? undefined : input.kind === 'get' ? { value: rng.pick(['a', 'b', 'c', null]) } : {};
        ops.push({ id, clientId: id, input, output, call, return: unknown ? Infinity : ret, status: unknown ? 'unknown' : 'ok' });
      }
      const expected = bruteForceLinearizable(registerModel, ops) ? 'ok' : 'illegal';
      if (expected === 'illegal') illegal++;
      const got = checkHistory(registerModel, ops).verdict;
      assert.equal(got, expected, `seed=${rng.seed} round ${round}:\n${formatHistory(ops, registerModel)}`);
    }
    assert.ok(illegal > 150 && illegal < 1350, `a useful mix of verdicts (${illegal} illegal of 1500)`);
  });

  it('set: same verdict as exhaustive search', () => {
    const rng = seededRandom('set brute force');
    let illegal = 0;
    for (let round = 0; round < 1500; round++) {
      const n = 1 + rng.int(7);
      const ops: SetOp[] = [];
      for (let id = 0; id < n; id++) {
        const call = rng.int(10);
        const unknown = rng.next() < 0.25;
        const ret = call + rng.int(5);
        const input = rng.next() < 0.5 ? { kind: 'append' as const, key: 'l', element: `e${id}` } : { kind: 'read' as const, key: 'l' };
        const elements = ['e0', 'e1', 'e2', 'e3'].filter(() => rng.next() < 0.4);
        const output = unknown ? undefined : input.kind === 'read' ? { elements } : {};
        ops.push({ id, clientId: id, input, output, call, return: unknown ? Infinity : ret, status: unknown ? 'unknown' : 'ok' });
      }
      const expected = bruteForceLinearizable(setModel, ops) ? 'ok' : 'illegal';
      if (expected === 'illegal') illegal++;
      assert.equal(checkHistory(setModel, ops).verdict, expected, `seed=${rng.seed} round ${round}:\n${formatHistory(ops, setModel)}`);
    }
    assert.ok(illegal > 150 && illegal < 1350, `a useful mix of verdicts (${illegal} illegal of 1500)`);
  });
});
