// The GC planner on hand-made histories: what is kept and deleted per key, the range bounds,
// batch bounds and order, resuming from a fresh snapshot, refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeKey,
  GC_DEFAULTS,
  gcBatch,
  gcRange,
  gcRegion,
  KeyDecodeError,
  kvGet,
  MemStorage,
  type Modify,
  RecordError,
  TS_MAX,
  type TxnStorage,
} from '../src/index.js';
import { ALL, del, enc, locked, put, rollback, runGc, str, values, versions } from './gc_helpers.js';

const get = async (mem: MemStorage, key: string, version: bigint) => {
  const r = mem.reader();
  try {
    const res = await kvGet(r, { key: enc(key), version });
    return res.error ? res.error : res.notFound ? null : str(res.value);
  } finally {
    r.close();
  }
};

test('puts at 10, 20, 30 and safe point 25: 20 and 30 kept, 10 and its value deleted', async () => {
  const mem = new MemStorage();
  put(mem, 'k', 9n, 10n);
  put(mem, 'k', 19n, 20n);
  put(mem, 'k', 29n, 30n);
  const { stats, batches } = await runGc(mem, ALL, 25n);
  assert.deepEqual(versions(mem, 'k'), ['30:Put/29', '20:Put/19']);
  assert.deepEqual(values(mem, 'k'), [29n, 19n]);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0], [
    { type: 'delete', cf: 'write', key: encodeKey(enc('k'), 10n) },
    { type: 'delete', cf: 'default', key: encodeKey(enc('k'), 9n) },
  ]);
  const keyLen = encodeKey(enc('k'), 0n).length;
  assert.deepEqual(stats, {
    keysScanned: 1,
    versionsScanned: 3,
    versionsDeleted: 1,
    valuesDeleted: 1,
    bytesDeleted: 2 * keyLen + 9,
    batches: 1,
  });
  assert.equal(await get(mem, 'k', 25n), 'v20');
  assert.equal(await get(mem, 'k', 30n), 'v30');
  // The kept entries were not rewritten.
  for (const ts of [20n, 30n]) assert.equal(mem.hasChanged('write', encodeKey(enc('k'), ts)), false);
  for (const ts of [19n, 29n]) assert.equal(mem.hasChanged('default', encodeKey(enc('k'), ts)), false);
});

test('the safe point exactly at a commit ts keeps that version; at the newest commit only it is left', async () => {
  const mem = new MemStorage();
  put(mem, 'k', 9n, 10n);
  put(mem, 'k', 19n, 20n);
  put(mem, 'k', 29n, 30n);
  await runGc(mem, ALL, 20n);
  assert.deepEqual(versions(mem, 'k'), ['30:Put/29', '20:Put/19']);
  await runGc(mem, ALL, 30n);
  assert.deepEqual(versions(mem, 'k'), ['30:Put/29']);
  assert.deepEqual(values(mem, 'k'), [29n]);
  // Below every version: nothing to do.
  const { batches } = await runGc(mem, ALL, 5n);
  assert.equal(batches.length, 0);
});

test('a Delete as the newest version at or below the safe point is removed with everything older; newer versions stay', async () => {
  const mem = new MemStorage();
  put(mem, 'k', 9n, 10n);
  put(mem, 'k', 19n, 20n);
  del(mem, 'k', 29n, 30n);
  put(mem, 'k', 39n, 40n);
  // A key whose only version is a Delete below the safe point disappears.
  put(mem, 'gone', 5n, 6n);
  del(mem, 'gone', 7n, 8n);
  const before35 = await get(mem, 'k', 35n);
  assert.equal(before35, null);
  const { batches } = await runGc(mem, ALL, 35n);
  assert.deepEqual(versions(mem, 'k'), ['40:Put/39']);
  assert.deepEqual(values(mem, 'k'), [39n]);
  assert.deepEqual(versions(mem, 'gone'), []);
  assert.deepEqual(values(mem, 'gone'), []);
  assert.equal(await get(mem, 'k', 35n), null);
  assert.equal(await get(mem, 'k', 40n), 'v40');
  assert.equal(await get(mem, 'gone', TS_MAX), null);
  // The Delete goes after the versions it hides, so any prefix of the batches reads the same.
  const all = batches.flat();
  const delAt = (key: string, ts: bigint) => all.findIndex((m) => m.cf === 'write' && Buffer.compare(m.key, encodeKey(enc(key), ts)) === 0);
  assert.ok(delAt('k', 30n) > delAt('k', 20n) && delAt('k', 30n) > delAt('k', 10n));
  assert.ok(delAt('gone', 8n) > delAt('gone', 6n));

  // With the safe point between the Delete and the Put below it: the Put stays visible, the Delete too.
  const m2 = new MemStorage();
  put(m2, 'k', 9n, 10n);
  put(m2, 'k', 19n, 20n);
  del(m2, 'k', 29n, 30n);
  await runGc(m2, ALL, 25n);
  assert.deepEqual(versions(m2, 'k'), ['30:Delete/29', '20:Put/19']);
});

test('rollbacks at or below the safe point are dropped (above and below the visible version); above it they stay', async () => {
  const mem = new MemStorage();
  put(mem, 'k', 9n, 10n);
  rollback(mem, 'k', 15n);
  put(mem, 'k', 19n, 20n);
  rollback(mem, 'k', 22n);
  rollback(mem, 'k', 27n);
  // Only rollbacks: all go.
  rollback(mem, 'r', 3n);
  rollback(mem, 'r', 4n);
  await runGc(mem, ALL, 25n);
  assert.deepEqual(versions(mem, 'k'), ['27:Rollback/27', '20:Put/19']);
  assert.deepEqual(values(mem, 'k'), [19n]);
  assert.deepEqual(versions(mem, 'r'), []);
  assert.equal(await get(mem, 'k', 25n), 'v20');
  assert.equal(await get(mem, 'k', 27n), 'v20');
});

test('versions above the safe point are untouched, many of them are sought past, and the lock CF is never touched', async () => {
  const mem = new MemStorage();
  for (let ts = 100n; ts < 140n; ts += 2n) put(mem, 'hot', ts - 1n, ts);
  put(mem, 'hot', 10n, 11n);
  put(mem, 'hot', 20n, 21n);
  rollback(mem, 'hot', 25n);
  // An unresolved lock and its prewritten value, at and below the safe point: GC leaves them.
  locked(mem, 'hot', 30n);
  locked(mem, 'solo', 5n);
  const locks = mem.entries('lock');
  const { stats } = await runGc(mem, ALL, 50n);
  const v = versions(mem, 'hot');
  assert.equal(v.length, 21);
  assert.equal(v.at(-1), '21:Put/20');
  for (let ts = 100n; ts < 140n; ts += 2n) {
    assert.equal(mem.hasChanged('write', encodeKey(enc('hot'), ts)), false);
    assert.equal(mem.hasChanged('default', encodeKey(enc('hot'), ts - 1n)), false);
  }
  assert.deepEqual(values(mem, 'hot').slice(-2), [30n, 20n], 'the lock\u2019s value and the visible one');
  assert.deepEqual(values(mem, 'solo'), [5n]);
  assert.deepEqual(mem.entries('lock'), locks);
  assert.ok(stats.versionsScanned < 23, `the 20 newer versions were sought past (${stats.versionsScanned} read)`);
  assert.equal(stats.versionsDeleted, 2);
});

test('keys outside the range are untouched; the range is of raw user keys, end exclusive, empty end unbounded', async () => {
  const fill = (): MemStorage => {
    const mem = new MemStorage();
    for (const k of ['', 'a', 'b', 'c', 'abcdefg', 'abcdefgh', 'abcdefgh\u0000', 'd', 'e']) {
      put(mem, k, 1n, 2n);
      put(mem, k, 3n, 4n);
      del(mem, k, 5n, 6n);
    }
    return mem;
  };
  const left = (mem: MemStorage) =>
    ['', 'a', 'b', 'c', 'abcdefg', 'abcdefgh', 'abcdefgh\u0000', 'd', 'e'].filter((k) => versions(mem, k).length > 0).sort();

  let mem = fill();
  await runGc(mem, { start: enc('b'), end: enc('d') }, 10n);
  assert.deepEqual(left(mem), ['', 'a', 'abcdefg', 'abcdefgh', 'abcdefgh\u0000', 'd', 'e']);
  for (const k of ['a', 'd', 'e', '']) {
    assert.deepEqual(versions(mem, k), ['6:Delete/5', '4:Put/3', '2:Put/1']);
    assert.equal(mem.hasChanged('write', encodeKey(enc(k), 2n)), false);
  }

  mem = fill();
  await runGc(mem, { start: enc('abcdefgh'), end: enc('abcdefgh\u0000') }, 10n);
  assert.deepEqual(left(mem), ['', 'a', 'abcdefg', 'abcdefgh\u0000', 'b', 'c', 'd', 'e'], 'only the 8-byte key');

  mem = fill();
  await runGc(mem, { start: enc('c'), end: new Uint8Array(0) }, 10n);
  assert.deepEqual(left(mem), ['', 'a', 'abcdefg', 'abcdefgh', 'abcdefgh\u0000', 'b']);

  mem = fill();
  await runGc(mem, { start: new Uint8Array(0), end: enc('a') }, 10n);
  assert.deepEqual(left(mem), ['a', 'abcdefg', 'abcdefgh', 'abcdefgh\u0000', 'b', 'c', 'd', 'e'], 'the empty key is the first');

  mem = fill();
  const { batches } = await runGc(mem, { start: enc('b'), end: enc('b') }, 10n);
  assert.equal(batches.length, 0, 'an empty range');
});

test('batches respect maxModifies and maxBytes, never split a record from its value, and end with the same state', async () => {
  const fill = (): MemStorage => {
    const mem = new MemStorage();
    for (const k of ['k1', 'k2', 'k3']) {
      for (let i = 1n; i <= 30n; i++) put(mem, k, 10n * i, 10n * i + 1n);
      rollback(mem, k, 305n);
      del(mem, k, 306n, 307n);
    }
    return mem;
  };
  const one = fill();
  const { batches: single } = await runGc(one, ALL, 400n, { maxModifies: 100_000, maxBytes: 1 << 30 });
  assert.equal(single.length, 1);
  assert.equal(single[0]!.length, 3 * (30 * 2 + 2));

  for (const opts of [{ maxModifies: 7 }, { maxModifies: 2 }, { maxBytes: 100 }, { maxBytes: 1 }, { maxModifies: 5, maxBytes: 60 }]) {
    const mem = fill();
    const { batches, stats } = await runGc(mem, ALL, 400n, opts);
    assert.deepEqual(mem.entries('write'), one.entries('write'), JSON.stringify(opts));
    assert.deepEqual(mem.entries('default'), one.entries('default'));
    assert.deepEqual(batches.flat(), single[0], 'the same deletions in the same order');
    assert.equal(stats.batches, batches.length);
    for (const b of batches) {
      assert.ok(b.length > 0);
      const bytes = b.reduce((s, m) => s + m.key.length, 0);
      const maxModifies = opts.maxModifies ?? GC_DEFAULTS.maxModifies;
      const maxBytes = opts.maxBytes ?? GC_DEFAULTS.maxBytes;
      assert.ok(b.length <= maxModifies, `${b.length} modifies`);
      // Over maxBytes only as one record with its value.
      assert.ok(bytes <= maxBytes || b.length <= 2, `${bytes} bytes in ${b.length} modifies`);
      // Every value's deletion follows its record's, in the same batch.
      b.forEach((m, i) => {
        if (m.cf === 'default') assert.equal(b[i - 1]?.cf, 'write');
      });
      assert.equal(b[0]!.cf, 'write');
    }
  }
  await assert.rejects(async () => {
    for await (const _ of gcRange(new MemStorage().reader(), ALL, 1n, { maxModifies: 1 })) break;
  }, RangeError);
});

test('gcBatch plans one batch and where to resume; gcRegion drives it with a fresh snapshot per batch', async () => {
  const fill = (): MemStorage => {
    const mem = new MemStorage();
    for (const k of ['a', 'b', 'c']) {
      for (let i = 1n; i <= 5n; i++) put(mem, k, 10n * i, 10n * i + 1n);
      del(mem, k, 60n, 61n);
    }
    return mem;
  };
  const mem = fill();
  let r = mem.reader();
  const first = await gcBatch(r, ALL, 100n, { maxModifies: 4 });
  r.close();
  assert.equal(first.modifies.length, 4);
  assert.equal(str(first.next), 'a');
  // Not applied: the same batch again.
  r = mem.reader();
  const again = await gcBatch(r, ALL, 100n, { maxModifies: 4 });
  r.close();
  assert.deepEqual(again.modifies, first.modifies);
  assert.equal(r.openIterators, 0);

  const expected = fill();
  await runGc(expected, ALL, 100n);
  const viaRegion = fill();
  const stats = await gcRegion(viaRegion, ALL, 100n, { maxModifies: 3 });
  assert.deepEqual(viaRegion.entries('write'), expected.entries('write'));
  assert.deepEqual(viaRegion.entries('default'), expected.entries('default'));
  assert.equal(viaRegion.openReaders, 0);
  assert.ok(stats.batches >= 6, `${stats.batches} batches`);
  assert.equal(stats.versionsDeleted, 3 * 6);
  assert.equal(stats.valuesDeleted, 3 * 5);
  // Nothing left: one read, no write.
  const idle = await gcRegion(viaRegion, ALL, 100n);
  assert.equal(idle.batches, 0);

  // A storage whose writes do not take effect: refused instead of looping.
  const stuck = fill();
  const noop: TxnStorage = { reader: () => stuck.reader(), write: async (_: readonly Modify[]) => {} };
  await assert.rejects(gcRegion(noop, ALL, 100n, { maxModifies: 4 }), /planned again/);
  assert.equal(stuck.openReaders, 0);
});

test('leaving gcRange early closes its scan; bad arguments and corrupt records are refused', async () => {
  const mem = new MemStorage();
  for (let i = 1n; i <= 10n; i++) put(mem, 'k', 10n * i, 10n * i + 1n);
  const r = mem.reader();
  for await (const b of gcRange(r, ALL, 200n, { maxModifies: 2 })) {
    assert.equal(b.modifies.length, 2);
    break;
  }
  assert.equal(r.openIterators, 0);
  r.close();

  const bad = async (f: () => AsyncGenerator<unknown, unknown>, err: unknown) =>
    assert.rejects(async () => {
      for await (const _ of f()) break;
    }, err as RegExp);
  const rd = mem.reader();
  await bad(() => gcRange(rd, ALL, -1n), RangeError);
  await bad(() => gcRange(rd, ALL, 5 as unknown as bigint), TypeError);
  await bad(() => gcRange(rd, { start: enc('b'), end: enc('a') }, 1n), /range.start is after range.end/);
  await bad(() => gcRange(rd, { start: 'a' as unknown as Uint8Array, end: enc('b') }, 1n), TypeError);
  await bad(() => gcRange(rd, ALL, 1n, { maxBytes: 0 }), RangeError);
  rd.close();

  const corrupt = new MemStorage();
  put(corrupt, 'k', 1n, 2n);
  corrupt.set('write', encodeKey(enc('k'), 1n), Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 1));
  await assert.rejects(runGc(corrupt, ALL, 10n), RecordError);
  const badKey = new MemStorage();
  badKey.set('write', Uint8Array.of(1, 2, 3), Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1));
  await assert.rejects(runGc(badKey, ALL, 10n), KeyDecodeError);
});
