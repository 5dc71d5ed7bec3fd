import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ALL_CFS, type CfName, DATA_CFS, Engine, EngineError, type Entry } from '../src/index.js';
import { b, hex, k2, str, withTempDir } from './helpers.js';

async function withEngine<T>(fn: (e: Engine, dir: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const e = await Engine.open(join(dir, 'db'), { sync: false });
    try {
      return await fn(e, dir);
    } finally {
      await e.close();
    }
  });
}

const keysOf = (entries: Entry[]): string[] => entries.map(([k]) => hex(k));
const nums = (entries: Entry[]): number[] => entries.map(([k]) => (k[0]! << 8) | k[1]!);

async function fill(e: Engine, cf: CfName, n: number): Promise<void> {
  const wb = e.writeBatch();
  for (let i = 0; i < n; i++) wb.put(cf, k2(i), b(`v${i}`));
  await e.write(wb);
}

function assertEngineError(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

describe('engine: column families', () => {
  it('DATA_CFS are the raw API CFs and the transactional ones', () => {
    assert.deepEqual([...DATA_CFS], ['default', 'lock', 'write', 'txn_default', 'txn_lock', 'txn_write']);
  });

  it('the same user key in different CFs holds different values', async () => {
    await withEngine(async (e) => {
      const wb = e.writeBatch();
      for (const cf of ALL_CFS) wb.put(cf, b('k'), b(`in-${cf}`));
      await e.write(wb);
      for (const cf of ALL_CFS) {
        assert.equal(str(await e.get(cf, b('k'))), `in-${cf}`);
        assert.equal(str(e.getSync(cf, b('k'))), `in-${cf}`);
      }
      await e.write(e.writeBatch().delete('lock', b('k')));
      assert.equal(await e.get('lock', b('k')), undefined);
      for (const cf of ['default', 'write', 'raft'] as const) assert.equal(str(await e.get(cf, b('k'))), `in-${cf}`);
    });
  });

  it("iteration of one CF never returns another CF's keys, including at the 0x00 / 0xff boundaries", async () => {
    await withEngine(async (e) => {
      const edge = [b([]), b([0x00]), b([0x00, 0x00]), b([0x7f]), b([0xff]), b([0xff, 0xff]), b([0xff, 0xff, 0xff, 0xff])];
      const wb = e.writeBatch();
      for (const cf of ALL_CFS) for (const k of edge) wb.put(cf, k, b(cf));
      await e.write(wb);
      const want = edge.map(hex).sort();
      for (const cf of ALL_CFS) {
        const all = await e.collect(cf, b([]), b([]));
        assert.deepEqual(keysOf(all), want, cf);
        for (const [, v] of all) assert.equal(str(v), cf);
        const rev = await e.collect(cf, b([]), b([]), { reverse: true });
        assert.deepEqual(keysOf(rev), [...want].reverse(), `${cf} reverse`);
        // From the top of the CF: only this CF's 0xff keys, never the next CF's first keys.
        const top = await e.collect(cf, b([0xff]), b([]));
        assert.deepEqual(keysOf(top), ['ff', 'ffff', 'ffffffff'], cf);
        const last = await e.collect(cf, b([]), b([]), { reverse: true, limit: 1 });
        assert.deepEqual(keysOf(last), ['ffffffff'], cf);
        // An explicit end of 0xff excludes 0xff-prefixed keys of this CF only.
        assert.deepEqual(keysOf(await e.collect(cf, b([]), b([0xff]))), ['', '00', '0000', '7f'], cf);
      }
    });
  });

  it('an unknown CF is an INVALID_CF EngineError', async () => {
    await withEngine(async (e) => {
      const bad = 'nope' as CfName;
      await assert.rejects(e.get(bad, b('k')), assertEngineError('INVALID_CF'));
      assert.throws(() => e.getSync(bad, b('k')), assertEngineError('INVALID_CF'));
      assert.throws(() => e.writeBatch().put(bad, b('k'), b('v')), assertEngineError('INVALID_CF'));
      assert.throws(() => e.writeBatch().delete(bad, b('k')), assertEngineError('INVALID_CF'));
      assert.throws(() => e.scan(bad, b(''), b('')), assertEngineError('INVALID_CF'));
      await assert.rejects(e.deleteRange(bad, b(''), b('')), assertEngineError('INVALID_CF'));
      assert.throws(() => e.writeBatch().put('default', 'str' as never, b('v')), assertEngineError('INVALID_ARGUMENT'));
    });
  });
});

describe('engine: write batches', () => {
  it('a batch across CFs: none visible before write(), all visible after', async () => {
    await withEngine(async (e) => {
      const wb = e.writeBatch();
      wb.put('default', b('a'), b('1')).put('lock', b('a'), b('2')).put('write', b('b'), b('3')).put('raft', b('c'), b('4'));
      await e.write(e.writeBatch().put('write', b('gone'), b('x')));
      wb.delete('write', b('gone'));
      assert.equal(await e.get('default', b('a')), undefined);
      assert.equal(e.getSync('raft', b('c')), undefined);
      assert.equal(str(await e.get('write', b('gone'))), 'x');
      await e.write(wb);
      assert.equal(str(await e.get('default', b('a'))), '1');
      assert.equal(str(await e.get('lock', b('a'))), '2');
      assert.equal(str(await e.get('write', b('b'))), '3');
      assert.equal(str(await e.get('raft', b('c'))), '4');
      assert.equal(await e.get('write', b('gone')), undefined);
    });
  });

  it('concurrent readers see each multi-CF batch entirely or not at all', async () => {
    await withEngine(async (e) => {
      const ROUNDS = 30;
      const PER = 400;
      let done = false;
      const writer = (async () => {
        for (let r = 0; r < ROUNDS; r++) {
          const wb = e.writeBatch();
          // The same round number into every key of three CFs: a reader must never see a mix.
          for (let i = 0; i < PER; i++) {
            wb.put('default', k2(i), b(`${r}`));
            wb.put('write', k2(i), b(`${r}`));
          }
          wb.put('raft', b('round'), b(`${r}`));
          await e.write(wb);
        }
        done = true;
      })();
      let checks = 0;
      const seen = new Set<string>();
      while (!done) {
        const snap = e.snapshot();
        try {
          const values = new Set<string>();
          for (const cf of ['default', 'write'] as const) for (const [, v] of await snap.collect(cf, b(''), b(''))) values.add(str(v)!);
          const round = str(snap.getSync('raft', b('round')));
          if (round !== undefined) values.add(round);
          assert.ok(values.size <= 1, `a reader saw a partial batch: rounds ${[...values]}`);
          for (const v of values) seen.add(v);
          checks++;
        } finally {
          await snap.close();
        }
        await new Promise((r) => setImmediate(r));
      }
      await writer;
      assert.ok(checks > 3, `only ${checks} concurrent reads`);
      assert.ok(seen.size > 1, 'the reader never overlapped the writer');
    });
  });

  it('count, byteSize, clear, merge (in order, last op wins), empty write is a no-op', async () => {
    await withEngine(async (e) => {
      const b1 = e.writeBatch();
      assert.equal(b1.count, 0);
      assert.equal(b1.byteSize, 0);
      assert.ok(b1.isEmpty());
      b1.put('default', b('k'), b('one')).delete('lock', b('x'));
      assert.equal(b1.count, 2);
      assert.equal(b1.byteSize, 1 + 1 + 3 + (1 + 1));
      const b2 = e.writeBatch().put('default', b('k'), b('two')).put('write', b('w'), b('z'));
      b1.merge(b2);
      assert.equal(b1.count, 4);
      assert.equal(b1.byteSize, 7 + 5 + 3);
      assert.equal(b2.count, 2, 'merge leaves the other batch unchanged');
      await e.write(b1);
      assert.equal(str(await e.get('default', b('k'))), 'two');
      assert.equal(str(await e.get('write', b('w'))), 'z');
      assert.equal(b1.count, 4, 'write leaves the batch as it was');
      b1.clear();
      assert.equal(b1.count, 0);
      assert.equal(b1.byteSize, 0);
      await e.write(b1); // no-op
      await e.write(e.writeBatch(), { sync: true });
      assert.equal(str(await e.get('default', b('k'))), 'two');
      assert.equal((await e.collect('default', b(''), b(''))).length, 1);
    });
  });

  it('keys are copied when added to a batch', async () => {
    await withEngine(async (e) => {
      const key = b('abc');
      const wb = e.writeBatch().put('default', key, b('v'));
      key[0] = 0x7a;
      await e.write(wb);
      assert.equal(str(await e.get('default', b('abc'))), 'v');
      assert.equal(await e.get('default', b('zbc')), undefined);
    });
  });
});

describe('engine: reads and iteration', () => {
  it('ranges, limit, reverse, empty end and empty start', async () => {
    await withEngine(async (e) => {
      await fill(e, 'default', 100);
      await fill(e, 'write', 100); // must not show up in 'default' scans
      const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo }, (_, i) => lo + i);
      assert.deepEqual(nums(await e.collect('default', k2(10), k2(20))), range(10, 20));
      assert.deepEqual(nums(await e.collect('default', k2(10), k2(20), { reverse: true })), range(10, 20).reverse());
      assert.deepEqual(nums(await e.collect('default', k2(10), k2(20), { limit: 5 })), range(10, 15));
      assert.deepEqual(nums(await e.collect('default', k2(10), k2(20), { limit: 5, reverse: true })), range(15, 20).reverse());
      assert.deepEqual(nums(await e.collect('default', k2(95), b([]))), range(95, 100));
      assert.deepEqual(nums(await e.collect('default', k2(95), b([]), { reverse: true, limit: 2 })), [99, 98]);
      assert.deepEqual(nums(await e.collect('default', b([]), k2(3))), [0, 1, 2]);
      assert.deepEqual(nums(await e.collect('default', b([]), b([]))), range(0, 100));
      assert.deepEqual(nums(await e.collect('default', b([0, 10, 5]), k2(12))), [11]); // start between keys
      assert.deepEqual(await e.collect('default', k2(20), k2(10)), []);
      assert.deepEqual(await e.collect('default', k2(10), k2(20), { limit: 0 }), []);
      assert.deepEqual(await e.collect('lock', b([]), b([])), []);
      assert.throws(() => e.scan('default', b(''), b(''), { limit: -1 }), assertEngineError('INVALID_ARGUMENT'));
      const v = (await e.collect('default', k2(42), k2(43)))[0]![1];
      assert.equal(str(v), 'v42');
    });
  });

  it('scans longer than one native batch, and breaking out early releases the iterator', async () => {
    await withEngine(async (e) => {
      await fill(e, 'lock', 2500);
      assert.deepEqual(
        nums(await e.collect('lock', b([]), b([]))),
        Array.from({ length: 2500 }, (_, i) => i),
      );
      let n = 0;
      for await (const [k] of e.scan('lock', k2(100), b([]))) {
        if (++n === 3) {
          assert.deepEqual(Array.from(k), [0, 102]);
          break;
        }
      }
      assert.equal(n, 3);
    });
  });

  it('scanKeys: the keys of a range only, across native batches, bounded to the CF', async () => {
    await withEngine(async (e) => {
      await fill(e, 'raft', 2500);
      await fill(e, 'write', 10); // another CF: never listed
      const keys: number[] = [];
      for await (const k of e.scanKeys('raft', k2(5), k2(2300))) keys.push((k[0]! << 8) | k[1]!);
      assert.deepEqual(
        keys,
        Array.from({ length: 2295 }, (_, i) => i + 5),
      );
      let n = 0;
      for await (const _ of e.scanKeys('raft', b([]), b([]))) n++;
      assert.equal(n, 2500);
      for await (const _ of e.scanKeys('lock', b([]), b([]))) assert.fail('lock is empty');
    });
  });

  it('get and getSync agree, for present and absent keys, and see a write as soon as it resolves', async () => {
    await withEngine(async (e) => {
      for (let i = 0; i < 50; i++) {
        const key = b(`key-${i}`);
        assert.equal(e.getSync('default', key), undefined);
        assert.equal(await e.get('default', key), undefined);
        await e.write(e.writeBatch().put('default', key, b(`val-${i}`)));
        assert.equal(str(e.getSync('default', key)), `val-${i}`);
        assert.equal(str(await e.get('default', key)), `val-${i}`);
        assert.equal(e.getSync('lock', key), undefined);
      }
      // Empty values are values, not absence.
      await e.write(e.writeBatch().put('raft', b('empty'), b([])));
      assert.equal(e.getSync('raft', b('empty'))?.length, 0);
      assert.equal((await e.get('raft', b('empty')))?.length, 0);
    });
  });
});

describe('engine: snapshots', () => {
  it('writes after snapshot() are invisible through it (get, getSync, scan)', async () => {
    await withEngine(async (e) => {
      await e.write(e.writeBatch().put('default', b('a'), b('1')).put('default', b('c'), b('3')).put('lock', b('l'), b('L')));
      const snap = e.snapshot();
      await e.write(
        e.writeBatch().put('default', b('a'), b('2')).put('default', b('b'), b('new')).delete('default', b('c')).delete('lock', b('l')),
      );
      await e.deleteRange('lock', b(''), b(''));
      assert.equal(str(await snap.get('default', b('a'))), '1');
      assert.equal(str(snap.getSync('default', b('a'))), '1');
      assert.equal(await snap.get('default', b('b')), undefined);
      assert.equal(str(snap.getSync('default', b('c'))), '3');
      assert.equal(str(await snap.get('lock', b('l'))), 'L');
      assert.deepEqual(
        (await snap.collect('default', b(''), b(''))).map(([k, v]) => `${str(k)}=${str(v)}`),
        ['a=1', 'c=3'],
      );
      assert.deepEqual(
        (await e.collect('default', b(''), b(''), { snapshot: snap, reverse: true })).map(([k]) => str(k)),
        ['c', 'a'],
      );
      // The engine itself sees the latest state.
      assert.equal(str(await e.get('default', b('a'))), '2');
      assert.deepEqual(
        (await e.collect('default', b(''), b(''))).map(([k]) => str(k)),
        ['a', 'b'],
      );
      await snap.close();
      await snap.close(); // idempotent
      await assert.rejects(snap.get('default', b('a')), assertEngineError('CLOSED'));
      assert.throws(() => snap.getSync('default', b('a')), assertEngineError('CLOSED'));
      assert.throws(() => snap.scan('default', b(''), b('')), assertEngineError('CLOSED'));
    });
  });

  it('a scan started before a write does not see it (iterators read a consistent view)', async () => {
    await withEngine(async (e) => {
      await fill(e, 'default', 3000);
      const it = e.scan('default', b([]), b([]))[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.done, false);
      const wb = e.writeBatch();
      for (let i = 0; i < 3000; i++) wb.delete('default', k2(i));
      wb.put('default', k2(5000), b('late'));
      await e.write(wb);
      let n = 1;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        n++;
        assert.notEqual(str(r.value[1]), 'late');
      }
      assert.equal(n, 3000);
    });
  });
});

describe('engine: deleteRange, approximateSize, compactRange', () => {
  it('deleteRange deletes [start, end) of one CF only; empty end reaches the end of the CF', async () => {
    await withEngine(async (e) => {
      await fill(e, 'default', 100);
      await fill(e, 'write', 100);
      assert.equal(await e.deleteRange('default', k2(10), k2(20)), 10);
      const left = nums(await e.collect('default', b([]), b([])));
      assert.deepEqual(left, [...Array(10).keys(), ...Array.from({ length: 80 }, (_, i) => 20 + i)]);
      assert.equal((await e.collect('write', b([]), b([]))).length, 100);
      assert.equal(await e.deleteRange('default', k2(90), b([])), 10);
      assert.equal(nums(await e.collect('default', b([]), b([]))).at(-1), 89);
      assert.equal(await e.deleteRange('default', k2(10), k2(20)), 0);
      assert.equal(await e.deleteRange('write', b([]), b([])), 100);
      assert.deepEqual(await e.collect('write', b([]), b([])), []);
      assert.equal((await e.collect('default', b([]), b([]))).length, 80);
    });
  });

  it("deleteRangeInto commits the deletes atomically with the batch's other writes", async () => {
    await withEngine(async (e) => {
      await fill(e, 'lock', 50);
      const wb = e.writeBatch().put('raft', b('state'), b('cleared'));
      assert.equal(await e.deleteRangeInto(wb, 'lock', b([]), b([])), 50);
      assert.equal((await e.collect('lock', b([]), b([]))).length, 50, 'nothing deleted before write');
      assert.equal(await e.get('raft', b('state')), undefined);
      await e.write(wb, { sync: true });
      assert.equal((await e.collect('lock', b([]), b([]))).length, 0);
      assert.equal(str(await e.get('raft', b('state'))), 'cleared');
    });
  });

  it("approximateSize counts one CF's range; compactRange reclaims deleted data", async () => {
    await withEngine(async (e) => {
      const value = new Uint8Array(4096); // pseudo-random bytes: snappy cannot shrink them much
      for (let i = 0; i < value.length; i++) value[i] = Math.imul(i + 1, 2654435761) >>> 24;
      for (let batch = 0; batch < 8; batch++) {
        const wb = e.writeBatch();
        for (let i = 0; i < 64; i++) wb.put('default', k2(batch * 64 + i), value);
        await e.write(wb);
      }
      await e.compactRange('default', b([]), b([])); // flushes the memtable into tables
      const full = await e.approximateSize('default', b([]), b([]));
      assert.ok(full > 1_000_000, `default CF size ${full}`);
      const half = await e.approximateSize('default', b([]), k2(256));
      assert.ok(half > 0 && half < full, `half ${half} of ${full}`);
      assert.equal(await e.approximateSize('write', b([]), b([])), 0);
      await e.deleteRange('default', b([]), b([]));
      await e.compactRange('default', b([]), b([]));
      const after = await e.approximateSize('default', b([]), b([]));
      assert.ok(after < full / 10, `after compaction ${after} (was ${full})`);
    });
  });
});

describe('engine: lifecycle and errors', () => {
  it('data in every CF survives close and reopen', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'nested', 'db');
      const e1 = await Engine.open(path);
      assert.equal(e1.path, path);
      assert.ok(e1.syncByDefault);
      const wb = e1.writeBatch();
      for (const cf of ALL_CFS) for (let i = 0; i < 20; i++) wb.put(cf, k2(i), b(`${cf}-${i}`));
      await e1.write(wb);
      await e1.write(e1.writeBatch().put('lock', b('async'), b('a')), { sync: false });
      await e1.close();
      const e2 = await Engine.open(path);
      try {
        for (const cf of ALL_CFS) {
          const all = await e2.collect(cf, b([]), b([]));
          assert.equal(all.length, cf === 'lock' ? 21 : 20);
          assert.equal(str(await e2.get(cf, k2(7))), `${cf}-7`);
        }
        assert.equal(str(e2.getSync('lock', b('async'))), 'a');
      } finally {
        await e2.close();
      }
    });
  });

  it('every operation after close is a CLOSED EngineError; close is idempotent', async () => {
    await withTempDir(async (dir) => {
      const e = await Engine.open(join(dir, 'db'));
      await e.write(e.writeBatch().put('default', b('k'), b('v')));
      const snap = e.snapshot();
      const pending = e.scan('default', b(''), b(''));
      await e.close();
      assert.ok(e.closed);
      await e.close();
      const closed = assertEngineError('CLOSED');
      await assert.rejects(e.get('default', b('k')), closed);
      assert.throws(() => e.getSync('default', b('k')), closed);
      await assert.rejects(e.write(e.writeBatch().put('default', b('k'), b('v'))), closed);
      await assert.rejects(e.write(e.writeBatch()), closed);
      assert.throws(() => e.scan('default', b(''), b('')), closed);
      await assert.rejects(e.collect('default', b(''), b('')), closed);
      await assert.rejects(pending[Symbol.asyncIterator]().next(), closed);
      assert.throws(() => e.snapshot(), closed);
      await assert.rejects(e.deleteRange('default', b(''), b('')), closed);
      await assert.rejects(e.approximateSize('default', b(''), b('')), closed);
      await assert.rejects(e.compactRange('default', b(''), b('')), closed);
      await assert.rejects(snap.get('default', b('k')), closed);
      assert.throws(() => snap.getSync('default', b('k')), closed);
      await snap.close();
      const err = await e.get('default', b('k')).catch((x: unknown) => x);
      assert.ok(err instanceof EngineError && err.message.includes(e.path) && err.op === 'get', String(err));
    });
  });

  it('a second open of the same path is LOCKED; an unusable path is IO_ERROR naming the path', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'db');
      const e = await Engine.open(path);
      try {
        const err = await Engine.open(path).catch((x: unknown) => x);
        assert.ok(err instanceof EngineError, String(err));
        assert.equal(err.code, 'LOCKED');
        assert.ok(err.message.includes(path) && err.message.includes('open'), err.message);
      } finally {
        await e.close();
      }
      await writeFile(join(dir, 'file'), 'x');
      const bad = join(dir, 'file', 'db');
      const err2 = await Engine.open(bad).catch((x: unknown) => x);
      assert.ok(err2 instanceof EngineError, String(err2));
      assert.equal(err2.code, 'IO_ERROR');
      assert.equal(err2.path, bad);
      assert.ok(err2.message.includes(bad), err2.message);
    });
  });
});
