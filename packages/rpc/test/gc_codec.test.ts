// The lossless codec of the GC safe point messages and PdClient's two methods over a socket:
// round trips at u64 extremes, the generated code's bytes where it can hold the value, refusals
// naming the field, and a safe point above 2^53 crossing the wire exactly both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { schedulerpb } from '@tskv/proto';
import {
  GcCodecError,
  gcCodec,
  PdClient,
  SchedulerError,
  schedulerService,
  serverOptions,
  type TxnMessageCodec,
  type UpdateGCSafePointRequest,
} from '../src/index.js';

type Name = keyof typeof gcCodec;
const NAMES = Object.keys(gcCodec) as Name[];
const U64_MAX = (1n << 64n) - 1n;
const VALUES = [0n, 1n, 2n ** 53n + 1n, (1n << 60n) + 12345n, U64_MAX];
/** The field carrying the u64, per message (none in GetGCSafePointRequest). */
const U64_FIELD: Record<Name, string | null> = {
  GetGCSafePointRequest: null,
  GetGCSafePointResponse: 'safePoint',
  UpdateGCSafePointRequest: 'safePoint',
  UpdateGCSafePointResponse: 'newSafePoint',
};
const codec = (name: Name): TxnMessageCodec<Record<string, unknown>> =>
  gcCodec[name] as unknown as TxnMessageCodec<Record<string, unknown>>;
const generated = (name: Name) =>
  schedulerpb[name] as unknown as {
    encode(m: unknown): { finish(): Uint8Array };
    decode(b: Uint8Array): Record<string, unknown>;
  };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const refused = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof GcCodecError && re.test(e.message));

function sample(name: Name, v: bigint, withHeader: boolean): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (withHeader) {
    m.header = name.endsWith('Request')
      ? { clusterId: 2 ** 48 - 3 }
      : { clusterId: 2 ** 48 - 3, error: { type: schedulerpb.ErrorType.NOT_BOOTSTRAPPED, message: 'not yet' } };
  }
  const f = U64_FIELD[name];
  if (f) m[f] = v;
  return m;
}

/** The decoded message with its header (a generated message instance) as a plain object. */
function plain(m: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...m };
  if (out.header instanceof schedulerpb.RequestHeader) out.header = schedulerpb.RequestHeader.toObject(out.header);
  else if (out.header instanceof schedulerpb.ResponseHeader) out.header = schedulerpb.ResponseHeader.toObject(out.header);
  return out;
}

test('every GC message round-trips at 0, 1, 2^53+1, 2^60+12345 and 2^64-1, with and without a header', () => {
  for (const v of VALUES) {
    for (const name of NAMES) {
      for (const withHeader of [false, true]) {
        const m = sample(name, v, withHeader);
        const back = codec(name).decode(codec(name).encode(m));
        assert.deepEqual(plain(back), m, `${name} at ${v}${withHeader ? ' with a header' : ''}`);
      }
    }
  }
  // The u64 reached the wire as a ten-byte varint, and a missing one decodes as 0n.
  assert.equal(hex(gcCodec.UpdateGCSafePointRequest.encode({ safePoint: U64_MAX })), '10ffffffffffffffffff01');
  assert.deepEqual(gcCodec.GetGCSafePointResponse.decode(new Uint8Array(0)), { safePoint: 0n });
});

test('the bytes equal the generated protobufjs encoding below 2^53, and its bytes decode back', () => {
  for (const v of [0n, 1n, 300n, 2n ** 32n + 7n, 2n ** 53n - 1n]) {
    for (const name of NAMES) {
      const m = sample(name, v, true);
      const f = U64_FIELD[name];
      const asNumbers = f ? { ...m, [f]: Number(v) } : m;
      const theirs = generated(name).encode(asNumbers).finish();
      assert.equal(hex(codec(name).encode(m)), hex(theirs), `${name} at ${v}`);
      assert.deepEqual(plain(codec(name).decode(theirs)), m, `${name} at ${v}: protobufjs bytes decode`);
    }
  }
});

test('the generated code cannot carry a safe point above 2^53 (why the codec exists)', () => {
  const b = gcCodec.GetGCSafePointResponse.encode({ safePoint: 2n ** 53n + 1n });
  assert.notEqual(BigInt(generated('GetGCSafePointResponse').decode(b).safePoint as number), 2n ** 53n + 1n);
  assert.equal(gcCodec.GetGCSafePointResponse.decode(b).safePoint, 2n ** 53n + 1n);
});

test('a safe point outside [0, 2^64) or not a bigint, and a header that is not an object, are refused at encode, naming the field', () => {
  for (const bad of [2n ** 64n, -1n, 5, '5', true]) {
    refused(
      () => gcCodec.UpdateGCSafePointRequest.encode({ safePoint: bad as bigint }),
      /^encode schedulerpb\.UpdateGCSafePointRequest\.safePoint: /,
    );
    refused(() => gcCodec.UpdateGCSafePointResponse.encode({ newSafePoint: bad as bigint }), /UpdateGCSafePointResponse\.newSafePoint: /);
    refused(() => gcCodec.GetGCSafePointResponse.encode({ safePoint: bad as bigint }), /GetGCSafePointResponse\.safePoint: /);
  }
  refused(() => gcCodec.UpdateGCSafePointRequest.encode({ safePoint: 2n ** 64n }), /18446744073709551616 is outside the u64 range/);
  refused(() => gcCodec.UpdateGCSafePointRequest.encode({ safePoint: 5 as unknown as bigint }), /must be a bigint \(u64\), got number 5/);
  refused(() => gcCodec.GetGCSafePointRequest.encode({ header: 7 } as never), /GetGCSafePointRequest\.header: must be an object/);
  refused(() => gcCodec.GetGCSafePointRequest.encode(null as never), /^encode schedulerpb\.GetGCSafePointRequest: must be an object/);
  assert.doesNotThrow(() => gcCodec.UpdateGCSafePointRequest.encode({ safePoint: U64_MAX }));
});

test('decoding refuses wrong wire types, over-long varints and truncation, naming the field; unknown fields are skipped', () => {
  // safe_point as length-delimited.
  refused(
    () => gcCodec.GetGCSafePointResponse.decode(bytes('12 01 00')),
    /GetGCSafePointResponse\.safePoint: field 2 has length-delimited/,
  );
  // header as a varint.
  refused(() => gcCodec.GetGCSafePointResponse.decode(bytes('08 01')), /GetGCSafePointResponse\.header: field 1 has varint/);
  // An eleven-byte varint, and a truncated one.
  refused(() => gcCodec.UpdateGCSafePointRequest.decode(bytes('10 ff ff ff ff ff ff ff ff ff 7f')), /safePoint: varint over 64 bits/);
  refused(() => gcCodec.UpdateGCSafePointRequest.decode(bytes('10 ff ff')), /safePoint: truncated varint/);
  // A header whose length runs past the end.
  refused(
    () => gcCodec.UpdateGCSafePointResponse.decode(bytes('0a 05 08 01')),
    /UpdateGCSafePointResponse\.header: length at byte 1 runs past/,
  );
  // Unknown fields of every wire type around the known ones; field 2 of GetGCSafePointRequest is unknown too.
  const withUnknown = bytes('18 05   0a 02 08 07   21 0102030405060708   10 2a   2a 02 aabb   35 01020304');
  assert.deepEqual(plain(gcCodec.UpdateGCSafePointRequest.decode(withUnknown)), { header: { clusterId: 7 }, safePoint: 42n });
  assert.deepEqual(plain(gcCodec.GetGCSafePointRequest.decode(withUnknown)), { header: { clusterId: 7 } });
});

function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

test('PdClient: getGCSafePoint and updateGCSafePoint carry values above 2^53 exactly; non-u64 values never leave the client', async () => {
  const server = new grpc.Server(serverOptions());
  const handlers: Record<string, unknown> = {};
  for (const k of Object.keys(schedulerService))
    handlers[k] = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED });
  let current = (1n << 60n) + 1n;
  const received: bigint[] = [];
  handlers.getGCSafePoint = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { header: { clusterId: 42 }, safePoint: current });
  handlers.updateGCSafePoint = (call: grpc.ServerUnaryCall<UpdateGCSafePointRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
    received.push(call.request.safePoint);
    if (call.request.safePoint === 13n) {
      cb(null, { header: { clusterId: 42, error: { type: schedulerpb.ErrorType.NOT_BOOTSTRAPPED, message: 'no cluster' } } });
      return;
    }
    if (call.request.safePoint > current) current = call.request.safePoint;
    cb(null, { header: { clusterId: 42 }, newSafePoint: current });
  };
  server.addService(schedulerService, handlers as grpc.UntypedServiceImplementation);
  const port = await listen(server);
  const pd = new PdClient(`127.0.0.1:${port}`, { timeoutMs: 3000 });
  try {
    assert.equal(await pd.getGCSafePoint(), (1n << 60n) + 1n);
    assert.equal(pd.clusterId, 42);
    assert.equal(await pd.updateGCSafePoint(U64_MAX - 1n), U64_MAX - 1n);
    assert.equal(await pd.updateGCSafePoint(5n), U64_MAX - 1n, 'the answer is what the server says is in force');
    assert.deepEqual(received, [U64_MAX - 1n, 5n]);
    await assert.rejects(
      pd.updateGCSafePoint(13n),
      (e: unknown) => e instanceof SchedulerError && e.type === schedulerpb.ErrorType.NOT_BOOTSTRAPPED,
    );
    await assert.rejects(pd.updateGCSafePoint(-1n), RangeError);
    await assert.rejects(pd.updateGCSafePoint(1n << 64n), /must be in \[0, 2\^64\)/);
    await assert.rejects(pd.updateGCSafePoint(5 as unknown as bigint), TypeError);
    assert.deepEqual(received, [U64_MAX - 1n, 5n, 13n], 'refused values were never sent');
  } finally {
    pd.close();
    server.forceShutdown();
  }
});
