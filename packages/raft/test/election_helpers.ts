// Helpers shared by the leader election tests (election_*.test.ts).

import type { Raft } from '../src/raft.js';
import { type Message, newHardState } from '../src/types.js';
import { ent, newStorage, newTestRaft } from './network.js';

/** A Raft whose stable log holds entries with the given terms (index 1..n) and whose hard state term is `term`. */
export function raftWithLog(
  id: number,
  voters: number[],
  terms: number[],
  term = terms.length ? terms[terms.length - 1]! : 0,
  extra: Parameters<typeof newTestRaft>[4] = {},
): Raft {
  const s = newStorage(voters);
  s.append(terms.map((t, i) => ent(i + 1, t)));
  if (term > 0) s.setHardState(newHardState(term, 0, 0));
  return newTestRaft(id, voters, 10, 1, { ...extra, storage: s });
}

export function tickN(r: Raft, n: number): void {
  for (let i = 0; i < n; i++) r.tick();
}

export function byTo(ms: Message[]): Message[] {
  return [...ms].sort((a, b) => a.to - b.to);
}
