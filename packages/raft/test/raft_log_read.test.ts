import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactedError, SnapshotTemporarilyUnavailableError, StoreError, UnavailableError } from '../src/errors.js';
import { MemoryStorage } from '../src/storage.js';
import type { Entry } from '../src/types.js';
import { entrySize } from '../src/util.js';
import { ent, ids, newLog, persistAll, snap, terms } from './raft_log_helpers.js';

// RaftLog: reading the log (unstable and committed entries, slices, compaction, snapshots).
describe('RaftLog reads', () => {
  it('unstableEntries returns the unstable part, as a copy', () => {
    const previous = terms(1, 1, 2);
    // entries already in storage, want unstable entries
    const tests: [number, Entry[]][] = [
      [2, []],
      [0, previous],
      [1, previous.slice(1)],
    ];
    for (const [i, [stable, want]] of tests.entries()) {
      const store = new MemoryStorage();
      store.append(previous.slice(0, stable));
      const log = newLog(store);
      log.append(previous.slice(stable));
      const ents = log.unstableEntries();
      assert.deepEqual(ents, want, `#${i}`);
      ents.length = 0;
      assert.equal(log.unstable.entries.length, want.length, `#${i} not aliased`);
      if (want.length > 0) log.stableEntries(want[want.length - 1]!.index, want[want.length - 1]!.term);
      assert.equal(log.unstable.offset, 3, `#${i} offset`);
      assert.equal(log.unstable.entries.length, 0, `#${i}`);
    }
  });

  it('nextEntries and hasNextEntries are bounded by committed and persisted', () => {
    const ents = terms(4, 1, 1, 1, 1);
    const e = (lo: number, hi: number): [number, number][] => ents.slice(lo, hi).map((x) => [x.index, x.term]);
    // applied, persisted, committed, want
    const tests: [number, number, number, [number, number][] | undefined][] = [
      [0, 3, 3, undefined],
      [0, 3, 4, undefined],
      [0, 4, 6, e(0, 1)],
      [0, 6, 4, e(0, 1)],
      [0, 5, 5, e(0, 2)],
      [0, 5, 7, e(0, 2)],
      [0, 7, 5, e(0, 2)],
      [3, 4, 3, undefined],
      [3, 5, 5, e(0, 2)],
      [3, 6, 7, e(0, 3)],
      [3, 7, 6, e(0, 3)],
      [4, 5, 5, e(1, 2)],
      [4, 5, 7, e(1, 2)],
      [4, 7, 5, e(1, 2)],
      [4, 7, 7, e(1, 4)],
      [5, 5, 5, undefined],
      [5, 7, 7, e(2, 4)],
      [7, 7, 7, undefined],
    ];
    for (const [i, [applied, persisted, committed, want]] of tests.entries()) {
      const store = new MemoryStorage();
      store.applySnapshot(snap(3, 1));
      const log = newLog(store);
      log.append(ents);
      persistAll(log, store);
      assert.equal(log.persisted, 3); // written to storage, but not yet reported persisted
      log.maybePersist(persisted, 1);
      assert.equal(log.persisted, persisted, `#${i} persisted`);
      log.maybeCommit(committed, 1);
      assert.equal(log.committed, committed, `#${i} committed`);
      log.appliedTo(applied);
      assert.equal(log.hasNextEntries(), want !== undefined, `#${i} has`);
      assert.deepEqual(ids(log.nextEntries()), want, `#${i} next`);
    }
  });

  it('nextEntries never serves committed entries that are not persisted locally', () => {
    // a leader may commit entries a quorum of followers has before its own write finishes
    const log = newLog();
    log.append(terms(1, 1, 1, 1));
    log.commitTo(3);
    assert.equal(log.hasNextEntries(), false);
    assert.equal(log.nextEntries(), undefined);
  });

  it('nextEntries starts after the snapshot when applied lags behind it', () => {
    const store = new MemoryStorage();
    store.append(terms(1, 1, 1, 1));
    const log = newLog(store);
    log.restore(snap(10, 1));
    persistAll(log, store);
    assert.ok(log.maybePersistSnap(10));
    log.append(terms(11, 1, 1));
    persistAll(log, store);
    assert.ok(log.maybePersist(12, 1));
    log.commitTo(12);
    assert.equal(log.applied, 0);
    assert.deepEqual(ids(log.nextEntries()), [
      [11, 1],
      [12, 1],
    ]);
  });

  it('nextEntriesSince honours maxSize and sinceIdx', () => {
    const store = new MemoryStorage();
    const ents = [1, 2, 3, 4].map((i) => ent(i, 1, new Uint8Array(10 * i)));
    store.append(ents);
    const log = newLog(store);
    log.commitTo(4);
    const size = (a: number, b: number): number => ents.slice(a, b).reduce((s, x) => s + entrySize(x), 0);
    assert.deepEqual(ids(log.nextEntries(size(0, 2))), [
      [1, 1],
      [2, 1],
    ]);
    assert.deepEqual(ids(log.nextEntries(size(0, 2) - 1)), [[1, 1]]);
    assert.deepEqual(ids(log.nextEntries(0)), [[1, 1]]);
    assert.deepEqual(ids(log.nextEntriesSince(2)), [
      [3, 1],
      [4, 1],
    ]);
    assert.deepEqual(ids(log.nextEntriesSince(2, size(2, 3))), [[3, 1]]);
    assert.equal(log.hasNextEntriesSince(3), true);
    assert.equal(log.hasNextEntriesSince(4), false);
    assert.equal(log.nextEntriesSince(4), undefined);
  });

  it('slice across storage and unstable, with size limits', () => {
    const [offset, num] = [100, 100];
    const [last, half] = [offset + num, offset + num / 2];
    const halfSize = entrySize(ent(half, half));
    const store = new MemoryStorage();
    store.applySnapshot(snap(offset, 0));
    for (let i = 1; i < num / 2; i++) store.append([ent(offset + i, offset + i)]);
    const log = newLog(store);
    for (let i = num / 2; i < num; i++) log.append([ent(offset + i, offset + i)]);
    const seq = (lo: number, hi: number): [number, number][] => Array.from({ length: hi - lo }, (_, k) => [lo + k, lo + k]);

    const tests: [number, number, number, [number, number][] | typeof CompactedError | typeof StoreError][] = [
      // no limit
      [offset - 1, offset + 1, Infinity, CompactedError],
      [offset, offset + 1, Infinity, CompactedError],
      [half - 1, half + 1, Infinity, seq(half - 1, half + 1)],
      [half, half + 1, Infinity, seq(half, half + 1)],
      [last - 1, last, Infinity, seq(last - 1, last)],
      [offset + 1, last, Infinity, seq(offset + 1, last)],
      [last, last + 1, Infinity, StoreError],
      [half + 1, half, Infinity, StoreError],
      // limit
      [half - 1, half + 1, 0, seq(half - 1, half)],
      [half - 1, half + 1, halfSize + 1, seq(half - 1, half)],
      [half - 2, half + 1, halfSize + 1, seq(half - 2, half - 1)],
      [half - 1, half + 1, halfSize * 2, seq(half - 1, half + 1)],
      [half - 1, half + 2, halfSize * 3, seq(half - 1, half + 2)],
      [half - 1, half + 2, halfSize * 3 - 1, seq(half - 1, half + 1)],
      [half - 3, half + 2, halfSize * 4, seq(half - 3, half + 1)],
      [half, half + 2, halfSize, seq(half, half + 1)],
      [half, half + 2, halfSize * 2, seq(half, half + 2)],
    ];
    for (const [i, [lo, hi, max, want]] of tests.entries()) {
      if (typeof want === 'function') {
        assert.throws(() => log.slice(lo, hi, max), want, `#${i}`);
      } else {
        assert.deepEqual(ids(log.slice(lo, hi, max)), want, `#${i}`);
      }
    }
  });

  it('slice never skips over entries the size limit cut from storage', () => {
    const store = new MemoryStorage();
    store.append([ent(1, 1, new Uint8Array(10)), ent(2, 1, new Uint8Array(100))]);
    const log = newLog(store);
    log.append([ent(3, 1)]); // small, unstable
    const max = entrySize(ent(1, 1, new Uint8Array(10))) + entrySize(ent(3, 1));
    assert.deepEqual(ids(log.slice(1, 4, max)), [[1, 1]]);
    assert.deepEqual(ids(log.slice(2, 4, 0)), [[2, 1]]);
    assert.deepEqual(ids(log.slice(1, 4)), [
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it('slice reports storage that cannot serve entries it should have as StoreError', () => {
    const store = new MemoryStorage();
    store.append(terms(1, 1, 1));
    const log = newLog(store);
    const broken = Object.assign(Object.create(store) as MemoryStorage, {
      entries: (): Entry[] => {
        throw new UnavailableError();
      },
    });
    log.store = broken;
    assert.throws(() => log.slice(1, 2), StoreError);
  });

  it('slice bounds', () => {
    const [offset, num] = [100, 100];
    const store = new MemoryStorage();
    store.applySnapshot(snap(offset, 0));
    const log = newLog(store);
    for (let i = 1; i <= num; i++) log.append([ent(i + offset, 0)]);
    const first = offset + 1;
    const tests: [number, number, (typeof CompactedError | typeof StoreError) | null][] = [
      [first - 2, first + 1, CompactedError],
      [first - 1, first + 1, CompactedError],
      [first, first, null],
      [first + num / 2, first + num / 2, null],
      [first + num - 1, first + num - 1, null],
      [first + num, first + num, null],
      [first + num, first + num + 1, StoreError],
      [first + num + 1, first + num + 1, StoreError],
    ];
    for (const [i, [lo, hi, err]] of tests.entries()) {
      if (err) assert.throws(() => log.slice(lo, hi), err, `#${i}`);
      else assert.deepEqual(log.slice(lo, hi), [], `#${i}`);
    }
  });

  it('slice results are not aliased with the unstable log', () => {
    const log = newLog();
    log.append(terms(1, 1, 1, 1));
    const got = log.slice(1, 4);
    log.append([ent(2, 2)]);
    assert.deepEqual(ids(got), [
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    got.length = 0;
    assert.deepEqual(ids(log.allEntries()), [
      [1, 1],
      [2, 2],
    ]);
  });

  it('compaction shrinks what allEntries returns', () => {
    // last index, compactions, entries left after each (or the error the compaction throws)
    const PAST_LAST = (e: unknown): boolean =>
      e instanceof StoreError && /: compact 1001 is out of bound lastindex\(1000\)$/.test(e.message);
    const COMPACTED = (e: unknown): boolean => e instanceof CompactedError;
    const tests: [number, number[], (number | ((e: unknown) => boolean))[]][] = [
      // out of upper bound
      [1000, [1001], [PAST_LAST]],
      [1000, [300, 500, 800, 900], [700, 500, 200, 100]],
      // out of lower bound
      [1000, [300, 299], [700, COMPACTED]],
    ];
    for (const [i, [lastIndex, compacts, wleft]] of tests.entries()) {
      const store = new MemoryStorage();
      for (let k = 1; k <= lastIndex; k++) store.append([ent(k, 0)]);
      const log = newLog(store);
      log.maybeCommit(lastIndex, 0);
      log.appliedTo(log.committed);
      for (const [j, c] of compacts.entries()) {
        const want = wleft[j]!;
        if (typeof want === 'function') {
          assert.throws(() => store.compact(c), want, `#${i}.${j}`);
          continue;
        }
        store.compact(c);
        assert.equal(log.allEntries().length, want, `#${i}.${j}`);
      }
    }
  });

  it('restore installs a snapshot; persisted waits for it to be written', () => {
    const store = new MemoryStorage();
    store.applySnapshot(snap(100, 1));
    const log = newLog(store);
    assert.equal(log.committed, 100);
    assert.equal(log.persisted, 100);
    log.restore(snap(200, 1));
    assert.equal(log.committed, 200);
    assert.equal(log.persisted, 100);
    assert.equal(log.firstIndex(), 201);
    assert.equal(log.lastIndex(), 200);
    assert.equal(log.unstableSnapshot()?.metadata.index, 200);
    assert.equal(log.hasNextEntries(), false);

    for (let i = 201; i < 210; i++) log.append([ent(i, 1)]);
    persistAll(log, store);
    assert.equal(log.maybePersistSnap(200), true);
    log.maybePersist(209, 1);
    assert.equal(log.persisted, 209);

    log.restore(snap(205, 1));
    assert.equal(log.committed, 205);
    // persisted drops back to the previous commit index (200)
    assert.equal(log.persisted, 200);
    assert.deepEqual(log.unstableEntries(), []);

    // a snapshot older than the commit index is a bug upstream
    assert.throws(() => log.restore(snap(204, 1)), StoreError);
  });

  it('snapshot prefers a new-enough unstable snapshot over storage', () => {
    const store = new MemoryStorage();
    store.append(terms(1, 1, 1, 1));
    store.createSnapshot(2);
    const log = newLog(store);
    assert.equal(log.snapshot(0, 2).metadata.index, 2);
    store.triggerSnapUnavailable();
    assert.throws(() => log.snapshot(0, 2), SnapshotTemporarilyUnavailableError);

    log.restore(snap(10, 3));
    assert.equal(log.snapshot(0, 2).metadata.index, 10);
    assert.equal(log.snapshot(10, 2).metadata.index, 10);
    // the unstable snapshot is too old for the request: ask storage (which only has index 2)
    assert.throws(() => log.snapshot(11, 2), SnapshotTemporarilyUnavailableError);
  });

  it('toString shows the cursors', () => {
    const log = newLog();
    log.append(terms(1, 1, 1));
    log.commitTo(1);
    assert.equal(log.toString(), 'committed=1, persisted=0, applied=0, unstable.offset=1, unstable.entries.length=2');
  });
});
