// The replicated application: the ordered list of applied proposal ids plus a rolling hash of every
// applied entry. The sim treats apply() as a synchronous durable write (state machine and applied
// index together), so after a crash the node restarts with Config.applied = sm.applied.
import { chain } from './hash.js';

const PROPOSAL_TAG = 0x50;
const READ_TAG = 0x52;

/** The state machine hash at the bootstrap snapshot (index 1). */
export const BOOT_SM_HASH = chain(0, 2);

export class StateMachine {
  constructor(
    public applied = 0,
    public hash = 0,
    public ids: number[] = [],
  ) {}

  static boot(): StateMachine {
    return new StateMachine(1, BOOT_SM_HASH, []);
  }

  /** Applies the entry at applied+1 with digest d; id is the proposal it carries, if any. */
  apply(index: number, d: number, id: number | null): void {
    this.applied = index;
    this.hash = chain(this.hash, d);
    if (id !== null) this.ids.push(id);
  }

  encode(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ a: this.applied, h: this.hash, ids: this.ids }));
  }

  static decode(data: Uint8Array): StateMachine {
    const o = JSON.parse(new TextDecoder().decode(data)) as { a: number; h: number; ids: number[] };
    return new StateMachine(o.a, o.h, o.ids);
  }
}

/** A proposal's payload: tag, 4-byte id, then `pad` filler bytes to vary entry sizes. */
export function encodeProposal(id: number, pad: number): Uint8Array {
  const b = new Uint8Array(5 + pad);
  b[0] = PROPOSAL_TAG;
  new DataView(b.buffer).setUint32(1, id, true);
  for (let i = 5; i < b.length; i++) b[i] = (id + i) & 0xff;
  return b;
}

export function decodeProposal(data: Uint8Array): number | null {
  if (data.length < 5 || data[0] !== PROPOSAL_TAG) return null;
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1, true);
}

export function encodeReadCtx(id: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = READ_TAG;
  new DataView(b.buffer).setUint32(1, id, true);
  return b;
}

export function decodeReadCtx(ctx: Uint8Array): number | null {
  if (ctx.length !== 5 || ctx[0] !== READ_TAG) return null;
  return new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength).getUint32(1, true);
}
