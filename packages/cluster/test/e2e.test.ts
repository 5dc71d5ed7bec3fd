// End to end with the real processes: tinykv-scheduler and three tinykv-server, on free ports and
// a temp data dir, driven by RawClient. Skips (saying why) until both commands are built.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN].filter((f) => !existsSync(f));
const skip = missing.length ? `not built yet: ${missing.join(', ')}` : false;

const s = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString() : null);

test('real cluster: start, ready, put/get/scan/batch, a store crash and restart, stop and start again on the same data', {
  skip,
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-e2e-'));
  const c = new ProcessCluster({ dataDir: dir, schedulerPort: 0, basePort: 0, stopTimeoutMs: 10_000 });
  const unexpected: UnexpectedExit[] = [];
  c.on('unexpected-exit', (e) => unexpected.push(e));
  try {
    await c.start();
    await c.waitUntilReady({ timeoutMs: 60_000 });
    const client = await c.client({ timeoutMs: 20_000 });
    try {
      await client.put('hello', 'world');
      assert.equal(s(await client.get('hello')), 'world');
      assert.equal(await client.get('absent'), null);
      await client.batchPut(Array.from({ length: 50 }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`] as const));
      const got = await client.batchGet(['k07', 'nope', 'k42']);
      assert.deepEqual(got.map(s), ['v7', null, 'v42']);
      const sc = await client.scan('k10', 'k20');
      assert.deepEqual(
        sc.map((p) => s(p.key)),
        Array.from({ length: 10 }, (_, i) => `k${10 + i}`),
      );
      await client.delete('k00');
      assert.equal(await client.get('k00'), null);

      // Crash the store leading the region of "hello": a new leader is elected, the client follows.
      const leaderStore = client.cache.lookup(Buffer.from('hello'))?.leader?.storeId;
      const idx = c.addresses.stores.find((x) => x.storeId === leaderStore)?.index ?? 1;
      await c.kill(idx);
      await client.put('after-crash', 'yes');
      assert.equal(s(await client.get('hello')), 'world');
      await c.restart(idx);
      await c.waitUntilReady({ timeoutMs: 60_000 });
      assert.equal(s(await client.get('after-crash')), 'yes');
    } finally {
      client.close();
    }
    await c.stop();
    for (const p of c.processes()) assert.deepEqual(p.lastExit, { code: 0, signal: null }, `${p.name} stopped gracefully`);

    // Again, on the same data and ports.
    await c.start();
    await c.waitUntilReady({ timeoutMs: 60_000 });
    const again = await c.client({ timeoutMs: 20_000 });
    try {
      assert.equal(s(await again.get('hello')), 'world');
      assert.equal(s(await again.get('k42')), 'v42');
    } finally {
      again.close();
    }
    assert.deepEqual(
      unexpected.map((e) => `${e.info.name}: ${e.logTail}`),
      [],
    );
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
