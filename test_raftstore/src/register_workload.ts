// Shared registers for the generic test: a few keys that every client overwrites and reads.
// Appends (generic.ts) are written once and read by their writer, so a stale read can only
// show there as a missing key and a double apply never shows. Here every client reads what the
// others wrote, each put writes a value unique in the run, and the recorded history (invocation,
// completion, outcome) goes to @tskv/checker's register model: a stale read, a lost or a
// resurrected write, and a write applied twice (its value back after a later one) are all
// non-linearizable.
//
// A put that times out has an unknown outcome. It is recorded as such and never retried
// (RequestOptions.retryAmbiguous false): a retry could apply it twice behind the checker's back.

import type { CheckResult, RegisterInput, RegisterOp, RegisterOutput } from '@tskv/checker';
import { checkHistory, formatHistory, registerModel } from '@tskv/checker';
import type { Prng } from '@tskv/util';
import { bytesToString, type ClusterClient, ClusterRequestError } from './cluster_client.js';

/** Registers per round: a round's keys are new, so each check covers one round's history. */
export const REGISTERS_PER_ROUND = 3;

export function registerKey(round: number, i: number): string {
  return `reg ${round} ${i}`;
}

export class RegisterHistory {
  readonly ops: RegisterOp[] = [];
  private nextId = 0;
  private nextValue = 0;
  puts = 0;
  gets = 0;
  unknown = 0;

  constructor(private readonly cluster: ClusterClient) {}

  /** One operation of `client` on a random register of `round`: a put or a linearizable get. */
  async op(client: number, round: number, rng: Prng): Promise<void> {
    const key = registerKey(round, rng.int(REGISTERS_PER_ROUND));
    if (rng.chance(0.5)) {
      const value = `c${client}-${this.nextValue++}`;
      const input: RegisterInput = { kind: 'put', key, value };
      const call = performance.now();
      try {
        await this.cluster.mustPut(key, value, 'default', { retryAmbiguous: false });
        this.record(client, input, {}, call, performance.now(), 'ok');
        this.puts++;
      } catch (e) {
        if (!(e instanceof ClusterRequestError) || !e.ambiguous) throw e;
        this.record(client, input, undefined, call, Infinity, 'unknown');
        this.unknown++;
      }
    } else {
      const call = performance.now();
      const v = await this.cluster.get(key);
      this.record(client, { kind: 'get', key }, { value: v === undefined ? null : bytesToString(v) }, call, performance.now(), 'ok');
      this.gets++;
    }
  }

  /** A final read of every register of the rounds so far: it must see the last write. */
  async readAll(rounds: number): Promise<void> {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < REGISTERS_PER_ROUND; i++) {
        const key = registerKey(r, i);
        const call = performance.now();
        const v = await this.cluster.get(key);
        this.record(-1, { kind: 'get', key }, { value: v === undefined ? null : bytesToString(v) }, call, performance.now(), 'ok');
      }
    }
  }

  private record(
    clientId: number,
    input: RegisterInput,
    output: RegisterOutput | undefined,
    call: number,
    ret: number,
    status: 'ok' | 'unknown',
  ): void {
    this.ops.push({ id: this.nextId++, clientId, input, output, call, return: ret, status });
  }

  /** Checks the whole history; throws with the minimal failing sub-history unless linearizable. */
  check(): CheckResult<RegisterInput, RegisterOutput> {
    const r = checkHistory(registerModel, this.ops, { timeoutMs: 60_000 });
    if (r.verdict === 'ok') return r;
    if (r.verdict === 'timeout')
      throw new Error(`register history: the checker did not finish (${r.timedOut?.join(', ')}) over ${this.ops.length} operations`);
    const f = r.failure!;
    throw new Error(`register history is not linearizable on ${f.partition}: ${f.explanation}\n${formatHistory(f.minimal, registerModel)}`);
  }
}
