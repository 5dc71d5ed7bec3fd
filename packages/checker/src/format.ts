// A readable timeline of a history for reports.
import { describeOp } from './explain.js';
import type { Model, Operation } from './types.js';

function time(t: number, origin: number): string {
  return Number.isFinite(t) ? (t - origin).toFixed(3).padStart(10) : '         ∞';
}

/**
 * One line per op, in call order: id, client, call..return (ms relative to the first call),
 * status and the op (model.describe, or JSON of input and output).
 */
export function formatHistory<S, I, O>(ops: readonly Operation<I, O>[], model?: Model<S, I, O>): string {
  const sorted = [...ops].sort((a, b) => a.call - b.call || a.id - b.id);
  const origin = sorted.length > 0 ? sorted[0]!.call : 0;
  const m = (model ?? {}) as Model<unknown, I, O>;
  // reduce, not Math.max(...): spreading 100 000+ arguments overflows the stack.
  const idW = sorted.reduce((w, o) => Math.max(w, String(o.id).length), 2);
  const cW = sorted.reduce((w, o) => Math.max(w, String(o.clientId).length), 2);
  return sorted
    .map((op) => {
      const ret = op.status === 'unknown' ? Infinity : op.return;
      return (
        `#${String(op.id).padEnd(idW)} c${String(op.clientId).padEnd(cW)} ${time(op.call, origin)} .. ${time(ret, origin)}  ` +
        `${op.status.padEnd(7)} ${describeOp(m, op)}`
      );
    })
    .join('\n');
}
