// checkHistory: partition, prune, search each partition within a shared time budget, and explain
// (and minimize) the first illegal partition found.
import { explainFailure } from './explain.js';
import { validateHistory } from './history.js';
import { minimizeHistory } from './minimize.js';
import { type SearchOutcome, searchPartition } from './search.js';
import type { CheckOptions, CheckResult, Model, Operation } from './types.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MINIMIZE_MS = 10_000;

/**
 * Verdicts: 'illegal' if some partition has no linearization (definitive, whatever the others
 * did; checking stops at the first one); otherwise 'timeout' if some partition's search did not
 * finish in the budget ('ok' is never claimed for an unfinished search); otherwise 'ok'.
 *
 * Budget: partitions are searched in two rounds. In the first, each gets an equal share of the
 * time still left (so quick ones hand their unused share on to the rest and one hard key cannot
 * starve the others of a check); those that ran out are retried, from scratch, in a second round
 * sharing whatever is left.
 */
export function checkHistory<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], opts: CheckOptions = {}): CheckResult<I, O> {
  const start = performance.now();
  validateHistory(ops, model as Model<unknown, I, O>);
  const deadline = start + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const parts = model.partition ? model.partition(ops) : new Map([['', ops]]);
  const keys = [...parts.keys()].sort();
  const partitions = keys.length;

  let pending = keys;
  for (let round = 0; round < 2 && pending.length > 0; round++) {
    const timedOut: string[] = [];
    for (let k = 0; k < pending.length; k++) {
      const key = pending[k]!;
      const all = parts.get(key)!;
      const pruned = model.prune ? model.prune(all) : all;
      const now = performance.now();
      const share = (deadline - now) / (pending.length - k);
      const outcome = searchPartition(model, pruned, Math.min(deadline, now + share));
      if (outcome.verdict === 'timeout') {
        timedOut.push(key);
      } else if (outcome.verdict === 'illegal') {
        return illegalResult(model, key, all, pruned, outcome, opts, start, partitions);
      }
    }
    pending = timedOut;
  }
  const elapsedMs = performance.now() - start;
  if (pending.length > 0) return { verdict: 'timeout', partitions, timedOut: pending, elapsedMs };
  return { verdict: 'ok', partitions, elapsedMs };
}

function illegalResult<S, I, O>(
  model: Model<S, I, O>,
  key: string,
  all: Operation<I, O>[],
  pruned: Operation<I, O>[],
  outcome: SearchOutcome<S, I, O>,
  opts: CheckOptions,
  start: number,
  partitions: number,
): CheckResult<I, O> {
  let minimal = pruned;
  let explained = outcome;
  if (opts.minimize ?? true) {
    const mDeadline = performance.now() + (opts.minimizeTimeoutMs ?? DEFAULT_MINIMIZE_MS);
    minimal = minimizeHistory(model, pruned, mDeadline);
    // Re-run on the small history for a short explanation. It is illegal by construction; the
    // fallback only guards against a pathological model whose search on it times out.
    const again = searchPartition(model, minimal, performance.now() + 1000);
    if (again.verdict === 'illegal') explained = again;
    else minimal = pruned;
  }
  const explanation = explainFailure(model, minimal, explained);
  return {
    verdict: 'illegal',
    partitions,
    failure: { partition: key, ops: all, minimal, explanation },
    elapsedMs: performance.now() - start,
  };
}
