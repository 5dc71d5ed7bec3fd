// The status servers' transport: plain HTTP without TLS; with TLS, HTTPS that requires a client
// certificate of the CA, refuses plain HTTP, and (with cert-allowed-cn) answers 403 to other
// Common Names before any route runs. statusFetch is the client of both (real sockets).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createStatusServer, loadTls, type StatusHttpServer, statusFetch, statusUrl, type TlsConfig } from '../src/index.js';
import { makeTestCerts, type TestCerts, testCertsUnavailable } from '../src/testing.js';

const skip = testCertsUnavailable() ?? false;

/** A status server answering every request with its method, path and body; `reached` counts the requests a route saw. */
async function serve(tls: TlsConfig | null): Promise<{ server: StatusHttpServer; addr: string; reached: string[] }> {
  const reached: string[] = [];
  const server = createStatusServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      reached.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, addr: `127.0.0.1:${(server.address() as AddressInfo).port}`, reached };
}

function close(server: StatusHttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A GET without any client certificate, trusting the CA (the handshake must still fail). */
function noCertGet(addr: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(`https://${addr}/status`, { ca, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('status pages without TLS', () => {
  test('are plain HTTP and statusFetch reads them', async () => {
    const { server, addr } = await serve(null);
    try {
      assert.equal(statusUrl(addr, '/metrics').href, `http://${addr}/metrics`);
      const r = await statusFetch(addr, '/status');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { method: 'GET', url: '/status', body: '' });
      const p = await statusFetch(addr, '/admin/x', { method: 'POST', body: { a: 1 } });
      assert.deepEqual(p.json(), { method: 'POST', url: '/admin/x', body: '{"a":1}' });
    } finally {
      await close(server);
    }
  });
});

describe('status pages on mutual TLS', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-status-tls-'));
  let certs: TestCerts;
  let store: TlsConfig;
  let client: TlsConfig;

  before(() => {
    certs = makeTestCerts(dir);
    store = loadTls(certs.store)!;
    client = loadTls(certs.client)!;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serve HTTPS to a client certificate of the CA; refuse no certificate, another CA and plain HTTP', async () => {
    const { server, addr, reached } = await serve(store);
    try {
      assert.equal(statusUrl(addr, '/metrics', client).href, `https://${addr}/metrics`);
      const r = await statusFetch(addr, '/status', { tls: client });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { method: 'GET', url: '/status', body: '' });
      // Any CN of the CA when no allow-list is set.
      assert.equal((await statusFetch(addr, '/metrics', { tls: loadTls(certs.intruder) })).status, 200);
      assert.deepEqual(reached, ['GET /status', 'GET /metrics']);

      await assert.rejects(noCertGet(addr, client.ca), /certificate required|socket hang up/i);
      // Another CA's client: the server's certificate is not trusted by it, nor its by the server.
      await assert.rejects(statusFetch(addr, '/status', { tls: loadTls(certs.other) }), /certificate/);
      // It trusts our CA but presents another CA's certificate: the server refuses it.
      const foreign = loadTls({ ...certs.other, caPath: certs.client.caPath })!;
      await assert.rejects(statusFetch(addr, '/status', { tls: foreign }), /unknown ca|refused this client's certificate/i);
      await assert.rejects(statusFetch(addr, '/status'), /GET http:\/\/127\.0\.0\.1:\d+\/status: .*is TLS on there\?/);
      await assert.rejects(
        new Promise((resolve, reject) => http.get(`http://${addr}/status`, resolve).on('error', reject)),
        (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' || /hang up|parse/i.test(e.message),
      );
      assert.deepEqual(reached, ['GET /status', 'GET /metrics'], 'no refused request reached a route');
    } finally {
      await close(server);
    }
  });

  test('with cert-allowed-cn, answer 403 to another CN before any route', async () => {
    const { server, addr, reached } = await serve({ ...store, allowedCn: ['tskv-store', 'tskv-client'] });
    try {
      assert.equal((await statusFetch(addr, '/metrics', { tls: client })).status, 200);
      assert.equal((await statusFetch(addr, '/metrics', { tls: loadTls(certs.store) })).status, 200);
      const r = await statusFetch(addr, '/admin/operators', { tls: loadTls(certs.intruder), method: 'POST', body: { name: 'x' } });
      assert.equal(r.status, 403);
      assert.deepEqual(r.json(), { error: "client certificate CN 'intruder' is not allowed (cert-allowed-cn: tskv-store,tskv-client)" });
      assert.deepEqual(reached, ['GET /metrics', 'GET /metrics']);
    } finally {
      await close(server);
    }
  });
});
