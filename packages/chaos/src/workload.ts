// The workload: closed-loop clients, each one operation at a time (what "a client" means to a
// linearizability checker), over a few hot registers and a few sets, every operation recorded
// with its invocation and completion time and its outcome.
//
// - register k: put reg/k = a value unique in the run, get reg/k. With key growth on, new
//   registers appear during the run (so the data grows and regions split under load), and half
//   of the operations go to the newest few;
// - set k: append = put set/k/<unique element>; read = scan of the prefix set/k/ (a scan inside
//   one region is one read at one point; the run leaves sets out when regions split).
//
// Outcomes: ok; unknown (a write that failed in any way: it may have been applied; the client
// runs with retryAmbiguousWrites false, so a write is never applied twice behind its back);
// a failed read says nothing and is recorded as failed (dropped before checking).
import { InvalidArgumentError, type RawClient } from '@tskv/client';
import type { Prng } from '@tskv/util';

export type OpInput =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  | { kind: 'append'; key: string; element: string }
  | { kind: 'read'; key: string };

export type OpOutput = { value: string | null } | { elements: string[] } | Record<string, never>;

export interface RecordedOp {
  id: number;
  clientId: number;
  input: OpInput;
  output?: OpOutput;
  /** performance.now() at invocation and completion (Infinity while pending or unknown). */
  call: number;
  return: number;
  status: 'ok' | 'unknown' | 'failed';
  error?: string;
}

export interface WorkloadOptions {
  clients: number;
  registers: number;
  sets: number;
  /** Share of reads (get/read) among operations, 0..1. */
  readRatio: number;
  /** Share of set operations (append/read) among operations, 0..1. */
  setRatio: number;
  /** Think time between a client's operations, ms (0: none). */
  thinkMs: number;
  /** New register keys per second, from the start on (0: the key set stays `registers`). */
  newKeysPerSec?: number;
  /**
   * Register values are padded to about this many bytes (0: none), to grow regions faster. The
   * padding is added on put and stripped on get: the history holds the unpadded values.
   */
  valueBytes?: number;
}

/** With key growth, this share of register operations goes to the newest RECENT_KEYS keys. */
const RECENT_SHARE = 0.5;
const RECENT_KEYS = 8;

const enc = new TextEncoder();
const dec = new TextDecoder();

export const regKey = (k: number): string => `reg/${k}`;
export const setPrefix = (k: number): string => `set/${k}/`;

/** The end of a prefix's range: the prefix with its last byte incremented ('/' + 1 = '0'). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export class Workload {
  readonly ops: RecordedOp[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private nextValue = 0;
  private startedAt = 0;
  private stoppedAt = 0;

  constructor(
    private readonly clients: RawClient[],
    private readonly opts: WorkloadOptions,
    private readonly random: Prng,
  ) {
    if (clients.length !== opts.clients) throw new Error('one RawClient per workload client');
  }

  start(): void {
    this.running = true;
    this.startedAt = performance.now();
    this.loops = this.clients.map((c, i) => this.loop(c, i + 1, this.random.fork()));
  }

  /** Stops issuing; resolves when every client's last operation has completed. */
  async stop(): Promise<void> {
    this.running = false;
    this.stoppedAt = performance.now();
    await Promise.all(this.loops);
  }

  /** Register keys so far: reg/0 .. reg/(registerCount - 1). */
  get registerCount(): number {
    const o = this.opts;
    if (!o.newKeysPerSec || this.startedAt === 0) return o.registers;
    return o.registers + Math.floor((((this.stoppedAt || performance.now()) - this.startedAt) / 1000) * o.newKeysPerSec);
  }

  private nextOp(r: Prng, clientId: number): OpInput {
    const o = this.opts;
    const read = r.next() < o.readRatio;
    if (r.next() < o.setRatio && o.sets > 0) {
      const key = setPrefix(r.range(0, o.sets - 1));
      return read ? { kind: 'read', key } : { kind: 'append', key, element: `${clientId}-${++this.nextValue}` };
    }
    const n = this.registerCount;
    const recent = o.newKeysPerSec && r.next() < RECENT_SHARE;
    const key = regKey(recent ? r.range(Math.max(0, n - RECENT_KEYS), n - 1) : r.range(0, n - 1));
    return read ? { kind: 'get', key } : { kind: 'put', key, value: `${clientId}-${++this.nextValue}` };
  }

  private async loop(c: RawClient, clientId: number, r: Prng): Promise<void> {
    while (this.running) {
      await this.invoke(c, clientId, this.nextOp(r, clientId));
      if (this.opts.thinkMs > 0) await new Promise((res) => setTimeout(res, r.range(0, this.opts.thinkMs)));
    }
  }

  /** Runs and records one operation (also used for the final reads after the faults). */
  async invoke(c: RawClient, clientId: number, input: OpInput): Promise<RecordedOp> {
    const op: RecordedOp = { id: this.ops.length, clientId, input, call: performance.now(), return: Infinity, status: 'unknown' };
    this.ops.push(op);
    try {
      op.output = await execute(c, input, this.opts.valueBytes ?? 0);
      op.return = performance.now();
      op.status = 'ok';
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw e; // a harness bug, not a fault
      op.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const isWrite = input.kind === 'put' || input.kind === 'append';
      // A failed write may have been applied: unknown (no return time). A failed read: nothing.
      op.status = isWrite ? 'unknown' : 'failed';
      if (!isWrite) op.return = performance.now();
    }
    return op;
  }
}

/** The padding separator: unique values never contain it. */
const PAD = '|';

export async function execute(c: RawClient, input: OpInput, valueBytes = 0): Promise<OpOutput> {
  switch (input.kind) {
    case 'put': {
      const pad = valueBytes - input.value.length - 1;
      await c.put(input.key, pad > 0 ? `${input.value}${PAD}${'.'.repeat(pad)}` : input.value);
      return {};
    }
    case 'get': {
      const v = await c.get(input.key);
      if (v === null) return { value: null };
      const s = dec.decode(v);
      const cut = s.indexOf(PAD);
      return { value: cut < 0 ? s : s.slice(0, cut) };
    }
    case 'append':
      await c.put(input.key + input.element, enc.encode('1'));
      return {};
    case 'read': {
      const pairs = await c.scan(input.key, prefixEnd(input.key));
      return { elements: pairs.map((p) => dec.decode(p.key).slice(input.key.length)).sort() };
    }
  }
}
