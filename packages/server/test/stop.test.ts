// A graceful stop answers every request in flight on BatchCommands (success or a region error),
// ends the stream cleanly, and closes the engines so the directory can be reopened at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { kvrpcpb } from '@tskv/proto';
import { ctxOf, enc, startServer, TestCluster, waitFor } from './helpers.js';

test('stop() answers what is in flight on BatchCommands, ends the stream, and frees the data directory', async () => {
  const c = await TestCluster.start(1);
  try {
    const s = c.servers[0]!;
    const regionId = Number(c.fake.firstRegion()!.id);
    await waitFor('leader', () => s.store.regionStatus()[0]?.isLeader === true);
    const ctx = ctxOf(s, regionId);
    const stream = c.clients.get(s.addr).batchCommands();
    const answered = new Map<number, kvrpcpb.BatchCommandsResponse.IResponse>();
    stream.on('data', (b: kvrpcpb.BatchCommandsResponse) => {
      for (const [i, id] of b.requestIds.entries()) answered.set(Number(id), b.responses[i]!);
    });
    const ended = new Promise<string>((resolve) => {
      stream.on('end', () => resolve('end'));
      stream.on('error', (e: Error) => resolve(`error: ${e.message}`));
    });
    const N = 2000;
    for (let f = 0; f < 4; f++) {
      stream.write({
        requestIds: Array.from({ length: N / 4 }, (_, i) => f * (N / 4) + i + 1),
        requests: Array.from({ length: N / 4 }, (_, i) => ({ rawPut: { context: ctx, key: enc(`k${f}-${i}`), value: enc('v') } })),
      });
    }
    await waitFor('some answers', () => answered.size > 0, 10_000, 1);
    await s.stop();
    c.servers[0] = null;
    assert.equal(await ended, 'end', 'the server ended the stream cleanly');
    assert.equal(answered.size, N, 'every request was answered');
    let ok = 0;
    for (const r of answered.values()) {
      const p = r.rawPut!;
      if (!p.regionError && !p.error) ok++;
      else assert.ok(p.regionError?.timeout || p.regionError?.serverIsBusy || p.regionError?.staleCommand, JSON.stringify(p));
    }
    assert.ok(ok > 0);
    // The engines were closed: the same directory opens again right away.
    c.servers[0] = await startServer(c.fake, c.dirs[0]!);
    assert.equal(c.servers[0].storeId, s.storeId);
  } finally {
    await c.stopAll();
  }
});
