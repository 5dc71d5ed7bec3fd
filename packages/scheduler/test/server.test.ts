// The scheduler through a real gRPC socket, mostly with the PdClient stores and clients use.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb, metapb, schedulerpb } from '@tskv/proto';
import { PdClient, SchedulerError } from '@tskv/rpc';
import { call, firstRegion, rawClient, startServer, tempDir, waitFor } from './helpers.js';

const E = schedulerpb.ErrorType;
const isErr = (type: schedulerpb.ErrorType) => (e: unknown) => e instanceof SchedulerError && e.type === type;

async function bootstrapped(pd: PdClient): Promise<{ storeId: number; regionId: number; peerId: number }> {
  const [storeId, regionId, peerId] = [await pd.allocId(), await pd.allocId(), await pd.allocId()];
  await pd.bootstrap({ id: storeId, address: '127.0.0.1:20160' }, firstRegion(regionId, peerId, storeId));
  return { storeId, regionId, peerId };
}

test(
  'bootstrap: only once; calls needing a cluster refuse before it; ' + 'other cluster ids and malformed requests get header errors',
  async (t) => {
    const dir = await tempDir(t);
    const server = await startServer(dir);
    const pd = new PdClient(server.addr, { timeoutMs: 5000 });
    const raw = rawClient(server.addr);
    t.after(async () => {
      pd.close();
      raw.close();
      await server.stop();
    });
    assert.equal(await pd.isBootstrapped(), false);
    assert.equal(pd.clusterId, server.clusterId, 'the cluster id comes in every header');
    await assert.rejects(pd.getRegion(Buffer.from('a')), isErr(E.NOT_BOOTSTRAPPED));
    await assert.rejects(pd.putStore({ id: 5, address: 'x:1' }), isErr(E.NOT_BOOTSTRAPPED));

    const { storeId, regionId } = await bootstrapped(pd);
    assert.equal(await pd.isBootstrapped(), true);
    await assert.rejects(pd.bootstrap({ id: 77, address: '127.0.0.1:20161' }, firstRegion(78, 79, 77)), isErr(E.ALREADY_BOOTSTRAPPED));
    const r = await pd.getRegionById(regionId);
    assert.equal(r!.region.peers![0]!.storeId, storeId);
    assert.equal((await pd.getStore(storeId))!.store.address, '127.0.0.1:20160');

    // An unknown store: STORE_NOT_FOUND (PdClient answers null).
    assert.equal(await pd.getStore(424242), null);
    const nf = await call<schedulerpb.GetStoreResponse>(raw, 'getStore', { storeId: 424242 });
    assert.equal(nf.header.error!.type, E.STORE_NOT_FOUND);
    // Another cluster's request.
    const mm = await call<schedulerpb.AllocIDResponse>(raw, 'allocID', { header: { clusterId: server.clusterId + 1 } });
    assert.equal(mm.header.error!.type, E.CLUSTER_MISMATCH);
    assert.equal(mm.header.clusterId, server.clusterId);
    // Malformed requests: a clear error, the server keeps serving.
    const noStore = await call<schedulerpb.PutStoreResponse>(raw, 'putStore', {});
    assert.equal(noStore.header.error!.type, E.UNKNOWN);
    assert.match(noStore.header.error!.message ?? '', /missing store/);
    const noRegion = await call<schedulerpb.AskBatchSplitResponse>(raw, 'askBatchSplit', { splitCount: 1 });
    assert.match(noRegion.header.error!.message ?? '', /missing region/);
    const noStats = await call<schedulerpb.StoreHeartbeatResponse>(raw, 'storeHeartbeat', {});
    assert.equal(noStats.header.error!.type, E.UNKNOWN);
    assert.ok((await pd.allocId()) > 0);

    // A store taken out and emptied becomes a tombstone, which is refused for good.
    await pd.putStore({ id: 9, address: '127.0.0.1:20169', state: metapb.StoreState.Offline });
    await waitFor('store 9 buried', async () => (await pd.getStore(9))?.store.state === metapb.StoreState.Tombstone);
    await assert.rejects(pd.putStore({ id: 9, address: '127.0.0.1:20169' }), isErr(E.STORE_TOMBSTONE));
    assert.equal(
      (await pd.getAllStores(true)).some((s) => s.store.id === 9),
      false,
    );
    assert.equal(
      (await pd.getAllStores(false)).some((s) => s.store.id === 9),
      true,
    );
    // Two stores cannot share an address.
    await assert.rejects(pd.putStore({ id: 10, address: '127.0.0.1:20160' }), isErr(E.UNKNOWN));
  },
);

test('restart: the cluster id, ids, timestamps, stores and regions survive a stop and start on the same data dir', async (t) => {
  const dir = await tempDir(t);
  let server = await startServer(dir, { idAllocStep: 50 });
  let pd = new PdClient(server.addr, { timeoutMs: 5000 });
  const clusterId = server.clusterId;
  const { storeId, regionId, peerId } = await bootstrapped(pd);
  await pd.putStore({ id: storeId, address: '127.0.0.1:20160', statusAddress: '127.0.0.1:20180' });
  const before: number[] = [];
  for (let i = 0; i < 120; i++) before.push(await pd.allocId()); // past a few steps of 50
  const splitIds = await pd.askBatchSplit(firstRegion(regionId, peerId, storeId), 1);
  before.push(splitIds[0]!.newRegionId, ...splitIds[0]!.newPeerIds);
  let lastTs = { physical: 0, logical: 0 };
  for (let i = 0; i < 20; i++) lastTs = await pd.tso();
  const left = { ...firstRegion(regionId, peerId, storeId), endKey: Buffer.from('m'), regionEpoch: { confVer: 1, version: 2 } };
  const right = {
    id: splitIds[0]!.newRegionId,
    startKey: Buffer.from('m'),
    endKey: new Uint8Array(0),
    regionEpoch: { confVer: 1, version: 2 },
    peers: [{ id: splitIds[0]!.newPeerIds[0]!, storeId }],
  };
  await pd.reportBatchSplit([left, right]);
  pd.close();
  await server.stop();

  server = await startServer(dir, { idAllocStep: 50 });
  pd = new PdClient(server.addr, { timeoutMs: 5000 });
  t.after(async () => {
    pd.close();
    await server.stop();
  });
  assert.equal(server.clusterId, clusterId);
  assert.equal(await pd.isBootstrapped(), true);
  const after: number[] = [];
  for (let i = 0; i < 20; i++) after.push(await pd.allocId());
  assert.ok(Math.min(...after) > Math.max(...before), 'no id handed out before the restart comes again');
  assert.equal(new Set([...before, ...after]).size, before.length + after.length);
  const ts = await pd.tso();
  assert.ok(ts.physical > lastTs.physical || (ts.physical === lastTs.physical && ts.logical > lastTs.logical), 'the TSO keeps increasing');
  const store = await pd.getStore(storeId);
  assert.equal(store!.store.statusAddress, '127.0.0.1:20180');
  assert.equal((await pd.getRegion(Buffer.from('a')))!.region.id, regionId);
  assert.equal((await pd.getRegion(Buffer.from('x')))!.region.id, right.id);
  assert.equal((await pd.getRegionById(right.id))!.region.regionEpoch!.version, 2);
});

test('TSO: strictly increasing across calls, one stream for many concurrent requests, and across a restart', async (t) => {
  const dir = await tempDir(t);
  let server = await startServer(dir, { tsoSaveWindowMs: 200 });
  let pd = new PdClient(server.addr, { timeoutMs: 5000 });
  const all: { physical: number; logical: number }[] = [];
  for (let round = 0; round < 3; round++) {
    const batch = await Promise.all(Array.from({ length: 200 }, () => pd.tso()));
    all.push(...batch);
    await new Promise((r) => setTimeout(r, 120)); // let the short window run out now and then
  }
  pd.close();
  await server.stop();
  server = await startServer(dir, { tsoSaveWindowMs: 200 });
  pd = new PdClient(server.addr, { timeoutMs: 5000 });
  t.after(async () => {
    pd.close();
    await server.stop();
  });
  all.push(...(await Promise.all(Array.from({ length: 50 }, () => pd.tso()))));
  // Answers come in request order on one stream, so the array is in issue order.
  for (let i = 1; i < all.length; i++) {
    const [a, b] = [all[i - 1]!, all[i]!];
    assert.ok(
      b.physical > a.physical || (b.physical === a.physical && b.logical > a.logical),
      `timestamp ${i} (${b.physical}.${b.logical}) after ${a.physical}.${a.logical}`,
    );
  }
});

test('splits: AskBatchSplit ids, ReportBatchSplit regions found by key and scanned in order; stale epochs refused', async (t) => {
  const dir = await tempDir(t);
  const server = await startServer(dir);
  const pd = new PdClient(server.addr, { timeoutMs: 5000 });
  t.after(async () => {
    pd.close();
    await server.stop();
  });
  const { storeId, regionId, peerId } = await bootstrapped(pd);
  const origin = {
    ...firstRegion(regionId, peerId, storeId),
    peers: [
      { id: peerId, storeId },
      { id: peerId + 1000, storeId: storeId + 1000 },
    ],
  };
  const ids = await pd.askBatchSplit(origin, 2);
  assert.equal(ids.length, 2);
  for (const x of ids) assert.equal(x.newPeerIds.length, 2, 'one new peer id per peer of the region');
  const flat = ids.flatMap((x) => [x.newRegionId, ...x.newPeerIds]);
  assert.equal(new Set(flat).size, 6);
  const mk = (id: number, start: string, end: string, peers: number[]) => ({
    id,
    startKey: Buffer.from(start),
    endKey: Buffer.from(end),
    regionEpoch: { confVer: 1, version: 3 },
    peers: peers.map((p, i) => ({ id: p, storeId: i === 0 ? storeId : storeId + 1000 })),
  });
  const a = mk(regionId, '', 'g', [peerId, peerId + 1000]);
  const b = mk(ids[0]!.newRegionId, 'g', 'p', ids[0]!.newPeerIds);
  const c = mk(ids[1]!.newRegionId, 'p', '', ids[1]!.newPeerIds);
  await pd.reportBatchSplit([a, b, c]);
  assert.equal((await pd.getRegion(Buffer.from('a')))!.region.id, a.id);
  assert.equal((await pd.getRegion(Buffer.from('g')))!.region.id, b.id);
  assert.equal((await pd.getRegion(Buffer.from('oz')))!.region.id, b.id);
  assert.equal((await pd.getRegion(Buffer.from('zzz')))!.region.id, c.id);
  assert.deepEqual(
    (await pd.scanRegions(Buffer.from('h'))).map((r) => r.region.id),
    [b.id, c.id],
  );
  assert.deepEqual(
    (await pd.scanRegions(new Uint8Array(0), Buffer.from('p'))).map((r) => r.region.id),
    [a.id, b.id],
  );
  assert.deepEqual(
    (await pd.scanRegions(new Uint8Array(0), new Uint8Array(0), 1)).map((r) => r.region.id),
    [a.id],
  );
  // The origin at its pre-split epoch is stale now.
  await assert.rejects(pd.askBatchSplit(origin, 1), isErr(E.STALE_REGION));
  await assert.rejects(pd.reportBatchSplit([origin]), isErr(E.STALE_REGION));
  assert.equal((await pd.getRegion(Buffer.from('h')))!.region.id, b.id, 'a stale report changes nothing');
});

test(
  'region heartbeats: exactly one answer per request, in order, errors included; ' +
    'an under-replicated region gets an operator once a second store is up',
  async (t) => {
    const dir = await tempDir(t);
    const server = await startServer(dir, { scheduleIntervalMs: 50 });
    const pd = new PdClient(server.addr, { timeoutMs: 5000 });
    const raw = rawClient(server.addr);
    const stream = raw.regionHeartbeat();
    stream.on('error', () => {});
    t.after(async () => {
      stream.end();
      pd.close();
      raw.close();
      await server.stop();
    });
    const { storeId, regionId, peerId } = await bootstrapped(pd);
    const leader = { id: peerId, storeId };
    const answers: schedulerpb.RegionHeartbeatResponse[] = [];
    stream.on('data', (r: schedulerpb.RegionHeartbeatResponse) => answers.push(r));
    const current = { ...firstRegion(regionId, peerId, storeId), regionEpoch: { confVer: 2, version: 1 } };
    const reqs: schedulerpb.IRegionHeartbeatRequest[] = [
      { region: current, leader },
      { region: firstRegion(regionId, peerId, storeId), leader }, // conf_ver 1 < 2: stale
      {}, // no region
      { region: current, leader: { id: 999, storeId } }, // leader not a member
      { header: { clusterId: server.clusterId + 7 }, region: current, leader },
      { region: current, leader },
    ];
    for (const r of reqs) stream.write(r);
    await waitFor('six answers', () => answers.length >= reqs.length);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(answers.length, reqs.length, 'one answer per request, no more');
    for (const a of answers) assert.equal(a.header!.clusterId, server.clusterId);
    assert.deepEqual(
      answers.map((a) => a.header!.error?.type ?? E.OK),
      [E.OK, E.STALE_REGION, E.UNKNOWN, E.UNKNOWN, E.CLUSTER_MISMATCH, E.OK],
    );
    assert.equal(answers[0]!.regionId, regionId);
    assert.equal(answers[0]!.changePeer, null, 'a single store: nothing to do');
    assert.equal(answers[1]!.regionId, regionId);
    assert.equal((await pd.getRegionById(regionId))!.region.regionEpoch!.confVer, 2, 'the stale view was not recorded');

    // A second store comes up and both heartbeat: the region (1 replica, maxReplicas 3) gets a learner on it.
    const store2 = await pd.allocId();
    await pd.putStore({ id: store2, address: '127.0.0.1:20162' });
    const ops: schedulerpb.RegionHeartbeatResponse[] = [];
    pd.onRegionHeartbeatResponse((r) => ops.push(r));
    const got = await waitFor('an operator', async () => {
      await pd.storeHeartbeat({ storeId, regionCount: 1, leaderCount: 1 });
      await pd.storeHeartbeat({ storeId: store2 });
      pd.regionHeartbeat({ region: current, leader });
      return ops.find((r) => r.changePeer);
    });
    assert.equal(got.regionId, regionId);
    assert.equal(got.changePeer!.changeType, eraftpb.ConfChangeType.AddLearnerNode);
    assert.equal(got.changePeer!.peer!.storeId, store2);
    assert.ok(got.changePeer!.peer!.id! > 0);
    assert.equal(got.targetPeer!.id, peerId, 'addressed to the leader');
    assert.equal(got.regionEpoch!.confVer, 2);
    const stats = await pd.getStore(storeId);
    assert.equal(stats!.stats!.leaderCount, 1);
    assert.ok(stats!.lastHeartbeatMs > Date.now() - 60_000);

    // The store carries it out: the next heartbeat shows the learner, and the promotion comes.
    const learner = { id: got.changePeer!.peer!.id!, storeId: store2, role: metapb.PeerRole.Learner, isLearner: true };
    const withLearner = { ...current, regionEpoch: { confVer: 3, version: 1 }, peers: [{ id: peerId, storeId }, learner] };
    const before = ops.length;
    const promote = await waitFor('the promotion', () => {
      pd.regionHeartbeat({ region: withLearner, leader });
      return ops.slice(before).find((r) => r.changePeer?.changeType === eraftpb.ConfChangeType.AddNode);
    });
    assert.equal(promote.changePeer!.peer!.id, learner.id);

    // Paused through the admin endpoint: the operator is kept but no longer handed out; resumed: it is.
    const post = (path: string) => fetch(`http://${server.statusAddr}${path}`, { method: 'POST' }).then((r) => r.json());
    assert.deepEqual(await post(`/admin/regions/${regionId}/pause`), { regionId, paused: true });
    const mark = ops.length;
    pd.regionHeartbeat({ region: withLearner, leader });
    pd.regionHeartbeat({ region: withLearner, leader });
    await waitFor('two answers while paused', () => ops.length >= mark + 2);
    assert.ok(
      ops.slice(mark).every((r) => !r.changePeer && !r.transferLeader),
      'nothing handed out for a paused region',
    );
    await post(`/admin/regions/${regionId}/resume`);
    await waitFor('the promotion again', () => {
      pd.regionHeartbeat({ region: withLearner, leader });
      return ops.slice(mark + 2).find((r) => r.changePeer?.changeType === eraftpb.ConfChangeType.AddNode);
    });

    // Status and metrics tell what happened.
    const status = (await (await fetch(`http://${server.statusAddr}/status`)).json()) as {
      clusterId: number;
      bootstrapped: boolean;
      stores: { id: number; regionCount: number }[];
      pendingOperators: unknown[];
    };
    assert.equal(status.clusterId, server.clusterId);
    assert.equal(status.bootstrapped, true);
    assert.equal(status.stores.find((s) => s.id === store2)!.regionCount, 1);
    assert.equal(status.pendingOperators.length, 1);
    const metrics = await (await fetch(`http://${server.statusAddr}/metrics`)).text();
    assert.match(metrics, /tskv_scheduler_region_heartbeats_total\{result="stale"\} 1/);
    assert.match(metrics, /tskv_scheduler_operators_created_total\{kind="add-replica"\} 1/);
    assert.match(metrics, /tskv_scheduler_store_regions\{store="\d+"\} 1/);
    assert.match(metrics, /tskv_scheduler_regions 1/);
  },
);
