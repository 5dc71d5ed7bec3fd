// Shared helpers of the RaftLog tests (raft_log.test.ts: writing the log; raft_log_read.test.ts:
// reading it).
import { RaftLog } from '../src/raft_log.js';
import { MemoryStorage } from '../src/storage.js';
import { type Entry, newEntry, newSnapshot, type Snapshot } from '../src/types.js';
import { silentLogger } from '../src/util.js';

export const ent = (index: number, term: number, data?: Uint8Array): Entry => newEntry({ index, term, ...(data ? { data } : {}) });
export const snap = (index: number, term: number): Snapshot => newSnapshot(index, term);
export const ids = (es: Entry[] | undefined): [number, number][] | undefined => es?.map((e) => [e.index, e.term]);

/** Entries with consecutive indexes from `first`, one per term given. */
export const terms = (first: number, ...ts: number[]): Entry[] => ts.map((t, i) => ent(first + i, t));

export function newLog(store: MemoryStorage = new MemoryStorage()): RaftLog {
  return new RaftLog(store, silentLogger);
}

/** Plays the application: writes the unstable snapshot and entries to storage and tells the log. */
export function persistAll(log: RaftLog, store: MemoryStorage): void {
  const s = log.unstableSnapshot();
  if (s) {
    store.applySnapshot(s);
    log.stableSnap(s.metadata.index);
  }
  const ents = log.unstableEntries();
  if (ents.length > 0) {
    const last = ents[ents.length - 1]!;
    store.append(ents);
    log.stableEntries(last.index, last.term);
  }
}
