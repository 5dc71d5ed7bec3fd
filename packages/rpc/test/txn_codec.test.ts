// The lossless codec of the transactional messages: round trips at u64 extremes, the generated
// code's bytes for values it can hold, refusals at encode and decode naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kvrpcpb } from '@tskv/proto';
import { type KvPrewriteResponse, Op, TxnCodecError, type TxnMessageCodec, txnCodec } from '../src/index.js';
import {
  bigintPaths,
  CONTEXT,
  k,
  pathName,
  plain,
  samples,
  TIMESTAMPS,
  type TxnName,
  toNumbers,
  U64_MAX,
  withValue,
} from './txn_samples.js';

const NAMES = Object.keys(txnCodec) as TxnName[];
const codec = (name: TxnName): TxnMessageCodec<Record<string, unknown>> =>
  txnCodec[name] as unknown as TxnMessageCodec<Record<string, unknown>>;
/** The generated message class of the same name. */
const generated = (name: TxnName) =>
  kvrpcpb[name] as unknown as {
    encode(m: unknown): { finish(): Uint8Array };
    decode(b: Uint8Array): { toJSON(): Record<string, unknown> };
  };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const refused = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof TxnCodecError && re.test(e.message));

test('every message round-trips with timestamps 0, 2^53+1 and 2^64-1, bigints exact', () => {
  for (const t of TIMESTAMPS) {
    for (const name of NAMES) {
      const m = samples(t)[name];
      const back = codec(name).decode(codec(name).encode(m));
      assert.deepEqual(plain(back), m, `${name} at ${t}`);
    }
  }
  // The timestamps did reach the wire (a codec dropping them would still round-trip 0).
  const b = txnCodec.GetRequest.encode({ key: k('g'), version: U64_MAX });
  assert.equal(hex(b), `1201${hex(k('g'))}18ffffffffffffffffff01`);
  assert.equal(txnCodec.GetRequest.decode(b).version, U64_MAX);
});

test('the bytes equal the generated protobufjs encoding for values below 2^53, and decode back', () => {
  for (const t of [0n, 1n, 300n, 2n ** 32n + 7n, 2n ** 53n - 1n]) {
    for (const name of NAMES) {
      const m = samples(t)[name];
      const mine = codec(name).encode(m);
      const theirs = generated(name).encode(toNumbers(m)).finish();
      assert.equal(hex(mine), hex(theirs), `${name} at ${t}`);
      assert.deepEqual(plain(codec(name).decode(theirs)), m, `${name} at ${t}: protobufjs bytes decode`);
    }
  }
  // A negative enum value is sign-extended to ten bytes, as protobufjs (and Go) write it.
  const neg = { op: -1 as Op, key: k('x'), value: new Uint8Array(0) };
  assert.equal(hex(txnCodec.Mutation.encode(neg)), hex(kvrpcpb.Mutation.encode(neg).finish()));
  assert.deepEqual(txnCodec.Mutation.decode(txnCodec.Mutation.encode(neg)), neg);
});

test('the generated code cannot carry these timestamps (why the codec exists)', () => {
  const b = txnCodec.GetRequest.encode({ key: k('g'), version: 2n ** 53n + 1n });
  assert.notEqual(BigInt(kvrpcpb.GetRequest.decode(b).version), 2n ** 53n + 1n);
  assert.equal(txnCodec.GetRequest.decode(b).version, 2n ** 53n + 1n);
});

test("TinyKV's bytes for known messages", () => {
  // PrewriteRequest{mutations: [{Put, "a", "1"}], primary_lock "a", start_version 300, lock_ttl 2^64-1}, as Go writes it.
  const pw = bytes('12 06 12 01 61 1a 01 31   1a 01 61   20 ac 02   28 ff ff ff ff ff ff ff ff ff 01');
  const m = {
    mutations: [{ op: Op.Put, key: k('a'), value: k('1') }],
    primaryLock: k('a'),
    startVersion: 300n,
    lockTtl: U64_MAX,
  };
  assert.equal(hex(txnCodec.PrewriteRequest.encode(m)), hex(pw));
  assert.deepEqual(txnCodec.PrewriteRequest.decode(pw), m);
  // CheckTxnStatusResponse{lock_ttl 0, commit_version 2^63, action LockNotExistRollback}.
  const cs = bytes('18 80 80 80 80 80 80 80 80 80 01  20 02');
  assert.deepEqual(txnCodec.CheckTxnStatusResponse.decode(cs), { lockTtl: 0n, commitVersion: 2n ** 63n, action: 2 });
  assert.equal(hex(txnCodec.CheckTxnStatusResponse.encode({ lockTtl: 0n, commitVersion: 2n ** 63n, action: 2 })), hex(cs));
});

test('a u64 outside [0, 2^64) or not a bigint is refused at encode, naming the field', () => {
  let checked = 0;
  for (const name of NAMES) {
    const m = samples(5n)[name];
    for (const p of bigintPaths(m)) {
      for (const bad of [2n ** 64n, -1n, 5]) {
        refused(
          () => codec(name).encode(withValue(m, p, bad) as Record<string, unknown>),
          new RegExp(`^encode kvrpcpb\\.${name}\\.${pathName(p).replace(/[[\]]/g, '\\$&')}: `),
        );
        checked++;
      }
    }
  }
  assert.ok(checked >= 3 * 30, `${checked} refusals checked`);
  refused(
    () => txnCodec.GetRequest.encode({ key: k('g'), version: 2n ** 64n }),
    /GetRequest\.version: 18446744073709551616 is outside the u64 range/,
  );
  refused(() => txnCodec.GetRequest.encode({ key: k('g'), version: 5 as unknown as bigint }), /GetRequest\.version: must be a bigint/);
  // The largest u64 is fine.
  assert.doesNotThrow(() => txnCodec.GetRequest.encode({ key: k('g'), version: U64_MAX }));
});

test('other values a field cannot hold are refused at encode, naming the field', () => {
  const scan = { startKey: k('s'), limit: 1, version: 1n };
  for (const limit of [2 ** 32, -1, 1.5])
    refused(() => txnCodec.ScanRequest.encode({ ...scan, limit }), /ScanRequest\.limit: must be an integer in \[0, 2\^32\)/);
  const pw = samples(1n).PrewriteRequest;
  refused(
    () =>
      txnCodec.PrewriteRequest.encode({
        ...pw,
        mutations: [
          { op: Op.Put, key: k('a') },
          { op: 'put', key: k('b') },
        ],
      } as never),
    /PrewriteRequest\.mutations\[1\]\.op: must be an enum value/,
  );
  refused(
    () => txnCodec.CommitRequest.encode({ startVersion: 1n, keys: [k('a'), 'b'], commitVersion: 2n } as never),
    /CommitRequest\.keys\[1\]: must be a Uint8Array/,
  );
  refused(
    () => txnCodec.CommitRequest.encode({ startVersion: 1n, keys: k('a'), commitVersion: 2n } as never),
    /CommitRequest\.keys: must be an array/,
  );
  refused(() => txnCodec.GetResponse.encode({ notFound: 1 } as never), /GetResponse\.notFound: must be a boolean/);
  refused(() => txnCodec.CommitResponse.encode({ error: { abort: 3 } } as never), /CommitResponse\.error\.abort: must be a string/);
  refused(() => txnCodec.CommitResponse.encode({ error: 'x' } as never), /CommitResponse\.error: must be an object/);
  refused(() => txnCodec.GetRequest.encode(null as never), /^encode kvrpcpb\.GetRequest: must be an object/);
});

test('a varint over 64 bits, a truncated message and a wrong wire type are refused at decode, naming the field', () => {
  // Ten bytes hold 64 bits: the tenth may only carry bit 63.
  assert.equal(txnCodec.GetRequest.decode(bytes('18 ff ff ff ff ff ff ff ff ff 01')).version, U64_MAX);
  refused(
    () => txnCodec.GetRequest.decode(bytes('18 ff ff ff ff ff ff ff ff ff 02')),
    /^decode kvrpcpb\.GetRequest\.version: varint over 64 bits/,
  );
  refused(() => txnCodec.GetRequest.decode(bytes('18 ff ff ff ff ff ff ff ff ff 81 00')), /GetRequest\.version: varint over 64 bits/);
  refused(() => txnCodec.GetRequest.decode(bytes('18 80 80 80 80 80 80 80 80 80 80 01')), /GetRequest\.version: varint over 64 bits/);
  // Over-long but within 64 bits (a non-minimal encoding) is valid protobuf.
  assert.equal(txnCodec.GetRequest.decode(bytes('18 81 80 80 80 80 80 80 80 80 00')).version, 1n);
  // Nested: the path names the element. errors = [{retryable: "x"}, {locked: {lock_version: <over 64 bits>}}].
  const lockInfo = `0a0170 10 ffffffffffffffffff7f 1a016b 2002`.replace(/\s/g, '');
  const keyError = `0a${(lockInfo.length / 2).toString(16).padStart(2, '0')}${lockInfo}`;
  const frame = bytes(`12 03 12 01 78 12${(keyError.length / 2).toString(16).padStart(2, '0')}${keyError}`);
  refused(
    () => txnCodec.PrewriteResponse.decode(frame),
    /^decode kvrpcpb\.PrewriteResponse\.errors\[1\]\.locked\.lockVersion: varint over 64 bits/,
  );
  // Truncated.
  refused(() => txnCodec.GetRequest.decode(bytes('18 ff')), /GetRequest\.version: truncated varint/);
  refused(() => txnCodec.GetRequest.decode(bytes('12 05 01')), /GetRequest\.key: length at byte 1 runs past the end/);
  refused(() => txnCodec.PrewriteRequest.decode(bytes('12 05 12 01 61')), /PrewriteRequest\.mutations: length at byte 1 runs past the end/);
  // Wrong wire types.
  refused(
    () => txnCodec.GetRequest.decode(bytes('1a 01 00')),
    /GetRequest\.version: field 3 has length-delimited \(wire type 2\), expected varint/,
  );
  refused(
    () => txnCodec.GetRequest.decode(bytes('10 05')),
    /GetRequest\.key: field 2 has varint \(wire type 0\), expected length-delimited/,
  );
  refused(() => txnCodec.ScanResponse.decode(bytes('15 00 00 00 00')), /ScanResponse\.pairs: field 2 has fixed32/);
  // Invalid UTF-8 in a string, a broken embedded Context, field number 0.
  refused(() => txnCodec.CommitResponse.decode(bytes('12 04 1a 02 c3 28')), /CommitResponse\.error\.abort: not valid UTF-8/);
  refused(() => txnCodec.GetRequest.decode(bytes('0a 02 12 05')), /GetRequest\.context: /);
  refused(() => txnCodec.GetRequest.decode(bytes('00 01')), /^decode kvrpcpb\.GetRequest: invalid field number/);
  refused(() => txnCodec.GetRequest.decode('x' as never), /expected bytes/);
});

test('unknown fields are skipped, at any depth and of every wire type', () => {
  const m = samples(U64_MAX).PrewriteResponse as unknown as KvPrewriteResponse;
  const unknown = '98 06 05' + 'a1 06 0102030405060708' + 'aa 06 03 010203' + 'b5 06 01020304' + 'bb 06 08 01 c0 06 01 bc 06';
  const enc = hex(txnCodec.PrewriteResponse.encode(m));
  assert.deepEqual(plain(txnCodec.PrewriteResponse.decode(bytes(unknown + enc + unknown.replace(/\s/g, '')))), m);
  // Inside a nested KeyError: errors = [{ <unknown> retryable: "x" }].
  const inner = `${unknown.replace(/\s/g, '')}12 01 78`.replace(/\s/g, '');
  const b = bytes(`12${(inner.length / 2).toString(16).padStart(2, '0')}${inner}`);
  assert.deepEqual(txnCodec.PrewriteResponse.decode(b), { errors: [{ retryable: 'x' }] });
  // An end-group without a start, a group never ended.
  refused(() => txnCodec.GetRequest.decode(bytes('bc 06')), /field 103 has end-group/);
  refused(() => txnCodec.GetRequest.decode(bytes('bb 06 08 01')), /unterminated group 103/);
});

test('decoding sets every scalar (proto3 cannot tell absent from default), KeyError strings and messages only when present', () => {
  assert.deepEqual(txnCodec.GetRequest.decode(new Uint8Array(0)), { key: new Uint8Array(0), version: 0n });
  assert.deepEqual(txnCodec.GetResponse.decode(new Uint8Array(0)), { value: new Uint8Array(0), notFound: false });
  assert.deepEqual(txnCodec.KeyError.decode(new Uint8Array(0)), {});
  assert.deepEqual(txnCodec.ScanResponse.decode(new Uint8Array(0)), { pairs: [] });
  assert.deepEqual(txnCodec.CheckTxnStatusResponse.decode(new Uint8Array(0)), { lockTtl: 0n, commitVersion: 0n, action: 0 });
  // A Put of an empty value decodes with value set (the transaction layer refuses a Put without one).
  const put = txnCodec.Mutation.decode(txnCodec.Mutation.encode({ op: Op.Put, key: k('a'), value: new Uint8Array(0) }));
  assert.ok(put.value instanceof Uint8Array && put.value.length === 0);
  // Defaults are not written (as protobufjs and Go do), so an all-default message is empty.
  assert.equal(txnCodec.CheckTxnStatusResponse.encode({ lockTtl: 0n, commitVersion: 0n, action: 0 }).length, 0);
  assert.equal(txnCodec.KeyError.encode({ retryable: '', abort: '' }).length, 0);
  // An empty message is still written when set: error present, nothing in it.
  assert.equal(hex(txnCodec.CommitResponse.encode({ error: {} })), '1200');
  assert.deepEqual(txnCodec.CommitResponse.decode(bytes('1200')), { error: {} });
  // A context of the generated code, ids as numbers.
  const ctx = txnCodec.GetRequest.decode(txnCodec.GetRequest.encode({ context: CONTEXT, key: k('g'), version: 1n })).context!;
  assert.ok(ctx instanceof kvrpcpb.Context);
  assert.equal(ctx.regionEpoch!.version, 3);
  // Bytes decode as plain Uint8Array views, also from a Buffer.
  const fromBuffer = txnCodec.GetRequest.decode(Buffer.from(txnCodec.GetRequest.encode({ key: k('g'), version: 2n })));
  assert.equal(Object.getPrototypeOf(fromBuffer.key), Uint8Array.prototype);
  assert.deepEqual(fromBuffer, { key: k('g'), version: 2n });
  // A uint32 wider on the wire is cut to 32 bits, as protobuf parsers do.
  assert.equal(txnCodec.ScanRequest.decode(bytes('18 85 80 80 80 10')).limit, 5);
  // A message field sent twice merges; a scalar sent twice takes the last.
  assert.deepEqual(txnCodec.GetResponse.decode(bytes('12 03 12 01 78  12 03 1a 01 79')), {
    error: { retryable: 'x', abort: 'y' },
    value: new Uint8Array(0),
    notFound: false,
  });
  assert.equal(txnCodec.ScanRequest.decode(bytes('20 05 20 07')).version, 7n);
});
