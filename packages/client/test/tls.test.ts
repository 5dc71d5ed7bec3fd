// The client's side of mutual TLS: RawClient's tls option is checked (all three or none), and a
// StoreConnection with credentials talks BatchCommands to a TLS store while one without cannot.
// (A whole cluster on TLS through RawClient and the tinykv command: packages/cluster/test/tls.test.ts.)

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { kvrpcpb } from '@tskv/proto';
import { channelCredentials, loadTls, secureServerOptions, serverCredentials, TlsConfigError, tinyKvService } from '@tskv/rpc';
import { makeTestCerts, testCertsUnavailable } from '@tskv/rpc/testing';
import { StoreUnavailableError } from '../src/errors.js';
import { RawClient } from '../src/raw_client.js';
import { StoreConnection } from '../src/store_connection.js';

const skip = testCertsUnavailable() ?? false;
const noScheduler = {
  getRegion: async () => null,
  getRegionById: async () => null,
  getStore: async () => null,
  scanRegions: async () => [],
  close: () => {},
};

test('RawClient: a partial tls option throws TlsConfigError naming what is missing', async () => {
  assert.throws(
    () => new RawClient(noScheduler as never, 'x', { tls: { caPath: '/ca.pem' } }),
    (e: Error) => e instanceof TlsConfigError && /missing: certPath, keyPath/.test(e.message),
  );
  await assert.rejects(RawClient.connect({ tls: { certPath: '/c.pem', key: 'k' } }), /missing: caPath/);
  new RawClient(noScheduler as never, 'x', { tls: {} }).close(); // none: plaintext
});

test('StoreConnection with TLS credentials reaches a TLS store; without them it fails with StoreUnavailableError', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-client-tls-'));
  const certs = makeTestCerts(dir);
  const st = loadTls({ ...certs.store, certAllowedCn: ['tskv-client'] })!;
  const server = new grpc.Server(secureServerOptions(st));
  server.addService(tinyKvService, {
    batchCommands: (call: grpc.ServerDuplexStream<kvrpcpb.BatchCommandsRequest, kvrpcpb.IBatchCommandsResponse>) => {
      call.on('data', (b: kvrpcpb.BatchCommandsRequest) =>
        call.write({ requestIds: b.requestIds, responses: b.requests.map(() => ({ rawGet: { value: Buffer.from('tls') } })) }),
      );
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(st), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const addr = `127.0.0.1:${port}`;
  const ok = new StoreConnection(1, addr, { credentials: channelCredentials(loadTls(certs.client)) });
  const plain = new StoreConnection(1, addr);
  const intruder = new StoreConnection(1, addr, { credentials: channelCredentials(loadTls(certs.intruder)) });
  try {
    const r = await ok.send({ rawGet: { key: Buffer.from('k') } }, 5000);
    assert.equal(Buffer.from(r.rawGet!.value!).toString(), 'tls');
    await assert.rejects(
      plain.send({ rawGet: { key: Buffer.from('k') } }, 5000),
      (e: Error) => e instanceof StoreUnavailableError && /UNAVAILABLE/.test(e.message),
    );
    await assert.rejects(
      intruder.send({ rawGet: { key: Buffer.from('k') } }, 5000),
      (e: Error) =>
        e instanceof StoreUnavailableError && /UNAUTHENTICATED: client certificate CN 'intruder' is not allowed/.test(e.message),
    );
  } finally {
    ok.close();
    plain.close();
    intruder.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});
