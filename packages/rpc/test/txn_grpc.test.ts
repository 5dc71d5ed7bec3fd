// The transactional methods and transactional BatchCommands requests over a real socket: a tiny
// server answers with timestamps derived from the request's, so both directions are checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { kvrpcpb } from '@tskv/proto';
import {
  Action,
  type BatchCommandsResponseItem,
  type DecodedBatchCommandsRequest,
  type DecodedBatchCommandsResponse,
  type KvBatchRollbackRequest,
  type KvBatchRollbackResponse,
  type KvCheckTxnStatusRequest,
  type KvCheckTxnStatusResponse,
  type KvCommitRequest,
  type KvCommitResponse,
  type KvGetRequest,
  type KvGetResponse,
  type KvPrewriteRequest,
  type KvPrewriteResponse,
  type KvResolveLockRequest,
  type KvResolveLockResponse,
  type KvScanRequest,
  type KvScanResponse,
  newTinyKvGrpcClient,
  Op,
  serverOptions,
  type TinyKvGrpcClient,
  tinyKvService,
  txnCodec,
  unary,
} from '../src/index.js';
import { CONTEXT, k, plain, U64_MAX } from './txn_samples.js';

function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

const str = (b: Uint8Array): string => Buffer.from(b).toString();
/** Fails unless every u64 of the request arrived as a bigint. */
function bigints(...xs: unknown[]): void {
  for (const x of xs) if (typeof x !== 'bigint') throw new Error(`not a bigint: ${typeof x}`);
}

// What the server answers: every timestamp of the answer comes from the request's.
const answer = {
  kvGet: (r: KvGetRequest): KvGetResponse => {
    bigints(r.version);
    return {
      error: { locked: { primaryLock: k('p'), lockVersion: r.version, key: r.key, lockTtl: U64_MAX - r.version } },
      regionError: { message: `region ${r.context?.regionId}` },
    };
  },
  kvScan: (r: KvScanRequest): KvScanResponse => {
    bigints(r.version);
    const pairs = [
      { key: r.startKey, value: k('v') },
      { key: k('z'), error: { locked: { primaryLock: k('p'), lockVersion: r.version, key: k('z'), lockTtl: 1n } } },
    ];
    return { pairs: pairs.slice(0, r.limit) };
  },
  kvPrewrite: (r: KvPrewriteRequest): KvPrewriteResponse => {
    bigints(r.startVersion, r.lockTtl);
    return {
      errors: r.mutations.map((m) => ({
        conflict: { startTs: r.startVersion, conflictTs: r.lockTtl, key: m.key, primary: r.primaryLock },
      })),
    };
  },
  kvCommit: (r: KvCommitRequest): KvCommitResponse => {
    bigints(r.startVersion, r.commitVersion);
    return { error: { abort: `${r.startVersion}..${r.commitVersion} ${r.keys.map(str).join(',')}` } };
  },
  kvCheckTxnStatus: (r: KvCheckTxnStatusRequest): KvCheckTxnStatusResponse => {
    bigints(r.lockTs, r.currentTs);
    return { lockTtl: r.currentTs, commitVersion: r.lockTs, action: Action.TTLExpireRollback };
  },
  kvBatchRollback: (r: KvBatchRollbackRequest): KvBatchRollbackResponse => {
    bigints(r.startVersion);
    return { error: { retryable: `${r.startVersion} ${r.keys.length}` } };
  },
  kvResolveLock: (r: KvResolveLockRequest): KvResolveLockResponse => {
    bigints(r.startVersion, r.commitVersion);
    return { error: { conflict: { startTs: r.startVersion, conflictTs: r.commitVersion, key: k('k'), primary: k('p') } } };
  },
};
type Method = keyof typeof answer;

/** The batch field of each method. */
const FIELD: Record<Method, string> = {
  kvGet: 'get',
  kvScan: 'scan',
  kvPrewrite: 'prewrite',
  kvCommit: 'commit',
  kvCheckTxnStatus: 'checkTxnStatus',
  kvBatchRollback: 'batchRollback',
  kvResolveLock: 'resolveLock',
};

/** One request per method, at timestamps around t. */
function requests(t: bigint): { [M in Method]: Parameters<(typeof answer)[M]>[0] } {
  return {
    kvGet: { context: CONTEXT, key: k('g'), version: t },
    kvScan: { context: CONTEXT, startKey: k('s'), limit: 2, version: t },
    kvPrewrite: {
      context: CONTEXT,
      mutations: [
        { op: Op.Put, key: k('a'), value: k('1') },
        { op: Op.Del, key: k('b') },
      ],
      primaryLock: k('a'),
      startVersion: t - 1n,
      lockTtl: t,
    },
    kvCommit: { context: CONTEXT, startVersion: t - 1n, keys: [k('a'), k('b')], commitVersion: t },
    kvCheckTxnStatus: { context: CONTEXT, primaryKey: k('a'), lockTs: t - 1n, currentTs: t },
    kvBatchRollback: { context: CONTEXT, startVersion: t, keys: [k('a')] },
    kvResolveLock: { context: CONTEXT, startVersion: t - 1n, commitVersion: t },
  };
}

/** The answers the client must see for requests(t), as decoded. */
function expected(t: bigint): Record<Method, unknown> {
  return {
    kvGet: {
      error: { locked: { primaryLock: k('p'), lockVersion: t, key: k('g'), lockTtl: U64_MAX - t } },
      regionError: { message: 'region 7' },
      value: new Uint8Array(0),
      notFound: false,
    },
    kvScan: {
      pairs: [
        { key: k('s'), value: k('v') },
        { key: k('z'), value: new Uint8Array(0), error: { locked: { primaryLock: k('p'), lockVersion: t, key: k('z'), lockTtl: 1n } } },
      ],
    },
    kvPrewrite: {
      errors: ['a', 'b'].map((key) => ({ conflict: { startTs: t - 1n, conflictTs: t, key: k(key), primary: k('a') } })),
    },
    kvCommit: { error: { abort: `${t - 1n}..${t} a,b` } },
    kvCheckTxnStatus: { lockTtl: t, commitVersion: t - 1n, action: Action.TTLExpireRollback },
    kvBatchRollback: { error: { retryable: `${t} 1` } },
    kvResolveLock: { error: { conflict: { startTs: t - 1n, conflictTs: t, key: k('k'), primary: k('p') } } },
  };
}

const METHODS = Object.keys(answer) as Method[];

async function withServer(f: (c: TinyKvGrpcClient, calls: Map<string, number>, addr: string) => Promise<void>): Promise<void> {
  const calls = new Map<string, number>();
  const count = (m: string): void => void calls.set(m, (calls.get(m) ?? 0) + 1);
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const m of Object.keys(tinyKvService))
    handlers[m] = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED });
  for (const m of METHODS) {
    handlers[m] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      count(m);
      try {
        cb(null, (answer[m] as (r: unknown) => unknown)(call.request));
      } catch (e) {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
      }
    };
  }
  handlers.batchCommands = (call: grpc.ServerDuplexStream<DecodedBatchCommandsRequest, unknown>) => {
    call.on('data', (b: DecodedBatchCommandsRequest) => {
      count('batchCommands');
      try {
        const responses = b.requests.map((r): BatchCommandsResponseItem => {
          if (r.rawGet) return { rawGet: { value: r.rawGet.key } };
          const m = METHODS.find((x) => (r as Record<string, unknown>)[FIELD[x]] != null)!;
          return { [FIELD[m]]: (answer[m] as (r: unknown) => unknown)((r as Record<string, unknown>)[FIELD[m]]) };
        });
        call.write({ requestIds: b.requestIds, responses });
      } catch (e) {
        call.emit('error', { code: grpc.status.INTERNAL, details: (e as Error).message });
      }
    });
    call.on('end', () => call.end());
  };
  const server = new grpc.Server(serverOptions());
  server.addService(tinyKvService, handlers);
  const port = await listen(server);
  const addr = `127.0.0.1:${port}`;
  const c = newTinyKvGrpcClient(addr);
  try {
    await f(c, calls, addr);
  } finally {
    c.close();
    server.forceShutdown();
  }
}

test('the seven transactional methods carry u64 timestamps losslessly over a socket', { timeout: 30_000 }, async () => {
  await withServer(async (c) => {
    for (const t of [2n ** 53n + 1n, U64_MAX - 1n, U64_MAX]) {
      const reqs = requests(t);
      const want = expected(t);
      for (const m of METHODS) {
        const res = await unary(c, c[m], reqs[m], 5000);
        assert.deepEqual(plain(res), want[m], `${m} at ${t}`);
      }
    }
  });
});

test('BatchCommands frames mixing raw and transactional requests go over a socket losslessly', { timeout: 30_000 }, async () => {
  await withServer(async (c, calls) => {
    const t = U64_MAX - 7n;
    const reqs = requests(t);
    const want = expected(t);
    const s = c.batchCommands() as grpc.ClientDuplexStream<unknown, DecodedBatchCommandsResponse>;
    s.on('error', () => {}); // cancelled when the client closes
    const got = new Promise<DecodedBatchCommandsResponse>((resolve, reject) => {
      s.once('data', resolve);
      s.once('error', reject);
      s.once('end', () => reject(new Error('the stream ended without an answer')));
    });
    const requestItems = [{ rawGet: { key: k('r') } }, ...METHODS.map((m) => ({ [FIELD[m]]: reqs[m] }))];
    s.write({ requestIds: requestItems.map((_, i) => 100 + i), requests: requestItems });
    const b = await got;
    assert.equal(calls.get('batchCommands'), 1);
    assert.deepEqual(
      b.requestIds,
      requestItems.map((_, i) => 100 + i),
    );
    assert.equal(str(b.responses[0]!.rawGet!.value!), 'r');
    METHODS.forEach((m, i) => {
      assert.deepEqual(plain((b.responses[i + 1] as Record<string, unknown>)[FIELD[m]]), want[m], m);
    });
    s.end();
  });
});

test('a timestamp the codec refuses fails the call at the client; bytes it cannot decode fail it at the server', {
  timeout: 30_000,
}, async () => {
  await withServer(async (c, calls, addr) => {
    await assert.rejects(
      unary(c, c.kvGet, { key: k('g'), version: 2n ** 64n }, 5000),
      (e: grpc.ServiceError) =>
        e.code === grpc.status.INTERNAL && /GetRequest\.version: 18446744073709551616 is outside the u64 range/.test(e.details),
    );
    await assert.rejects(
      unary(c, c.kvCommit, { startVersion: -1n, keys: [], commitVersion: 1n }, 5000),
      (e: grpc.ServiceError) => e.code === grpc.status.INTERNAL && /CommitRequest\.startVersion/.test(e.details),
    );
    assert.equal(calls.get('kvGet'), undefined, 'no request reached the server');
    // A client writing raw bytes: a version varint over 64 bits.
    const id = (b: Buffer): Buffer => b;
    const def = { kvGet: { ...tinyKvService.kvGet, requestSerialize: id, responseDeserialize: id } };
    const Raw = grpc.makeGenericClientConstructor(def as unknown as grpc.ServiceDefinition, 'TinyKvRaw');
    const raw = new Raw(addr, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
    try {
      const good = Buffer.from(txnCodec.GetRequest.encode({ context: CONTEXT, key: k('g'), version: 1n }));
      const bad = Buffer.from(`${good.toString('hex').replace(/1801$/, '')}18ffffffffffffffffff7f`, 'hex');
      const send = (bytes: Buffer): Promise<{ err: grpc.ServiceError | null; res?: Buffer }> =>
        new Promise((resolve) => raw.kvGet!(bytes, (err: grpc.ServiceError | null, res?: Buffer) => resolve({ err, res })));
      const ok = await send(good);
      assert.equal(ok.err, null);
      assert.equal(txnCodec.GetResponse.decode(ok.res!).error!.locked!.lockVersion, 1n);
      const refused = await send(bad);
      assert.equal(refused.err?.code, grpc.status.INTERNAL);
      assert.match(refused.err!.details, /deserializing/);
      assert.equal(calls.get('kvGet'), 1, 'the bad request reached no handler');
    } finally {
      raw.close();
    }
  });
});

test('the service lists the seven methods at their canonical paths', () => {
  const paths = Object.fromEntries(Object.entries(tinyKvService).map(([name, m]) => [name, m.path]));
  for (const m of METHODS) assert.equal(paths[m], `/tinykvpb.TinyKv/K${m.slice(1)}`);
  assert.equal(paths.batchCommands, '/tinykvpb.TinyKv/BatchCommands');
  // The raw methods still use the generated codecs.
  const rawGet = tinyKvService.rawGet;
  const b = rawGet.requestSerialize({ key: k('x') } as kvrpcpb.RawGetRequest);
  assert.equal(str(rawGet.requestDeserialize(b).key!), 'x');
});
