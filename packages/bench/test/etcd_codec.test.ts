// The handwritten etcd codec against protobufjs loading the same schema (src/etcd/proto.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import * as codec from '../src/etcd/codec.js';
import { ETCD_PROTO } from '../src/etcd/proto.js';

const root = protobuf.parse(ETCD_PROTO, { keepCase: false }).root;
const T = (n: string): protobuf.Type => root.lookupType(`etcdserverpb.${n}`);
const b = (s: string): Uint8Array => Buffer.from(s);
const big = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);
const long = (x: unknown): string => String(x);

test('PutRequest and RangeRequest decode with protobufjs', () => {
  const put = T('PutRequest').decode(codec.encodePutRequest(b('bench/00000001'), big(1024))) as unknown as {
    key: Uint8Array;
    value: Uint8Array;
  };
  assert.deepEqual(Buffer.from(put.key), Buffer.from('bench/00000001'));
  assert.deepEqual(Buffer.from(put.value), Buffer.from(big(1024)));
  const empty = T('PutRequest').decode(codec.encodePutRequest(b('k'), new Uint8Array(0))) as unknown as { value: Uint8Array };
  assert.equal(empty.value.length, 0);
  const r = T('RangeRequest').toObject(
    T('RangeRequest').decode(codec.encodeRangeRequest(b('a'), { rangeEnd: b('z'), limit: 300, serializable: true })),
    { longs: String },
  );
  assert.deepEqual(
    { ...r, key: Buffer.from(r.key).toString(), rangeEnd: Buffer.from(r.rangeEnd).toString() },
    { key: 'a', rangeEnd: 'z', limit: '300', serializable: true },
  );
  const lin = T('RangeRequest').toObject(T('RangeRequest').decode(codec.encodeRangeRequest(b('a'))), { defaults: true });
  assert.equal(lin.serializable, false, 'linearizable by default');
  // The bytes are what protobufjs itself writes.
  assert.deepEqual(
    Buffer.from(codec.encodeRangeRequest(b('a'), { limit: 2, serializable: true })),
    Buffer.from(
      T('RangeRequest')
        .encode({ key: b('a'), limit: 2, serializable: true })
        .finish(),
    ),
  );
});

test('TxnRequest of puts decodes with protobufjs, byte for byte', () => {
  const keys = Array.from({ length: 64 }, (_, i) => b(`bench/${String(i).padStart(8, '0')}`));
  const values = keys.map((_, i) => big(i === 3 ? 0 : 100 + i));
  const enc = codec.encodeTxnPuts(keys, values);
  const m = T('TxnRequest').decode(enc) as unknown as {
    success: { requestPut: { key: Uint8Array; value: Uint8Array } }[];
    compare: unknown[];
  };
  assert.equal(m.compare.length, 0);
  assert.equal(m.success.length, 64);
  m.success.forEach((op, i) => {
    assert.deepEqual(Buffer.from(op.requestPut.key), Buffer.from(keys[i]!));
    assert.deepEqual(Buffer.from(op.requestPut.value), Buffer.from(values[i]!));
  });
  const ref = T('TxnRequest')
    .encode({ success: keys.map((key, i) => ({ requestPut: { key, value: values[i] } })) })
    .finish();
  assert.deepEqual(Buffer.from(enc), Buffer.from(ref));
  assert.throws(() => codec.encodeTxnPuts([b('a')], []));
});

test('CompactionRequest and StatusRequest', () => {
  const c = T('CompactionRequest').toObject(T('CompactionRequest').decode(codec.encodeCompactionRequest(2 ** 40 + 5, true)), {
    longs: String,
  });
  assert.deepEqual(c, { revision: String(2 ** 40 + 5), physical: true });
  assert.equal(codec.encodeStatusRequest().length, 0);
  assert.throws(() => codec.encodeCompactionRequest(-1, false));
});

const header = { clusterId: '18446744073709551615', memberId: '9830162569950760195', revision: 123456789, raftTerm: 7 };

function checkHeader(h: codec.ResponseHeader | null): void {
  assert.ok(h);
  assert.equal(h.clusterId, 18446744073709551615n, 'uint64 ids are exact (bigint)');
  assert.equal(h.memberId, 9830162569950760195n);
  assert.equal(h.revision, 123456789);
  assert.equal(h.raftTerm, 7n);
}

test('RangeResponse, PutResponse, TxnResponse from protobufjs decode with the codec', () => {
  const kv = { key: b('bench/00000042'), createRevision: 10, modRevision: 2 ** 35, version: 3, value: big(1024), lease: 0 };
  const range = T('RangeResponse')
    .encode({ header, kvs: [kv, { ...kv, key: b('k2'), value: b('') }], more: true, count: 2 })
    .finish();
  const r = codec.decodeRangeResponse(range);
  checkHeader(r.header);
  assert.equal(r.kvs.length, 2);
  assert.deepEqual(Buffer.from(r.kvs[0]!.key), Buffer.from(kv.key));
  assert.deepEqual(Buffer.from(r.kvs[0]!.value), Buffer.from(kv.value));
  assert.equal(r.kvs[0]!.modRevision, 2 ** 35);
  assert.equal(r.kvs[0]!.version, 3);
  assert.equal(r.kvs[1]!.value.length, 0);
  assert.equal(r.more, true);
  assert.equal(r.count, 2);
  assert.deepEqual(codec.decodeRangeResponse(T('RangeResponse').encode({ header }).finish()).kvs, []);

  const put = codec.decodePutResponse(T('PutResponse').encode({ header, prevKv: kv }).finish());
  checkHeader(put.header);
  assert.deepEqual(Buffer.from(put.prevKv!.key), Buffer.from(kv.key));
  assert.equal(codec.decodePutResponse(T('PutResponse').encode({ header }).finish()).prevKv, null);

  const txn = codec.decodeTxnResponse(
    T('TxnResponse')
      .encode({ header, succeeded: true, responses: [{ responsePut: { header } }, { responseRange: { kvs: [kv] } }] })
      .finish(),
  );
  checkHeader(txn.header);
  assert.equal(txn.succeeded, true);
  assert.equal(txn.responses.length, 2);
  checkHeader(txn.responses[0]!.responsePut!.header);
  assert.equal(txn.responses[1]!.responseRange!.kvs.length, 1);
  assert.equal(codec.decodeTxnResponse(T('TxnResponse').encode({ header }).finish()).succeeded, false);
});

test('StatusResponse and CompactionResponse; unknown fields are skipped', () => {
  const s = codec.decodeStatusResponse(
    T('StatusResponse')
      .encode({
        header,
        version: '3.4.23',
        dbSize: 20480,
        leader: '9830162569950760195',
        raftIndex: 99,
        raftTerm: 2,
        raftAppliedIndex: 98,
        errors: ['e1'],
        dbSizeInUse: 16384,
        isLearner: false,
      })
      .finish(),
  );
  checkHeader(s.header);
  assert.equal(s.version, '3.4.23');
  assert.equal(s.dbSize, 20480);
  assert.equal(s.leader, 9830162569950760195n);
  assert.equal(s.raftIndex, 99);
  assert.deepEqual(s.errors, ['e1']);
  checkHeader(codec.decodeCompactionResponse(T('CompactionResponse').encode({ header }).finish()).header);
  // A field this codec does not know (a newer etcd): a varint 15, a fixed64 16, a string 17, a fixed32 18.
  const w = protobuf.Writer.create();
  w.uint32((15 << 3) | 0).uint64(long(2 ** 60));
  w.uint32((16 << 3) | 1).fixed64(5);
  w.uint32((17 << 3) | 2).string('future');
  w.uint32((18 << 3) | 5).fixed32(9);
  const known = T('PutResponse').encode({ header }).finish();
  const withUnknown = Buffer.concat([Buffer.from(w.finish()), Buffer.from(known)]);
  checkHeader(codec.decodePutResponse(withUnknown).header);
  assert.throws(() => codec.decodeRangeResponse(Buffer.from([0x12, 0x05, 0x01])), /truncated/);
});

test('TxnRequest of ranges and of compared puts: byte for byte with protobufjs', () => {
  const keys = [b('bench/00000001'), b('bench/00019999'), b('bench/00000500'), b('k')];
  const ranges = codec.encodeTxnRanges(keys);
  const refRanges = T('TxnRequest')
    .encode({ success: keys.map((key) => ({ requestRange: { key } })) })
    .finish();
  assert.deepEqual(Buffer.from(ranges), Buffer.from(refRanges));
  const rr = T('RangeRequest').toObject(
    (T('TxnRequest').decode(ranges) as unknown as { success: { requestRange: protobuf.Message }[] }).success[1]!.requestRange,
    { defaults: true },
  );
  assert.equal(rr.serializable, false, 'linearizable reads');

  // Revisions: absent (0), small, and past 2^32.
  const revs = [0, 5, 2 ** 40 + 3, 127];
  const values = [big(100), big(0), big(1024), big(1)];
  const enc = codec.encodeTxnPutsIfModRevisions(keys, revs, values);
  const ref = T('TxnRequest')
    .encode({
      compare: keys.map((key, i) => ({ target: 2, key, modRevision: revs[i] })),
      success: keys.map((key, i) => ({ requestPut: { key, value: values[i] } })),
    })
    .finish();
  assert.deepEqual(Buffer.from(enc), Buffer.from(ref));
  const m = T('TxnRequest').toObject(T('TxnRequest').decode(enc), { longs: String, enums: String, defaults: true, oneofs: true });
  assert.deepEqual(
    m.compare.map((c: { result: string; target: string; modRevision: string; targetUnion: string }) => [
      c.result,
      c.target,
      c.modRevision,
      c.targetUnion,
    ]),
    revs.map((r) => ['EQUAL', 'MOD', String(r), 'modRevision']),
    'mod_revision == rev, set even when 0 (a oneof)',
  );
  assert.equal(m.failure.length, 0, 'nothing on failure');
  assert.throws(() => codec.encodeTxnPutsIfModRevisions(keys, [1], values));
  assert.throws(() => codec.encodeTxnPutsIfModRevisions([b('a')], [-1], [b('v')]));
});
