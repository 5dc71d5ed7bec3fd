// Shared test helpers (no tests here): history builders, a seeded PRNG, a brute-force reference.
import { envSeed, Prng } from '@tskv/util';
import type { Model, Operation, RegisterInput, RegisterOp, RegisterOutput, SetInput, SetOp, SetOutput } from '../src/index.js';

/** Builds a register history; times are explicit, ids sequential. Unknown ops return at Infinity. */
export class RegisterHistory {
  readonly ops: RegisterOp[] = [];
  private add(clientId: number, call: number, ret: number, input: RegisterInput, output: RegisterOutput | undefined, ok: boolean): this {
    this.ops.push({
      id: this.ops.length,
      clientId,
      input,
      output: ok ? output : undefined,
      call,
      return: ok ? ret : Infinity,
      status: ok ? 'ok' : 'unknown',
    });
    return this;
  }
  put(c: number, call: number, ret: number, value: string, key = 'x'): this {
    return this.add(c, call, ret, { kind: 'put', key, value }, {}, true);
  }
  putUnknown(c: number, call: number, value: string, key = 'x'): this {
    return this.add(c, call, Infinity, { kind: 'put', key, value }, undefined, false);
  }
  del(c: number, call: number, ret: number, key = 'x'): this {
    return this.add(c, call, ret, { kind: 'delete', key }, {}, true);
  }
  delUnknown(c: number, call: number, key = 'x'): this {
    return this.add(c, call, Infinity, { kind: 'delete', key }, undefined, false);
  }
  get(c: number, call: number, ret: number, value: string | null, key = 'x'): this {
    return this.add(c, call, ret, { kind: 'get', key }, { value }, true);
  }
  getUnknown(c: number, call: number, key = 'x'): this {
    return this.add(c, call, Infinity, { kind: 'get', key }, undefined, false);
  }
}

export class SetHistory {
  readonly ops: SetOp[] = [];
  private add(clientId: number, call: number, ret: number, input: SetInput, output: SetOutput | undefined, ok: boolean): this {
    this.ops.push({
      id: this.ops.length,
      clientId,
      input,
      output: ok ? output : undefined,
      call,
      return: ok ? ret : Infinity,
      status: ok ? 'ok' : 'unknown',
    });
    return this;
  }
  append(c: number, call: number, ret: number, element: string, key = 'l'): this {
    return this.add(c, call, ret, { kind: 'append', key, element }, {}, true);
  }
  appendUnknown(c: number, call: number, element: string, key = 'l'): this {
    return this.add(c, call, Infinity, { kind: 'append', key, element }, undefined, false);
  }
  read(c: number, call: number, ret: number, elements: string[], key = 'l'): this {
    return this.add(c, call, ret, { kind: 'read', key }, { elements }, true);
  }
  readUnknown(c: number, call: number, key = 'l'): this {
    return this.add(c, call, Infinity, { kind: 'read', key }, undefined, false);
  }
}

/** A seeded PRNG; the seed comes from TSKV_CHECKER_SEED or is fresh, and is printed. */
export function seededRandom(label: string): Prng {
  const seed = envSeed('TSKV_CHECKER_SEED');
  console.log(`# ${label}: seed=${seed} (replay with TSKV_CHECKER_SEED=${seed})`);
  return new Prng(seed);
}

/**
 * The definition, by exhaustion (tiny histories only): some subset of the unknown ops plus all
 * ok ops, in some order consistent with real time (a before b when a returned strictly before b
 * was called), is accepted by the model.
 */
export function bruteForceLinearizable<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  const ret = (o: Operation<I, O>): number => (o.status === 'unknown' ? Infinity : o.return);
  const unknown = ops.filter((o) => o.status === 'unknown');
  const ok = ops.filter((o) => o.status === 'ok');
  for (let mask = 0; mask < 1 << unknown.length; mask++) {
    const chosen = [...ok, ...unknown.filter((_, i) => mask & (1 << i))];
    const used = new Array<boolean>(chosen.length).fill(false);
    const order: Operation<I, O>[] = [];
    const rec = (state: S): boolean => {
      if (order.length === chosen.length) return true;
      for (let i = 0; i < chosen.length; i++) {
        if (used[i]) continue;
        const o = chosen[i]!;
        // o may go next only if no other unplaced op returned strictly before o was called.
        if (chosen.some((p, j) => !used[j] && j !== i && ret(p) < o.call)) continue;
        const [legal, next] = model.step(state, o.input, o.status === 'ok' ? o.output : undefined);
        if (!legal) continue;
        used[i] = true;
        order.push(o);
        if (rec(next)) return true;
        order.pop();
        used[i] = false;
      }
      return false;
    };
    if (rec(model.init())) return true;
  }
  return false;
}
