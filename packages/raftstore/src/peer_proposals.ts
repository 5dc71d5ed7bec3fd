// The commands a peer proposed to raft (writes, splits, conf changes, log compactions), waiting
// for their entry to be applied.

import type { raft_cmdpb } from '@tskv/proto';
import { errorResponse } from './cmd.js';
import { StaleCommandError } from './errors.js';
import type { CmdCallback } from './msg.js';

/** A command proposed at (index, term), answered when that index is applied. */
export interface Proposal {
  readonly index: number;
  readonly term: number;
  readonly cb: CmdCallback;
}

/**
 * Proposals in index order, so that applying an entry answers exactly the proposals at or below
 * its index: the one at its index if the terms match, the others (their entries overwritten by a
 * later leader) StaleCommand.
 */
export class ProposalQueue {
  private queue: Proposal[] = [];

  get length(): number {
    return this.queue.length;
  }

  /** The indexes of the proposals waiting, in order (tests, diagnostics). */
  indexes(): number[] {
    return this.queue.map((p) => p.index);
  }

  /**
   * Remembers the proposal just appended at `index` in `term`. A leader re-elected with a shorter
   * log proposes at indexes its old-term proposals occupied: those entries were overwritten, so
   * they are answered StaleCommand now, which keeps the queue sorted.
   */
  push(index: number, term: number, cb: CmdCallback): void {
    while (this.queue.length > 0 && this.queue[this.queue.length - 1]!.index >= index) {
      const old = this.queue.pop()!;
      old.cb(errorResponse(new StaleCommandError(`proposal at ${old.index} (term ${old.term}) was overwritten before term ${term}`)));
    }
    this.queue.push({ index, term, cb });
  }

  /**
   * The entry (index, term) was applied: returns the callback of its proposal (null if none was
   * made here), after answering StaleCommand to the proposals before it.
   */
  take(index: number, term: number): CmdCallback | null {
    while (this.queue.length > 0) {
      const p = this.queue[0]!;
      if (p.index > index) return null;
      this.queue.shift();
      if (p.index === index && p.term === term) return p.cb;
      p.cb(errorResponse(new StaleCommandError(`proposal at ${p.index} (term ${p.term}) was overwritten by term ${term}`)));
    }
    return null;
  }

  /** Answers every proposal with `resp` and forgets them. */
  failAll(resp: raft_cmdpb.IRaftCmdResponse): void {
    const all = this.queue;
    this.queue = [];
    for (const p of all) p.cb(resp);
  }
}
