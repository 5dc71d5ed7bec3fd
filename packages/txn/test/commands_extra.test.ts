// What TinyKV leaves untested: the TTL boundary, retried prewrites, scans over locks, and
// malformed requests. Same harness as the ported tests (validation hook, leak checks).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Action,
  encodeKey,
  type GetRequest,
  kvCommit,
  kvPrewrite,
  MemStorage,
  type Mutation,
  MvccTxn,
  Op,
  type PrewriteRequest,
  Scanner,
  type ScanRequest,
  serializeLock,
  serializeWrite,
  TS_MAX,
  WriteKind,
} from '../src/index.js';
import { b, type KV, mutation, newBuilder, resolveRequest, writeBytes } from './helpers.js';

const MS = 1n << 18n; // one millisecond of TSO time

/** A CheckTxnStatus on [3] of a Put lock at `lockTs` with `ttl`, at `currentTs`. */
async function checkAt(lockTs: bigint, ttl: bigint, currentTs: bigint) {
  const builder = newBuilder();
  builder.init([
    { cf: 'default', key: b(3), ts: lockTs, value: b(42) },
    { cf: 'lock', key: b(3), value: serializeLock({ primary: b(3), kind: WriteKind.Put, ts: lockTs, ttl }) },
  ]);
  const resp = await builder.checkTxnStatus({ primaryKey: b(3), lockTs, currentTs });
  return { builder, resp };
}

test('CheckTxnStatus: a lock is live up to exactly its TTL and expires one millisecond later', async () => {
  const lockTs = 1000n * MS + 5n; // physical 1000 ms, logical 5
  // physical(current) = 1008 = physical(lock) + ttl: not expired, whatever the logical part.
  const atExpiry = await checkAt(lockTs, 8n, 1008n * MS + (MS - 1n));
  assert.equal(atExpiry.resp.action, Action.NoAction);
  assert.equal(atExpiry.resp.lockTtl, 8n);
  atExpiry.builder.assertLens(1, 1, 0);
  atExpiry.builder.assert([{ cf: 'lock', key: b(3) }]);

  // One millisecond past: rolled back.
  const past = await checkAt(lockTs, 8n, 1009n * MS);
  assert.equal(past.resp.action, Action.TTLExpireRollback);
  assert.equal(past.resp.lockTtl, 0n);
  assert.equal(past.resp.commitVersion, 0n);
  past.builder.assertLens(0, 0, 1);
  past.builder.assert([{ cf: 'write', key: b(3), ts: lockTs, value: serializeWrite({ kind: WriteKind.Rollback, startTs: lockTs }) }]);
});

test('CheckTxnStatus: another transaction’s lock on the primary is left alone', async () => {
  const builder = newBuilder();
  const other = serializeLock({ primary: b(3), kind: WriteKind.Put, ts: 50n, ttl: 0n });
  builder.init([{ cf: 'lock', key: b(3), value: other }]);
  const resp = await builder.checkTxnStatus({ primaryKey: b(3), lockTs: 100n, currentTs: 1n << 40n });
  assert.equal(resp.action, Action.LockNotExistRollback);
  builder.assertLens(0, 1, 1);
  builder.assert([
    { cf: 'lock', key: b(3) },
    { cf: 'write', key: b(3), ts: 100n, value: writeBytes(3, 100) },
  ]);
});

test('Prewrite retried by the same transaction: no error, nothing rewritten', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put), mutation(4, undefined, Op.Del));
  cmd.lockTtl = 3000n;
  assert.deepEqual((await builder.prewrite(cmd)).errors, []);
  const lock3 = builder.mem.get('lock', b(3));
  assert.deepEqual(lock3, serializeLock({ primary: b(1), kind: WriteKind.Put, ts: 100n, ttl: 3000n }));

  // The retry finds its own locks: it succeeds and has nothing to write.
  const reader = builder.mem.reader();
  const again = await kvPrewrite(reader, cmd);
  reader.close();
  assert.deepEqual(again.response.errors, []);
  assert.deepEqual(again.modifies, []);
  assert.deepEqual((await builder.prewrite(cmd)).errors, []);
  builder.assertLens(1, 2, 0);
  assert.deepEqual(builder.mem.get('lock', b(3)), lock3);
  assert.deepEqual(builder.mem.get('default', encodeKey(b(3), 100n)), b(42));
});

test('Prewrite after its transaction was rolled back: a conflict (the rollback record), nothing written', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(42), Op.Put));
  assert.equal((await builder.rollback({ startVersion: cmd.startVersion, keys: [b(3)] })).error, undefined);
  const resp = await builder.prewrite(cmd);
  assert.equal(resp.errors.length, 1);
  assert.deepEqual(resp.errors[0]!.conflict, { startTs: 100n, conflictTs: 100n, key: b(3), primary: b(1) });
  builder.assertLens(0, 0, 1);
});

test('Prewrite: every conflicting or locked key is reported, and nothing is written', async () => {
  const builder = newBuilder();
  const cmd = builder.prewriteRequest(mutation(3, b(1), Op.Put), mutation(4, b(2), Op.Put), mutation(5, b(3), Op.Put));
  builder.init([
    { cf: 'write', key: b(3), ts: 120n, value: writeBytes(1, 110) },
    { cf: 'lock', key: b(5), value: serializeLock({ primary: b(5), kind: WriteKind.Put, ts: 90n, ttl: 7n }) },
  ]);
  const resp = await builder.prewrite(cmd);
  assert.deepEqual(resp.errors, [
    { conflict: { startTs: 100n, conflictTs: 120n, key: b(3), primary: b(1) } },
    { locked: { primaryLock: b(5), lockVersion: 90n, key: b(5), lockTtl: 7n } },
  ]);
  builder.assertLens(0, 1, 1);
});

test('Prewrite of a Del then a Put of the same key in one request: the last mutation wins', async () => {
  const builder = newBuilder();
  const resp = await builder.prewrite(builder.prewriteRequest(mutation(4, b(9), Op.Put), mutation(4, undefined, Op.Del)));
  assert.deepEqual(resp.errors, []);
  // A Del writes no value, and the earlier Put's value is not written either.
  builder.assertLens(0, 1, 0);
  assert.deepEqual(builder.mem.get('lock', b(4)), serializeLock({ primary: b(1), kind: WriteKind.Delete, ts: 100n, ttl: 0n }));
});

test('Get: a lock at exactly the read ts blocks, one just after does not; rollback records are read past', async () => {
  const builder = newBuilder();
  builder.init([
    { cf: 'default', key: b(5), ts: 80n, value: b(50) },
    { cf: 'write', key: b(5), ts: 90n, value: writeBytes(1, 80) },
    // A rolled back transaction at 95 left a record newer than the value.
    { cf: 'write', key: b(5), ts: 95n, value: writeBytes(3, 95) },
    { cf: 'lock', key: b(5), value: serializeLock({ primary: b(5), kind: WriteKind.Put, ts: 120n, ttl: 0n }) },
  ]);
  assert.deepEqual(await builder.get({ key: b(5), version: 100n }), { value: b(50), notFound: false });
  assert.deepEqual(await builder.get({ key: b(5), version: 119n }), { value: b(50), notFound: false });
  assert.equal((await builder.get({ key: b(5), version: 120n })).error?.locked?.lockVersion, 120n);
  // The scanner applies the same two rules.
  assert.deepEqual((await builder.scan({ startKey: b(), limit: 5, version: 119n })).pairs, [{ key: b(5), value: b(50) }]);
  assert.ok((await builder.scan({ startKey: b(), limit: 5, version: 120n })).pairs[0]?.error?.locked);
});

/** Values of [2] and [4] committed 80→90; a lock on [3] (no write), a lock on [4]. */
function lockedScanBuilder(lock3Ts: bigint, lock4Ts: bigint) {
  const builder = newBuilder();
  builder.init([
    { cf: 'default', key: b(2), ts: 80n, value: b(20) },
    { cf: 'write', key: b(2), ts: 90n, value: writeBytes(1, 80) },
    { cf: 'default', key: b(4), ts: 80n, value: b(40) },
    { cf: 'write', key: b(4), ts: 90n, value: writeBytes(1, 80) },
    { cf: 'lock', key: b(3), value: serializeLock({ primary: b(3), kind: WriteKind.Put, ts: lock3Ts, ttl: 5n }) },
    { cf: 'lock', key: b(4), value: serializeLock({ primary: b(3), kind: WriteKind.Put, ts: lock4Ts, ttl: 5n }) },
  ]);
  return builder;
}

test('Scan: a key with only a blocking lock gives a pair with error.locked; the scan goes on', async () => {
  const builder = lockedScanBuilder(95n, 95n);
  const resp = await builder.scan({ startKey: b(), limit: 10, version: 100n });
  assert.deepEqual(resp.pairs, [
    { key: b(2), value: b(20) },
    { key: b(3), error: { locked: { primaryLock: b(3), lockVersion: 95n, key: b(3), lockTtl: 5n } } },
    { key: b(4), error: { locked: { primaryLock: b(3), lockVersion: 95n, key: b(4), lockTtl: 5n } } },
  ]);
  // Error pairs count toward the limit.
  const limited = await builder.scan({ startKey: b(), limit: 2, version: 100n });
  assert.deepEqual(
    limited.pairs.map((p) => [p.key[0], p.error ? 'locked' : p.value?.[0]]),
    [
      [2, 20],
      [3, 'locked'],
    ],
  );
});

test('Scan: locks newer than the scan do not block; a lock-only key is then skipped', async () => {
  const builder = lockedScanBuilder(101n, 150n);
  const resp = await builder.scan({ startKey: b(), limit: 10, version: 100n });
  assert.deepEqual(resp.pairs, [
    { key: b(2), value: b(20) },
    { key: b(4), value: b(40) },
  ]);
});

test('Scan at TsMax: only primary locks block', async () => {
  const builder = lockedScanBuilder(95n, 95n); // [3] is its own primary, [4] is a secondary
  const resp = await builder.scan({ startKey: b(), limit: 10, version: TS_MAX });
  assert.deepEqual(
    resp.pairs.map((p) => [p.key[0], p.error?.locked ? 'locked' : p.value?.[0]]),
    [
      [2, 20],
      [3, 'locked'],
      [4, 40],
    ],
  );
  // The same rule in Get.
  assert.ok((await builder.get({ key: b(3), version: TS_MAX })).error?.locked);
  assert.deepEqual((await builder.get({ key: b(4), version: TS_MAX })).value, b(40));
});

test('Scan: keys with many versions on either side of the read ts (the re-seek path)', async () => {
  const builder = newBuilder();
  const kvs: KV[] = [];
  for (let i = 1; i <= 40; i++) {
    // Key [7] committed at 10i+5 from start 10i, value i; key [8] only versions after the read.
    const put = (startTs: number) => serializeWrite({ kind: WriteKind.Put, startTs: BigInt(startTs) });
    kvs.push({ cf: 'default', key: b(7), ts: BigInt(10 * i), value: b(i) });
    kvs.push({ cf: 'write', key: b(7), ts: BigInt(10 * i + 5), value: put(10 * i) });
    kvs.push({ cf: 'default', key: b(8), ts: BigInt(1000 + i), value: b(100 + i) });
    kvs.push({ cf: 'write', key: b(8), ts: BigInt(1000 + i), value: put(1000 + i) });
    // Rollback records between the versions of [7] are skipped.
    const rollbackTs = BigInt(10 * i + 7);
    kvs.push({ cf: 'write', key: b(7), ts: rollbackTs, value: serializeWrite({ kind: WriteKind.Rollback, startTs: rollbackTs }) });
  }
  kvs.push({ cf: 'default', key: b(9), ts: 1n, value: b(99) }, { cf: 'write', key: b(9), ts: 2n, value: writeBytes(1, 1) });
  builder.init(kvs);
  for (const [version, expect7] of [
    [206n, 20],
    [205n, 20],
    [204n, 19],
    [16n, 1],
    [409n, 40],
  ] as const) {
    const resp = await builder.scan({ startKey: b(), limit: 10, version });
    assert.deepEqual(
      resp.pairs.map((p) => [p.key[0], p.value?.[0]]),
      [
        [7, expect7],
        [9, 99],
      ],
      `at ${version}`,
    );
  }
  const resp = await builder.scan({ startKey: b(), limit: 10, version: 1040n });
  assert.deepEqual(
    resp.pairs.map((p) => [p.key[0], p.value?.[0]]),
    [
      [7, 40],
      [8, 140],
      [9, 99],
    ],
  );
  // The scanner did jump: more than one scan of the write CF for one pass.
  const reader = builder.mem.reader();
  const scanner = new Scanner(b(), new MvccTxn(reader, 16n));
  assert.deepEqual(await scanner.next(), { key: b(7), value: b(1) });
  assert.ok(scanner.writeSeeks > 1, `re-seeks: ${scanner.writeSeeks}`);
  await scanner.close();
  reader.close();
  // At 10: nothing of [7] is visible yet.
  assert.deepEqual(
    (await builder.scan({ startKey: b(), limit: 10, version: 10n })).pairs.map((p) => p.key[0]),
    [9],
  );
});

test('Commit: commit_version below or equal to start_version is refused, nothing written', async () => {
  for (const commitVersion of [99n, 100n]) {
    const builder = newBuilder();
    builder.init([
      { cf: 'default', key: b(3), ts: 100n, value: b(42) },
      { cf: 'lock', key: b(3), value: serializeLock({ primary: b(3), kind: WriteKind.Put, ts: 100n, ttl: 0n }) },
    ]);
    const resp = await builder.commit({ startVersion: 100n, commitVersion, keys: [b(3)] });
    assert.match(resp.error?.abort ?? '', /invalid request: commitVersion .* must be greater than startVersion 100/);
    builder.assertLens(1, 1, 0);
    builder.assert([{ cf: 'lock', key: b(3) }]);
    // The pure command refuses it too.
    const reader = builder.mem.reader();
    const r = await kvCommit(reader, { startVersion: 100n, commitVersion, keys: [b(3)] });
    reader.close();
    assert.ok(r.response.error?.abort);
    assert.deepEqual(r.modifies, []);
  }
  // ResolveLock: 0 means roll back; anything else must be above start_version.
  const builder = newBuilder();
  assert.match((await builder.resolve(resolveRequest(100n, 50n))).error?.abort ?? '', /must be greater/);
});

test('Requests with a timestamp outside u64 (or not a bigint) are refused, nothing written', async () => {
  const builder = newBuilder();
  const big = 1n << 64n;
  const asTs = (x: unknown) => x as bigint;
  assert.match((await builder.get({ key: b(1), version: big })).error?.abort ?? '', /version must be in \[0, 2\^64\)/);
  assert.match((await builder.get({ key: b(1), version: asTs(100) })).error?.abort ?? '', /version must be a bigint/);
  const scan = await builder.scan({ startKey: b(), limit: 1, version: -1n });
  assert.deepEqual(scan.pairs, []);
  assert.match(scan.error?.abort ?? '', /version/);
  const pw = await builder.prewrite({ mutations: [mutation(1, b(1), Op.Put)], primaryLock: b(1), startVersion: big, lockTtl: 0n });
  assert.match(pw.errors[0]?.abort ?? '', /startVersion/);
  const ttl = await builder.prewrite({ mutations: [mutation(1, b(1), Op.Put)], primaryLock: b(1), startVersion: 5n, lockTtl: big });
  assert.match(ttl.errors[0]?.abort ?? '', /lockTtl/);
  assert.match((await builder.commit({ startVersion: 1n, commitVersion: big, keys: [b(1)] })).error?.abort ?? '', /commitVersion/);
  assert.match((await builder.rollback({ startVersion: -5n, keys: [b(1)] })).error?.abort ?? '', /startVersion/);
  const cts = await builder.checkTxnStatus({ primaryKey: b(1), lockTs: 1n, currentTs: big });
  assert.match(cts.error?.abort ?? '', /currentTs/);
  assert.equal(cts.action, Action.NoAction);
  assert.match((await builder.resolve({ startVersion: big, commitVersion: 0n })).error?.abort ?? '', /startVersion/);
  builder.assertLens(0, 0, 0);
});

test('Prewrite with an unknown, Lock or Rollback op is refused as a whole, nothing written', async () => {
  for (const [op, message] of [
    [7, /mutations\[1\]: unknown op 7/],
    [Op.Lock, /mutations\[1\]: op Lock is not supported/],
    [Op.Rollback, /mutations\[1\]: op Rollback cannot be prewritten/],
  ] as const) {
    const builder = newBuilder();
    const bad: Mutation = { op: op as Op, key: b(4), value: b(1) };
    const resp = await builder.prewrite(builder.prewriteRequest(mutation(3, b(42), Op.Put), bad));
    assert.equal(resp.errors.length, 1);
    assert.match(resp.errors[0]!.abort ?? '', message);
    builder.assertLens(0, 0, 0);
  }
});

test('Missing keys, values and bad limits are refused with a clear message', async () => {
  const builder = newBuilder();
  const missing = undefined as unknown as Uint8Array;
  assert.match((await builder.get({ key: missing, version: 1n } as GetRequest)).error?.abort ?? '', /key must be a Uint8Array/);
  const noKey = { op: Op.Put, value: b(1) } as unknown as Mutation;
  const pw = await builder.prewrite({ mutations: [noKey], primaryLock: b(1), startVersion: 5n, lockTtl: 0n } as PrewriteRequest);
  assert.match(pw.errors[0]?.abort ?? '', /mutations\[0\]\.key must be a Uint8Array/);
  const noValue = await builder.prewrite({ mutations: [{ op: Op.Put, key: b(1) }], primaryLock: b(1), startVersion: 5n, lockTtl: 0n });
  assert.match(noValue.errors[0]?.abort ?? '', /value \(a Put\) must be a Uint8Array/);
  const noPrimary = await builder.prewrite({ mutations: [], primaryLock: missing, startVersion: 5n, lockTtl: 0n });
  assert.match(noPrimary.errors[0]?.abort ?? '', /primaryLock/);
  assert.match((await builder.commit({ startVersion: 1n, commitVersion: 2n, keys: [b(1), missing] })).error?.abort ?? '', /keys\[1\]/);
  assert.match(
    (await builder.rollback({ startVersion: 1n, keys: undefined as unknown as Uint8Array[] })).error?.abort ?? '',
    /keys must be an array/,
  );
  assert.match((await builder.checkTxnStatus({ primaryKey: missing, lockTs: 1n, currentTs: 2n })).error?.abort ?? '', /primaryKey/);
  for (const limit of [-1, 1.5, 2 ** 32, Number.NaN]) {
    const resp = await builder.scan({ startKey: b(), limit, version: 1n } as ScanRequest);
    assert.match(resp.error?.abort ?? '', /limit must be an integer/);
  }
  builder.assertLens(0, 0, 0);
});

test('A whole transaction: prewrite, commit the primary, resolve the secondary, read it back', async () => {
  const builder = newBuilder();
  const pw = await builder.prewrite({
    mutations: [mutation(1, b(10), Op.Put), mutation(2, b(20), Op.Put), mutation(3, undefined, Op.Del)],
    primaryLock: b(1),
    startVersion: 100n,
    lockTtl: 10n,
  });
  assert.deepEqual(pw.errors, []);
  // A reader at 110 meets the lock.
  assert.equal((await builder.get({ key: b(2), version: 110n })).error?.locked?.lockVersion, 100n);
  // Commit only the primary (the client crashed before the secondaries).
  assert.equal((await builder.commit({ startVersion: 100n, commitVersion: 105n, keys: [b(1)] })).error, undefined);
  // The reader checks the primary: committed at 105, so it resolves the transaction's other locks.
  const status = await builder.checkTxnStatus({ primaryKey: b(1), lockTs: 100n, currentTs: 110n });
  assert.deepEqual(status, { lockTtl: 0n, commitVersion: 105n, action: Action.NoAction });
  assert.equal((await builder.resolve({ startVersion: 100n, commitVersion: 105n })).error, undefined);
  builder.assertLens(2, 0, 3);
  assert.deepEqual((await builder.get({ key: b(2), version: 110n })).value, b(20));
  assert.equal((await builder.get({ key: b(3), version: 110n })).notFound, true);
  assert.equal((await builder.get({ key: b(2), version: 104n })).notFound, true);
  const scan = await builder.scan({ startKey: b(), limit: 10, version: 200n });
  assert.deepEqual(
    scan.pairs.map((p) => [p.key[0], p.value?.[0]]),
    [
      [1, 10],
      [2, 20],
    ],
  );
  // A second transaction that started before the commit conflicts on the committed keys.
  const late = await builder.prewrite({ mutations: [mutation(2, b(21), Op.Put)], primaryLock: b(2), startVersion: 103n, lockTtl: 0n });
  assert.equal(late.errors[0]?.conflict?.conflictTs, 105n);
});

test('MemStorage: readers are snapshots; a command write is never fresh', async () => {
  const mem = new MemStorage();
  mem.set('default', b(1), b(1));
  const before = mem.reader();
  await mem.write([
    { type: 'put', cf: 'default', key: b(1), value: b(1) },
    { type: 'put', cf: 'default', key: b(2), value: b(2) },
  ]);
  assert.equal(mem.hasChanged('default', b(1)), true, 'rewriting identical bytes counts as a change');
  assert.equal(await before.get('default', b(2)), undefined);
  const after = mem.reader();
  assert.deepEqual(await after.get('default', b(2)), b(2));
  before.close();
  after.close();
  assert.equal(mem.openReaders, 0);
});

test('MemStorage: closing a reader with an iterator still open throws; a finished or returned one is fine', async () => {
  const mem = new MemStorage();
  mem.set('lock', b(1), b(1));
  mem.set('lock', b(2), b(2));
  const r1 = mem.reader();
  for await (const _ of r1.scan('lock', b())) break; // return() releases it
  const it = r1.scan('lock', b(), b(2))[Symbol.asyncIterator]();
  assert.equal((await it.next()).done, false);
  assert.equal((await it.next()).done, true); // the end releases it
  r1.close();
  const r2 = mem.reader();
  const open = r2.scan('lock', b())[Symbol.asyncIterator]();
  await open.next();
  assert.throws(() => r2.close(), /reader closed with 1 open iterator/);
  await assert.rejects(r2.get('lock', b(1)), /closed reader/);
});
