// TxnExecutor: latches around snapshot-check-write, cleanup on every path, storage failures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ClosableReader,
  encodeKey,
  kvScan,
  MemStorage,
  type Modify,
  Op,
  RecordError,
  serializeLock,
  TxnExecutor,
  type TxnStorage,
  WriteKind,
} from '../src/index.js';
import { b, mutation, newBuilder, writeBytes } from './helpers.js';

/** A MemStorage whose reads and writes can be failed or held, recording what happens. */
class ScriptedStorage implements TxnStorage {
  readonly mem = new MemStorage();
  readonly events: string[] = [];
  failReader: Error | undefined;
  failWrite: Error | undefined;
  /** Writes wait for this (then it is cleared). */
  gate: Promise<void> | undefined;

  async reader(): Promise<ClosableReader> {
    if (this.failReader) throw this.failReader;
    this.events.push('reader');
    return this.mem.reader();
  }

  async write(modifies: readonly Modify[]): Promise<void> {
    this.events.push('write');
    const gate = this.gate;
    this.gate = undefined;
    await gate; // undefined: no wait beyond a tick
    if (this.failWrite) throw this.failWrite;
    await this.mem.write(modifies);
    this.events.push('written');
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = () => new Promise((r) => setImmediate(r));

/** A Put of `value` prewritten on `key` at 100 (lock and value). */
function prewritten(mem: MemStorage, key: Uint8Array, value: Uint8Array): void {
  mem.set('default', encodeKey(key, 100n), value);
  mem.set('lock', key, serializeLock({ primary: key, kind: WriteKind.Put, ts: 100n, ttl: 0n }));
}

test('executor: a failed write rejects, releases the latches and closes the reader; nothing is written', async () => {
  const s = new ScriptedStorage();
  prewritten(s.mem, b(3), b(42));
  const ex = new TxnExecutor(s);
  s.failWrite = new Error('region 1: not leader');
  await assert.rejects(ex.commit({ startVersion: 100n, commitVersion: 110n, keys: [b(3)] }), /not leader/);
  assert.equal(ex.latches.size, 0);
  assert.equal(s.mem.openReaders, 0);
  assert.equal(s.mem.len('write'), 0);
  // The retry goes through.
  s.failWrite = undefined;
  assert.deepEqual(await ex.commit({ startVersion: 100n, commitVersion: 110n, keys: [b(3)] }), {});
  assert.deepEqual(s.mem.get('write', encodeKey(b(3), 110n)), writeBytes(1, 100));
  assert.equal(s.mem.len('lock'), 0);
});

test('executor: a failed reader rejects and releases the latches', async () => {
  const s = new ScriptedStorage();
  const ex = new TxnExecutor(s);
  s.failReader = new Error('region 1: epoch not match');
  await assert.rejects(ex.prewrite({ mutations: [mutation(1, b(1), Op.Put)], primaryLock: b(1), startVersion: 5n, lockTtl: 0n }), /epoch/);
  await assert.rejects(ex.get({ key: b(1), version: 5n }), /epoch/);
  assert.equal(ex.latches.size, 0);
});

test('executor: a throwing validation hook fails the command before anything is written', async () => {
  const s = new ScriptedStorage();
  const ex = new TxnExecutor(s, {
    validate: () => {
      throw new Error('hook says no');
    },
  });
  await assert.rejects(ex.batchRollback({ startVersion: 5n, keys: [b(1)] }), /hook says no/);
  assert.equal(s.mem.len('write'), 0);
  assert.equal(ex.latches.size, 0);
  assert.equal(s.mem.openReaders, 0);
});

test('executor: the test hook reports a write to a key that was not latched', () => {
  const builder = newBuilder();
  builder.executor.validate?.([{ type: 'put', cf: 'write', key: encodeKey(b(9), 5n), value: writeBytes(3, 5) }], [b(3)]);
  builder.executor.validate?.([{ type: 'delete', cf: 'lock', key: b(3) }], [b(3)]);
  assert.equal(builder.validationFailures.length, 1);
  assert.match(builder.validationFailures[0]!, /not latched/);
});

for (const first of ['commit', 'rollback'] as const) {
  test(`executor: ${first} first, then the other on the same key: serialized by the latch, one wins`, async () => {
    const s = new ScriptedStorage();
    prewritten(s.mem, b(3), b(42));
    const ex = new TxnExecutor(s);
    const gate = deferred();
    s.gate = gate.promise;
    const commit = () => ex.commit({ startVersion: 100n, commitVersion: 110n, keys: [b(3)] });
    const rollback = () => ex.batchRollback({ startVersion: 100n, keys: [b(3)] });
    const a = first === 'commit' ? commit() : rollback();
    await tick();
    const other = first === 'commit' ? rollback() : commit();
    for (let i = 0; i < 5; i++) await tick();
    // The second command has not even taken its snapshot: the first still holds the latch.
    assert.deepEqual(s.events, ['reader', 'write']);
    gate.resolve();
    const [ra, rb] = await Promise.all([a, other]);
    assert.deepEqual(s.events, ['reader', 'write', 'written', 'reader']);
    assert.deepEqual(ra, {});
    assert.ok(rb.error?.abort, 'the loser aborts');
    assert.equal(s.mem.len('lock'), 0);
    assert.equal(s.mem.len('write'), 1);
    if (first === 'commit') assert.deepEqual(s.mem.get('write', encodeKey(b(3), 110n)), writeBytes(1, 100));
    else assert.deepEqual(s.mem.get('write', encodeKey(b(3), 100n)), writeBytes(3, 100));
    assert.equal(ex.latches.size, 0);
  });
}

test('executor: commands on other keys and reads are not held up by a latch', async () => {
  const s = new ScriptedStorage();
  prewritten(s.mem, b(3), b(42));
  s.mem.set('default', encodeKey(b(5), 10n), b(50));
  s.mem.set('write', encodeKey(b(5), 20n), writeBytes(1, 10));
  const ex = new TxnExecutor(s);
  const gate = deferred();
  s.gate = gate.promise;
  const commit = ex.commit({ startVersion: 100n, commitVersion: 110n, keys: [b(3)] });
  await tick();
  assert.ok(ex.latches.isHeld(b(3)));
  // Another key's prewrite completes while the commit waits on its write.
  const pw = await ex.prewrite({ mutations: [mutation(4, b(44), Op.Put)], primaryLock: b(4), startVersion: 120n, lockTtl: 0n });
  assert.deepEqual(pw.errors, []);
  // A read of the latched key answers from its snapshot: still locked.
  assert.equal((await ex.get({ key: b(3), version: 200n })).error?.locked?.lockVersion, 100n);
  assert.deepEqual((await ex.get({ key: b(5), version: 200n })).value, b(50));
  gate.resolve();
  assert.deepEqual(await commit, {});
  assert.deepEqual((await ex.get({ key: b(3), version: 200n })).value, b(42));
});

test('executor: ResolveLock latches the keys it found and resolves them over a fresh snapshot', async () => {
  const s = new ScriptedStorage();
  prewritten(s.mem, b(3), b(42));
  prewritten(s.mem, b(7), b(43));
  const seen: string[][] = [];
  const ex = new TxnExecutor(s, {
    validate: (_m, latched) => seen.push(latched.map((k) => Buffer.from(k).toString('hex'))),
  });
  assert.deepEqual(await ex.resolveLock({ startVersion: 100n, commitVersion: 0n }), {});
  assert.deepEqual(seen, [['03', '07']]);
  assert.deepEqual(s.events, ['reader', 'reader', 'write', 'written']);
  assert.equal(s.mem.len('lock'), 0);
  assert.equal(s.mem.len('default'), 0);
  assert.equal(s.mem.len('write'), 2);
});

test('scan: a corrupt record fails the scan and every iterator is still released', async () => {
  const mem = new MemStorage();
  mem.set('default', encodeKey(b(1), 10n), b(1));
  mem.set('write', encodeKey(b(1), 20n), writeBytes(1, 10));
  mem.set('write', encodeKey(b(2), 20n), b(1, 2, 3)); // not 9 bytes
  const reader = mem.reader();
  await assert.rejects(kvScan(reader, { startKey: b(), limit: 10, version: 100n }), RecordError);
  assert.equal(reader.openIterators, 0);
  reader.close();
  // And through the executor: the parse error, not a leak report.
  await assert.rejects(new TxnExecutor(mem).scan({ startKey: b(), limit: 10, version: 100n }), /bad write/);
  assert.equal(mem.openReaders, 0);
});

test('scan: stopping at the limit releases the iterators', async () => {
  const mem = new MemStorage();
  for (let k = 1; k <= 5; k++) {
    mem.set('default', encodeKey(b(k), 10n), b(k));
    mem.set('write', encodeKey(b(k), 20n), writeBytes(1, 10));
    mem.set('lock', b(k + 10), serializeLock({ primary: b(k), kind: WriteKind.Put, ts: 500n, ttl: 0n }));
  }
  const reader = mem.reader();
  const resp = await kvScan(reader, { startKey: b(2), limit: 2, version: 100n });
  assert.deepEqual(
    resp.pairs.map((p) => p.key[0]),
    [2, 3],
  );
  assert.equal(reader.openIterators, 0);
  reader.close();
});
