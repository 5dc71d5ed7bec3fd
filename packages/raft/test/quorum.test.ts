import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@tskv/util';
import { JointConfig } from '../src/quorum/joint.js';
import { type AckedIndexer, MajorityConfig, VoteResult } from '../src/quorum/majority.js';

const acked = (m: Record<number, number>): AckedIndexer => ({ ackedIndex: (id) => m[id] });
const votes = (m: Record<number, boolean>): Map<number, boolean> => new Map(Object.entries(m).map(([k, v]) => [Number(k), v]));

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1e9);

// Definitional oracles, deliberately naive.
function slowCommitted(ids: number[], l: AckedIndexer): number {
  if (ids.length === 0) return Number.MAX_SAFE_INTEGER;
  const q = Math.floor(ids.length / 2) + 1;
  const cands = [0, ...ids.map((id) => l.ackedIndex(id) ?? 0)];
  let best = 0;
  for (const c of cands) if (ids.filter((id) => (l.ackedIndex(id) ?? 0) >= c).length >= q && c > best) best = c;
  return best;
}
function slowVote(ids: number[], v: Map<number, boolean>): VoteResult {
  if (ids.length === 0) return VoteResult.Won;
  const q = Math.floor(ids.length / 2) + 1;
  const yes = ids.filter((id) => v.get(id) === true).length;
  const no = ids.filter((id) => v.get(id) === false).length;
  if (yes >= q) return VoteResult.Won;
  if (no >= q || ids.length - no < q) return VoteResult.Lost;
  return VoteResult.Pending;
}

test('majority committedIndex table', () => {
  const cases: [number[], Record<number, number>, number][] = [
    [[], {}, Number.MAX_SAFE_INTEGER],
    [[1], {}, 0],
    [[1], { 1: 12 }, 12],
    [[1, 2], { 1: 100 }, 0],
    [[1, 2], { 1: 100, 2: 101 }, 100],
    [[1, 2, 3], { 1: 100, 2: 101, 3: 99 }, 100],
    [[1, 2, 3], { 1: 100 }, 0],
    [[1, 2, 3], { 1: 100, 3: 101 }, 100],
    [[1, 2, 3, 4], { 1: 100, 2: 101, 3: 99 }, 99],
    [[1, 2, 3, 4], { 1: 100, 2: 101, 3: 99, 4: 101 }, 100],
    [[1, 2, 3, 4, 5], { 1: 5, 2: 4, 3: 3, 4: 2, 5: 1 }, 3],
    [[1, 2, 3, 4, 5], { 1: 101, 2: 104, 3: 103, 4: 103 }, 103],
    // Acks from non-members do not count.
    [[1, 2, 3], { 1: 10, 7: 50, 8: 50 }, 0],
  ];
  for (const [ids, idx, want] of cases) {
    assert.equal(new MajorityConfig(ids).committedIndex(acked(idx)), want, `cfg=${ids} idx=${JSON.stringify(idx)}`);
  }
});

test('majority committedIndex is stable across calls with different sizes (scratch reuse)', () => {
  const c = new MajorityConfig([1, 2, 3, 4, 5]);
  assert.equal(c.committedIndex(acked({ 1: 9, 2: 9, 3: 9, 4: 9, 5: 9 })), 9);
  assert.equal(c.committedIndex(acked({ 1: 1, 2: 2 })), 0);
  c.ids.delete(5);
  c.ids.delete(4);
  assert.equal(c.committedIndex(acked({ 1: 1, 2: 2 })), 1);
});

test('joint committedIndex table (etcd joint_commit cases)', () => {
  const cases: [number[], number[], Record<number, number>, number][] = [
    [[1, 2, 3], [], { 1: 100, 2: 101, 3: 99 }, 100],
    [[1], [2], {}, 0],
    [[1], [2], { 1: 100 }, 0],
    [[1], [2], { 1: 13, 2: 100 }, 13],
    [[1], [1], { 1: 100 }, 100],
    [[1, 3], [2], { 1: 100, 2: 50 }, 0],
    [[1, 3], [2], { 1: 100, 3: 45, 2: 50 }, 45],
    [[1, 2], [2], { 1: 50, 2: 100 }, 50],
    [[1, 2], [3, 4], { 1: 50, 2: 48, 3: 49 }, 0],
    [[1, 2], [3, 4], { 1: 50, 2: 48, 3: 49, 4: 47 }, 47],
    [[1, 2], [2, 3], { 1: 101, 2: 100, 3: 99 }, 99],
    [[1, 2, 3], [4, 5, 6], { 2: 99, 3: 90, 4: 97, 5: 95 }, 90],
    [[1, 2, 3], [4, 5, 6], { 1: 92, 2: 99, 3: 90, 4: 97, 5: 95, 6: 77 }, 92],
    [[1, 2, 3], [1, 4, 5], { 2: 100, 3: 99, 4: 99, 5: 98 }, 98],
    [[1, 2, 3], [1, 4, 5], { 1: 100, 2: 100, 3: 99, 4: 99, 5: 98 }, 99],
    [[1, 2, 3], [2, 3, 4], { 1: 100, 2: 99, 4: 101 }, 99],
    [[], [], {}, Number.MAX_SAFE_INTEGER],
  ];
  for (const [inc, out, idx, want] of cases) {
    const j = new JointConfig(new MajorityConfig(inc), new MajorityConfig(out));
    assert.equal(j.committedIndex(acked(idx)), want, `cfg=${inc} cfgj=${out} idx=${JSON.stringify(idx)}`);
    // Symmetric in its halves.
    const k = new JointConfig(new MajorityConfig(out), new MajorityConfig(inc));
    assert.equal(k.committedIndex(acked(idx)), want, `swapped cfg=${out} cfgj=${inc}`);
  }
});

test('majority voteResult table', () => {
  const cases: [number[], Record<number, boolean>, VoteResult][] = [
    [[], {}, VoteResult.Won],
    [[1], {}, VoteResult.Pending],
    [[1], { 1: true }, VoteResult.Won],
    [[1], { 1: false }, VoteResult.Lost],
    [[1, 2], { 1: true }, VoteResult.Pending],
    [[1, 2], { 1: true, 2: true }, VoteResult.Won],
    [[1, 2], { 1: true, 2: false }, VoteResult.Lost],
    [[1, 2, 3], { 1: true, 2: false }, VoteResult.Pending],
    [[1, 2, 3], { 1: false, 2: false }, VoteResult.Lost],
    [[1, 2, 3], { 1: true, 3: true }, VoteResult.Won],
    [[1, 2, 3, 4], { 1: true, 2: true, 3: false }, VoteResult.Pending],
    [[1, 2, 3, 4], { 1: true, 2: false, 3: false }, VoteResult.Lost],
    [[1, 2, 3, 4, 5], { 1: true, 2: true, 3: false, 4: false }, VoteResult.Pending],
    // Votes of non-members are ignored.
    [[1, 2, 3], { 1: true, 4: true, 5: true }, VoteResult.Pending],
  ];
  for (const [ids, v, want] of cases) {
    assert.equal(new MajorityConfig(ids).voteResult(votes(v)), want, `cfg=${ids} votes=${JSON.stringify(v)}`);
  }
});

test('joint voteResult table', () => {
  const cases: [number[], number[], Record<number, boolean>, VoteResult][] = [
    [[1], [], { 1: true }, VoteResult.Won],
    [[1], [1], { 1: true }, VoteResult.Won],
    [[1], [2], { 1: true }, VoteResult.Pending],
    [[1], [2], { 1: true, 2: true }, VoteResult.Won],
    [[1], [2], { 1: true, 2: false }, VoteResult.Lost],
    [[1], [2], { 2: false }, VoteResult.Lost],
    [[1, 2, 3], [1, 4, 5], { 1: true, 2: true, 3: true }, VoteResult.Pending],
    [[1, 2, 3], [1, 4, 5], { 1: true, 2: true, 4: true }, VoteResult.Won],
    [[1, 2, 3], [1, 4, 5], { 1: true, 2: true, 4: false, 5: false }, VoteResult.Lost],
    [[1, 2, 3], [2, 3, 4], { 2: true, 3: true }, VoteResult.Won],
  ];
  for (const [inc, out, v, want] of cases) {
    const j = new JointConfig(new MajorityConfig(inc), new MajorityConfig(out));
    assert.equal(j.voteResult(votes(v)), want, `cfg=${inc} cfgj=${out} votes=${JSON.stringify(v)}`);
  }
});

test('committedIndex and voteResult agree with naive oracles on random inputs', () => {
  const rnd = mulberry32(SEED);
  for (let iter = 0; iter < 2000; iter++) {
    const pick = (max: number): number[] => {
      const n = Math.floor(rnd() * (max + 1));
      const s = new Set<number>();
      while (s.size < n) s.add(1 + Math.floor(rnd() * 9));
      return [...s];
    };
    const inc = pick(7);
    const out = rnd() < 0.5 ? [] : pick(7);
    const idx: Record<number, number> = {};
    const v = new Map<number, boolean>();
    for (let id = 1; id <= 9; id++) {
      if (rnd() < 0.8) idx[id] = Math.floor(rnd() * 20);
      const r = rnd();
      if (r < 0.4) v.set(id, true);
      else if (r < 0.7) v.set(id, false);
    }
    const l = acked(idx);
    const j = new JointConfig(new MajorityConfig(inc), new MajorityConfig(out));
    const msg = `seed=${SEED} iter=${iter} cfg=${inc} cfgj=${out} idx=${JSON.stringify(idx)}`;
    assert.equal(new MajorityConfig(inc).committedIndex(l), slowCommitted(inc, l), msg);
    assert.equal(j.committedIndex(l), Math.min(slowCommitted(inc, l), slowCommitted(out, l)), msg);
    const r1 = slowVote(inc, v);
    const r2 = slowVote(out, v);
    const wantJ = r1 === r2 ? r1 : r1 === VoteResult.Lost || r2 === VoteResult.Lost ? VoteResult.Lost : VoteResult.Pending;
    assert.equal(new MajorityConfig(inc).voteResult(v), r1, `${msg} votes=${JSON.stringify([...v])}`);
    assert.equal(j.voteResult(v), wantJ, `${msg} votes=${JSON.stringify([...v])}`);
  }
});

test('hasQuorum', () => {
  const m = new MajorityConfig([1, 2, 3]);
  assert.equal(m.hasQuorum(new Set([1])), false);
  assert.equal(m.hasQuorum(new Set([1, 3])), true);
  assert.equal(m.hasQuorum(new Set([1, 4, 5, 6])), false);
  assert.equal(new MajorityConfig([1, 2, 3, 4]).hasQuorum(new Set([1, 2])), false);
  assert.equal(new MajorityConfig([1, 2, 3, 4]).hasQuorum(new Set([1, 2, 4])), true);
  assert.equal(new MajorityConfig().hasQuorum(new Set()), true);

  const j = new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig([3, 4, 5]));
  assert.equal(j.hasQuorum(new Set([1, 2])), false);
  assert.equal(j.hasQuorum(new Set([3, 4])), false);
  assert.equal(j.hasQuorum(new Set([1, 3, 4])), true);
  assert.equal(new JointConfig(new MajorityConfig([1, 2, 3])).hasQuorum(new Set([2, 3])), true);
});

test('MajorityConfig / JointConfig helpers', () => {
  const m = new MajorityConfig([10, 2, 1]);
  assert.equal(m.size, 3);
  assert.deepEqual(m.slice(), [1, 2, 10]);
  assert.equal(m.toString(), '(1 2 10)');
  const c = m.clone();
  c.ids.add(7);
  assert.equal(m.size, 3, 'clone must not share ids');

  const j = new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig([3, 4]));
  assert.equal(j.isJoint(), true);
  assert.deepEqual([...j.ids()].sort(), [1, 2, 3, 4]);
  assert.equal(j.contains(4), true);
  assert.equal(j.contains(5), false);
  assert.equal(j.toString(), '(1 2 3)&&(3 4)');
  assert.equal(new JointConfig().isJoint(), false);
  const jc = j.clone();
  jc.outgoing.ids.clear();
  jc.incoming.ids.add(9);
  assert.equal(j.isJoint(), true, 'clone must not share the outgoing half');
  assert.equal(j.contains(9), false, 'clone must not share the incoming half');
});
