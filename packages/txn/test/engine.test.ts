// The layer over the store's real engine: an @tskv/engine EngineSnapshot is a ClosableReader as
// it is, and a TxnStorage is a few lines over Engine (LevelDB in a temporary directory).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engine } from '@tskv/engine';
import {
  Action,
  type ClosableReader,
  encodeKey,
  Op,
  serializeLock,
  serializeWrite,
  TxnExecutor,
  type TxnStorage,
  WriteKind,
} from '../src/index.js';
import { b, mutation } from './helpers.js';

/** `x` with every Buffer in it turned into a plain Uint8Array (the engine returns Buffers). */
function plain<T>(x: T): T {
  if (x instanceof Uint8Array) return new Uint8Array(x) as T;
  if (Array.isArray(x)) return x.map(plain) as T;
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)])) as T;
  return x;
}

function engineStorage(engine: Engine): TxnStorage {
  return {
    reader: (): ClosableReader => engine.snapshot(),
    write: async (modifies) => {
      const batch = engine.writeBatch();
      for (const m of modifies) {
        if (m.type === 'put') batch.put(m.cf, m.key, m.value);
        else batch.delete(m.cf, m.key);
      }
      await engine.write(batch);
    },
  };
}

test('over a LevelDB engine: prewrite, read, commit, roll back, resolve, scan', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tskv-txn-'));
  const engine = await Engine.open(dir, { sync: false });
  try {
    const ex = new TxnExecutor(engineStorage(engine));
    const pw = await ex.prewrite({
      mutations: [mutation(1, b(10), Op.Put), mutation(2, b(20), Op.Put), mutation(9, b(90), Op.Put)],
      primaryLock: b(1),
      startVersion: 100n,
      lockTtl: 50n,
    });
    assert.deepEqual(pw.errors, []);
    // Byte-exact records in the engine.
    assert.deepEqual(plain(await engine.get('lock', b(1))), serializeLock({ primary: b(1), kind: WriteKind.Put, ts: 100n, ttl: 50n }));
    assert.deepEqual(plain(await engine.get('default', encodeKey(b(2), 100n))), b(20));
    assert.equal((await ex.get({ key: b(1), version: 150n })).error?.locked?.lockVersion, 100n);

    assert.deepEqual(await ex.commit({ startVersion: 100n, commitVersion: 120n, keys: [b(1), b(2)] }), {});
    assert.deepEqual(plain(await engine.get('write', encodeKey(b(1), 120n))), serializeWrite({ kind: WriteKind.Put, startTs: 100n }));
    assert.deepEqual(plain((await ex.get({ key: b(2), version: 150n })).value), b(20));
    assert.equal((await ex.get({ key: b(2), version: 119n })).notFound, true);

    // A later transaction deletes [2]; one that started before it is rolled back.
    assert.deepEqual(
      (await ex.prewrite({ mutations: [mutation(2, undefined, Op.Del)], primaryLock: b(2), startVersion: 130n, lockTtl: 0n })).errors,
      [],
    );
    assert.deepEqual(await ex.commit({ startVersion: 130n, commitVersion: 131n, keys: [b(2)] }), {});
    assert.deepEqual(await ex.batchRollback({ startVersion: 125n, keys: [b(2)] }), {});

    const scan = await ex.scan({ startKey: b(), limit: 10, version: 200n });
    assert.deepEqual(plain(scan.pairs), [
      { key: b(1), value: b(10) },
      { key: b(9), error: { locked: { primaryLock: b(1), lockVersion: 100n, key: b(9), lockTtl: 50n } } },
    ]);
    // The secondary [9] is resolved after its primary's status is known.
    const status = await ex.checkTxnStatus({ primaryKey: b(1), lockTs: 100n, currentTs: 300n << 18n });
    assert.deepEqual(status, { lockTtl: 0n, commitVersion: 120n, action: Action.NoAction });
    assert.deepEqual(await ex.resolveLock({ startVersion: 100n, commitVersion: 120n }), {});
    assert.deepEqual(plain((await ex.scan({ startKey: b(), limit: 10, version: 200n })).pairs), [
      { key: b(1), value: b(10) },
      { key: b(9), value: b(90) },
    ]);
    assert.equal(ex.latches.size, 0);
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
});
