// Bank histories: valid interleavings pass; a read that sums wrong (or overdraws, or is not
// well formed, or is missing at the end) fails with the right explanation.
// Seeded: the seed is printed; replay with TSKV_CHECKER_SEED=<seed>.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Prng } from '@tskv/util';
import { type BankOp, type BankOptions, checkBank, type TxnStatus } from '../src/index.js';
import { seededRandom } from './helpers.js';

const ACCOUNTS = ['a', 'b', 'c', 'd', 'e'];
const OPTS: BankOptions = { accounts: ACCOUNTS, total: 100 };

/**
 * A store that applies each transfer atomically at some instant inside its interval, over
 * clients with overlapping intervals; reads take a snapshot at such an instant. Overdrawing
 * transfers fail; unknown ones are applied or not. Ends with a final read.
 */
function simulateBank(rng: Prng, n: number): BankOp[] {
  const balances: Record<string, number> = Object.fromEntries(ACCOUNTS.map((a) => [a, 20]));
  const events: { at: number; op: BankOp; apply: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    const call = rng.next() * n;
    const ret = call + rng.next() * 5;
    const x = rng.next();
    const status: TxnStatus = x < 0.05 ? 'fail' : x < 0.15 ? 'unknown' : 'ok';
    const at = call + (ret - call) * rng.next();
    const op: BankOp = rng.chance(0.4)
      ? { id: i, clientId: i % 7, call, return: status === 'unknown' ? Infinity : ret, status, input: { kind: 'read' } }
      : (() => {
          const from = rng.pick(ACCOUNTS);
          const to = rng.pick(ACCOUNTS.filter((a) => a !== from));
          return {
            id: i,
            clientId: i % 7,
            call,
            return: status === 'unknown' ? Infinity : ret,
            status,
            input: { kind: 'transfer', from, to, amount: 1 + rng.int(10) },
          };
        })();
    events.push({ at, op, apply: status === 'ok' || (status === 'unknown' && rng.chance(0.5)) });
  }
  events.sort((p, q) => p.at - q.at);
  for (const { op, apply } of events) {
    const i = op.input;
    if (i.kind === 'read') {
      if (op.status === 'ok') op.output = { balances: { ...balances } };
    } else if (apply) {
      if (balances[i.from]! < i.amount) {
        if (op.status === 'ok') op.status = 'fail';
      } else {
        balances[i.from]! -= i.amount;
        balances[i.to]! += i.amount;
      }
    }
  }
  const end = Math.max(...events.map((e) => (Number.isFinite(e.op.return) ? e.op.return : e.op.call))) + 1;
  const ops = events.map((e) => e.op).sort((p, q) => p.id - q.id);
  ops.push({
    id: n,
    clientId: 0,
    call: end,
    return: end + 1,
    status: 'ok',
    input: { kind: 'read', final: true },
    output: { balances: { ...balances } },
  });
  return ops;
}

const read = (id: number, call: number, balances: Record<string, number>, final = false): BankOp => ({
  id,
  clientId: 1,
  call,
  return: call + 1,
  status: 'ok',
  input: { kind: 'read', final },
  output: { balances },
});
const even = { a: 20, b: 20, c: 20, d: 20, e: 20 };

describe('bank checker', () => {
  it('simulated interleavings pass; one read off by some amount is the first bad read', () => {
    const rng = seededRandom('bank');
    for (let round = 0; round < 50; round++) {
      const ops = simulateBank(rng, 20 + rng.int(300));
      const res = checkBank(ops, OPTS);
      assert.equal(res.valid, true, `round ${round} seed=${rng.seed}: ${JSON.stringify(res.anomalies)}`);
      assert.equal(res.final?.sum, 100);
      assert.equal(
        res.stats.reads.ok +
          res.stats.reads.fail +
          res.stats.reads.unknown +
          res.stats.transfers.ok +
          res.stats.transfers.fail +
          res.stats.transfers.unknown,
        ops.length,
      );

      const reads = ops.filter((o) => o.input.kind === 'read' && o.status === 'ok');
      const victim = rng.pick(reads);
      const bad = structuredClone(ops);
      const op = bad.find((o) => o.id === victim.id)!;
      const account = rng.pick(ACCOUNTS);
      const delta = rng.pick([-3, 7]);
      (op.output!.balances as Record<string, number>)[account]! += delta;
      const rb = checkBank(bad, { ...OPTS, negativeAllowed: true });
      assert.equal(rb.valid, false, `round ${round} seed=${rng.seed}`);
      assert.deepEqual(Object.keys(rb.counts), ['wrong-total']);
      assert.equal(rb.firstBad!.op!.id, victim.id);
      assert.equal(rb.firstBad!.sum, 100 + delta);
      assert.match(rb.firstBad!.explanation, new RegExp(`sums to ${100 + delta}, not 100 \\(off by ${delta}\\)`));
    }
  });

  it('reports the first bad read by call time, with its balances and sum', () => {
    const ops = [
      read(1, 30, { a: 20, b: 20, c: 20, d: 20, e: 21 }),
      read(2, 10, { a: 25, b: 15, c: 20, d: 10, e: 20 }),
      read(3, 40, even, true),
      { id: 4, clientId: 2, call: 5, return: 8, status: 'unknown', input: { kind: 'transfer', from: 'a', to: 'b', amount: 5 } } as BankOp,
    ];
    const res = checkBank(ops, OPTS);
    assert.equal(res.valid, false);
    assert.deepEqual(res.counts, { 'wrong-total': 2 });
    assert.equal(res.firstBad!.op!.id, 2);
    assert.equal(res.firstBad!.sum, 90);
    assert.deepEqual(res.firstBad!.balances, { a: 25, b: 15, c: 20, d: 10, e: 20 });
    assert.equal(
      res.firstBad!.explanation,
      'read #2 (client 1, called at 10) saw {a: 25, b: 15, c: 20, d: 10, e: 20}, which sums to 90, not 100 (off by -10)',
    );
    assert.equal(res.anomalies.length, 2);
    assert.equal(res.final!.sum, 100);
  });

  it('the final read must sum to the total too', () => {
    const res = checkBank([read(1, 0, even), read(2, 10, { ...even, e: 19 }, true)], OPTS);
    assert.equal(res.valid, false);
    assert.equal(res.firstBad!.final, true);
    assert.match(res.firstBad!.explanation, /^final read #2 .* sums to 99, not 100/);
  });

  it('negative balances fail unless allowed', () => {
    const ops = [read(1, 0, { ...even, a: -5, b: 45 }), read(2, 10, even, true)];
    const res = checkBank(ops, OPTS);
    assert.deepEqual(res.counts, { 'negative-balance': 1 });
    assert.match(res.anomalies[0]!.explanation, /negative balances \(a: -5\)/);
    assert.equal(checkBank(ops, { ...OPTS, negativeAllowed: true }).valid, true);
  });

  it('a missing final read fails unless not required', () => {
    const ops = [read(1, 0, even), { ...read(2, 10, even, true), status: 'unknown', output: undefined, return: Infinity } as BankOp];
    const res = checkBank(ops, OPTS);
    assert.deepEqual(res.counts, { 'missing-final-read': 1 });
    assert.equal(res.firstBad, undefined);
    assert.equal(checkBank(ops, { ...OPTS, requireFinalRead: false }).valid, true);
  });

  it('malformed reads are anomalies; malformed operations throw', () => {
    const res = checkBank([read(1, 0, { a: 50, b: 50, z: 0 }), read(2, 10, even, true)], OPTS);
    assert.deepEqual(res.counts, { 'malformed-read': 1 });
    assert.match(res.anomalies[0]!.explanation, /no balance for c, d, e; unknown accounts z/);
    assert.throws(() => checkBank([{ ...read(1, 0, even), output: undefined }], OPTS), /'ok' read 1 has no balances/);
    const self: BankOp = {
      id: 1,
      clientId: 0,
      call: 0,
      return: 1,
      status: 'ok',
      input: { kind: 'transfer', from: 'a', to: 'a', amount: 1 },
    };
    assert.throws(() => checkBank([self], OPTS), /malformed transfer/);
    assert.throws(() => checkBank([read(1, 0, even), read(1, 1, even)], OPTS), /duplicate operation id 1/);
  });
});
