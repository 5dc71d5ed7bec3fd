// Bad input over a real socket: wrong-typed fields get INVALID_ARGUMENT naming the
// field on every method, keys/values/batches over the configured limits get an error naming the
// limit, a batch with one bad pair writes nothing, writes with an unknown region or a stale
// epoch get region errors and write nothing, and bad limits are refused at configuration.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb, raft_serverpb } from '@tskv/proto';
import { ConfigError, parseConfig } from '../src/config.js';
import { BATCH_COMMANDS_REQUEST, SCHEMAS, wireProblem } from '../src/wire_check.js';
import { call, ctxOf, dec, enc, TestCluster, waitFor } from './helpers.js';
import { RawTinyKv } from './raw_grpc.js';

test('wire check: names the wrong-typed field with its path; skips unknown field numbers', () => {
  // RawPutRequest.key (2) as a varint; context.region_id (1.1) as bytes; cf (4) not UTF-8.
  assert.match(wireProblem(Buffer.from([0x10, 0x05]), SCHEMAS.RawPutRequest)!, /^key: varint where bytes/);
  assert.match(
    wireProblem(Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x41]), SCHEMAS.RawPutRequest)!,
    /^context\.region_id: length-delimited where a varint/,
  );
  assert.match(wireProblem(Buffer.from([0x22, 0x02, 0xff, 0xfe]), SCHEMAS.RawPutRequest)!, /^cf: not valid UTF-8/);
  assert.match(wireProblem(Buffer.from([0x12, 0x05, 0x41]), SCHEMAS.RawPutRequest)!, /^key: 5 bytes, past the end/);
  // requests[1].raw_put.key as a fixed32.
  const frame = Buffer.concat([Buffer.from([0x0a, 0x00]), Buffer.from([0x0a, 0x07, 0x12, 0x05, 0x15, 1, 2, 3, 4])]);
  assert.match(wireProblem(frame, BATCH_COMMANDS_REQUEST)!, /^requests\[1\]\.raw_put\.key: fixed32/);
  // Packed and unpacked request ids are both fine; an unknown field 15 is skipped.
  assert.equal(wireProblem(Buffer.from([0x12, 0x02, 0x01, 0x02, 0x10, 0x03, 0x7a, 0x01, 0x00]), BATCH_COMMANDS_REQUEST), null);
  const valid = kvrpcpb.RawBatchPutRequest.encode({
    context: { regionId: 2, regionEpoch: { confVer: 1, version: 1 }, peer: { id: 3, storeId: 1 } },
    pairs: [{ key: enc('a'), value: enc('b') }],
    cf: 'lock',
  }).finish();
  assert.equal(wireProblem(valid, SCHEMAS.RawBatchPutRequest), null);
});

test('limits are validated at configuration: a request must fit a gRPC message with room to spare', () => {
  assert.equal(parseConfig({ maxKeyBytes: 1024, maxValueBytes: 1 << 20 }).tuning.maxKeyBytes, 1024);
  assert.throws(
    () => parseConfig({ maxRequestBytes: 40 * 1024 * 1024 }),
    (e: unknown) => e instanceof ConfigError && /maxRequestBytes.*at most/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ maxValueBytes: 32 * 1024 * 1024, maxRequestBytes: 16 * 1024 * 1024 }),
    (e: unknown) => e instanceof ConfigError && /maxValueBytes/.test(e.message),
  );
  assert.throws(() => parseConfig({ maxBatchKeys: 0 }), ConfigError);
});

const LIMITS = { maxKeyBytes: 16, maxValueBytes: 64, maxBatchKeys: 4, maxRequestBytes: 200 };

test('bad input over the socket: clear errors, nothing partially written, the server keeps serving', async () => {
  const c = await TestCluster.start(1, { tuning: LIMITS });
  const raw = new RawTinyKv(c.servers[0]!.addr);
  try {
    const s = c.servers[0]!;
    const regionId = Number(c.fake.firstRegion()!.id);
    await waitFor('leader elected', () => s.store.regionStatus()[0]?.isLeader === true);
    const kc = c.clients.get(s.addr);
    const ctx = ctxOf(s, regionId);
    const ctxBytes = kvrpcpb.Context.encode(ctx).finish();
    const get = async (k: string): Promise<kvrpcpb.RawGetResponse> =>
      call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { context: ctx, key: enc(k) });

    // Wrong-typed fields on every unary method: INVALID_ARGUMENT naming the field.
    const withCtx = (rest: number[]): Buffer => Buffer.concat([Buffer.from([0x0a, ctxBytes.length]), ctxBytes, Buffer.from(rest)]);
    const cases: [Parameters<RawTinyKv['unary']>[0], Buffer, RegExp][] = [
      ['rawGet', withCtx([0x10, 0x05]), /RawGetRequest: key: varint/],
      ['rawPut', withCtx([0x12, 0x01, 0x61, 0x18, 0x07]), /RawPutRequest: value: varint/],
      ['rawDelete', withCtx([0x1d, 1, 2, 3, 4]), /RawDeleteRequest: cf: fixed32/],
      ['rawScan', withCtx([0x1a, 0x01, 0x05]), /RawScanRequest: limit: length-delimited/],
      ['rawBatchGet', withCtx([0x10, 0x01]), /RawBatchGetRequest: keys\[0\]: varint/],
      ['rawBatchPut', withCtx([0x12, 0x02, 0x08, 0x01]), /RawBatchPutRequest: pairs\[0\]\.key: varint/],
      ['rawPut', Buffer.from([0x0a, 0x02, 0x08, 0xff]), /RawPutRequest: context\.region_id: truncated varint/],
    ];
    for (const [m, bytes, want] of cases) {
      const o = await raw.unary(m, bytes);
      assert.equal(o.err?.code, grpc.status.INVALID_ARGUMENT, `${m}: ${o.err?.details}`);
      assert.match(o.err!.details, want);
    }
    assert.equal((await get('a')).notFound, true, 'the half-understood put wrote nothing');
    // BatchCommands: the stream ends INVALID_ARGUMENT naming the request and field.
    const bc = await raw.batchCommands([Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12, 0x01, 0x61, 0x0a, 0x04, 0x0a, 0x02, 0x10, 0x09])]);
    assert.equal(bc.err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bc.err!.details, /BatchCommandsRequest: requests\[1\]\.raw_get\.key: varint/);
    // Raft streams drop an undecodable frame alone and finish normally; a snapshot stream fails.
    const before = await s.metrics.value('tskv_malformed_messages_total');
    assert.equal((await raw.clientStream('batchRaft', [Buffer.from([0x0a, 0x05, 0x08])])).err, null);
    assert.equal((await raw.clientStream('raft', [Buffer.from([0x08, 0x80])])).err, null);
    assert.equal(await s.metrics.value('tskv_malformed_messages_total'), before + 2);
    const snap = await raw.clientStream('snapshot', [
      Buffer.from(raft_serverpb.SnapshotChunk.encode({ data: enc('x') }).finish()).subarray(0, 2),
    ]);
    assert.equal(snap.err?.code, grpc.status.INVALID_ARGUMENT, `a truncated snapshot chunk fails the stream: ${snap.err?.details}`);
    assert.match(snap.err.details, /^snapshot rejected: malformed SnapshotChunk: /);

    // Size limits: the error names the limit.
    const big = (n: number): string => 'k'.repeat(n);
    assert.match(
      (await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, key: enc(big(17)), value: enc('v') })).error,
      /key is 17 bytes, over the limit of 16 \(maxKeyBytes\)/,
    );
    assert.match((await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { context: ctx, key: enc(big(17)) })).error, /maxKeyBytes/);
    assert.match(
      (await call<kvrpcpb.RawScanResponse>(kc, 'rawScan', { context: ctx, startKey: enc(big(17)) })).error,
      /start key is 17 bytes.*maxKeyBytes/,
    );
    assert.match(
      (await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, key: enc('k'), value: Buffer.alloc(65) })).error,
      /value is 65 bytes, over the limit of 64 \(maxValueBytes\)/,
    );
    assert.match(
      (await call<kvrpcpb.RawBatchGetResponse>(kc, 'rawBatchGet', { context: ctx, keys: ['a', 'b', 'c', 'd', 'e'].map(enc) })).error,
      /5 keys, over the limit of 4 \(maxBatchKeys\)/,
    );
    // A value at the limit, an empty value: fine.
    assert.equal(
      (await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, key: enc(big(16)), value: Buffer.alloc(64, 1) })).error,
      '',
    );
    assert.equal(
      (await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, key: enc('empty'), value: new Uint8Array(0) })).error,
      '',
    );
    assert.equal((await get('empty')).notFound, false);
    // A batch with one bad pair (or over the request total) writes none of its pairs.
    const pairs = (vals: number[]): kvrpcpb.IKvPair[] => vals.map((n, i) => ({ key: enc(`b${i}`), value: Buffer.alloc(n, 2) }));
    assert.match(
      (await call<kvrpcpb.RawBatchPutResponse>(kc, 'rawBatchPut', { context: ctx, pairs: pairs([1, 1, 65]) })).error,
      /value 2 is 65 bytes.*maxValueBytes/,
    );
    assert.match(
      (
        await call<kvrpcpb.RawBatchPutResponse>(kc, 'rawBatchPut', {
          context: ctx,
          pairs: [
            { key: enc('b0'), value: enc('x') },
            { key: new Uint8Array(0), value: enc('y') },
          ],
        })
      ).error,
      /key 1 must not be empty/,
    );
    assert.match(
      (await call<kvrpcpb.RawBatchPutResponse>(kc, 'rawBatchPut', { context: ctx, pairs: pairs([60, 60, 60, 60]) })).error,
      /over the limit of 200 \(maxRequestBytes\)/,
    );
    for (const k of ['b0', 'b1', 'b2', 'b3']) assert.equal((await get(k)).notFound, true, `${k} was not written`);

    // Writes with an unknown region or a stale epoch: region errors, nothing written.
    const nf = await call<kvrpcpb.RawBatchPutResponse>(kc, 'rawBatchPut', { context: { ...ctx, regionId: 4242 }, pairs: pairs([1, 1]) });
    assert.equal(Number(nf.regionError?.regionNotFound?.regionId), 4242);
    const stale = await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', {
      context: { ...ctx, regionEpoch: { confVer: 0, version: 0 } },
      key: enc('b0'),
      value: enc('x'),
    });
    assert.ok(stale.regionError?.epochNotMatch, JSON.stringify(stale.regionError));
    const staleDel = await call<kvrpcpb.RawDeleteResponse>(kc, 'rawDelete', {
      context: { ...ctx, regionEpoch: { confVer: 1, version: 77 } },
      key: enc('empty'),
    });
    assert.ok(staleDel.regionError?.epochNotMatch);
    assert.equal((await get('b0')).notFound, true);
    assert.equal((await get('empty')).notFound, false, 'the stale delete deleted nothing');

    // Still serving.
    assert.equal((await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, key: enc('ok'), value: enc('yes') })).error, '');
    assert.equal(dec((await get('ok')).value), 'yes');
    assert.equal(s.store.failed, null);
  } finally {
    raw.close();
    await c.stopAll();
  }
});
