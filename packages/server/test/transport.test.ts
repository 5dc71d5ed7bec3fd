// GrpcTransport against a bare TinyKv endpoint: messages of one event-loop turn travel as one
// BatchRaft frame over one stream; an unreachable store's messages are dropped and reported (once
// per region and peer per turn); the stream reconnects with backoff once the store is back; a full
// queue drops; MsgSnapshot goes over a Snapshot stream and its outcome is reported.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { eraftpb, type raft_serverpb } from '@tskv/proto';
import type { RaftMessage, SnapshotChunk } from '@tskv/raftstore';
import { serverOptions, tinyKvService } from '@tskv/rpc';
import { GrpcTransport, ServerMetrics } from '../src/index.js';
import { waitFor } from './helpers.js';

class Endpoint {
  frames: raft_serverpb.BatchRaftMessage[] = [];
  streams = 0;
  snapshots: raft_serverpb.SnapshotChunk[][] = [];
  /** Fail snapshot streams with this status (0: accept). */
  rejectSnapshots = 0;
  server = new grpc.Server(serverOptions());
  port = 0;

  constructor() {
    const unimpl = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED });
    this.server.addService(tinyKvService, {
      rawGet: unimpl,
      rawPut: unimpl,
      rawDelete: unimpl,
      rawScan: unimpl,
      rawBatchGet: unimpl,
      rawBatchPut: unimpl,
      raft: unimpl,
      batchCommands: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
      batchRaft: (
        call: grpc.ServerReadableStream<raft_serverpb.BatchRaftMessage, unknown>,
        cb: grpc.sendUnaryData<raft_serverpb.IDone>,
      ) => {
        this.streams++;
        call.on('data', (f: raft_serverpb.BatchRaftMessage) => this.frames.push(f));
        call.on('end', () => cb(null, {}));
        call.on('error', () => undefined);
      },
      snapshot: (call: grpc.ServerReadableStream<raft_serverpb.SnapshotChunk, unknown>, cb: grpc.sendUnaryData<raft_serverpb.IDone>) => {
        const got: raft_serverpb.SnapshotChunk[] = [];
        call.on('data', (c: raft_serverpb.SnapshotChunk) => got.push(c));
        call.on('end', () => {
          this.snapshots.push(got);
          if (this.rejectSnapshots) cb({ code: this.rejectSnapshots, details: 'rejected by the test' });
          else cb(null, {});
        });
      },
    });
  }

  async listen(port = 0): Promise<number> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return this.port;
  }

  messages(): raft_serverpb.IRaftMessage[] {
    return this.frames.flatMap((f) => f.msgs);
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

function msg(regionId: number, toPeer: number, toStore: number, type = eraftpb.MessageType.MsgHeartbeat): RaftMessage {
  return {
    regionId,
    fromPeer: { id: 1, storeId: 1 },
    toPeer: { id: toPeer, storeId: toStore },
    message: { msgType: type, from: 1, to: toPeer, term: 5 },
  };
}

class FakeLocalStore {
  unreachable: [number, number][] = [];
  snapStatus: [number, number, boolean][] = [];
  chunks: SnapshotChunk[] = [];
  storesUnreachable: number[] = [];
  reportUnreachable(regionId: number, toPeerId: number): void {
    this.unreachable.push([regionId, toPeerId]);
  }
  reportStoreUnreachable(storeId: number): void {
    this.storesUnreachable.push(storeId);
  }
  reportSnapshotStatus(regionId: number, toPeerId: number, ok: boolean): void {
    this.snapStatus.push([regionId, toPeerId, ok]);
  }
  async *snapshotChunks(m: RaftMessage): AsyncIterable<SnapshotChunk> {
    yield { message: m };
    for (const c of this.chunks) yield c;
  }
  receiveSnapshot(): Promise<void> {
    return Promise.reject(new Error('not here'));
  }
}

test('one frame per turn over one stream; unreachable stores drop and report; reconnect with backoff; full queues drop', async () => {
  const ep = new Endpoint();
  const port = await ep.listen();
  let resolves = 0;
  let addr: string | null = `127.0.0.1:${port}`;
  const metrics = new ServerMetrics();
  const t = new GrpcTransport({
    storeId: 1,
    resolve: async () => {
      resolves++;
      return addr;
    },
    metrics,
    reconnectMinMs: 100,
    reconnectMaxMs: 400,
    maxQueue: 1000,
  });
  const local = new FakeLocalStore();
  t.attach(local);
  try {
    for (let i = 0; i < 500; i++) t.send(msg(10 + (i % 5), 100, 2));
    await waitFor('500 messages delivered', () => ep.messages().length === 500);
    assert.equal(ep.streams, 1, 'one stream');
    assert.equal(ep.frames.length, 1, 'sent in one turn: one frame');
    assert.equal(resolves, 1);
    // Order is kept within the stream.
    for (let i = 0; i < 5; i++) t.send(msg(20, 200 + i, 2));
    await waitFor('next turn delivered', () => ep.messages().length === 505);
    assert.deepEqual(
      ep
        .messages()
        .slice(500)
        .map((m) => Number(m.toPeer!.id)),
      [200, 201, 202, 203, 204],
    );
    assert.equal(ep.streams, 1, 'the stream is reused');
    // Frames are cut at about maxFrameBytes (4 MiB): ten 1 MiB appends take several frames.
    const framesBefore = ep.frames.length;
    for (let i = 0; i < 10; i++) {
      const m = msg(21, 210, 2, eraftpb.MessageType.MsgAppend);
      m.message!.entries = [{ index: i + 1, term: 5, data: Buffer.alloc(1024 * 1024, i) }];
      t.send(m);
    }
    await waitFor('big appends delivered', () => ep.messages().length === 515);
    const bigFrames = ep.frames.length - framesBefore;
    assert.ok(bigFrames >= 3 && bigFrames <= 4, `10 MiB in ${bigFrames} frames`);

    // The target goes away: the stream fails, the store counts as unreachable, messages drop.
    ep.stop();
    await new Promise((r) => setTimeout(r, 100));
    t.send(msg(30, 300, 2));
    await waitFor('stream failure noticed', () => t.isUnreachable(2), 5000);
    local.unreachable = [];
    for (let i = 0; i < 50; i++) t.send(msg(31, 310, 2));
    t.send(msg(32, 320, 2));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      local.unreachable.filter(([r]) => r !== 30).sort(),
      [
        [31, 310],
        [32, 320],
      ],
      'one report per region and peer per turn',
    );
    assert.ok((await metrics.value('tskv_raft_messages_dropped_total', { reason: 'unreachable' })) >= 51);

    // Back on another port (reusing a freed port is racy on a shared machine): after the backoff
    // the address is asked again and the stream reopened there.
    const ep2 = new Endpoint();
    addr = `127.0.0.1:${await ep2.listen()}`;
    await waitFor(
      'delivered after reconnect',
      async () => {
        t.send(msg(40, 400, 2));
        await new Promise((r) => setTimeout(r, 50));
        return ep2.messages().length > 0;
      },
      10_000,
    );
    assert.ok(t.stats.reconnects >= 1);
    assert.ok((await metrics.value('tskv_raft_stream_reconnects_total')) >= 1);
    assert.ok(resolves >= 2, 'the address was looked up again');
    assert.equal(ep2.streams, 1);

    // A store without an address: dropped and reported, nothing thrown.
    addr = null;
    t.send(msg(50, 500, 3));
    await waitFor('store 3 unreachable', () => t.isUnreachable(3), 5000);

    // A queue over its limit drops the excess (all sent in one turn, before any flush).
    const before = await metrics.value('tskv_raft_messages_dropped_total', { reason: 'queue_full' });
    for (let i = 0; i < 1500; i++) t.send(msg(60, 600, 2));
    assert.equal((await metrics.value('tskv_raft_messages_dropped_total', { reason: 'queue_full' })) - before, 500);
    await waitFor('the queued 1000 delivered', () => ep2.messages().filter((m) => Number(m.regionId) === 60).length === 1000);
    // Messages to this store itself or to no store are dropped.
    t.send(msg(70, 700, 1));
    t.send({ regionId: 71 });
    ep2.stop();
  } finally {
    t.close();
    ep.stop();
  }
});

test('an idle stream that breaks reports its store unreachable, with nothing sent', async () => {
  const ep = new Endpoint();
  const port = await ep.listen();
  const t = new GrpcTransport({ storeId: 1, resolve: async () => `127.0.0.1:${port}` });
  const local = new FakeLocalStore();
  t.attach(local);
  try {
    t.send(msg(10, 100, 2));
    await waitFor('delivered', () => ep.messages().length === 1);
    assert.deepEqual(local.storesUnreachable, []);
    // Hibernating regions send nothing: the broken stream is the only news of the store.
    ep.stop();
    await waitFor('store 2 reported unreachable', () => local.storesUnreachable.length > 0, 5000);
    assert.deepEqual(local.storesUnreachable, [2]);
    assert.deepEqual(local.unreachable, [], 'no message was dropped');
  } finally {
    t.close();
    ep.stop();
  }
});

test('MsgSnapshot goes over a Snapshot stream; the outcome is reported to the store', async () => {
  const ep = new Endpoint();
  const port = await ep.listen();
  const metrics = new ServerMetrics();
  const t = new GrpcTransport({ storeId: 1, resolve: async () => `127.0.0.1:${port}`, metrics, snapMaxConcurrentSending: 2 });
  const local = new FakeLocalStore();
  local.chunks = [{ data: Buffer.alloc(300_000, 1) }, { data: Buffer.alloc(300_000, 2) }, { data: Buffer.alloc(10, 3) }];
  t.attach(local);
  try {
    t.send(msg(8, 80, 2, eraftpb.MessageType.MsgSnapshot));
    await waitFor('snapshot reported', () => local.snapStatus.length === 1);
    assert.deepEqual(local.snapStatus[0], [8, 80, true]);
    assert.equal(ep.snapshots.length, 1);
    const got = ep.snapshots[0]!;
    assert.equal(Number(got[0]!.message!.regionId), 8);
    assert.deepEqual(
      got.slice(1).map((c) => c.data.length),
      [300_000, 300_000, 10],
    );
    assert.equal(ep.frames.length, 0, 'not on the raft stream');

    ep.rejectSnapshots = grpc.status.DATA_LOSS;
    t.send(msg(9, 90, 2, eraftpb.MessageType.MsgSnapshot));
    await waitFor('failure reported', () => local.snapStatus.length === 2);
    assert.deepEqual(local.snapStatus[1], [9, 90, false]);
    assert.equal(await metrics.value('tskv_snapshots_sent_total', { result: 'ok' }), 1);
    assert.equal(await metrics.value('tskv_snapshots_sent_total', { result: 'failed' }), 1);

    // Nobody listening: reported failed too.
    ep.stop();
    t.send(msg(10, 100, 2, eraftpb.MessageType.MsgSnapshot));
    await waitFor('failure reported (down)', () => local.snapStatus.length === 3, 10_000);
    assert.deepEqual(local.snapStatus[2], [10, 100, false]);
  } finally {
    t.close();
    ep.stop();
  }
});
