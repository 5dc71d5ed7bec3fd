// Shrinking an illegal history to a small one that is still illegal, for the report.
import { searchPartition } from './search.js';
import type { Model, Operation } from './types.js';

/**
 * Greedy chunk removal (in the spirit of delta debugging): with ops in call order, try dropping
 * each contiguous chunk, keeping the removal when the rest is still illegal; halve the chunk size
 * down to single ops, then repeat single-op passes until none can be dropped (1-minimal) or the
 * budget runs out. Any intermediate result is a valid answer: every accepted candidate was
 * checked illegal. A candidate whose check times out counts as "not illegal" (kept ops).
 *
 * Cost: each probe is one search of the candidate; while large chunks keep falling away the
 * candidates shrink geometrically, so the total is usually a small multiple of one check.
 */
export function minimizeHistory<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  deadline: number,
): Operation<I, O>[] {
  let cur = [...ops].sort((a, b) => a.call - b.call || a.id - b.id);
  const illegal = (cand: Operation<I, O>[]): boolean => {
    const pruned = model.prune ? model.prune(cand) : cand;
    return searchPartition(model, pruned, deadline).verdict === 'illegal';
  };
  let size = Math.max(1, Math.ceil(cur.length / 2));
  for (;;) {
    let removed = false;
    for (let i = 0; i < cur.length; ) {
      if (performance.now() > deadline) return cur;
      const cand = cur.slice(0, i).concat(cur.slice(i + size));
      if (cand.length > 0 && illegal(cand)) {
        cur = cand;
        removed = true;
      } else {
        i += size;
      }
    }
    if (size > 1) size = Math.ceil(size / 2);
    else if (!removed) return cur;
  }
}
