// Malformed requests get a clear `error` (or the region error the store produced), never a crash:
// missing context, empty keys, bad column families, unknown regions, stale epochs, garbage bytes
// on every kind of call, nonsense raft messages and snapshot streams.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { eraftpb, type kvrpcpb, raft_serverpb } from '@tskv/proto';
import { call, ctxOf, dec, enc, TestCluster, waitFor } from './helpers.js';

function rawUnary(addr: string, path: string, bytes: Buffer): Promise<grpc.ServiceError | null> {
  const c = new grpc.Client(addr, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    c.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      { deadline: Date.now() + 5000 },
      (err) => {
        c.close();
        resolve(err);
      },
    );
  });
}

function rawClientStream(addr: string, path: string, frames: Buffer[]): Promise<grpc.ServiceError | null> {
  const c = new grpc.Client(addr, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    const s = c.makeClientStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      { deadline: Date.now() + 5000 },
      (err) => {
        c.close();
        resolve(err);
      },
    );
    for (const f of frames) s.write(f);
    s.end();
  });
}

test('malformed requests get errors, garbage gets gRPC errors, and the server keeps serving', async () => {
  const c = await TestCluster.start(1);
  try {
    const s = c.servers[0]!;
    const regionId = Number(c.fake.firstRegion()!.id);
    await waitFor('leader elected', () => s.store.regionStatus()[0]?.isLeader === true);
    const kc = c.clients.get(s.addr);
    const ctx = ctxOf(s, regionId);

    const noCtx = await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { key: enc('a') });
    assert.match(noCtx.error, /missing context/);
    assert.equal(noCtx.regionError, null);
    assert.match(
      (await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: {}, key: enc('a'), value: enc('b') })).error,
      /missing region id/,
    );
    assert.match(
      (await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: { regionId }, key: enc('a'), value: enc('b') })).error,
      /missing region epoch/,
    );
    assert.match((await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, value: enc('b') })).error, /key must not be empty/);
    assert.match(
      (await call<kvrpcpb.RawDeleteResponse>(kc, 'rawDelete', { context: ctx, key: enc('a'), cf: 'raft' })).error,
      /unknown column family 'raft'/,
    );
    assert.match((await call<kvrpcpb.RawScanResponse>(kc, 'rawScan', { context: ctx, cf: 'nope' })).error, /unknown column family 'nope'/);
    assert.match((await call<kvrpcpb.RawBatchGetResponse>(kc, 'rawBatchGet', { context: ctx, keys: [] })).error, /no keys/);
    assert.match(
      (await call<kvrpcpb.RawBatchGetResponse>(kc, 'rawBatchGet', { context: ctx, keys: [enc('a'), new Uint8Array(0)] })).error,
      /key 1 must not be empty/,
    );
    assert.match((await call<kvrpcpb.RawBatchPutResponse>(kc, 'rawBatchPut', { context: ctx, pairs: [] })).error, /no pairs/);
    // Valid cfs: '', default, lock, write.
    for (const cf of ['', 'default', 'lock', 'write']) {
      const r = await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, key: enc('cf-key'), value: enc(cf || 'empty'), cf });
      assert.equal(r.error, '', `cf '${cf}'`);
      assert.equal(r.regionError, null);
    }
    assert.equal(dec((await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { context: ctx, key: enc('cf-key'), cf: 'lock' })).value), 'lock');
    assert.equal(dec((await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { context: ctx, key: enc('cf-key') })).value), 'default');

    // Region errors as the store produces them.
    const nf = await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { context: { ...ctx, regionId: 987654 }, key: enc('a') });
    assert.equal(Number(nf.regionError?.regionNotFound?.regionId), 987654);
    const stale = await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', {
      context: { ...ctx, regionEpoch: { confVer: 1, version: 99 } },
      key: enc('a'),
    });
    assert.ok(stale.regionError?.epochNotMatch, JSON.stringify(stale.regionError));
    assert.equal(Number(stale.regionError.epochNotMatch.currentRegions![0]!.id), regionId);
    const wrongStore = await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', {
      context: { ...ctx, peer: { id: 1, storeId: 777 } },
      key: enc('a'),
    });
    assert.equal(Number(wrongStore.regionError?.storeNotMatch?.requestStoreId), 777);

    // Garbage bytes on unary and streaming calls: gRPC errors, not crashes.
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    // (A hung server would fail these with DEADLINE_EXCEEDED: the code and message must be the refusal.)
    for (const m of ['RawGet', 'RawPut', 'RawScan', 'RawBatchPut']) {
      const err = await rawUnary(s.addr, `/tinykvpb.TinyKv/${m}`, garbage);
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, `${m} with garbage: ${err?.message}`);
      assert.match(err.details, new RegExp(`^malformed ${m}Request: `));
    }
    await rawClientStream(s.addr, '/tinykvpb.TinyKv/BatchRaft', [garbage, garbage]);
    await rawClientStream(s.addr, '/tinykvpb.TinyKv/Raft', [garbage]);
    const snapErr = await rawClientStream(s.addr, '/tinykvpb.TinyKv/Snapshot', [garbage]);
    assert.equal(snapErr?.code, grpc.status.INVALID_ARGUMENT, `a garbage snapshot stream is refused: ${snapErr?.message}`);
    assert.match(snapErr.details, /^snapshot rejected: malformed SnapshotChunk: /);

    // Nonsense raft messages: dropped.
    const me = ctx.peer!;
    const nonsense: raft_serverpb.IRaftMessage[] = [
      {},
      { regionId },
      { regionId, toPeer: { id: 424242, storeId: s.storeId }, message: { msgType: eraftpb.MessageType.MsgHeartbeat, to: 424242, from: 1 } },
      {
        regionId,
        toPeer: me,
        fromPeer: { id: 99, storeId: 99 },
        message: { msgType: 999 as eraftpb.MessageType, to: Number(me.id), from: 99 },
      },
      {
        regionId: 555,
        toPeer: { id: 556, storeId: s.storeId },
        fromPeer: { id: 557, storeId: 9 },
        message: { msgType: eraftpb.MessageType.MsgHeartbeat, to: 556, from: 557 },
      },
      { regionId, toPeer: me, message: { msgType: eraftpb.MessageType.MsgSnapshot, to: Number(me.id) } },
    ];
    const rs = kc.batchRaft((err: grpc.ServiceError | null) => void err);
    rs.write({ msgs: nonsense });
    rs.end();
    const rs1 = kc.raft((err: grpc.ServiceError | null) => void err);
    for (const m of nonsense) rs1.write(m);
    rs1.end();
    // A snapshot stream whose first chunk carries no snapshot, then one that stops mid-way.
    const bogusSnap = await new Promise<grpc.ServiceError | null>((resolve) => {
      const ss = kc.snapshot((err: grpc.ServiceError | null) => resolve(err));
      ss.write({ message: { regionId, toPeer: me, message: { msgType: eraftpb.MessageType.MsgSnapshot } } });
      ss.write({ data: garbage });
      ss.end();
    });
    assert.equal(bogusSnap?.code, grpc.status.DATA_LOSS, `bogus snapshot refused: ${bogusSnap?.message}`);
    assert.match(bogusSnap.details, /^snapshot rejected: invalid first snapshot chunk: the snapshot has no data$/);
    // A plausible first chunk, then the sender goes away: the receive fails and lets go of the key.
    const key = { regionId, term: 77, index: 7777 };
    const snapData = raft_serverpb.RaftSnapshotData.encode({
      region: { id: regionId },
      meta: { cfFiles: [{ cf: 'default', size: 100, checksum: 1, count: 1 }], region: { id: regionId }, index: key.index, term: key.term },
    }).finish();
    const firstChunk = {
      message: {
        regionId,
        toPeer: me,
        fromPeer: { id: 99, storeId: 99 },
        message: {
          msgType: eraftpb.MessageType.MsgSnapshot,
          to: Number(me.id),
          snapshot: { data: snapData, metadata: { index: key.index, term: key.term } },
        },
      },
    };
    const cut = await new Promise<grpc.ServiceError | null>((resolve) => {
      const ss = kc.snapshot((err: grpc.ServiceError | null) => resolve(err));
      ss.write(firstChunk);
      setTimeout(() => ss.cancel(), 300);
    });
    assert.equal(cut?.code, grpc.status.CANCELLED);
    await waitFor('the receiver gave up the cut stream', () => s.store.stats().snapshotsInUse.receiving === 0, 5000);
    // The same with garbage instead of the archive: refused as corrupt.
    const corrupt = await new Promise<grpc.ServiceError | null>((resolve) => {
      const ss = kc.snapshot((err: grpc.ServiceError | null) => resolve(err));
      ss.write(firstChunk);
      ss.write({ data: Buffer.alloc(2048, 7) });
      ss.end();
    });
    assert.ok(
      corrupt && (corrupt.code === grpc.status.DATA_LOSS || corrupt.code === grpc.status.INTERNAL),
      `corrupt archive refused: ${corrupt?.message}`,
    );
    assert.equal(s.store.stats().snapshotsInUse.receiving, 0);

    // BatchCommands with an empty request, missing ids and a bad request: answered, stream alive.
    const bs = kc.batchCommands();
    bs.on('error', () => undefined);
    const got: kvrpcpb.BatchCommandsResponse[] = [];
    bs.on('data', (b: kvrpcpb.BatchCommandsResponse) => got.push(b));
    bs.write({ requestIds: [1], requests: [{}, { rawGet: { key: enc('x') } }] });
    bs.write({ requestIds: [3], requests: [{ rawPut: { context: ctx, key: enc('still'), value: enc('alive') } }] });
    await waitFor('three answers', () => got.reduce((n, b) => n + b.responses.length, 0) === 3);
    const flat = got.flatMap((b) => b.responses.map((r, i) => ({ id: Number(b.requestIds[i]), r })));
    assert.ok(flat.some((x) => x.r.rawGet?.error === 'missing context'));
    assert.ok(flat.some((x) => x.id === 3 && x.r.rawPut && !x.r.rawPut.regionError && !x.r.rawPut.error));
    bs.end();

    // Still serving, the store healthy.
    const ok = await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { context: ctxOf(s, regionId), key: enc('still') });
    assert.equal(dec(ok.value), 'alive');
    assert.equal(s.store.failed, null);
    assert.equal(s.store.regionStatus().length, 1, 'no peer was created by nonsense');
  } finally {
    await c.stopAll();
  }
});
