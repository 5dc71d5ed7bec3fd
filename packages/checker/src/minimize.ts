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
 * Removing a write can make a read of its value fail for a trivial reason. With Model.tokens, a
 * candidate that removes the last producer of a token also removes the ops observing it (or,
 * with Model.project, strips the observation from them), so the failure that remains is one the
 * original history had.
 *
 * Cost: each probe is one search of the candidate; while large chunks keep falling away the
 * candidates shrink geometrically, so the total is usually a small multiple of one check.
 */
export function minimizeHistory<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], deadline: number): Operation<I, O>[] {
  let cur = [...ops].sort((a, b) => a.call - b.call || a.id - b.id);
  // Token bookkeeping (when the model has tokens()): per op its tokens, and how many producers
  // each token has in `cur` (recounted only when `cur` changes). Ops made by project() are
  // looked up on the fly.
  const tokenCache = new Map<Operation<I, O>, { produces?: string[]; observes?: string[] }>();
  const tokensOf = (op: Operation<I, O>): { produces?: string[]; observes?: string[] } => {
    let t = tokenCache.get(op);
    if (t === undefined) {
      t = model.tokens ? model.tokens(op) : {};
      tokenCache.set(op, t);
    }
    return t;
  };
  let producerCount = new Map<string, number>();
  const recount = (): void => {
    producerCount = new Map();
    for (const op of cur) for (const t of tokensOf(op).produces ?? []) producerCount.set(t, (producerCount.get(t) ?? 0) + 1);
  };
  recount();
  /**
   * cur without cur[i..i+size); the observers of tokens that lost their last producer are
   * dropped too, or projected (Model.project).
   */
  const without = (i: number, size: number): Operation<I, O>[] => {
    const chunk = cur.slice(i, i + size);
    const kept = cur.slice(0, i).concat(cur.slice(i + size));
    if (!model.tokens) return kept;
    const removed = new Map<string, number>();
    for (const op of chunk) for (const t of tokensOf(op).produces ?? []) removed.set(t, (removed.get(t) ?? 0) + 1);
    const lost = new Set<string>();
    for (const [t, n] of removed) if (n >= producerCount.get(t)!) lost.add(t);
    if (lost.size === 0) return kept;
    const out: Operation<I, O>[] = [];
    for (const op of kept) {
      if (!(tokensOf(op).observes ?? []).some((t) => lost.has(t))) out.push(op);
      else {
        const p = model.project ? model.project(op, lost) : null;
        if (p !== null) out.push(p);
      }
    }
    return out;
  };
  const illegal = (cand: Operation<I, O>[]): boolean => {
    const pruned = model.prune ? model.prune(cand) : cand;
    return searchPartition(model, pruned, deadline).verdict === 'illegal';
  };
  let size = Math.max(1, Math.ceil(cur.length / 2));
  for (;;) {
    let removed = false;
    for (let i = 0; i < cur.length; ) {
      if (performance.now() > deadline) return cur;
      const cand = without(i, size);
      if (cand.length > 0 && illegal(cand)) {
        cur = cand;
        recount();
        removed = true;
      } else {
        i += size;
      }
    }
    if (size > 1) size = Math.ceil(size / 2);
    else if (!removed) return cur;
  }
}
