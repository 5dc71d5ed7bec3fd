import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, DEFAULT_CONFIG, resolveConfig } from '../src/config.js';
import { IdAllocator } from '../src/id_allocator.js';
import { MAX_LOGICAL, Tso } from '../src/tso.js';

/** A persisted value as the storage keeps it, with every write recorded. */
class Saved {
  value = 0;
  writes: number[] = [];
  saveAllocEnd = async (v: number): Promise<void> => this.save(v);
  saveTsoEnd = async (v: number): Promise<void> => this.save(v);
  private save(v: number): void {
    this.value = v;
    this.writes.push(v);
  }
}

test('IdAllocator: ids are unique, persisted ahead in steps, and a restart (or crash) never hands out an old one', async () => {
  const disk = new Saved();
  const a = new IdAllocator(disk, 0, 100);
  const first = await a.alloc(250);
  assert.equal(new Set(first).size, 250);
  assert.equal(first[0], 1);
  assert.ok(disk.writes.length <= 3, `few writes for 250 ids, got ${disk.writes.length}`);
  assert.ok(disk.value > Math.max(...first), 'the persisted mark is ahead of every id handed out');
  // A crash right now: the next incarnation starts from the persisted mark.
  const b = new IdAllocator(disk, disk.value, 100);
  const second = await b.alloc(10);
  assert.ok(Math.min(...second) > Math.max(...first));
  // Concurrent allocations never overlap.
  const many = await Promise.all(Array.from({ length: 50 }, () => b.alloc(3)));
  const flat = many.flat();
  assert.equal(new Set([...flat, ...second]).size, flat.length + second.length);
  // Reserved ids are covered by the mark and not taken by others meanwhile.
  const got = await b.withReserved(500, (take) => [take(), take()]);
  assert.ok(disk.value > got[1]!);
  assert.equal((await b.alloc(1))[0], got[1]! + 1);
  await b.bumpPast(5000);
  assert.equal((await b.alloc(1))[0], 5001);
  // With the smallest step the mark is just ahead: a restart still continues past every id.
  const tight = new Saved();
  const c = new IdAllocator(tight, 0, 1);
  const ten = await c.alloc(10);
  const d = new IdAllocator(tight, tight.value, 1);
  assert.ok((await d.alloc(1))[0]! > Math.max(...ten));
});

test('Tso: strictly increasing with a frozen or backward clock, across a restart with the clock behind, counts honoured', async () => {
  let clock = 1_000_000;
  const disk = new Saved();
  const t = new Tso(disk, 0, 3000, () => clock);
  await t.init();
  assert.ok(disk.value >= clock + 3000);
  const seen: { physical: number; logical: number }[] = [];
  for (let i = 0; i < 100; i++) seen.push(await t.next(1));
  clock -= 500; // the clock goes back
  for (let i = 0; i < 100; i++) seen.push(await t.next(1));
  const batch = await t.next(10);
  const prev = seen.at(-1)!;
  assert.equal(batch.physical, prev.physical);
  assert.equal(batch.logical, prev.logical + 10, 'a count of 10 takes 10 logical values, the last returned');
  seen.push(batch);
  clock += 10_000; // well past the window: the request extends it first
  seen.push(await t.next(1));
  assert.ok(disk.value > seen.at(-1)!.physical, 'nothing handed out at or past the persisted window');
  // Restart with the clock far behind (a bad NTP step): still after every old timestamp.
  clock = 0;
  const t2 = new Tso(disk, disk.value, 3000, () => clock);
  await t2.init();
  seen.push(await t2.next(1));
  for (let i = 1; i < seen.length; i++) {
    const [a, b] = [seen[i - 1]!, seen[i]!];
    assert.ok(b.physical > a.physical || (b.physical === a.physical && b.logical > a.logical), `timestamp ${i} increases`);
  }
  // Logical overflow advances the physical part.
  const t3 = new Tso(new Saved(), 0, 3000, () => 5);
  await t3.init();
  const x = await t3.next(MAX_LOGICAL - 1);
  const y = await t3.next(5);
  assert.ok(y.physical > x.physical);
  await assert.rejects(t3.next(0));
});

test('config: defaults, overrides, unknown keys and bad values are errors naming the key', () => {
  assert.equal(resolveConfig({}).maxReplicas, 3);
  assert.equal(resolveConfig({}).maxStoreDownTimeMs, 30 * 60_000);
  assert.equal(resolveConfig({ maxReplicas: 5 }).maxReplicas, 5);
  assert.throws(
    () => resolveConfig({ maxReplica: 5 }),
    (e: Error) => e instanceof ConfigError && /"maxReplica"/.test(e.message),
  );
  assert.throws(() => resolveConfig({ maxReplicas: '3' }), /"maxReplicas"/);
  assert.throws(() => resolveConfig({ leaderBalanceTolerance: 0 }), /"leaderBalanceTolerance"/);
  assert.throws(() => resolveConfig({ enableBalanceRegion: 1 }), /"enableBalanceRegion"/);
  assert.throws(() => resolveConfig([]), /JSON object/);
  // The defaults are not shared between configs.
  const c = resolveConfig({});
  c.pausedRegions.push(7);
  assert.deepEqual(DEFAULT_CONFIG.pausedRegions, []);
});
