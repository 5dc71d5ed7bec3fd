// Three TinyKvServers over a fake scheduler: the first bootstraps the cluster, the scheduler's
// replica checker adds peers on the other two, and clients use the raw API over unary calls and
// the BatchCommands stream. Followers answer NotLeader with the leader.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { kvrpcpb } from '@tskv/proto';
import { call, ctxOf, dec, enc, leaderOf, TestCluster, waitFor } from './helpers.js';

test('three servers form a cluster and serve the raw API over unary calls and BatchCommands', async () => {
  // All three start at once: exactly one bootstraps the cluster.
  const c = await TestCluster.start(3);
  try {
    const fake = c.fake;
    assert.equal(fake.bootstrapped, true);
    const ids = c.live().map((s) => s.storeId);
    assert.equal(new Set(ids).size, 3, `distinct store ids ${ids}`);
    const region = fake.firstRegion()!;
    const regionId = Number(region.id);
    // The losers of the race prepared nothing that survives: one region in the whole cluster.
    for (const s of c.live()) for (const r of s.store.regionStatus()) assert.equal(r.regionId, regionId);

    const leader = await c.waitReplicated(regionId);
    const followers = c.live().filter((s) => s !== leader);
    const lc = c.clients.get(leader.addr);
    const ctx = ctxOf(leader, regionId);

    // ---- unary ----
    const put = await call<kvrpcpb.RawPutResponse>(lc, 'rawPut', { context: ctx, key: enc('k1'), value: enc('v1') });
    assert.equal(put.regionError, null);
    assert.equal(put.error, '');
    const got = await call<kvrpcpb.RawGetResponse>(lc, 'rawGet', { context: ctx, key: enc('k1') });
    assert.equal(dec(got.value), 'v1');
    assert.equal(got.notFound, false);
    const missing = await call<kvrpcpb.RawGetResponse>(lc, 'rawGet', { context: ctx, key: enc('nope') });
    assert.equal(missing.notFound, true);

    // A follower answers NotLeader naming the leader.
    const f = followers[0]!;
    const nl = await call<kvrpcpb.RawGetResponse>(c.clients.get(f.addr), 'rawGet', { context: ctxOf(f, regionId), key: enc('k1') });
    assert.ok(nl.regionError?.notLeader, `expected NotLeader, got ${JSON.stringify(nl.regionError)}`);
    assert.equal(Number(nl.regionError.notLeader.leader?.storeId), leader.storeId);

    // Batch put: one command, all pairs; batch get leaves out absent keys.
    const pairs = Array.from({ length: 50 }, (_, i) => ({ key: enc(`b${String(i).padStart(3, '0')}`), value: enc(`bv${i}`) }));
    const bp = await call<kvrpcpb.RawBatchPutResponse>(lc, 'rawBatchPut', { context: ctx, pairs });
    assert.equal(bp.regionError, null);
    assert.equal(bp.error, '');
    const bg = await call<kvrpcpb.RawBatchGetResponse>(lc, 'rawBatchGet', {
      context: ctx,
      keys: [enc('b000'), enc('absent'), enc('b049')],
    });
    assert.deepEqual(
      bg.pairs.map((p) => [dec(p.key), dec(p.value)]),
      [
        ['b000', 'bv0'],
        ['b049', 'bv49'],
      ],
    );

    const scan = await call<kvrpcpb.RawScanResponse>(lc, 'rawScan', { context: ctx, startKey: enc('b010'), limit: 5 });
    assert.deepEqual(
      scan.kvs.map((kv) => dec(kv.key)),
      ['b010', 'b011', 'b012', 'b013', 'b014'],
    );
    const all = await call<kvrpcpb.RawScanResponse>(lc, 'rawScan', { context: ctx, startKey: enc('b'), limit: 0 });
    assert.equal(all.kvs.filter((kv) => dec(kv.key).startsWith('b')).length, 50);
    assert.equal(dec(all.kvs[50]!.key), 'k1'); // the scan runs to the region's end

    const del = await call<kvrpcpb.RawDeleteResponse>(lc, 'rawDelete', { context: ctx, key: enc('k1') });
    assert.equal(del.regionError, null);
    assert.equal((await call<kvrpcpb.RawGetResponse>(lc, 'rawGet', { context: ctx, key: enc('k1') })).notFound, true);

    // ---- BatchCommands: frames of many requests, answered by id ----
    const stream = lc.batchCommands();
    stream.on('error', () => undefined);
    const answers = new Map<number, kvrpcpb.BatchCommandsResponse.IResponse>();
    let frames = 0;
    stream.on('data', (b: kvrpcpb.BatchCommandsResponse) => {
      frames++;
      for (const [i, id] of b.requestIds.entries()) answers.set(Number(id), b.responses[i]!);
    });
    const N = 300;
    stream.write({
      requestIds: Array.from({ length: N }, (_, i) => i + 1),
      requests: Array.from({ length: N }, (_, i) => ({ rawPut: { context: ctx, key: enc(`s${i}`), value: enc(`sv${i}`) } })),
    });
    await waitFor('batch puts answered', () => answers.size === N);
    for (let i = 1; i <= N; i++) assert.equal(answers.get(i)!.rawPut?.regionError ?? null, null, `put ${i}`);
    assert.ok(frames < N, `answers share frames (${frames} frames for ${N} answers)`);
    stream.write({
      requestIds: Array.from({ length: N }, (_, i) => 1000 + i),
      requests: Array.from({ length: N }, (_, i) => ({ rawGet: { context: ctx, key: enc(`s${i}`) } })),
    });
    // A mixed frame: a batch get, a scan and a malformed get (answered with an error, not a crash).
    stream.write({
      requestIds: [5000, 5001, 5002],
      requests: [
        { rawBatchGet: { context: ctx, keys: [enc('s1'), enc('s2')] } },
        { rawScan: { context: ctx, startKey: enc('s'), limit: 3 } },
        { rawGet: { context: ctx, key: new Uint8Array(0) } },
      ],
    });
    await waitFor('batch gets answered', () => answers.size === 2 * N + 3);
    for (let i = 0; i < N; i++) assert.equal(dec(answers.get(1000 + i)!.rawGet!.value), `sv${i}`);
    assert.equal(answers.get(5000)!.rawBatchGet!.pairs!.length, 2);
    assert.equal(answers.get(5001)!.rawScan!.kvs!.length, 3);
    assert.match(answers.get(5002)!.rawGet!.error!, /key must not be empty/);
    // Through a follower's stream: NotLeader.
    const fs = c.clients.get(f.addr).batchCommands();
    fs.on('error', () => undefined);
    const fAnswer = new Promise<kvrpcpb.BatchCommandsResponse>((resolve) => fs.once('data', resolve));
    fs.write({ requestIds: [9], requests: [{ rawGet: { context: ctxOf(f, regionId), key: enc('s1') } }] });
    const fa = await fAnswer;
    assert.equal(Number(fa.requestIds[0]), 9);
    assert.equal(Number(fa.responses[0]!.rawGet!.regionError!.notLeader!.leader!.storeId), leader.storeId);
    stream.end();
    fs.end();

    // Every store applied the writes (raft traffic went over the gRPC transport).
    await waitFor('followers applied the batch', async () => {
      for (const s of followers) if (dec(await s.engines.kv.get('default', enc('s299'))) !== 'sv299') return false;
      return true;
    });

    // ---- status and metrics ----
    const st = (await (await fetch(`http://${leader.statusAddr}/status`)).json()) as {
      storeId: number;
      leaderCount: number;
      regions: { id: number; peers: unknown[]; isLeader: boolean; appliedIndex: number; epoch: { confVer: number } }[];
    };
    assert.equal(st.storeId, leader.storeId);
    assert.equal(st.leaderCount, 1);
    assert.equal(st.regions[0]!.id, regionId);
    assert.equal(st.regions[0]!.peers.length, 3);
    assert.ok(st.regions[0]!.appliedIndex > 5);
    assert.ok(st.regions[0]!.epoch.confVer >= 3);
    const text = await (await fetch(`http://${leader.statusAddr}/metrics`)).text();
    assert.match(text, /tskv_client_requests_total\{method="rawPut"\} \d+/);
    assert.match(text, /tskv_leaders 1/);
    assert.match(text, /tskv_raft_append_duration_seconds_bucket/);
    const sent = await leader.metrics.value('tskv_raft_messages_sent_total');
    const framesSent = await leader.metrics.value('tskv_raft_frames_sent_total');
    // One region: a round's writes are one entry, so a round may send a single append per
    // follower and a frame may carry one message (frames of many: transport.test.ts).
    assert.ok(sent > 0 && framesSent > 0 && framesSent <= sent, `raft messages go out in frames (${sent} messages, ${framesSent} frames)`);
    assert.ok((await leader.metrics.value('tskv_raft_entries_applied_total')) > 0);
    assert.ok((await leader.metrics.value('tskv_client_region_errors_total')) === 0);
    assert.ok((await f.metrics.value('tskv_client_region_errors_total', { error: 'not_leader' })) >= 2);
    // Replicas came as snapshots over the Snapshot stream (new peers start uninitialized).
    assert.ok((await leader.metrics.value('tskv_snapshots_sent_total', { result: 'ok' })) >= 2);
    // The scheduler heard store heartbeats with the filesystem's capacity.
    await waitFor('store heartbeat with capacity', () => Number(c.fake.stores.get(leader.storeId)?.stats?.capacity ?? 0) > 0);
    assert.equal(leaderOf(c.live(), regionId), leader);
  } finally {
    await c.stopAll();
  }
});
