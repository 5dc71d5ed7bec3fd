import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactedError, StoreError, UnavailableError } from '../src/errors.js';
import { MemoryStorage } from '../src/storage.js';
import type { Entry } from '../src/types.js';
import { ent, ids, newLog, persistAll, snap, terms } from './raft_log_helpers.js';

// RaftLog: building the log (conflicts, append, commit, terms, persistence).
describe('RaftLog', () => {
  it('constructor starts from the storage (committed = applied = first-1, persisted = last)', () => {
    const store = new MemoryStorage();
    store.applySnapshot(snap(1000, 1000));
    const entries = [ent(1001, 1000), ent(1002, 1001)];
    store.append(entries);
    const log = newLog(store);
    assert.deepEqual(log.allEntries(), entries);
    assert.equal(log.firstIndex(), 1001);
    assert.equal(log.lastIndex(), 1002);
    assert.equal(log.committed, 1000);
    assert.equal(log.applied, 1000);
    assert.equal(log.persisted, 1002);
    assert.equal(log.unstable.offset, 1003);
    assert.equal(log.term(1000), 1000);
    assert.equal(log.term(1001), 1000);
    assert.equal(log.term(1002), 1001);
    assert.equal(log.lastTerm(), 1001);
  });

  it('findConflict', () => {
    const tests: [Entry[], number][] = [
      // no conflict, empty ents
      [[], 0],
      // no conflict
      [terms(1, 1, 2, 3), 0],
      [terms(2, 2, 3), 0],
      [terms(3, 3), 0],
      // no conflict, but new entries
      [terms(1, 1, 2, 3, 4, 4), 4],
      [terms(2, 2, 3, 4, 4), 4],
      [terms(3, 3, 4, 4), 4],
      [terms(4, 4, 4), 4],
      // conflicts with existing entries
      [terms(1, 4, 4), 1],
      [terms(2, 1, 4, 4), 2],
      [terms(3, 1, 2, 4, 4), 3],
    ];
    for (const [i, [ents, want]] of tests.entries()) {
      const log = newLog();
      log.append(terms(1, 1, 2, 3));
      assert.equal(log.findConflict(ents), want, `#${i}`);
    }
  });

  it('findConflictByTerm', () => {
    // [snapshot index, snapshot term, terms of the following entries], index, term, want index
    const fromOne: [number, number, number[]] = [0, 0, [2, 2, 5, 5, 5]];
    const compacted: [number, number, number[]] = [10, 3, [3, 3, 4, 4, 4]];
    const tests: [[number, number, number[]], number, number, number][] = [
      [fromOne, 100, 2, 100], // beyond the log
      [fromOne, 5, 6, 5],
      [fromOne, 5, 5, 5],
      [fromOne, 5, 4, 2],
      [fromOne, 5, 2, 2],
      [fromOne, 5, 1, 0],
      [fromOne, 1, 2, 1],
      [fromOne, 1, 1, 0],
      [fromOne, 0, 0, 0],
      [compacted, 30, 3, 30], // beyond the log
      [compacted, 14, 9, 14],
      [compacted, 14, 4, 14],
      [compacted, 14, 3, 12],
      [compacted, 14, 2, 9], // walks into the compacted prefix
      [compacted, 11, 5, 11],
      [compacted, 10, 5, 10],
      [compacted, 10, 3, 10],
      [compacted, 10, 2, 9],
      [compacted, 9, 2, 9],
      [compacted, 4, 2, 4],
      [compacted, 0, 0, 0],
    ];
    for (const [i, [[si, st, ts], index, term, want]] of tests.entries()) {
      const store = new MemoryStorage();
      if (si > 0) store.applySnapshot(snap(si, st));
      store.append(terms(si + 1, ...ts));
      const log = newLog(store);
      const got = log.findConflictByTerm(index, term);
      assert.equal(got.index, want, `#${i} index`);
      // the term is reported exactly when the answer is inside the log
      const wantTerm = want >= si && want <= log.lastIndex() ? log.term(want) : undefined;
      assert.equal(got.term, wantTerm, `#${i} term`);
      if (wantTerm !== undefined) assert.ok(wantTerm <= term, `#${i} term bound`);
    }
  });

  it('isUpToDate', () => {
    const log = newLog();
    log.append(terms(1, 1, 2, 3));
    const last = log.lastIndex();
    const tests: [number, number, boolean][] = [
      // greater term, ignore lastIndex
      [last - 1, 4, true],
      [last, 4, true],
      [last + 1, 4, true],
      // smaller term, ignore lastIndex
      [last - 1, 2, false],
      [last, 2, false],
      [last + 1, 2, false],
      // equal term, the longer log wins
      [last - 1, 3, false],
      [last, 3, true],
      [last + 1, 3, true],
    ];
    for (const [i, [li, term, want]] of tests.entries()) {
      assert.equal(log.isUpToDate(li, term), want, `#${i}`);
    }
  });

  it('append', () => {
    // ents, want last index, want log, want unstable offset
    const tests: [Entry[], number, [number, number][], number][] = [
      [
        [],
        2,
        [
          [1, 1],
          [2, 2],
        ],
        3,
      ],
      [
        [ent(3, 2)],
        3,
        [
          [1, 1],
          [2, 2],
          [3, 2],
        ],
        3,
      ],
      // conflicts with index 1
      [[ent(1, 2)], 1, [[1, 2]], 1],
      // conflicts with index 2
      [
        [ent(2, 3), ent(3, 3)],
        3,
        [
          [1, 1],
          [2, 3],
          [3, 3],
        ],
        2,
      ],
    ];
    for (const [i, [ents, windex, wents, woffset]] of tests.entries()) {
      const store = new MemoryStorage();
      store.append(terms(1, 1, 2));
      const log = newLog(store);
      assert.equal(log.append(ents), windex, `#${i} last index`);
      assert.deepEqual(ids(log.entries(1)), wents, `#${i} entries`);
      assert.equal(log.unstable.offset, woffset, `#${i} offset`);
    }
  });

  it('append below the commit index throws', () => {
    const log = newLog();
    log.append(terms(1, 1, 2, 3));
    log.commitTo(2);
    assert.throws(() => log.append([ent(2, 4)]), StoreError);
    assert.deepEqual(ids(log.allEntries()), [
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    assert.equal(log.append([ent(3, 4)]), 3); // right after the commit index is fine
  });

  it('maybeAppend', () => {
    const [lastIndex, lastTerm, commit, persist] = [3, 3, 1, 3];
    // logTerm, index, committed, ents, want lastNewIndex, want commit, want persisted, want throw
    const tests: [number, number, number, Entry[], number | undefined, number, number, boolean][] = [
      // not match: term is different
      [lastTerm - 1, lastIndex, lastIndex, [ent(lastIndex + 1, 4)], undefined, commit, persist, false],
      // not match: index out of bound
      [lastTerm, lastIndex + 1, lastIndex, [ent(lastIndex + 2, 4)], undefined, commit, persist, false],
      // match with the last existing entry
      [lastTerm, lastIndex, lastIndex, [], lastIndex, lastIndex, persist, false],
      // do not increase commit higher than lastNewIndex
      [lastTerm, lastIndex, lastIndex + 1, [], lastIndex, lastIndex, persist, false],
      // commit up to the commit in the message
      [lastTerm, lastIndex, lastIndex - 1, [], lastIndex, lastIndex - 1, persist, false],
      // commit does not decrease
      [lastTerm, lastIndex, 0, [], lastIndex, commit, persist, false],
      [0, 0, lastIndex, [], 0, commit, persist, false],
      [lastTerm, lastIndex, lastIndex, [ent(lastIndex + 1, 4)], lastIndex + 1, lastIndex, persist, false],
      [lastTerm, lastIndex, lastIndex + 1, [ent(lastIndex + 1, 4)], lastIndex + 1, lastIndex + 1, persist, false],
      // do not increase commit higher than lastNewIndex
      [lastTerm, lastIndex, lastIndex + 2, [ent(lastIndex + 1, 4)], lastIndex + 1, lastIndex + 1, persist, false],
      [lastTerm, lastIndex, lastIndex + 2, [ent(lastIndex + 1, 4), ent(lastIndex + 2, 4)], lastIndex + 2, lastIndex + 2, persist, false],
      // match with an entry in the middle: the conflicting suffix is replaced, persisted drops
      [lastTerm - 1, lastIndex - 1, lastIndex, [ent(lastIndex, 4)], lastIndex, lastIndex, Math.min(lastIndex - 1, persist), false],
      [
        lastTerm - 2,
        lastIndex - 2,
        lastIndex,
        [ent(lastIndex - 1, 4)],
        lastIndex - 1,
        lastIndex - 1,
        Math.min(lastIndex - 2, persist),
        false,
      ],
      // conflict with an existing committed entry
      [lastTerm - 3, lastIndex - 3, lastIndex, [ent(lastIndex - 2, 4)], undefined, commit, persist, true],
      [
        lastTerm - 2,
        lastIndex - 2,
        lastIndex,
        [ent(lastIndex - 1, 4), ent(lastIndex, 4)],
        lastIndex,
        lastIndex,
        Math.min(lastIndex - 2, persist),
        false,
      ],
      // the first new entry matches; the conflict is at the second
      [
        lastTerm - 2,
        lastIndex - 2,
        lastIndex + 2,
        [ent(lastIndex - 1, lastTerm - 1), ent(lastIndex, 4), ent(lastIndex + 1, 4)],
        lastIndex + 1,
        lastIndex + 1,
        Math.min(lastIndex - 1, persist),
        false,
      ],
    ];
    for (const [i, [logTerm, index, committed, ents, wlast, wcommit, wpersist, wthrow]] of tests.entries()) {
      const log = newLog();
      log.append(terms(1, 1, 2, 3));
      log.committed = commit;
      log.persisted = persist;
      if (wthrow) {
        assert.throws(() => log.maybeAppend(index, logTerm, committed, ents), StoreError, `#${i}`);
        assert.deepEqual(
          ids(log.allEntries()),
          [
            [1, 1],
            [2, 2],
            [3, 3],
          ],
          `#${i} log untouched`,
        );
        continue;
      }
      const res = log.maybeAppend(index, logTerm, committed, ents);
      assert.equal(res?.lastNewIndex, wlast, `#${i} lastNewIndex`);
      assert.equal(log.committed, wcommit, `#${i} committed`);
      assert.equal(log.persisted, wpersist, `#${i} persisted`);
      if (res && ents.length > 0) {
        const from = log.lastIndex() - ents.length + 1;
        assert.deepEqual(ids(log.slice(from, log.lastIndex() + 1)), ids(ents), `#${i} appended`);
      }
    }
  });

  it('maybeAppend reports the conflict index', () => {
    const log = newLog();
    log.append(terms(1, 1, 2, 3));
    assert.deepEqual(log.maybeAppend(1, 1, 0, terms(2, 2, 3)), { conflictIdx: 0, lastNewIndex: 3 });
    assert.deepEqual(log.maybeAppend(1, 1, 0, terms(2, 2, 4, 4)), { conflictIdx: 3, lastNewIndex: 4 });
    assert.deepEqual(ids(log.allEntries()), [
      [1, 1],
      [2, 2],
      [3, 4],
      [4, 4],
    ]);
    assert.deepEqual(log.maybeAppend(4, 4, 0, [ent(5, 4)]), { conflictIdx: 5, lastNewIndex: 5 });
  });

  it('commitTo never decreases and never passes the last index', () => {
    const tests: [number, number, boolean][] = [
      [3, 3, false],
      [1, 2, false], // never decrease
      [4, 0, true], // out of range
    ];
    for (const [i, [commit, wcommit, wthrow]] of tests.entries()) {
      const log = newLog();
      log.append(terms(1, 1, 2, 3));
      log.committed = 2;
      if (wthrow) {
        assert.throws(() => log.commitTo(commit), StoreError, `#${i}`);
        assert.equal(log.committed, 2, `#${i}`);
      } else {
        log.commitTo(commit);
        assert.equal(log.committed, wcommit, `#${i}`);
      }
    }
  });

  it('maybeCommit commits only an entry of the given term', () => {
    const log = newLog();
    log.append(terms(1, 1, 1, 2, 2));
    assert.equal(log.maybeCommit(2, 2), false); // entry 2 is of term 1
    assert.equal(log.committed, 0);
    assert.equal(log.maybeCommit(3, 2), true);
    assert.equal(log.committed, 3);
    assert.equal(log.maybeCommit(2, 1), false); // not an advance
    assert.equal(log.committed, 3);
    assert.equal(log.maybeCommit(5, 0), false); // beyond the log: no term, no commit
    assert.equal(log.maybeCommit(5, 2), false);
    assert.equal(log.maybeCommit(4, 2), true);
    assert.equal(log.committed, 4);
  });

  it('appliedTo stays within [applied, committed]', () => {
    const log = newLog();
    log.append(terms(1, 1, 1, 1));
    log.commitTo(2);
    log.appliedTo(0); // no-op
    assert.equal(log.applied, 0);
    assert.throws(() => log.appliedTo(3), StoreError);
    log.appliedTo(2);
    assert.equal(log.applied, 2);
    assert.throws(() => log.appliedTo(1), StoreError);
    assert.equal(log.applied, 2);
  });

  it('term and match across compaction', () => {
    const [lastIndex, unstableIndex] = [1000, 750];
    const store = new MemoryStorage();
    for (let i = 1; i <= unstableIndex; i++) store.append([ent(i, i)]);
    const log = newLog(store);
    for (let i = unstableIndex; i < lastIndex; i++) log.append([ent(i + 1, i + 1)]);
    assert.ok(log.maybeCommit(lastIndex, lastIndex));
    log.appliedTo(log.committed);

    const offset = 500;
    store.compact(offset);
    assert.equal(log.lastIndex(), lastIndex);
    assert.equal(log.firstIndex(), offset + 1);
    for (let j = offset; j <= lastIndex; j++) {
      assert.equal(log.term(j), j);
      assert.ok(log.matchTerm(j, j));
    }
    // below the compaction point: compacted
    assert.throws(() => log.term(offset - 1), CompactedError);
    assert.equal(log.termOrZero(offset - 1), 0);
    assert.equal(log.matchTerm(offset - 1, offset - 1), false);
    assert.throws(() => log.slice(offset, offset + 2), CompactedError);
    assert.throws(() => log.entries(offset - 100), CompactedError);
    assert.equal(log.slice(offset + 1, offset + 3).length, 2);
    // beyond the end: unavailable
    assert.throws(() => log.term(lastIndex + 1), UnavailableError);
    assert.equal(log.termOrZero(lastIndex + 1), 0);

    const unstableEnts = log.unstableEntries();
    assert.equal(unstableEnts.length, lastIndex - unstableIndex);
    assert.equal(unstableEnts[0]!.index, unstableIndex + 1);

    const prev = log.lastIndex();
    log.append([ent(prev + 1, prev + 1)]);
    assert.equal(log.lastIndex(), prev + 1);
    assert.equal(log.entries(log.lastIndex()).length, 1);
  });

  it('term consults the unstable snapshot', () => {
    const storageSnapIndex = 10064;
    const unstableSnapIndex = storageSnapIndex + 5;
    const store = new MemoryStorage();
    store.applySnapshot(snap(storageSnapIndex, 1));
    const log = newLog(store);
    log.restore(snap(unstableSnapIndex, 2));
    assert.equal(log.committed, unstableSnapIndex);
    assert.equal(log.persisted, storageSnapIndex);
    assert.equal(log.firstIndex(), unstableSnapIndex + 1);
    // the storage's log and the gap before the unstable snapshot are gone
    for (const idx of [storageSnapIndex, storageSnapIndex + 1, unstableSnapIndex - 1]) {
      assert.throws(() => log.term(idx), CompactedError, `${idx}`);
      assert.equal(log.termOrZero(idx), 0);
    }
    assert.throws(() => log.slice(storageSnapIndex + 1, unstableSnapIndex + 1), CompactedError);
    assert.equal(log.term(unstableSnapIndex), 2);
    assert.equal(log.lastTerm(), 2);
    assert.throws(() => log.term(unstableSnapIndex + 1), UnavailableError);
  });

  it('term', () => {
    const [offset, num] = [100, 100];
    const store = new MemoryStorage();
    store.applySnapshot(snap(offset, 1));
    const log = newLog(store);
    for (let i = 1; i < num; i++) log.append([ent(offset + i, i)]);
    assert.throws(() => log.term(offset - 1), CompactedError);
    assert.equal(log.term(offset), 1);
    assert.equal(log.term(offset + num / 2), num / 2);
    assert.equal(log.term(offset + num - 1), num - 1);
    assert.throws(() => log.term(offset + num), UnavailableError);
    assert.equal(log.termOrZero(offset + num), 0);
    // an index beyond the log matches nothing, not even term 0
    assert.equal(log.matchTerm(offset + num, 0), false);
  });

  it('maybePersist with a snapshot', () => {
    const [si, st] = [5, 2];
    // persisted index, persisted term, new entries, want persisted
    const tests: [number, number, Entry[], number][] = [
      [si + 1, st, [], si],
      [si, st, [], si],
      [si - 1, st, [], si],
      [si + 1, st + 1, [], si],
      [si, st + 1, [], si],
      [si - 1, st + 1, [], si],
      [si + 1, st, [ent(si + 1, st)], si + 1],
      [si, st, [ent(si + 1, st)], si],
      [si - 1, st, [ent(si + 1, st)], si],
      [si + 1, st + 1, [ent(si + 1, st)], si],
      [si, st + 1, [ent(si + 1, st)], si],
      [si - 1, st + 1, [ent(si + 1, st)], si],
    ];
    for (const [i, [pi, pt, ents, want]] of tests.entries()) {
      const store = new MemoryStorage();
      store.applySnapshot(snap(si, st));
      const log = newLog(store);
      assert.equal(log.persisted, si);
      log.append(ents);
      persistAll(log, store);
      const changed = want !== log.persisted;
      assert.equal(log.maybePersist(pi, pt), changed, `#${i} result`);
      assert.equal(log.persisted, want, `#${i} persisted`);
    }

    // entries after an unstable snapshot are not persisted before the snapshot is
    const store = new MemoryStorage();
    const log = newLog(store);
    log.restore(snap(100, 1));
    assert.equal(log.unstable.offset, 101);
    log.append([ent(101, 1)]);
    assert.equal(log.term(101), 1);
    assert.equal(log.maybePersist(101, 1), false); // 101 == offset
    log.append([ent(102, 1)]);
    assert.equal(log.maybePersist(102, 1), false); // 102 > offset
    persistAll(log, store);
    assert.equal(log.maybePersistSnap(100), true);
    assert.equal(log.maybePersist(102, 1), true);
    assert.equal(log.persisted, 102);
  });

  it('maybePersist requires the entry to be stable with that term', () => {
    const store = new MemoryStorage();
    const log = newLog(store);
    log.append(terms(1, 1, 1, 2));
    assert.equal(log.maybePersist(2, 1), false); // still unstable
    persistAll(log, store);
    assert.equal(log.maybePersist(3, 1), false); // wrong term
    assert.equal(log.maybePersist(2, 1), true);
    assert.equal(log.persisted, 2);
    assert.equal(log.maybePersist(2, 1), false); // no advance
    assert.equal(log.maybePersist(3, 2), true);
    assert.equal(log.persisted, 3);
  });

  it('maybePersist does not vouch for entries rewritten while a write was in flight', () => {
    // entries 1..3 are persisted; leader A's (4,2),(5,2) arrive and the application starts writing them
    const store = new MemoryStorage();
    const log = newLog(store);
    log.append(terms(1, 1, 1, 1));
    persistAll(log, store);
    assert.ok(log.maybePersist(3, 1));
    log.maybeAppend(3, 1, 3, terms(4, 2, 2));
    const inFlight = log.unstableEntries();
    // leader C overwrites them, then A (re-elected) sends the very same entries again
    log.maybeAppend(3, 1, 3, [ent(4, 3)]);
    log.maybeAppend(3, 1, 3, terms(4, 2, 2));
    assert.equal(log.unstable.offset, 4);
    // the first write completes: storage has (5, 2), but the unstable copy is still to be written
    store.append(inFlight);
    assert.equal(log.maybePersist(5, 2), false); // 5 >= unstable.offset
    assert.equal(log.persisted, 3);
  });

  it('term does not read stable entries that the unstable log truncated', () => {
    const store = new MemoryStorage();
    store.append(terms(1, 1, 1, 1, 1, 1));
    const log = newLog(store);
    log.maybeAppend(2, 1, 0, [ent(3, 2)]); // replaces 3..5
    assert.equal(log.lastIndex(), 3);
    assert.equal(log.term(3), 2);
    assert.throws(() => log.term(4), UnavailableError);
    assert.equal(log.matchTerm(4, 1), false);
    assert.deepEqual(ids(log.allEntries()), [
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
  });

  it('maybePersistSnap', () => {
    const store = new MemoryStorage();
    const log = newLog(store);
    log.restore(snap(10, 2));
    assert.equal(log.persisted, 0);
    assert.throws(() => log.maybePersistSnap(11), StoreError); // above committed
    assert.equal(log.maybePersistSnap(10), true);
    assert.equal(log.persisted, 10);
    assert.equal(log.maybePersistSnap(10), false);
    assert.equal(log.maybePersistSnap(9), false);

    // a snapshot above the commit index cannot have been installed
    const store2 = new MemoryStorage();
    store2.append(terms(1, 1, 1, 1, 1, 1));
    const log2 = newLog(store2);
    log2.commitTo(2);
    log2.persisted = 1;
    assert.throws(() => log2.maybePersistSnap(4), StoreError);
    assert.equal(log2.maybePersistSnap(2), true);
  });
});
