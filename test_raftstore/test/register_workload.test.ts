// The generic test's register check on its own, over a fake cluster: it passes a correct store
// and catches a stale read, a double apply and a lost write.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '@tskv/util';
import { ClusterRequestError, type Key, RegisterHistory } from '../src/index.js';

type Fault = 'none' | 'stale' | 'double-apply' | 'lose-ambiguous';

/** A one-process key-value map with the ClusterClient calls the register workload uses. */
class FakeCluster {
  private readonly data = new Map<string, string>();
  private readonly previous = new Map<string, string>();
  private readonly replay: [string, string, number][] = [];
  private puts = 0;
  constructor(private readonly fault: Fault) {}

  async mustPut(key: Key, value: Key, _cf?: string, opts?: { retryAmbiguous?: boolean }): Promise<void> {
    const k = String(key);
    const v = String(value);
    this.puts++;
    if (this.fault === 'double-apply' && this.puts % 7 === 0) this.replay.push([k, v, this.puts]);
    if (this.fault === 'double-apply' && this.replay.length > 0 && this.puts - this.replay[0]![2] > 20) {
      const [rk, rv] = this.replay.shift()!;
      this.set(rk, rv); // a write acknowledged long ago applied a second time
    }
    this.set(k, v);
    if (this.fault === 'lose-ambiguous' && this.puts % 5 === 0) {
      assert.equal(opts?.retryAmbiguous, false, 'register puts must not be retried after a timeout');
      throw new ClusterRequestError('timeout', { timeout: {} }, true, true);
    }
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    const k = String(key);
    const v = this.fault === 'stale' && this.previous.has(k) && this.puts % 3 === 0 ? this.previous.get(k) : this.data.get(k);
    return v === undefined ? undefined : Buffer.from(v);
  }

  private set(k: string, v: string): void {
    const old = this.data.get(k);
    if (old !== undefined) this.previous.set(k, old);
    this.data.set(k, v);
  }
}

async function run(fault: Fault): Promise<RegisterHistory> {
  const h = new RegisterHistory(new FakeCluster(fault) as never);
  const rng = new Prng(42);
  for (let i = 0; i < 300; i++) await h.op(i % 4, 0, rng);
  await h.readAll(1);
  return h;
}

test('register history: a correct store is linearizable, ambiguous puts included', async () => {
  const h = await run('none');
  assert.ok(h.puts > 50 && h.gets > 50);
  h.check();
  const amb = await run('lose-ambiguous');
  assert.ok(amb.unknown > 0, 'no put was recorded as unknown');
  amb.check(); // a timed-out put that did apply is legal
});

test('register history: a stale read is caught', async () => {
  const h = await run('stale');
  assert.throws(() => h.check(), /not linearizable/);
});

test('register history: a write applied twice is caught', async () => {
  const h = await run('double-apply');
  assert.throws(() => h.check(), /not linearizable/);
});
