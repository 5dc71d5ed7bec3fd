import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CompactedError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  StoreError,
  UnavailableError,
} from '../src/errors.js';
import { MemoryStorage } from '../src/storage.js';
import { type ConfState, type Entry, newConfState, newEntry, newHardState, newSnapshot } from '../src/types.js';
import { entrySize } from '../src/util.js';

const ent = (index: number, term: number, data?: Uint8Array): Entry => newEntry({ index, term, ...(data ? { data } : {}) });
const ids = (es: Entry[]): [number, number][] => es.map((e) => [e.index, e.term]);
const cs = (...voters: number[]): ConfState => newConfState({ voters });

/** A storage whose log is exactly `ents`, ents[0] being the dummy (snapshot) entry. */
function storageWith(ents: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot(newSnapshot(ents[0]!.index, ents[0]!.term));
  s.append(ents.slice(1));
  return s;
}

describe('MemoryStorage', () => {
  it('term: compacted below the dummy, unavailable past the end', () => {
    const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
    assert.throws(() => s.term(2), CompactedError);
    assert.equal(s.term(3), 3); // the dummy keeps the snapshot term
    assert.equal(s.term(4), 4);
    assert.equal(s.term(5), 5);
    assert.throws(() => s.term(6), UnavailableError);
  });

  it('entries: bounds, errors and size limits', () => {
    // Different payload sizes so an off-by-one in the size cut shows.
    const ents = [ent(3, 3), ent(4, 4, new Uint8Array(10)), ent(5, 5, new Uint8Array(20)), ent(6, 6, new Uint8Array(30))];
    const [, e4, e5, e6] = ents.map(entrySize) as [number, number, number, number];
    const tests: [number, number, number, [number, number][] | typeof CompactedError | typeof UnavailableError | typeof StoreError][] = [
      [2, 6, Infinity, CompactedError],
      [3, 4, Infinity, CompactedError],
      [4, 5, Infinity, [[4, 4]]],
      [
        4,
        6,
        Infinity,
        [
          [4, 4],
          [5, 5],
        ],
      ],
      [
        4,
        7,
        Infinity,
        [
          [4, 4],
          [5, 5],
          [6, 6],
        ],
      ],
      [4, 8, Infinity, UnavailableError],
      [7, 7, Infinity, []],
      [5, 4, Infinity, StoreError],
      // even with maxSize 0 the first entry is returned
      [4, 7, 0, [[4, 4]]],
      [
        4,
        7,
        e4 + e5,
        [
          [4, 4],
          [5, 5],
        ],
      ],
      [
        4,
        7,
        e4 + e5 + e6 / 2,
        [
          [4, 4],
          [5, 5],
        ],
      ],
      [
        4,
        7,
        e4 + e5 + e6 - 1,
        [
          [4, 4],
          [5, 5],
        ],
      ],
      [
        4,
        7,
        e4 + e5 + e6,
        [
          [4, 4],
          [5, 5],
          [6, 6],
        ],
      ],
    ];
    for (const [i, [lo, hi, max, want]] of tests.entries()) {
      const s = storageWith(ents);
      if (typeof want === 'function') {
        assert.throws(() => s.entries(lo, hi, max), want, `#${i}`);
      } else {
        assert.deepEqual(ids(s.entries(lo, hi, max)), want, `#${i}`);
      }
    }
  });

  it('entries returns a copy the storage does not share', () => {
    const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
    const got = s.entries(4, 6);
    got.length = 0;
    got.push(ent(4, 9));
    assert.deepEqual(ids(s.entries(4, 6)), [
      [4, 4],
      [5, 5],
    ]);
    // and later appends do not show through an earlier result
    const before = s.entries(4, 6);
    s.append([ent(5, 7), ent(6, 7)]);
    assert.deepEqual(ids(before), [
      [4, 4],
      [5, 5],
    ]);
  });

  it('firstIndex and lastIndex follow append and compact', () => {
    const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.lastIndex(), 5);
    s.append([ent(6, 5)]);
    assert.equal(s.lastIndex(), 6);
    s.compact(4);
    assert.equal(s.firstIndex(), 5);
    assert.equal(s.lastIndex(), 6);
  });

  it('compact: errors and what is left', () => {
    // compactIndex, error, wantFirstIndex, wantDummyTerm, wantLen (entries after the dummy)
    const tests: [number, (typeof CompactedError | typeof StoreError) | null, number, number, number][] = [
      [2, CompactedError, 4, 3, 2],
      [3, CompactedError, 4, 3, 2],
      [4, null, 5, 4, 1],
      [5, null, 6, 5, 0],
      [6, StoreError, 4, 3, 2],
    ];
    for (const [i, [idx, err, wfirst, wterm, wlen]] of tests.entries()) {
      const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
      if (err) assert.throws(() => s.compact(idx), err, `#${i}`);
      else s.compact(idx);
      assert.equal(s.firstIndex(), wfirst, `#${i} first`);
      assert.equal(s.term(wfirst - 1), wterm, `#${i} dummy term`);
      assert.throws(() => s.term(wfirst - 2), CompactedError, `#${i}`);
      assert.equal(s.entries(wfirst, s.lastIndex() + 1).length, wlen, `#${i} len`);
    }
  });

  it('compact does not mutate entry objects handed out earlier', () => {
    const data = new Uint8Array([1, 2, 3]);
    const s = storageWith([ent(3, 3), ent(4, 4, data), ent(5, 5)]);
    const [e4] = s.entries(4, 5);
    s.compact(4);
    assert.equal(e4!.data, data);
    assert.equal(e4!.index, 4);
  });

  it('createSnapshot', () => {
    const data = new Uint8Array([7]);
    for (const [i, [idx, wterm]] of (
      [
        [4, 4],
        [5, 5],
      ] as const
    ).entries()) {
      const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
      const snap = s.createSnapshot(idx, cs(1, 2, 3), data);
      assert.equal(snap.metadata.index, idx, `#${i}`);
      assert.equal(snap.metadata.term, wterm, `#${i}`);
      assert.deepEqual(snap.metadata.confState.voters, [1, 2, 3], `#${i}`);
      assert.equal(snap.data, data, `#${i}`);
      assert.equal(s.snapshotData(), snap, `#${i}`);
      assert.equal(s.snapshot(0, 2), snap, `#${i}`);
      // entries are not discarded by creating a snapshot
      assert.equal(s.firstIndex(), 4, `#${i}`);
    }
  });

  it('createSnapshot errors and ConfState default', () => {
    const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 6)]);
    s.setConfState(cs(4, 5));
    assert.throws(() => s.createSnapshot(3), SnapshotOutOfDateError); // equal to the current snapshot
    assert.throws(() => s.createSnapshot(7), StoreError); // past the last index
    const snap = s.createSnapshot(5);
    assert.deepEqual(snap.metadata.confState.voters, [4, 5]);
    assert.throws(() => s.createSnapshot(4), SnapshotOutOfDateError);
    assert.throws(() => s.createSnapshot(5), SnapshotOutOfDateError);
    // compacted past an index without a snapshot there: its term is gone
    const t = storageWith([ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 6)]);
    t.compact(5);
    assert.throws(() => t.createSnapshot(4), CompactedError);
    assert.equal(t.createSnapshot(5).metadata.term, 5);
  });

  it('applySnapshot replaces the log and rejects stale snapshots', () => {
    const s = new MemoryStorage();
    s.setHardState(newHardState(7, 2, 0));
    s.applySnapshot(newSnapshot(4, 4, cs(1, 2, 3)));
    assert.equal(s.firstIndex(), 5);
    assert.equal(s.lastIndex(), 4);
    assert.equal(s.term(4), 4);
    assert.throws(() => s.term(3), CompactedError);
    assert.throws(() => s.entries(4, 5), CompactedError);
    // commit moves to the snapshot, term never goes back, vote is kept, conf state adopted
    assert.deepEqual(s.hardState(), newHardState(7, 2, 4));
    assert.deepEqual(s.initialState().confState.voters, [1, 2, 3]);
    assert.equal(s.snapshotData().metadata.index, 4);

    assert.throws(() => s.applySnapshot(newSnapshot(3, 3, cs(1, 2, 3))), SnapshotOutOfDateError);
    assert.throws(() => s.applySnapshot(newSnapshot(4, 4, cs(1, 2, 3))), SnapshotOutOfDateError);

    s.append([ent(5, 5), ent(6, 5)]);
    s.applySnapshot(newSnapshot(10, 9, cs(1, 2)));
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.deepEqual(s.hardState(), newHardState(9, 2, 10));
  });

  it('append', () => {
    const tests: [Entry[], [number, number][] | typeof StoreError][] = [
      [
        [ent(3, 3), ent(4, 4), ent(5, 5)],
        [
          [4, 4],
          [5, 5],
        ],
      ],
      [
        [ent(3, 3), ent(4, 6), ent(5, 6)],
        [
          [4, 6],
          [5, 6],
        ],
      ],
      [
        [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)],
        [
          [4, 4],
          [5, 5],
          [6, 5],
        ],
      ],
      // the compacted prefix of the input is ignored; the existing suffix is truncated
      [[ent(2, 3), ent(3, 3), ent(4, 5)], [[4, 5]]],
      // entirely compacted: nothing happens
      [
        [ent(1, 1), ent(2, 2)],
        [
          [4, 4],
          [5, 5],
        ],
      ],
      // truncate the existing entries and append
      [[ent(4, 5)], [[4, 5]]],
      [
        [ent(5, 5), ent(6, 6)],
        [
          [4, 4],
          [5, 5],
          [6, 6],
        ],
      ],
      // direct append
      [
        [ent(6, 5)],
        [
          [4, 4],
          [5, 5],
          [6, 5],
        ],
      ],
      // a gap after the last index
      [[ent(7, 5)], StoreError],
      [
        [],
        [
          [4, 4],
          [5, 5],
        ],
      ],
    ];
    for (const [i, [input, want]] of tests.entries()) {
      const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
      if (typeof want === 'function') {
        assert.throws(() => s.append(input), want, `#${i}`);
        assert.deepEqual(
          ids(s.entries(4, s.lastIndex() + 1)),
          [
            [4, 4],
            [5, 5],
          ],
          `#${i} unchanged`,
        );
      } else {
        s.append(input);
        assert.deepEqual(ids(s.entries(4, s.lastIndex() + 1)), want, `#${i}`);
        assert.equal(s.term(3), 3, `#${i} dummy`);
      }
    }
  });

  it('append does not alias the caller array', () => {
    const s = storageWith([ent(3, 3)]);
    const input = [ent(4, 4), ent(5, 4)];
    s.append(input);
    input.length = 0;
    input.push(ent(4, 9));
    assert.deepEqual(ids(s.entries(4, 6)), [
      [4, 4],
      [5, 4],
    ]);
  });

  it('snapshot: triggerSnapUnavailable fails exactly once; too-old snapshots are unavailable', () => {
    const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
    s.createSnapshot(4, cs(1));
    s.triggerSnapUnavailable();
    assert.throws(() => s.snapshot(0, 2), SnapshotTemporarilyUnavailableError);
    assert.equal(s.snapshot(0, 2).metadata.index, 4);
    assert.equal(s.snapshot(4, 2).metadata.index, 4);
    assert.throws(() => s.snapshot(5, 2), SnapshotTemporarilyUnavailableError);
  });

  it('newWithConfState starts an empty log with the given configuration', () => {
    const voters = [1, 2, 3];
    const s = MemoryStorage.newWithConfState(newConfState({ voters }));
    voters.push(4); // the storage keeps its own copy
    const st = s.initialState();
    assert.deepEqual(st.confState.voters, [1, 2, 3]);
    assert.deepEqual(st.hardState, newHardState(0, 0, 0));
    assert.equal(s.firstIndex(), 1);
    assert.equal(s.lastIndex(), 0);
    assert.equal(s.term(0), 0);
    assert.equal(s.snapshotData().metadata.index, 0);
    assert.deepEqual(new MemoryStorage().initialState().confState.voters, []);
  });

  it('hard state setters and getters do not alias', () => {
    const s = new MemoryStorage();
    const hs = newHardState(2, 1, 0);
    s.setHardState(hs);
    hs.term = 99;
    assert.deepEqual(s.hardState(), newHardState(2, 1, 0));
    s.hardState().vote = 42;
    assert.equal(s.hardState().vote, 1);
    s.setCommit(5);
    assert.deepEqual(s.initialState().hardState, newHardState(2, 1, 5));
    const c = cs(1, 2);
    s.setConfState(c);
    c.voters.push(3);
    assert.deepEqual(s.initialState().confState.voters, [1, 2]);
  });

  it('clone evolves independently of the original', () => {
    const s = storageWith([ent(3, 3), ent(4, 4), ent(5, 5)]);
    s.setHardState(newHardState(5, 1, 4));
    s.setConfState(cs(1, 2, 3));
    const c = s.clone();

    s.append([ent(5, 6), ent(6, 6)]);
    s.setHardState(newHardState(6, 2, 6));
    s.setConfState(cs(1));
    s.compact(5);
    s.createSnapshot(6, cs(1));

    assert.equal(c.lastIndex(), 5);
    assert.equal(c.term(5), 5);
    assert.equal(c.firstIndex(), 4);
    assert.deepEqual(c.hardState(), newHardState(5, 1, 4));
    assert.deepEqual(c.initialState().confState.voters, [1, 2, 3]);
    assert.equal(c.snapshotData().metadata.index, 3);

    c.append([ent(6, 9)]);
    c.setCommit(9);
    assert.equal(s.term(6), 6);
    assert.deepEqual(s.hardState(), newHardState(6, 2, 6));

    // setCommit mutates in place: it must not reach a clone either
    const c2 = s.clone();
    s.setCommit(5);
    assert.equal(c2.hardState().commit, 6);
  });
});
