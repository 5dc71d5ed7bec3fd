// GC over randomized histories made by the real commands (committed puts and deletes, multi-key
// transactions, rollbacks with and without a prewrite, unresolved locks): every read at or after
// the safe point answers the same before GC, after every batch, and after GC; the result is the
// plain model of the rule; keys outside the range and the lock CF are untouched; a second run has
// nothing to do; gcRegion (a fresh snapshot per batch) ends in the same state.
//
// The seed is printed; GC_TEST_SEED=<seed> replays a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareBytes } from '@tskv/util';
import { decodeUserKey, type GcRange, gcRegion, kvGet, kvScan, MemStorage, type Mutation, Op, TS_MAX, TxnExecutor } from '../src/index.js';
import { keySet, modelGc, prng, runGc } from './gc_helpers.js';

const ROUNDS = 40;
const KEYS = ['', 'a', 'ab', 'abcdefgh', 'abcdefgh\u0000', 'b', 'k1', 'k2', 'zz'].map((k) => new TextEncoder().encode(k));

type Rng = ReturnType<typeof prng>;

/** A history made by the commands; returns the storage and the last timestamp used. */
async function history(rng: Rng): Promise<{ mem: MemStorage; maxTs: bigint }> {
  const mem = new MemStorage();
  const ex = new TxnExecutor(mem);
  let ts = 1n;
  const tick = (): bigint => {
    ts += BigInt(1 + rng.int(3));
    return ts;
  };
  const ops = 30 + rng.int(50);
  for (let i = 0; i < ops; i++) {
    const n = 1 + rng.int(3);
    const keys = [...new Set(Array.from({ length: n }, () => rng.pick(KEYS)))];
    const mutations: Mutation[] = keys.map((key) =>
      rng.next() < 0.75 ? { op: Op.Put, key, value: new TextEncoder().encode(`v${i}-${rng.int(1000)}`) } : { op: Op.Del, key },
    );
    const startVersion = tick();
    const what = rng.next();
    if (what < 0.08) {
      // A rollback with no prewrite (e.g. CheckTxnStatus finding no lock).
      await ex.batchRollback({ startVersion, keys });
      continue;
    }
    const pw = await ex.prewrite({ mutations, primaryLock: keys[0]!, startVersion, lockTtl: 100n });
    if (pw.errors.length > 0) continue; // another transaction's lock, or a conflict: nothing written
    if (what < 0.2) await ex.batchRollback({ startVersion, keys });
    else if (what < 0.24)
      continue; // left locked (unresolved): GC must leave it
    else await ex.commit({ startVersion, keys, commitVersion: tick() });
  }
  return { mem, maxTs: ts };
}

/** Every answer a reader at or after the safe point can get: gets per key and ts, and scans. */
async function reads(mem: MemStorage, safePoint: bigint, maxTs: bigint): Promise<unknown[]> {
  const r = mem.reader();
  try {
    const out: unknown[] = [];
    const tss: bigint[] = [TS_MAX];
    for (let t = safePoint; t <= maxTs + 1n; t++) tss.push(t);
    for (const version of tss) {
      for (const key of KEYS) out.push(await kvGet(r, { key, version }));
      out.push(await kvScan(r, { startKey: new Uint8Array(0), limit: 100, version }));
    }
    return out;
  } finally {
    r.close();
  }
}

function randomRange(rng: Rng): GcRange {
  if (rng.next() < 0.4) return { start: new Uint8Array(0), end: new Uint8Array(0) };
  const [x, y] = [rng.pick(KEYS), rng.pick(KEYS)].sort(compareBytes);
  return { start: x!, end: rng.next() < 0.2 ? new Uint8Array(0) : y! };
}

const inRange = (range: GcRange) => (k: Uint8Array) =>
  compareBytes(k, range.start) >= 0 && (range.end.length === 0 || compareBytes(k, range.end) < 0);

test('randomized histories: reads at or after the safe point are unchanged by GC, after every batch; the result is the rule', async (t) => {
  const seed = process.env.GC_TEST_SEED ? Number(process.env.GC_TEST_SEED) : Math.floor(Math.random() * 2 ** 32);
  t.diagnostic(`seed ${seed} (replay: GC_TEST_SEED=${seed})`);
  console.log(`gc_random seed ${seed} (replay: GC_TEST_SEED=${seed})`);
  let deleted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const where = `seed ${seed} round ${round}`;
    const rng = prng(seed + round * 0x9e3779b9);
    const { mem, maxTs } = await history(rng);
    const safePoint = BigInt(rng.int(Number(maxTs) + 3));
    const range = randomRange(rng);
    const opts = { maxModifies: 2 + rng.int(9), maxBytes: 1 + rng.int(300) };

    const before = await reads(mem, safePoint, maxTs);
    const locks = mem.entries('lock');
    const write = mem.entries('write');
    const dflt = mem.entries('default');
    const model = modelGc(write, dflt, safePoint, inRange(range));

    const { batches, stats } = await runGc(mem, range, safePoint, opts, async () => {
      // Any prefix of the batches is safe: the reads are the same after each.
      assert.deepEqual(await reads(mem, safePoint, maxTs), before, `${where}: after a batch`);
    });
    deleted += stats.versionsDeleted;
    assert.deepEqual(await reads(mem, safePoint, maxTs), before, `${where}: after GC`);
    assert.deepEqual(keySet(mem.entries('write')), model.write, `${where}: write CF is the rule's`);
    assert.deepEqual(keySet(mem.entries('default')), model.dflt, `${where}: default CF is the rule's`);
    assert.deepEqual(mem.entries('lock'), locks, `${where}: lock CF untouched`);
    const outside = (entries: [Uint8Array, Uint8Array][]) => entries.filter(([k]) => !inRange(range)(decodeUserKey(k)));
    assert.deepEqual(outside(mem.entries('write')), outside(write), `${where}: write entries outside the range`);
    assert.deepEqual(outside(mem.entries('default')), outside(dflt), `${where}: default entries outside the range`);
    for (const b of batches) {
      assert.ok(b.length <= opts.maxModifies, `${where}: batch size`);
      const bytes = b.reduce((s, m) => s + m.key.length, 0);
      assert.ok(bytes <= opts.maxBytes || b.length <= 2, `${where}: batch bytes`);
    }
    assert.equal(stats.versionsDeleted, write.length - model.write.size, `${where}: versionsDeleted`);
    assert.equal(stats.valuesDeleted, dflt.length - model.dflt.size, `${where}: valuesDeleted`);

    const again = await runGc(mem, range, safePoint, opts);
    assert.equal(again.batches.length, 0, `${where}: a second run has nothing to do`);

    // The same history again, through gcRegion: a fresh snapshot per batch, the same end state.
    const replay = await history(prng(seed + round * 0x9e3779b9));
    await gcRegion(replay.mem, range, safePoint, opts);
    assert.deepEqual(replay.mem.entries('write'), mem.entries('write'), `${where}: gcRegion`);
    assert.deepEqual(replay.mem.entries('default'), mem.entries('default'), `${where}: gcRegion`);
  }
  assert.ok(deleted > 0, 'the histories had garbage');
});
