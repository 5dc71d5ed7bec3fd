// End to end on mutual TLS: ProcessCluster({ tls }) runs tinykv-scheduler and three tinykv-server
// with the certificates of scripts/make-test-certs.sh and cert-allowed-cn tskv-store,tskv-client.
// The cluster elects and replicates (raft and heartbeats over TLS), RawClient and the tinykv
// command with the tskv-client certificate read and write; a client without TLS, with another
// CA's certificate or with CN intruder is refused, clearly, by the scheduler and by the stores.
// Their status pages are HTTPS under the same rules.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { RawClient, SchedulerUnavailableError } from '@tskv/client';
import { channelCredentials, loadTls, newTinyKvGrpcClient, statusFetch, unary } from '@tskv/rpc';
import { makeTestCerts, type TestCerts, testCertsUnavailable } from '@tskv/rpc/testing';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const TINYKV = fileURLToPath(new URL('../../../client/cli/tinykv.mjs', import.meta.url));
const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, TINYKV].filter((f) => !existsSync(f));
const skip = testCertsUnavailable() ?? (missing.length ? `not built yet: ${missing.join(', ')}` : false);
const s = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString() : null);

function tinykv(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [TINYKV, ...args], { env: { ...process.env, TINYKV_SCHEDULER: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('a real cluster on mutual TLS', { skip, timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-tls-e2e-'));
  let certs: TestCerts;
  let c: ProcessCluster;
  const unexpected: UnexpectedExit[] = [];

  before(async () => {
    certs = makeTestCerts(join(dir, 'certs'));
    c = new ProcessCluster({
      dataDir: join(dir, 'data'),
      schedulerPort: 0,
      basePort: 0,
      stopTimeoutMs: 10_000,
      tls: { dir: certs.dir, allowedCn: ['tskv-store', 'tskv-client'] },
    });
    c.on('unexpected-exit', (e) => unexpected.push(e));
    await c.start();
    await c.waitUntilReady({ timeoutMs: 90_000 });
  });

  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('elects, replicates and serves RawClient puts and gets with the tskv-client certificate', async () => {
    const ov = await c.waitUntilReady({ timeoutMs: 30_000 });
    assert.equal(ov.storesUp, 3);
    assert.ok(
      ov.regions.every((r) => r.peers.length === 3 && r.leader),
      JSON.stringify(ov.regions),
    );
    const client = await c.client({ timeoutMs: 20_000 });
    try {
      await client.put('hello', 'world');
      assert.equal(s(await client.get('hello')), 'world');
      await client.batchPut(Array.from({ length: 20 }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`] as const));
      assert.deepEqual(
        (await client.scan('k05', 'k08')).map((p) => s(p.value)),
        ['v5', 'v6', 'v7'],
      );
    } finally {
      client.close();
    }
    assert.deepEqual(
      unexpected.map((e) => `${e.info.name}: ${e.logTail}`),
      [],
    );
  });

  test('the tinykv command with --ca-path/--cert-path/--key-path works; without them it fails saying why', async () => {
    const flags = [
      '--scheduler',
      c.schedulerAddr,
      '--ca-path',
      certs.client.caPath!,
      '--cert-path',
      certs.client.certPath!,
      '--key-path',
      certs.client.keyPath!,
    ];
    let r = await tinykv([...flags, 'put', 'cli-key', 'cli-value']);
    assert.equal(r.code, 0, r.stderr);
    r = await tinykv([...flags, 'get', 'cli-key']);
    assert.equal(r.stdout.trim(), 'cli-value', r.stderr);
    r = await tinykv(['--scheduler', c.schedulerAddr, '--connect-timeout', '1000', 'get', 'cli-key']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the scheduler .*plaintext client: a scheduler with TLS on refuses it/);
    r = await tinykv(['--scheduler', c.schedulerAddr, '--ca-path', certs.client.caPath!, 'get', 'cli-key']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /must be given together \(missing: certPath, keyPath\)/);
    r = await tinykv([
      '--scheduler',
      c.schedulerAddr,
      '--ca-path',
      certs.intruder.caPath!,
      '--cert-path',
      certs.intruder.certPath!,
      '--key-path',
      certs.intruder.keyPath!,
      'stores',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused this client: client certificate CN 'intruder' is not allowed/);
  });

  test("the scheduler refuses a client without TLS, with another CA's certificate, or with CN intruder", async () => {
    const connect = (tls?: TestCerts['client']): Promise<RawClient> =>
      RawClient.connect({ schedulerAddr: c.schedulerAddr, tls, connectTimeoutMs: 1500, timeoutMs: 3000 });
    await assert.rejects(connect(), (e: Error) => e instanceof SchedulerUnavailableError && /plaintext client/.test(e.message));
    await assert.rejects(connect(certs.other), (e: Error) => e instanceof SchedulerUnavailableError && /certificate/.test(e.message));
    await assert.rejects(
      connect(certs.intruder),
      (e: Error) =>
        e instanceof SchedulerUnavailableError && /refused this client: client certificate CN 'intruder' is not allowed/.test(e.message),
    );
  });

  test('a store refuses CN intruder on its client service and as a raft peer, and a client without a certificate', async () => {
    const store = c.addresses.stores[0]!;
    const ic = newTinyKvGrpcClient(store.addr, channelCredentials(loadTls(certs.intruder)));
    const plain = newTinyKvGrpcClient(store.addr, grpc.credentials.createInsecure());
    const noCert = newTinyKvGrpcClient(store.addr, grpc.credentials.createSsl(loadTls(certs.client)!.ca));
    try {
      const refused = (e: grpc.ServiceError): boolean => e.code === grpc.status.UNAUTHENTICATED && /CN 'intruder'/.test(e.details);
      await assert.rejects(unary(ic, ic.rawGet, { key: Buffer.from('hello') }, 5000), refused);
      await assert.rejects(
        new Promise<void>((resolve, reject) => {
          const st = ic.batchRaft((err: grpc.ServiceError | null) => (err ? reject(err) : resolve()));
          st.write({
            msgs: [{ regionId: 1, fromPeer: { id: 99, storeId: 99 }, toPeer: { id: 1, storeId: store.storeId }, message: { msgType: 0 } }],
          });
          st.end();
        }),
        refused,
      );
      for (const x of [plain, noCert])
        await assert.rejects(
          unary(x, x.rawGet, { key: Buffer.from('hello') }, 5000),
          (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE,
        );
    } finally {
      ic.close();
      plain.close();
      noCert.close();
    }
  });

  test('the status pages of the scheduler and the stores are HTTPS with the same client checks', async () => {
    const sched = c.addresses.schedulerStatus;
    const store = c.addresses.stores[0]!.statusAddr;
    assert.match(c.statusUrl('scheduler', '/metrics'), /^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
    for (const addr of [sched, store]) {
      const m = await c.statusFetch(addr, '/metrics');
      assert.equal(m.status, 200, m.text);
      assert.match(m.text, /^# HELP /m);
      const st = await c.statusFetch(addr, '/status');
      assert.equal(st.status, 200, st.text);
      assert.ok(
        addr === sched ? Array.isArray(st.json<{ stores: unknown[] }>().stores) : st.json<{ storeId: number }>().storeId > 0,
        st.text,
      );

      // No client certificate, another CA's, or plain HTTP: no answer at all.
      await assert.rejects(
        new Promise((resolve, reject) =>
          https.get(`https://${addr}/metrics`, { ca: loadTls(certs.client)!.ca, agent: false }, resolve).on('error', reject),
        ),
        /certificate required|socket hang up/,
      );
      await assert.rejects(
        statusFetch(addr, '/metrics', { tls: loadTls({ ...certs.other, caPath: certs.client.caPath }) }),
        /refused this client's certificate/,
      );
      await assert.rejects(statusFetch(addr, '/status'), /is TLS on there\?/);
      // The CA's certificate with a CN not on cert-allowed-cn: refused before any route.
      const r = await statusFetch(addr, '/status', { tls: loadTls(certs.intruder) });
      assert.equal(r.status, 403);
      assert.match(r.text, /client certificate CN 'intruder' is not allowed \(cert-allowed-cn: tskv-store,tskv-client\)/);
    }
  });

  test("the tinykv admin verbs reach the scheduler's HTTPS status address with the TLS flags", async () => {
    const flags = (t: TestCerts['client']): string[] => [
      '--scheduler',
      c.schedulerAddr,
      '--scheduler-status',
      c.addresses.schedulerStatus,
      '--ca-path',
      t.caPath!,
      '--cert-path',
      t.certPath!,
      '--key-path',
      t.keyPath!,
    ];
    let r = await tinykv([...flags(certs.client), '--json', 'operators']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Array.isArray(JSON.parse(r.stdout).operators), r.stdout);
    r = await tinykv([...flags(certs.client), 'stores']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /https:\/\/127\.0\.0\.1:\d+/, 'the stores table links the HTTPS status pages');
    r = await tinykv([...flags(certs.intruder), 'operators']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /client certificate CN 'intruder' is not allowed/);
  });
});
