// The bootstrap protocol: a store that loses the race deletes the region it prepared and starts
// empty; a restart that finds the prepare marker finishes whichever way the scheduler says.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engines, prepareBootstrapKey, regionStateRange } from '@tskv/engine';
import { metapb } from '@tskv/proto';
import { bootstrapRegion, bootstrapStore, createLogger } from '@tskv/raftstore';
import { PdClient } from '@tskv/rpc';
import { ensureBootstrapped } from '../src/cluster_bootstrap.js';
import { FakeScheduler } from './fake_scheduler.js';
import { startServer, tempDir } from './helpers.js';

async function regionCount(e: Engines): Promise<number> {
  const { start, end } = regionStateRange();
  return (await e.kv.collect('raft', start, end)).length;
}

test('the loser of the bootstrap race deletes its prepared region and starts empty', async () => {
  // The scheduler keeps saying "not bootstrapped": the second store surely tries and loses.
  const fake = await FakeScheduler.start({ maxReplicas: 0, lieNotBootstrapped: true });
  const tmp = tempDir();
  try {
    const a = await startServer(fake, join(tmp.dir, 'a'));
    const b = await startServer(fake, join(tmp.dir, 'b'));
    assert.equal(fake.bootstrapCalls, 2);
    assert.equal(a.store.regionStatus().length, 1);
    assert.equal(b.store.regionStatus().length, 0, 'the loser holds no region');
    assert.equal(await b.engines.kv.get('raft', prepareBootstrapKey()), undefined, 'marker cleared');
    assert.equal(await a.engines.kv.get('raft', prepareBootstrapKey()), undefined, 'winner cleared its marker too');
    assert.equal(await regionCount(b.engines), 0);
    await Promise.all([a.stop(), b.stop()]);
  } finally {
    fake.stop();
    tmp.cleanup();
  }
});

test('a restart that finds the prepare marker bootstraps with the prepared region, or deletes it if another won', async () => {
  const tmp = tempDir();
  const logger = createLogger();
  const prepare = async (dir: string, storeId: number, regionId: number, clusterId: number): Promise<Engines> => {
    const e = await Engines.open(dir);
    await bootstrapStore(e, clusterId, storeId);
    const region: metapb.IRegion = {
      id: regionId,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      regionEpoch: { confVer: 1, version: 1 },
      peers: [{ id: regionId + 1, storeId }],
    };
    const wb = e.kv.writeBatch();
    wb.put('raft', prepareBootstrapKey(), metapb.Region.encode(region).finish());
    await e.kv.write(wb, { sync: true });
    await bootstrapRegion(e, region);
    return e; // "crashed" before asking the scheduler
  };
  // 1. Nobody bootstrapped: the prepared region is the cluster's first.
  const f1 = await FakeScheduler.start({ maxReplicas: 0 });
  const pd1 = new PdClient(f1.addr, { timeoutMs: 3000 });
  try {
    const e = await prepare(join(tmp.dir, 'x'), 100, 200, f1.clusterId);
    const r = await ensureBootstrapped(e, pd1, { address: '127.0.0.1:1' }, logger, Date.now() + 5000);
    assert.deepEqual(r, { storeId: 100, clusterId: f1.clusterId, bootstrappedCluster: true });
    assert.equal(Number(f1.firstRegion()!.id), 200);
    assert.equal(await e.kv.get('raft', prepareBootstrapKey()), undefined);
    assert.equal(await regionCount(e), 1);
    await e.close();
  } finally {
    pd1.close();
    f1.stop();
  }
  // 2. Another store bootstrapped meanwhile: the prepared region goes.
  const f2 = await FakeScheduler.start({ maxReplicas: 0 });
  const pd2 = new PdClient(f2.addr, { timeoutMs: 3000 });
  try {
    const we = await Engines.open(join(tmp.dir, 'w'));
    const winner = await ensureBootstrapped(we, pd2, { address: '127.0.0.1:2' }, logger, Date.now() + 5000);
    assert.equal(winner.bootstrappedCluster, true);
    await we.close();
    const e = await prepare(join(tmp.dir, 'y'), 300, 400, f2.clusterId);
    const r = await ensureBootstrapped(e, pd2, { address: '127.0.0.1:3' }, logger, Date.now() + 5000);
    assert.equal(r.bootstrappedCluster, false);
    assert.equal(await e.kv.get('raft', prepareBootstrapKey()), undefined);
    assert.equal(await regionCount(e), 0, 'the prepared region was deleted');
    await e.close();
    // A data directory of another cluster is refused.
    const other = await Engines.open(join(tmp.dir, 'z'));
    await bootstrapStore(other, 999, 5);
    await assert.rejects(ensureBootstrapped(other, pd2, {}, logger, Date.now() + 5000), /belongs to cluster 999/);
    await other.close();
  } finally {
    pd2.close();
    f2.stop();
    tmp.cleanup();
  }
});
