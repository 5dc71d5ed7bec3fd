import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../src/errors.js';
import { Unstable } from '../src/log_unstable.js';
import { type Entry, newEntry, newSnapshot, type Snapshot } from '../src/types.js';
import { silentLogger } from '../src/util.js';

const ent = (index: number, term: number): Entry => newEntry({ index, term });
const snap = (index: number, term: number): Snapshot => newSnapshot(index, term);
const ids = (es: Entry[]): [number, number][] => es.map((e) => [e.index, e.term]);

function unstable(entries: Entry[], offset: number, snapshot: Snapshot | null): Unstable {
  const u = new Unstable(offset, silentLogger);
  u.entries = entries;
  u.snapshot = snapshot;
  return u;
}

describe('Unstable', () => {
  it('maybeFirstIndex is known only with a snapshot', () => {
    const tests: [Entry[], number, Snapshot | null, number | undefined][] = [
      [[ent(5, 1)], 5, null, undefined],
      [[], 0, null, undefined],
      [[ent(5, 1)], 5, snap(4, 1), 5],
      [[], 5, snap(4, 1), 5],
    ];
    for (const [i, [es, off, s, want]] of tests.entries()) {
      assert.equal(unstable(es, off, s).maybeFirstIndex(), want, `#${i}`);
    }
  });

  it('maybeLastIndex comes from the entries, else the snapshot', () => {
    const tests: [Entry[], number, Snapshot | null, number | undefined][] = [
      [[ent(5, 1)], 5, null, 5],
      [[ent(5, 1), ent(6, 1)], 5, snap(4, 1), 6],
      [[], 5, snap(4, 1), 4],
      [[], 0, null, undefined],
    ];
    for (const [i, [es, off, s, want]] of tests.entries()) {
      assert.equal(unstable(es, off, s).maybeLastIndex(), want, `#${i}`);
    }
  });

  it('maybeTerm', () => {
    const tests: [Entry[], number, Snapshot | null, number, number | undefined][] = [
      // term from entries
      [[ent(5, 1)], 5, null, 5, 1],
      [[ent(5, 1)], 5, null, 6, undefined],
      [[ent(5, 1)], 5, null, 4, undefined],
      [[ent(5, 1), ent(6, 3)], 5, null, 6, 3],
      [[ent(5, 1)], 5, snap(4, 1), 5, 1],
      [[ent(5, 1)], 5, snap(4, 1), 6, undefined],
      // term from the snapshot
      [[ent(5, 1)], 5, snap(4, 2), 4, 2],
      [[ent(5, 1)], 5, snap(4, 1), 3, undefined],
      [[], 5, snap(4, 1), 5, undefined],
      [[], 5, snap(4, 1), 4, 1],
      [[], 0, null, 5, undefined],
    ];
    for (const [i, [es, off, s, idx, want]] of tests.entries()) {
      assert.equal(unstable(es, off, s).maybeTerm(idx), want, `#${i}`);
    }
  });

  it('restore drops entries and installs the snapshot', () => {
    const u = unstable([ent(5, 1)], 5, snap(4, 1));
    const s = snap(6, 2);
    u.restore(s);
    assert.equal(u.offset, 7);
    assert.deepEqual(u.entries, []);
    assert.equal(u.snapshot, s);
    assert.equal(u.maybeLastIndex(), 6);
    assert.equal(u.maybeTerm(6), 2);
  });

  it('stableSnap then stableEntries empties the unstable log', () => {
    const u = unstable([ent(5, 1), ent(6, 2), ent(7, 3)], 5, snap(4, 1));
    u.stableSnap(4);
    assert.equal(u.snapshot, null);
    u.stableEntries(7, 3);
    assert.deepEqual(u.entries, []);
    assert.equal(u.offset, 8);
  });

  it('stableEntries drops the persisted prefix only when (index, term) is still there', () => {
    // entries, offset, snapshot, index, term, wantOffset, wantLen
    const tests: [Entry[], number, Snapshot | null, number, number, number, number][] = [
      [[], 0, null, 5, 1, 0, 0],
      [[ent(5, 1)], 5, null, 5, 1, 6, 0], // stable to the first entry
      [[ent(5, 1), ent(6, 1)], 5, null, 5, 1, 6, 1], // a prefix
      [[ent(5, 1), ent(6, 1), ent(7, 2)], 5, null, 6, 1, 7, 1],
      [[ent(6, 2)], 6, null, 6, 1, 6, 1], // term mismatch: replaced meanwhile
      [[ent(5, 1)], 5, null, 4, 1, 5, 1], // older than the unstable entries
      [[ent(5, 1)], 5, null, 4, 2, 5, 1],
      [[ent(5, 1)], 5, null, 6, 1, 5, 1], // beyond the unstable entries
      // with a snapshot
      [[ent(5, 1)], 5, snap(4, 1), 5, 1, 6, 0],
      [[ent(5, 1), ent(6, 1)], 5, snap(4, 1), 5, 1, 6, 1],
      [[ent(6, 2)], 6, snap(5, 1), 6, 1, 6, 1],
      [[ent(5, 1)], 5, snap(4, 1), 4, 1, 5, 1], // the snapshot index is not an entry
      [[ent(5, 2)], 5, snap(4, 2), 4, 1, 5, 1],
    ];
    for (const [i, [es, off, s, idx, term, woff, wlen]] of tests.entries()) {
      const u = unstable(es.slice(), off, s);
      u.stableEntries(idx, term);
      assert.equal(u.offset, woff, `#${i} offset`);
      assert.equal(u.entries.length, wlen, `#${i} len`);
      if (wlen > 0) assert.equal(u.entries[0]!.index, woff, `#${i} first entry`);
    }
  });

  it('stableEntries does not disturb arrays handed out before', () => {
    const u = unstable([ent(5, 1), ent(6, 1), ent(7, 1)], 5, null);
    const handed = u.slice(5, 8);
    u.stableEntries(6, 1);
    u.truncateAndAppend([ent(8, 1)]);
    assert.deepEqual(ids(handed), [
      [5, 1],
      [6, 1],
      [7, 1],
    ]);
    assert.deepEqual(ids(u.entries), [
      [7, 1],
      [8, 1],
    ]);
  });

  it('stableSnap ignores a snapshot that was replaced', () => {
    const u = unstable([], 5, snap(4, 1));
    u.stableSnap(3);
    assert.equal(u.snapshot?.metadata.index, 4);
    u.stableSnap(4);
    assert.equal(u.snapshot, null);
    u.stableSnap(4); // nothing pending: no-op
    assert.equal(u.snapshot, null);
  });

  it('truncateAndAppend', () => {
    const tests: [Entry[], number, Entry[], number, [number, number][]][] = [
      // append to the end
      [
        [ent(5, 1)],
        5,
        [ent(6, 1), ent(7, 1)],
        5,
        [
          [5, 1],
          [6, 1],
          [7, 1],
        ],
      ],
      // replace the unstable entries
      [
        [ent(5, 1)],
        5,
        [ent(5, 2), ent(6, 2)],
        5,
        [
          [5, 2],
          [6, 2],
        ],
      ],
      [
        [ent(5, 1)],
        5,
        [ent(4, 2), ent(5, 2), ent(6, 2)],
        4,
        [
          [4, 2],
          [5, 2],
          [6, 2],
        ],
      ],
      // truncate the existing entries and append
      [
        [ent(5, 1), ent(6, 1), ent(7, 1)],
        5,
        [ent(6, 2)],
        5,
        [
          [5, 1],
          [6, 2],
        ],
      ],
      [
        [ent(5, 1), ent(6, 1), ent(7, 1)],
        5,
        [ent(7, 2), ent(8, 2)],
        5,
        [
          [5, 1],
          [6, 1],
          [7, 2],
          [8, 2],
        ],
      ],
      // empty unstable log
      [[], 5, [ent(5, 1)], 5, [[5, 1]]],
      [[], 5, [ent(3, 1)], 3, [[3, 1]]],
      [[ent(5, 1)], 5, [], 5, [[5, 1]]],
    ];
    for (const [i, [es, off, app, woff, want]] of tests.entries()) {
      const u = unstable(es.slice(), off, null);
      u.truncateAndAppend(app);
      assert.equal(u.offset, woff, `#${i} offset`);
      assert.deepEqual(ids(u.entries), want, `#${i}`);
    }
  });

  it('truncateAndAppend rejects a gap and does not alias its input', () => {
    const u = unstable([ent(5, 1)], 5, null);
    assert.throws(() => u.truncateAndAppend([ent(7, 1)]), StoreError);
    assert.deepEqual(ids(u.entries), [[5, 1]]);
    const input = [ent(3, 2), ent(4, 2)];
    u.truncateAndAppend(input);
    input.length = 0;
    assert.deepEqual(ids(u.entries), [
      [3, 2],
      [4, 2],
    ]);
  });

  it('slice copies within bounds and rejects out-of-bound ranges', () => {
    const u = unstable([ent(5, 1), ent(6, 1), ent(7, 2)], 5, null);
    assert.deepEqual(ids(u.slice(6, 8)), [
      [6, 1],
      [7, 2],
    ]);
    assert.deepEqual(u.slice(8, 8), []);
    const s = u.slice(5, 7);
    u.truncateAndAppend([ent(6, 3)]);
    assert.deepEqual(ids(s), [
      [5, 1],
      [6, 1],
    ]);
    assert.throws(() => u.slice(4, 6), StoreError);
    assert.throws(() => u.slice(6, 8), StoreError);
    assert.throws(() => u.slice(6, 5), StoreError);
  });
});
