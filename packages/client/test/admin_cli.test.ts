// The admin verbs of the tinykv command against a stand-in for the scheduler's admin API (an HTTP
// server answering canned JSON): where they look for it, refusals and operators that end badly
// (one line, exit 1), the progress line, the operators table, usage errors. The verbs against a
// real cluster: packages/cluster/test/admin_cli.test.ts.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTls } from '@tskv/rpc';
import { makeTestCerts, testCertsUnavailable } from '@tskv/rpc/testing';
import { defaultStatusAddress } from '../bin/admin_commands.js';

const CLI = fileURLToPath(new URL('../../cli/tinykv.mjs', import.meta.url));

function tinykv(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.TINYKV_SCHEDULER;
    delete env.TINYKV_SCHEDULER_STATUS;
    execFile(process.execPath, [CLI, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Requests seen, and the answer of each route ("METHOD path" -> status and body, or a function). */
const seen: { method: string; path: string; body: string }[] = [];
const answers = new Map<string, () => [number, object]>();
let server: http.Server;
let addr: string;

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, path: req.url!, body: Buffer.concat(chunks).toString() });
      const a = answers.get(`${req.method} ${req.url}`);
      const [status, body] = a ? a() : [404, { error: `no ${req.url}` }];
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

const op = (state: string, step: number, extra: object = {}) => ({
  id: 7,
  regionId: 3,
  kind: 'admin-add-peer',
  step,
  steps: ['add learner 20 on store 4', 'promote learner 20 on store 4'],
  createdMs: 0,
  ageMs: 1200,
  state,
  ...extra,
});

test('the status address: --scheduler-status, else the --scheduler host with port + 1; unreachable: one clear line', async () => {
  assert.equal(defaultStatusAddress('127.0.0.1:2379'), '127.0.0.1:2380');
  assert.equal(defaultStatusAddress('[::1]:2379'), '[::1]:2380');
  assert.equal(defaultStatusAddress(':2379'), '127.0.0.1:2380');
  const r = await tinykv(['--scheduler', '127.0.0.1:1', 'operators']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "tinykv: cannot reach the scheduler's status address 127.0.0.1:2: ECONNREFUSED (give --scheduler-status)\n");
});

test('a refusal is the scheduler reason on one line, exit 1; the request names the operator', async () => {
  seen.length = 0;
  answers.set('POST /admin/operators', () => [409, { error: 'region 3 already has a peer on store 4 (peer 12)' }]);
  const r = await tinykv(['--scheduler-status', addr, 'region', 'add-peer', '3', '4']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'tinykv: region 3 already has a peer on store 4 (peer 12)\n');
  assert.deepEqual(JSON.parse(seen[0]!.body), { name: 'add-peer', regionId: 3, storeId: 4 });

  const s = await tinykv(['--scheduler-status', addr, '--hex', 'region', 'split', '6d00']);
  assert.equal(s.code, 1);
  assert.deepEqual(JSON.parse(seen[1]!.body), { name: 'split-region', key: '6d00' }, 'the key travels as hex');
});

test('an operator that ends without finishing: progress lines, then exit 1 with the reason; --json prints it too', async () => {
  let polls = 0;
  answers.set('POST /admin/operators', () => [200, { operator: op('running', 0) }]);
  answers.set('GET /admin/operators/7', () => {
    polls++;
    if (polls < 3) return [200, op('running', polls === 1 ? 0 : 1)];
    return [200, op('cancelled', 1, { reason: 'promote learner 20 on store 4: the store is not live', tookMs: 2500 })];
  });
  const r = await tinykv(['--scheduler-status', addr, 'region', 'add-peer', '3', '4']);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[0]!, /^region 3: add-peer on store 4: step 1\/2 \(add learner 20 on store 4\) \.\.\. \d+\.\d s$/);
  assert.match(lines[1]!, /^region 3: add-peer on store 4: step 2\/2 \(promote learner 20 on store 4\) \.\.\. \d+\.\d s$/);
  assert.equal(lines[2], 'region 3: add-peer on store 4: cancelled after 2.5 s');
  assert.equal(lines[3], 'tinykv: operator 7 on region 3 cancelled: promote learner 20 on store 4: the store is not live');
  polls = 0;
  const j = await tinykv(['--scheduler-status', addr, '--json', 'region', 'add-peer', '3', '4']);
  assert.equal(j.code, 1);
  assert.equal(JSON.parse(j.stdout).operator.state, 'cancelled');
});

test('operators: in flight then ended, as a table; scheduler pause; usage errors', async () => {
  answers.set('GET /admin/operators', () => [
    200,
    {
      operators: [op('running', 1)],
      recent: [{ ...op('timeout', 0, { reason: 'step 0 made no progress for 30001 ms', tookMs: 30_001 }), id: 6, kind: 'balance-region' }],
    },
  ]);
  const r = await tinykv(['--scheduler-status', addr, 'operators']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^ID\s+REGION\s+KIND\s+STATE\s+STEP\s+TIME\s+STEPS$/);
  assert.match(lines[1]!, /^7\s+3\s+admin-add-peer\s+running\s+2\/2\s+1\.2 s so far\s+promote learner 20 on store 4 \(all: add learner/);
  assert.match(
    lines[2]!,
    /^6\s+3\s+balance-region\s+timeout\s+0\/2\s+took 30\.0 s\s+add learner .*: step 0 made no progress for 30001 ms$/,
  );

  answers.set('POST /admin/schedulers/balance-leader/pause', () => [200, { name: 'balance-leader', paused: true, changed: false }]);
  assert.equal(
    (await tinykv(['--scheduler-status', addr, 'scheduler', 'pause', 'balance-leader'])).stdout,
    'balance-leader: paused (it already was)\n',
  );

  const bad = await tinykv(['--scheduler-status', addr, 'region', 'remove-peer', '3', '0']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'tinykv: STORE must be a positive integer id, got "0"\n');
  const missing = await tinykv(['--scheduler-status', addr, 'store', 'offline']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /missing required argument 'id'/);
});

test('with the TLS flags the status address is spoken to over HTTPS with the client certificate', {
  skip: testCertsUnavailable() ?? false,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-admin-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certs = makeTestCerts(dir);
  const st = loadTls(certs.store)!;
  const cns: string[] = [];
  const srv = https.createServer({ ca: st.ca, cert: st.cert, key: st.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    cns.push(String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ schedulers: [{ name: 'balance-leader', paused: false }] }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  const a = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const c = certs.client;
  const r = await tinykv([
    '--scheduler-status',
    a,
    '--ca-path',
    c.caPath!,
    '--cert-path',
    c.certPath!,
    '--key-path',
    c.keyPath!,
    'scheduler',
    'show',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^NAME\s+STATE\nbalance-leader\s+running\n$/);
  assert.deepEqual(cns, ['tskv-client']);
  const plain = await tinykv(['--scheduler-status', a, 'scheduler', 'show']);
  assert.equal(plain.code, 1, 'no certificate: plain HTTP to an HTTPS server fails');
});
