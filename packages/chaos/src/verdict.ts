// The checks of a recorded history: register operations against the register model, set
// operations against the set model, each partitioned per key by the checker.
import { checkHistory, formatHistory, type Model, type Operation, registerModel, setModel } from '@tskv/checker';
import type { RecordedOp } from './workload.js';

export interface ModelVerdict {
  model: string;
  ops: number;
  verdict: 'ok' | 'illegal' | 'timeout';
  elapsedMs: number;
  /** For 'illegal': the failing key and the smallest failing history found, as a timeline. */
  failure?: { partition: string; explanation: string; ops: number; minimal: string };
}

export interface Verdict {
  /** true: every model's check passed; false: a violation; null: a check ran out of time. */
  linearizable: boolean | null;
  models: ModelVerdict[];
}

/** Recorded operations as the checker takes them: failed reads dropped (they constrain nothing). */
function toOperations(ops: RecordedOp[], kinds: readonly string[]): Operation[] {
  return ops
    .filter((op) => op.status !== 'failed' && kinds.includes(op.input.kind))
    .map((op) => ({
      id: op.id,
      clientId: op.clientId,
      input: op.input,
      output: op.status === 'ok' ? op.output : undefined,
      call: op.call,
      return: op.status === 'ok' ? op.return : Infinity,
      status: op.status as 'ok' | 'unknown',
    }));
}

export function checkRecorded(ops: RecordedOp[], timeoutMs: number): Verdict {
  const models: ModelVerdict[] = [];
  // Model<unknown, ...>: the histories are untyped records; each model validates its own ops.
  const runs: [string, Model<unknown, unknown, unknown>, string[]][] = [
    ['register', registerModel, ['put', 'get']],
    ['set', setModel, ['append', 'read']],
  ];
  for (const [name, model, kinds] of runs) {
    const history = toOperations(ops, kinds);
    if (history.length === 0) continue;
    const r = checkHistory(model, history, { timeoutMs, minimize: true });
    const v: ModelVerdict = { model: name, ops: history.length, verdict: r.verdict, elapsedMs: Math.round(r.elapsedMs) };
    if (r.failure) {
      v.failure = {
        partition: r.failure.partition,
        explanation: r.failure.explanation,
        ops: r.failure.ops.length,
        minimal: formatHistory(r.failure.minimal, model),
      };
    }
    models.push(v);
  }
  const linearizable = models.some((m) => m.verdict === 'illegal') ? false : models.some((m) => m.verdict === 'timeout') ? null : true;
  return { linearizable, models };
}
