// The linearizability search on one partition: Wing & Gong's algorithm with Lowe's memoization,
// in the iterative form of Porcupine's checker.go.
import { ConfigCache, LinearizedSet } from './cache.js';
import { buildEntries, type Entry, lift, unlift } from './history.js';
import type { Model, Operation } from './types.js';

export interface SearchOutcome<S, I = unknown, O = unknown> {
  verdict: 'ok' | 'illegal' | 'timeout';
  /**
   * One longest linearizable prefix the search reached, in linearization order (for
   * explanations), and the model state after it.
   */
  deepest: Operation<I, O>[];
  deepestState: S;
  /** Loop iterations, for tests and tuning. */
  steps: number;
}

/** How often (in loop iterations) the clock is read; performance.now() is not free. */
const CLOCK_EVERY = 256;

/**
 * Decides whether `ops` has a linearization under `model`, giving up at `deadline`
 * (a performance.now() value).
 *
 * The walk: the entry list holds the call and return events of the ops not yet linearized, in
 * time order. Walking from the head, a call entry is a candidate to take effect next: if the model
 * accepts it and the resulting (linearized set, state) configuration is new, it is linearized
 * (lifted out of the list, pushed on the stack) and the walk restarts at the head. Reaching a
 * return entry means that op's deadline has come while it is still pending and no candidate
 * before it worked: undo the last choice (pop, unlift) and try the next candidate after it. An
 * empty stack at that point means no linearization exists.
 *
 * Unknown outcomes: such an op's return entry is at +Infinity, so it never forces a backtrack
 * and may be linearized at any point after its call. It must also be allowed to never take
 * effect: the search succeeds as soon as every 'ok' op is linearized, whatever unknown ops are
 * left. (Not taking effect is equivalent to taking effect after everything observable, which is
 * exactly what stopping there means.)
 *
 * Candidate order: among the call entries before the first return entry (the ops that may take
 * effect next), 'ok' ops are tried first (phase 0) and unknown ones only after those all failed
 * (phase 1, a second walk from the head). Any order is complete; this one visits the
 * configurations with fewer optional ops first, so that the dominance pruning of the cache
 * (see cache.ts) cuts the ones that add optional ops for no reason.
 *
 * Symmetry: unknown ops with identical inputs (say, several timed-out deletes of one key) are
 * interchangeable, except that one called earlier may take effect anywhere a later one may. So
 * any linearization can be rewritten to use them in call order, and the search only lets such an
 * op take effect once its identical predecessor has: otherwise every choice among them would be
 * explored separately.
 *
 * Invariants: the stack holds the linearized ops in linearization order with the state before
 * each; `set` is exactly the ops on the stack; `okRemaining` counts 'ok' ops not on the stack.
 * The loop is iterative (its depth is the stack array, not the JS call stack), so tens of
 * thousands of ops are fine. Cost per iteration: one model step, one cache lookup (a string key
 * and a bitset copy of n/32 words on insert).
 */
export function searchPartition<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  deadline: number,
): SearchOutcome<S, I, O> {
  // Call order (stable): the linearized set's compact window relies on it (cache.ts).
  const ops = [...history].sort((a, b) => a.call - b.call);
  const init = model.init();
  let okRemaining = 0;
  for (const op of ops) if (op.status === 'ok') okRemaining++;
  if (okRemaining === 0) return { verdict: 'ok', deepest: [], deepestState: init, steps: 0 };

  const head = buildEntries(ops);
  const set = new LinearizedSet(ops.map((op) => op.status === 'ok'));
  const hasUnknown = okRemaining < ops.length;
  // twin[i]: the previous unknown op (in call order) with the same input, or -1.
  const twin = new Int32Array(ops.length).fill(-1);
  if (hasUnknown) {
    const last = new Map<string, number>();
    ops.forEach((op, i) => {
      if (op.status === 'ok') return;
      const id = JSON.stringify(op.input);
      twin[i] = last.get(id) ?? -1;
      last.set(id, i);
    });
  }
  const cache = new ConfigCache<S>(model.equal?.bind(model));
  const stackEntries: Entry[] = [];
  const stackStates: S[] = [];
  const stackPhases: number[] = [];
  let state = init;

  // The deepest prefix seen: best[0..valid) is known to equal the current stack's prefix, so a new
  // record only copies the part that changed (amortized O(1) per push).
  const best: number[] = [];
  let bestState = init;
  let valid = 0;

  let entry = head.next!;
  let phase = 0;
  let steps = 0;
  for (;;) {
    if (steps++ % CLOCK_EVERY === 0 && performance.now() > deadline) {
      return { verdict: 'timeout', deepest: best.map((i) => ops[i]!), deepestState: bestState, steps };
    }
    if (entry.isCall) {
      const op = ops[entry.op]!;
      if ((op.status === 'ok') !== (phase === 0) || (twin[entry.op]! >= 0 && !set.has(twin[entry.op]!))) {
        entry = entry.next!; // not this phase's kind of op, or its identical twin must go first
        continue;
      }
      const [legal, next] = model.step(state, op.input, op.status === 'ok' ? op.output : undefined);
      if (legal) {
        set.toggle(entry.op);
        if (cache.add(set, model.key(next), next)) {
          stackEntries.push(entry);
          stackStates.push(state);
          stackPhases.push(phase);
          state = next;
          lift(entry);
          const depth = stackEntries.length;
          if (depth > best.length) {
            for (let k = valid; k < depth; k++) best[k] = stackEntries[k]!.op;
            valid = depth;
            bestState = state;
          }
          if (op.status === 'ok' && --okRemaining === 0) {
            return { verdict: 'ok', deepest: best.map((i) => ops[i]!), deepestState: bestState, steps };
          }
          entry = head.next!; // non-null: an 'ok' op is still in the list
          phase = 0;
          continue;
        }
        set.toggle(entry.op); // seen before: undo and try the next candidate
      }
      entry = entry.next!; // a call's successor exists: its own return at least
    } else if (phase === 0 && hasUnknown) {
      entry = head.next!; // no 'ok' candidate worked: try the unknown ones
      phase = 1;
    } else {
      // A pending op must have taken effect by now and nothing before it could: backtrack.
      const top = stackEntries.pop();
      if (top === undefined) return { verdict: 'illegal', deepest: best.map((i) => ops[i]!), deepestState: bestState, steps };
      state = stackStates.pop()!;
      phase = stackPhases.pop()!;
      set.toggle(top.op);
      if (ops[top.op]!.status === 'ok') okRemaining++;
      unlift(top);
      if (valid > stackEntries.length) valid = stackEntries.length;
      entry = top.next!;
    }
  }
}
