// Mutual TLS of the gRPC layer: loadTls's config checks, credentials both ways, and the
// cert-allowed-cn interceptor on unary, client-streaming and bidirectional calls (real sockets).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { kvrpcpb } from '@tskv/proto';
import {
  channelCredentials,
  loadTls,
  newTinyKvGrpcClient,
  PdClient,
  schedulerService,
  secureServerOptions,
  serverCredentials,
  type TinyKvGrpcClient,
  type TlsConfig,
  TlsConfigError,
  tinyKvService,
  unary,
} from '../src/index.js';
import { makeTestCerts, type TestCerts, testCertsUnavailable } from '../src/testing.js';

const skip = testCertsUnavailable() ?? false;

function listen(server: grpc.Server, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, port) => (err ? reject(err) : resolve(port))));
}

/** A TinyKv server whose handlers count the calls that reach them. */
function kvServer(tls: TlsConfig | null): { server: grpc.Server; reached: string[] } {
  const reached: string[] = [];
  const server = new grpc.Server(secureServerOptions(tls));
  const unimpl = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED });
  server.addService(tinyKvService, {
    rawGet: (_call: unknown, cb: grpc.sendUnaryData<kvrpcpb.IRawGetResponse>) => {
      reached.push('rawGet');
      cb(null, { value: Buffer.from('v') });
    },
    rawPut: unimpl,
    rawDelete: unimpl,
    rawScan: unimpl,
    rawBatchGet: unimpl,
    rawBatchPut: unimpl,
    raft: unimpl,
    snapshot: unimpl,
    batchRaft: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      reached.push('batchRaft');
      call.on('data', () => reached.push('batchRaft message'));
      call.on('end', () => cb(null, {}));
    },
    batchCommands: (call: grpc.ServerDuplexStream<kvrpcpb.BatchCommandsRequest, kvrpcpb.IBatchCommandsResponse>) => {
      reached.push('batchCommands');
      call.on('data', (b: kvrpcpb.BatchCommandsRequest) =>
        call.write({ requestIds: b.requestIds, responses: b.requests.map(() => ({ rawGet: { value: Buffer.from('x') } })) }),
      );
      call.on('end', () => call.end());
    },
  });
  return { server, reached };
}

function rawGet(c: TinyKvGrpcClient): Promise<kvrpcpb.RawGetResponse> {
  return unary<kvrpcpb.IRawGetRequest, kvrpcpb.RawGetResponse>(c, c.rawGet, { key: Buffer.from('k') }, 3000);
}

function batchRaft(c: TinyKvGrpcClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = c.batchRaft((err: grpc.ServiceError | null) => (err ? reject(err) : resolve()));
    s.write({ msgs: [{ regionId: 1 }] });
    s.end();
  });
}

function batchCommands(c: TinyKvGrpcClient): Promise<kvrpcpb.BatchCommandsResponse> {
  return new Promise((resolve, reject) => {
    const s = c.batchCommands();
    s.on('data', (r: kvrpcpb.BatchCommandsResponse) => {
      resolve(r);
      s.end();
    });
    s.on('error', reject);
    s.write({ requestIds: [1], requests: [{ rawGet: { key: Buffer.from('k') } }] });
  });
}

describe('loadTls', () => {
  test('none given: plaintext (null); all three: TLS; a partial set or an allow-list alone: an error naming what is missing', {
    skip,
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tskv-tls-load-'));
    try {
      const certs = makeTestCerts(dir);
      assert.equal(loadTls(undefined), null);
      assert.equal(loadTls({}), null);
      const t = loadTls({ ...certs.store, certAllowedCn: ['a', ' b ', ''] })!;
      assert.ok(t.ca.length > 0 && t.cert.length > 0 && t.key.length > 0);
      assert.deepEqual(t.allowedCn, ['a', 'b']);
      assert.throws(
        () => loadTls({ caPath: certs.store.caPath, certPath: certs.store.certPath }),
        (e: Error) => e instanceof TlsConfigError && /missing: keyPath/.test(e.message),
      );
      assert.throws(() => loadTls({ keyPath: certs.store.keyPath }), /missing: caPath, certPath/);
      assert.throws(() => loadTls({ certAllowedCn: ['x'] }), /certAllowedCn needs TLS/);
      assert.throws(() => loadTls({ ...certs.store, caPath: join(dir, 'nope.pem') }), /cannot read CA certificate .*nope\.pem/);
      assert.throws(() => loadTls({ ...certs.store, certPath: certs.store.keyPath }), /certificate is not a PEM certificate/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mutual TLS over real sockets', { skip }, () => {
  let dir = '';
  let certs: TestCerts;
  let tlsServer: { server: grpc.Server; reached: string[] };
  let plainServer: grpc.Server;
  let tlsAddr = '';
  let plainAddr = '';
  const clients: grpc.Client[] = [];
  const client = (addr: string, tls: TlsConfig | null): TinyKvGrpcClient => {
    const c = newTinyKvGrpcClient(addr, channelCredentials(tls));
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-tls-rpc-'));
    certs = makeTestCerts(dir);
    const st = loadTls({ ...certs.store, certAllowedCn: ['tskv-store', 'tskv-client'] })!;
    tlsServer = kvServer(st);
    tlsAddr = `127.0.0.1:${await listen(tlsServer.server, serverCredentials(st))}`;
    plainServer = kvServer(null).server;
    plainAddr = `127.0.0.1:${await listen(plainServer, serverCredentials(null))}`;
  });

  after(() => {
    for (const c of clients) c.close();
    tlsServer?.server.forceShutdown();
    plainServer?.forceShutdown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an allowed CN gets through on unary, client-streaming and bidirectional calls', async () => {
    const c = client(tlsAddr, loadTls(certs.client));
    assert.equal(Buffer.from((await rawGet(c)).value).toString(), 'v');
    await batchRaft(c);
    const r = await batchCommands(c);
    assert.deepEqual(r.requestIds.map(Number), [1]);
    const s = client(tlsAddr, loadTls(certs.store));
    await rawGet(s);
  });

  test('CN intruder (same CA) is refused with UNAUTHENTICATED naming the CN on every kind of call; no handler runs', async () => {
    const before = tlsServer.reached.length;
    const c = client(tlsAddr, loadTls(certs.intruder));
    for (const call of [rawGet, batchRaft, batchCommands] as ((c: TinyKvGrpcClient) => Promise<unknown>)[]) {
      await assert.rejects(
        call(c),
        (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED && /CN 'intruder' is not allowed/.test(e.details),
      );
    }
    assert.deepEqual(tlsServer.reached.slice(before), []);
  });

  test('a client without a certificate, or with one of another CA, cannot connect', async () => {
    const t = loadTls(certs.client)!;
    const noCert = newTinyKvGrpcClient(tlsAddr, grpc.credentials.createSsl(t.ca));
    clients.push(noCert);
    await assert.rejects(rawGet(noCert), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    // The other CA's client: its certificate is not trusted by the server (and it does not trust the server's).
    await assert.rejects(rawGet(client(tlsAddr, loadTls(certs.other))), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    // A client certificate of the other CA, while trusting the right CA: the server refuses it.
    const o = loadTls(certs.other)!;
    const mixed = newTinyKvGrpcClient(tlsAddr, grpc.credentials.createSsl(t.ca, o.key, o.cert));
    clients.push(mixed);
    await assert.rejects(rawGet(mixed), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
  });

  test('a client trusting another CA refuses the server', async () => {
    const o = loadTls(certs.other)!;
    const t = loadTls(certs.client)!;
    const c = newTinyKvGrpcClient(tlsAddr, grpc.credentials.createSsl(o.ca, t.key, t.cert));
    clients.push(c);
    await assert.rejects(rawGet(c), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
  });

  test('plaintext client against a TLS server, and TLS client against a plaintext server, fail', async () => {
    await assert.rejects(rawGet(client(tlsAddr, null)), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    await assert.rejects(rawGet(client(plainAddr, loadTls(certs.client))), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    // And the plaintext pair still works.
    await rawGet(client(plainAddr, null));
  });

  test('PdClient dials with tls', async () => {
    const st = loadTls({ ...certs.store, certAllowedCn: ['tskv-store'] })!;
    const server = new grpc.Server(secureServerOptions(st));
    const impl: Record<string, unknown> = {};
    for (const k of Object.keys(schedulerService))
      impl[k] = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED });
    impl.isBootstrapped = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { header: { clusterId: 7 }, bootstrapped: true });
    server.addService(schedulerService, impl as grpc.UntypedServiceImplementation);
    const addr = `127.0.0.1:${await listen(server, serverCredentials(st))}`;
    const ok = new PdClient(addr, { tls: loadTls(certs.store), timeoutMs: 2000 });
    const bad = new PdClient(addr, { tls: loadTls(certs.client), timeoutMs: 2000 });
    try {
      assert.equal(await ok.isBootstrapped(), true);
      await assert.rejects(
        bad.isBootstrapped(),
        (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED && /'tskv-client'/.test(e.details),
      );
    } finally {
      ok.close();
      bad.close();
      server.forceShutdown();
    }
  });
});
