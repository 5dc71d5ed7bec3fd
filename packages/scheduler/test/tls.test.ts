// Mutual TLS of the scheduler, as the tinykv-scheduler command (config file "security" object and
// flags): a store certificate is served on unary calls and both streams; CN intruder is refused
// with UNAUTHENTICATED on each kind of call; no certificate, another CA's, or plaintext cannot
// connect. A partial security config exits 2.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { channelCredentials, loadTls, newSchedulerGrpcClient, PdClient, unary } from '@tskv/rpc';
import { makeTestCerts, testCertsUnavailable } from '@tskv/rpc/testing';
import { SchedulerServer } from '../src/server.js';
import { tempDir } from './helpers.js';

const skip = testCertsUnavailable() ?? false;
const CLI = fileURLToPath(new URL('../../cli/tinykv-scheduler.mjs', import.meta.url));

function run(args: string[]): { stdout: Promise<string>; exit: Promise<{ code: number | null; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr: err })),
  );
  const stdout = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    void exit.then(({ code, stderr }) => reject(new Error(`exited (${code}) before its ready line: ${stderr}`)));
  });
  stdout.catch(() => {}); // awaited only by the tests that wait for the ready line
  return { stdout, exit, kill: () => child.kill('SIGTERM') };
}

test('tinykv-scheduler on mutual TLS with cert-allowed-cn: tskv-store is served, intruder refused on unary and streaming calls, ' +
  'no cert / other CA / plaintext cannot connect', {
  skip,
}, async (t) => {
  const dir = await tempDir(t);
  const certs = makeTestCerts(join(dir, 'certs'));
  const cfg = join(dir, 'scheduler.json');
  await writeFile(
    cfg,
    JSON.stringify({
      maxReplicas: 1,
      security: { caPath: certs.store.caPath, certPath: certs.store.certPath, keyPath: certs.store.keyPath },
    }),
  );
  const r = run([
    '--addr',
    '127.0.0.1:0',
    '--status-addr',
    '127.0.0.1:0',
    '--data-dir',
    join(dir, 'data'),
    '--log-level',
    'error',
    '--config',
    cfg,
    '--cert-allowed-cn',
    'tskv-store,tskv-client',
  ]);
  t.after(() => r.kill());
  const { addr } = JSON.parse(await r.stdout) as { addr: string };

  const ok = new PdClient(addr, { tls: loadTls(certs.store), timeoutMs: 5000 });
  const intruder = new PdClient(addr, { tls: loadTls(certs.intruder), timeoutMs: 5000 });
  t.after(() => {
    ok.close();
    intruder.close();
  });
  assert.ok((await ok.allocId()) > 0);
  assert.ok((await ok.tso()).physical > 0);

  const refused = (e: grpc.ServiceError): boolean =>
    e.code === grpc.status.UNAUTHENTICATED && /CN 'intruder' is not allowed/.test(e.details);
  await assert.rejects(intruder.allocId(), refused);
  await assert.rejects(intruder.tso(), refused);
  const hb = intruder.grpc.regionHeartbeat() as grpc.ClientDuplexStream<object, object>;
  const hbErr = new Promise<grpc.ServiceError>((resolve) => hb.on('error', resolve));
  hb.write({ header: {}, region: { id: 1 }, leader: { id: 1, storeId: 1 } });
  assert.ok(refused(await hbErr));

  // Below the CN check: the TLS handshake itself fails (one attempt each, no retries).
  const t0 = loadTls(certs.client)!;
  const o = loadTls(certs.other)!;
  for (const [what, creds] of [
    ['no client certificate', grpc.credentials.createSsl(t0.ca)],
    ['a certificate of another CA', grpc.credentials.createSsl(t0.ca, o.key, o.cert)],
    ['another CA entirely', channelCredentials(o)],
    ['plaintext', grpc.credentials.createInsecure()],
  ] as const) {
    const c = newSchedulerGrpcClient(addr, creds);
    try {
      await assert.rejects(unary(c, c.allocID, { header: {} }, 3000), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE, what);
    } finally {
      c.close();
    }
  }
  r.kill();
  assert.equal((await r.exit).code, 0);
});

test('tinykv-scheduler: a partial security config exits 2 naming what is missing', async (t) => {
  const dir = await tempDir(t);
  const base = ['--addr', '127.0.0.1:0', '--status-addr', '127.0.0.1:0', '--data-dir', join(dir, 'data')];
  let e = await run([...base, '--ca-path', join(dir, 'ca.pem')]).exit;
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /caPath, certPath and keyPath must be given together \(missing: certPath, keyPath\)/);
  const cfg = join(dir, 'bad.json');
  await writeFile(cfg, JSON.stringify({ security: { caPath: 'x', certFile: 'y' } }));
  e = await run([...base, '--config', cfg]).exit;
  assert.equal(e.code, 2, e.stderr);
  assert.match(e.stderr, /unknown key 'security\.certFile'/);
});

test('SchedulerServer.start({ tls }) without an allow-list serves any certificate of the CA', { skip }, async (t) => {
  const dir = await tempDir(t);
  const certs = makeTestCerts(join(dir, 'certs'));
  const s = await SchedulerServer.start({
    dataDir: join(dir, 'data'),
    addr: '127.0.0.1:0',
    config: { maxReplicas: 1 },
    tls: loadTls(certs.store),
  });
  t.after(() => s.stop());
  const pd = new PdClient(s.addr, { tls: loadTls(certs.intruder), timeoutMs: 5000 });
  t.after(() => pd.close());
  assert.equal(await pd.isBootstrapped(), false);
});
