// A human-readable account of why a (small) history is illegal.
import { effectiveReturn } from './history.js';
import type { SearchOutcome } from './search.js';
import type { Model, Operation } from './types.js';

export function describeOp<I, O>(model: Model<unknown, I, O>, op: Operation<I, O>): string {
  if (model.describe) return model.describe(op);
  return `${JSON.stringify(op.input)} -> ${op.status === 'ok' ? JSON.stringify(op.output) : '?'}`;
}

/**
 * From the search's deepest linearizable prefix: what was linearized, the state after it, the
 * completed op that had to come next (the earliest-returning op not in the prefix), and for each
 * op that could have gone next whether the model rejected it outright in that state or it only
 * led to a dead end later. This is one longest prefix; other orders may have been as long.
 */
export function explainFailure<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  outcome: SearchOutcome<S, I, O>,
  maxPrefixLines = 12,
): string {
  const m = model as Model<unknown, I, O>;
  const showState = (s: S): string => (model.describeState ? model.describeState(s) : model.key(s));
  const lines: string[] = [];
  const prefix = outcome.deepest;
  lines.push(`No linearization of these ${ops.length} ops exists (model ${model.name}).`);
  if (prefix.length === 0) {
    lines.push('Not even one op can be linearized first.');
  } else {
    lines.push(`A longest linearizable prefix has ${prefix.length} op(s):`);
    const skip = Math.max(0, prefix.length - maxPrefixLines);
    if (skip > 0) lines.push(`  ... ${skip} earlier op(s)`);
    for (const op of prefix.slice(skip)) lines.push(`  #${op.id} c${op.clientId}: ${describeOp(m, op)}`);
  }
  lines.push(`State after it: ${showState(outcome.deepestState)}`);
  const inPrefix = new Set(outcome.deepest);
  const rest = ops.filter((op) => !inPrefix.has(op)).map((op) => ({ op }));
  const due = rest.filter(({ op }) => op.status === 'ok').sort((a, b) => effectiveReturn(a.op) - effectiveReturn(b.op))[0];
  if (due === undefined) return lines.join('\n');
  const dueAt = effectiveReturn(due.op);
  const origin = ops.reduce((m, op) => Math.min(m, op.call), Infinity); // times as formatHistory shows them
  lines.push(
    `#${due.op.id} (${describeOp(m, due.op)}) returned at ${(dueAt - origin).toFixed(3)}, ` +
      'so it or an op concurrent with it must come next:',
  );
  for (const { op } of rest) {
    if (op.call > dueAt) continue; // called after the due op returned: cannot precede it
    const [legal] = model.step(outcome.deepestState, op.input, op.status === 'ok' ? op.output : undefined);
    lines.push(`  #${op.id} ${describeOp(m, op)}: ${legal ? 'allowed here, but every continuation fails' : 'impossible in this state'}`);
  }
  return lines.join('\n');
}
