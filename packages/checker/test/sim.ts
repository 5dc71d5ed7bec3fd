// Simulated linearizable stores for randomized tests: each op takes effect at a random instant
// inside its interval (an unknown op: at some instant after its call, or never), so the recorded
// history is linearizable by construction.
import type { Prng } from '@tskv/util';
import type { RegisterOp, RegisterState, SetOp } from '../src/index.js';

export interface SimOptions {
  clients: number;
  opsPerClient: number;
  keys: number;
  /** Probability an op's outcome is unknown. */
  unknownRate: number;
  /** Max think time between a client's ops and max op duration (ms). */
  maxGap: number;
  maxDuration: number;
}

interface Planned {
  clientId: number;
  call: number;
  ret: number;
  /** The instant it takes effect; undefined: never. */
  at: number | undefined;
  unknown: boolean;
}

/** Per-client sequential timelines with overlapping intervals across clients. */
function plan(rng: Prng, o: SimOptions): Planned[] {
  const out: Planned[] = [];
  for (let c = 0; c < o.clients; c++) {
    let t = rng.next() * o.maxGap;
    for (let i = 0; i < o.opsPerClient; i++) {
      const call = t + rng.next() * o.maxGap;
      const ret = call + 0.001 + rng.next() * o.maxDuration;
      const unknown = rng.next() < o.unknownRate;
      // An unknown op (the client timed out at `ret`) may still take effect well after that.
      const at = unknown ? (rng.next() < 0.5 ? undefined : call + rng.next() * o.maxDuration * 5) : call + rng.next() * (ret - call);
      out.push({ clientId: c, call, ret, at, unknown });
      t = ret;
    }
  }
  return out;
}

export function simulateRegister(rng: Prng, o: SimOptions): RegisterOp[] {
  const planned = plan(rng, o);
  const ops: RegisterOp[] = planned.map((p, id) => {
    const key = `k${rng.int(o.keys)}`;
    const r = rng.next();
    const input =
      r < 0.4 ? { kind: 'put' as const, key, value: `v${id}` } : r < 0.5 ? { kind: 'delete' as const, key } : { kind: 'get' as const, key };
    return { id, clientId: p.clientId, input, call: p.call, return: p.unknown ? Infinity : p.ret, status: p.unknown ? 'unknown' : 'ok' };
  });
  const state = new Map<string, RegisterState>();
  const effects = ops.map((op, i) => ({ op, at: planned[i]!.at })).filter((e) => e.at !== undefined);
  effects.sort((a, b) => a.at! - b.at!);
  for (const { op } of effects) {
    const i = op.input;
    if (i.kind === 'put') state.set(i.key, i.value);
    else if (i.kind === 'delete') state.set(i.key, null);
    if (op.status === 'ok') op.output = i.kind === 'get' ? { value: state.get(i.key) ?? null } : {};
  }
  return ops;
}

export function simulateSet(rng: Prng, o: SimOptions): SetOp[] {
  const planned = plan(rng, o);
  const ops: SetOp[] = planned.map((p, id) => {
    const key = `l${rng.int(o.keys)}`;
    const input = rng.next() < 0.5 ? { kind: 'append' as const, key, element: `e${id}` } : { kind: 'read' as const, key };
    return { id, clientId: p.clientId, input, call: p.call, return: p.unknown ? Infinity : p.ret, status: p.unknown ? 'unknown' : 'ok' };
  });
  const state = new Map<string, string[]>();
  const effects = ops.map((op, i) => ({ op, at: planned[i]!.at })).filter((e) => e.at !== undefined);
  effects.sort((a, b) => a.at! - b.at!);
  for (const { op } of effects) {
    const i = op.input;
    const list = state.get(i.key) ?? [];
    if (i.kind === 'append') state.set(i.key, [...list, i.element]);
    if (op.status === 'ok') op.output = i.kind === 'read' ? { elements: [...list].reverse() } : {};
  }
  return ops;
}
