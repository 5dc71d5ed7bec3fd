// A register per key: put key=value, get key -> value | null, delete key. Partitioned by key, so
// each partition is a single register (P-compositionality: a history of independent objects is
// linearizable iff each object's sub-history is).
import { partitionBy } from '../history.js';
import type { Model, Operation } from '../types.js';

export type RegisterInput = { kind: 'put'; key: string; value: string } | { kind: 'get'; key: string } | { kind: 'delete'; key: string };

/** A get's result is `value` (null: absent). Put and delete outputs are acknowledgements and ignored. */
export interface RegisterOutput {
  value?: string | null;
}

/** The register's value; null when absent (never written, or deleted). */
export type RegisterState = string | null;

export type RegisterOp = Operation<RegisterInput, RegisterOutput>;

function show(v: string | null | undefined): string {
  return v === undefined ? '?' : v === null ? 'null' : JSON.stringify(v);
}

export const registerModel: Model<RegisterState, RegisterInput, RegisterOutput> = {
  name: 'register',
  init: () => null,
  step(state, input, output) {
    switch (input.kind) {
      case 'put':
        return [true, input.value];
      case 'delete':
        return [true, null];
      case 'get':
        // An unknown get constrains nothing. A known one must see exactly the current value
        // (a missing output.value is undefined, which equals no state: illegal, as it should be).
        if (output === undefined) return [true, state];
        return [output.value === state, state];
    }
  },
  validate: (op) =>
    op.status === 'ok' && op.input.kind === 'get' && (op.output === undefined || op.output.value === undefined)
      ? "an 'ok' get needs output.value (string or null)"
      : undefined,
  // 'N' for absent, 'V' + value otherwise: distinct for null and the string "null".
  key: (state) => (state === null ? 'N' : `V${state}`),
  partition: (ops) => partitionBy(ops, (op) => op.input.key),
  /**
   * Drops: gets with an unknown outcome (no information); unknown puts whose value no 'ok' get
   * returned, and unknown deletes when no 'ok' get returned null. Why that is safe: take any
   * linearization that contains such a write w. Any get placed after w and before the next write
   * would return w's value, and none does, so there is no such get; deleting w from the order
   * leaves every get's result unchanged. Hence the history with w is linearizable iff it is without.
   */
  prune(ops) {
    if (ops.every((op) => op.status === 'ok')) return ops;
    const seen = new Set<string | null>();
    for (const op of ops) {
      if (op.status === 'ok' && op.input.kind === 'get' && op.output !== undefined && op.output.value !== undefined) {
        seen.add(op.output.value);
      }
    }
    return ops.filter((op) => {
      if (op.status === 'ok') return true;
      switch (op.input.kind) {
        case 'put':
          return seen.has(op.input.value);
        case 'delete':
          return seen.has(null);
        default: // a get
          return false;
      }
    });
  },
  // A put produces its value, a delete produces null; an ok get observes what it returned. No
  // project(): a get whose value's put was dropped is dropped with it.
  tokens(op) {
    const i = op.input;
    if (i.kind === 'put') return { produces: [`V${i.value}`] };
    if (i.kind === 'delete') return { produces: ['N'] };
    if (op.status !== 'ok' || op.output?.value === undefined) return {};
    return { observes: [op.output.value === null ? 'N' : `V${op.output.value}`] };
  },
  describe(op) {
    const i = op.input;
    switch (i.kind) {
      case 'put':
        return `put ${i.key} = ${show(i.value)}`;
      case 'delete':
        return `delete ${i.key}`;
      case 'get':
        return `get ${i.key} -> ${op.status === 'ok' ? show(op.output?.value) : '?'}`;
    }
  },
  describeState: (state) => show(state),
};
