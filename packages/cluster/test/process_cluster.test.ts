// ProcessCluster with stand-in commands (src/testing/fake_*.ts: the same flags and ready lines as
// the real scheduler and server, no raft), so process management is tested fast and on its own.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, ProcessCluster, type ProcessClusterOptions, ProcessStartError, type UnexpectedExit } from '../src/index.js';

export const FAKE_SCHEDULER = fileURLToPath(new URL('../src/testing/fake_scheduler.js', import.meta.url));
export const FAKE_SERVER = fileURLToPath(new URL('../src/testing/fake_server.js', import.meta.url));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tskv-cluster-test-'));
}

function fakeCluster(dataDir: string, o: Partial<ProcessClusterOptions> = {}, env: Record<string, string> = {}): ProcessCluster {
  return new ProcessCluster({
    dataDir,
    schedulerBin: FAKE_SCHEDULER,
    serverBin: FAKE_SERVER,
    schedulerPort: 0,
    basePort: 0,
    readyTimeoutMs: 20_000,
    stopTimeoutMs: 5_000,
    env: { ...process.env, ...env },
    ...o,
  });
}

test(
  'start: scheduler then stores, each with its data dir and log file; usable per the scheduler; ' + 'stop exits every child with 0',
  async () => {
    const dir = tmp();
    const cfg = join(dir, 'conf');
    mkdirSync(cfg);
    writeFileSync(join(cfg, 'scheduler.json'), '{}');
    writeFileSync(join(cfg, 'store.json'), '{}');
    writeFileSync(join(cfg, 'store2.json'), '{}');
    const c = fakeCluster(join(dir, 'data'), { configDir: cfg });
    const order: string[] = [];
    c.on('ready', (p) => order.push(p.name));
    try {
      await c.start();
      assert.equal(order[0], 'scheduler');
      assert.deepEqual([...order.slice(1)].sort(), ['store1', 'store2', 'store3']);
      const a = c.addresses;
      assert.match(a.scheduler, /^127\.0\.0\.1:\d+$/);
      assert.equal(a.stores.length, 3);
      assert.deepEqual(
        a.stores.map((s) => s.storeId),
        [1, 2, 3],
      );
      assert.equal(new Set([a.scheduler, a.schedulerStatus, ...a.stores.flatMap((s) => [s.addr, s.statusAddr])]).size, 8, 'distinct ports');
      // Without TLS the status pages are plain HTTP (the stand-ins serve none: only the URLs).
      assert.equal(c.statusUrl('scheduler', '/metrics'), `http://${a.schedulerStatus}/metrics`);
      assert.equal(c.statusUrl(2, '/status'), `http://${a.stores[1]!.statusAddr}/status`);
      for (const n of ['scheduler', 'store1', 'store2', 'store3']) {
        assert.ok(existsSync(join(dir, 'data', n)), `${n} data dir`);
        assert.ok(existsSync(join(dir, 'data', 'logs', `${n}.log`)), `${n} log`);
      }
      assert.match(readFileSync(join(dir, 'data', 'logs', 'store1.log'), 'utf8'), /config .*conf\/store\.json/);
      assert.match(readFileSync(join(dir, 'data', 'logs', 'store2.log'), 'utf8'), /config .*conf\/store2\.json/);
      assert.match(readFileSync(join(dir, 'data', 'logs', 'scheduler.log'), 'utf8'), /config .*conf\/scheduler\.json/);
      const ov = await c.waitUntilReady({ timeoutMs: 10_000 });
      assert.equal(ov.storesUp, 3);
      assert.equal(ov.regions.length, 1);
      // The client reaches the scheduler through the cluster.
      const pd = await c.pd();
      assert.equal((await pd.getAllStores()).length, 3);
      pd.close();
    } finally {
      await c.stop();
    }
    for (const p of c.processes()) {
      assert.equal(p.running, false);
      assert.deepEqual(p.lastExit, { code: 0, signal: null }, `${p.name} exited 0 after SIGTERM`);
    }
    rmSync(dir, { recursive: true, force: true });
  },
);

test('kill and restart a store: not reported as unexpected, same ports, data reused; addStore adds store4', async () => {
  const dir = tmp();
  const c = fakeCluster(dir);
  const unexpected: UnexpectedExit[] = [];
  c.on('unexpected-exit', (e) => unexpected.push(e));
  try {
    await c.start();
    const before = c.store(2);
    const r = await c.kill(2);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(c.store(2).running, false);
    await c.restart(2);
    const after = c.store(2);
    assert.equal(after.running, true);
    assert.equal(after.addr, before.addr);
    assert.notEqual(after.pid, before.pid);
    assert.equal(readFileSync(join(dir, 'store2', 'starts'), 'utf8'), '2', 'the second start on the same data');
    await c.restart(3); // graceful: SIGTERM then start
    assert.equal(readFileSync(join(dir, 'store3', 'starts'), 'utf8'), '2');
    const i = await c.addStore();
    assert.equal(i, 4);
    assert.equal(c.store(4).storeId, 4);
    assert.equal(c.addresses.stores.length, 4);
    assert.deepEqual(unexpected, []);
  } finally {
    await c.stop();
  }
  // Starting the same cluster again reuses everything.
  try {
    await c.start();
    assert.equal(readFileSync(join(dir, 'store1', 'starts'), 'utf8'), '2');
  } finally {
    await c.stop();
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a store that exits on its own is reported with the tail of its logs', async () => {
  const dir = tmp();
  const c = fakeCluster(dir, {}, { FAKE_CRASH: 'store3:300' });
  try {
    const ev = new Promise<UnexpectedExit>((r) => c.once('unexpected-exit', r));
    await c.start();
    const e = await ev;
    assert.equal(e.info.name, 'store3');
    assert.equal(e.code, 3);
    assert.match(e.logTail, /boom: simulated crash/, 'from the log file');
    assert.match(e.logTail, /Error: boom \(simulated crash\)/, 'from stderr');
  } finally {
    await c.stop();
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a store that fails before it is ready fails start() with its log tail', async () => {
  const dir = tmp();
  const c = fakeCluster(dir, {}, { FAKE_FAIL_START: 'store2' });
  try {
    await assert.rejects(c.start(), (e: unknown) => {
      assert.ok(e instanceof ProcessStartError);
      assert.match(e.message, /store2 exited \(code 1\) before it was ready/);
      assert.match(e.logTail, /cannot open the data directory/);
      return true;
    });
  } finally {
    await c.stop();
  }
  assert.ok(c.processes().every((p) => !p.running));
  rmSync(dir, { recursive: true, force: true });
});

test('stop SIGKILLs a child that ignores SIGTERM after the stop timeout', async () => {
  const dir = tmp();
  const c = fakeCluster(dir, { stopTimeoutMs: 600 }, { FAKE_IGNORE_SIGTERM: 'store1' });
  await c.start();
  const t0 = Date.now();
  await c.stop();
  assert.ok(Date.now() - t0 >= 500);
  assert.equal(c.store(1).lastExit?.signal, 'SIGKILL');
  assert.deepEqual(c.store(2).lastExit, { code: 0, signal: null });
  rmSync(dir, { recursive: true, force: true });
});

test('ports in use are refused before anything starts, with a clear message', async () => {
  const dir = tmp();
  const port = await freePort();
  const net = await import('node:net');
  const blocker = net.createServer().listen(port, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const c = fakeCluster(dir, { schedulerPort: port });
  try {
    await assert.rejects(c.start(), new RegExp(`port already in use: 127\\.0\\.0\\.1:${port} \\(scheduler\\)`));
    assert.ok(
      c.processes().every((p) => p.pid === null),
      'nothing was started',
    );
  } finally {
    blocker.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waitUntilReady says what is missing when it times out', async () => {
  const dir = tmp();
  // Regions with peers on 3 stores, but only 2 stores run.
  const c = fakeCluster(dir, { stores: 2 }, { FAKE_REGION_STORES: '3' });
  try {
    await c.start();
    await assert.rejects(
      c.waitUntilReady({ timeoutMs: 800, replicas: 3 }),
      /cluster not ready after 800 ms: peers on stores not up: region 1 \(store 3\)/,
    );
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
