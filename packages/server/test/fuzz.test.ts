// Fuzzing the server's inputs: random bytes and mutations of valid encodings sent
// to every TinyKv method of a running server over a real socket (unary calls, the BatchCommands
// stream, the Raft/BatchRaft/Snapshot streams), and fed straight to the raft-frame decoding and
// delivery the BatchRaft handler uses. The server must never fail, must keep serving, and data
// acknowledged before the fuzzing must read back unchanged.
//
// The seed is printed; TSKV_FUZZ_SEED=<n> replays a run, TSKV_FUZZ_ITERATIONS=<n> sets the
// inputs per method over the socket (default 300; the in-process decoder run is 10x that).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { kvrpcpb } from '@tskv/proto';
import { envSeed, Prng } from '@tskv/util';
import { decodeBatchRaftFrame, Undecodable } from '../src/decode_guard.js';
import { fuzzInput, type Region } from './fuzz/inputs.js';
import { call, ctxOf, dec, enc, TestCluster, waitFor } from './helpers.js';
import { CLIENT_STREAM_METHODS, RawTinyKv, UNARY_METHODS } from './raw_grpc.js';

const ITERATIONS = Number(process.env.TSKV_FUZZ_ITERATIONS || 300);

test('fuzzed requests on every method: no crash, still serving, acknowledged data intact', { timeout: 600_000 }, async () => {
  const seed = envSeed('TSKV_FUZZ_SEED');
  console.log(`fuzz seed ${seed} (replay: TSKV_FUZZ_SEED=${seed}), ${ITERATIONS} inputs per method`);
  const rng = new Prng(seed);
  const c = await TestCluster.start(1);
  const raw = new RawTinyKv(c.servers[0]!.addr);
  try {
    const s = c.servers[0]!;
    const regionId = Number(c.fake.firstRegion()!.id);
    await waitFor('leader elected', () => s.store.regionStatus()[0]?.isLeader === true);
    const ctx = ctxOf(s, regionId);
    const region: Region = {
      regionId,
      regionEpoch: { confVer: Number(ctx.regionEpoch!.confVer), version: Number(ctx.regionEpoch!.version) },
      peer: { id: Number(ctx.peer!.id), storeId: Number(ctx.peer!.storeId) },
    };
    const kc = c.clients.get(s.addr);
    const acked = new Map<string, string>();
    for (let i = 0; i < 50; i++) {
      const r = await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: ctx, key: enc(`ack/${i}`), value: enc(`v${i}`) });
      assert.equal(r.error, '');
      assert.equal(r.regionError, null);
      acked.set(`ack/${i}`, `v${i}`);
    }

    const outcomes = new Map<string, number>();
    const count = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    // Unary methods: a few calls in flight at once.
    for (const m of UNARY_METHODS) {
      for (let i = 0; i < ITERATIONS; i += 10) {
        const batch = Array.from({ length: Math.min(10, ITERATIONS - i) }, () => raw.unary(m, fuzzInput(m, region, rng)));
        for (const o of await Promise.all(batch)) count(`${m}:${o.err ? `grpc ${o.err.code}` : 'answered'}`);
      }
    }
    // BatchCommands: streams of a few frames each (a bad frame ends its stream).
    for (let i = 0; i < ITERATIONS; i += 5) {
      const o = await raw.batchCommands(Array.from({ length: 5 }, () => fuzzInput('batchCommands', region, rng)));
      count(`batchCommands:${o.err ? `grpc ${o.err.code}` : 'ended'}`);
    }
    // Client streams: frames in groups (a raft stream survives bad frames; a snapshot does not).
    for (const m of CLIENT_STREAM_METHODS) {
      for (let i = 0; i < ITERATIONS; i += 10) {
        const o = await raw.clientStream(
          m,
          Array.from({ length: 10 }, () => fuzzInput(m, region, rng)),
        );
        count(`${m}:${o.err ? `grpc ${o.err.code}` : 'ok'}`);
      }
    }
    // Straight to the decoder and delivery path of BatchRaft frames (no socket: many more inputs).
    let undecodable = 0;
    for (let i = 0; i < ITERATIONS * 10; i++) {
      const frame = decodeBatchRaftFrame(fuzzInput('batchRaft', region, rng));
      if (frame instanceof Undecodable) undecodable++;
      else for (const m of frame.msgs ?? []) s.store.onRaftMessage(m);
    }
    console.log(
      `outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}; in-process raft frames undecodable: ` +
        `${undecodable}/${ITERATIONS * 10}; raft drops: ${JSON.stringify(Object.fromEntries(s.store.stats().raftDrops))}`,
    );

    // Still healthy and serving: a put/get round trip, and everything acknowledged reads back.
    assert.equal(s.store.failed, null, 'the store did not fail');
    await waitFor('region 1 leads again', () => s.store.regionStatus().find((r) => r.regionId === regionId)?.isLeader === true, 10_000);
    assert.equal(s.store.regionStatus().length, 1, 'no peer was created by fuzzed raft traffic');
    const after = ctxOf(s, regionId);
    const put = await call<kvrpcpb.RawPutResponse>(kc, 'rawPut', { context: after, key: enc('after-fuzz'), value: enc('ok') });
    assert.equal(put.error, '');
    assert.equal(put.regionError, null);
    assert.equal(dec((await call<kvrpcpb.RawGetResponse>(kc, 'rawGet', { context: after, key: enc('after-fuzz') })).value), 'ok');
    const scan = await call<kvrpcpb.RawScanResponse>(kc, 'rawScan', { context: after, startKey: enc('ack/'), limit: 1000 });
    const got = new Map(scan.kvs.filter((kv) => dec(kv.key).startsWith('ack/')).map((kv) => [dec(kv.key), dec(kv.value)]));
    assert.deepEqual(got, acked, `acknowledged data intact (seed ${seed})`);
  } finally {
    raw.close();
    await c.stopAll();
  }
});
