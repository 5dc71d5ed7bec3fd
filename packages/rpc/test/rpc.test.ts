import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type kvrpcpb, schedulerpb } from '@tskv/proto';
import { newTinyKvGrpcClient, PdClient, SchedulerError, schedulerService, serverOptions, tinyKvService, unary } from '../src/index.js';

function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

test('TinyKv: unary and the BatchCommands stream go over a real socket with the static codecs', async () => {
  const server = new grpc.Server(serverOptions());
  const unimpl = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED });
  server.addService(tinyKvService, {
    rawGet: (call: grpc.ServerUnaryCall<kvrpcpb.RawGetRequest, unknown>, cb: grpc.sendUnaryData<kvrpcpb.IRawGetResponse>) =>
      cb(null, { value: Buffer.concat([Buffer.from(call.request.key), Buffer.from('!')]) }),
    rawPut: unimpl,
    rawDelete: unimpl,
    rawScan: unimpl,
    rawBatchGet: unimpl,
    rawBatchPut: unimpl,
    raft: unimpl,
    batchRaft: unimpl,
    snapshot: unimpl,
    batchCommands: (call: grpc.ServerDuplexStream<kvrpcpb.BatchCommandsRequest, kvrpcpb.IBatchCommandsResponse>) => {
      call.on('data', (b: kvrpcpb.BatchCommandsRequest) =>
        call.write({ requestIds: b.requestIds, responses: b.requests.map((r) => ({ rawGet: { value: r.rawGet!.key } })) }),
      );
      call.on('end', () => call.end());
    },
  });
  const port = await listen(server);
  const c = newTinyKvGrpcClient(`127.0.0.1:${port}`);
  try {
    const r = await unary<kvrpcpb.IRawGetRequest, kvrpcpb.RawGetResponse>(c, c.rawGet, { key: Buffer.from('k') }, 5000);
    assert.equal(Buffer.from(r.value).toString(), 'k!');
    const s = c.batchCommands();
    s.on('error', () => {}); // cancelled when the client closes
    const got = new Promise<kvrpcpb.BatchCommandsResponse>((resolve) => s.once('data', resolve));
    s.write({ requestIds: [7, 9], requests: [{ rawGet: { key: Buffer.from('a') } }, { rawGet: { key: Buffer.from('b') } }] });
    const b = await got;
    assert.deepEqual(b.requestIds, [7, 9]);
    assert.equal(Buffer.from(b.responses[1]!.rawGet!.value!).toString(), 'b');
    s.end();
  } finally {
    c.close();
    server.forceShutdown();
  }
});

test(
  'PdClient: header errors become SchedulerError, not-found answers null, the cluster id is learned, ' + 'unavailable is retried',
  async () => {
    let ids = 100;
    const server = new grpc.Server(serverOptions());
    const hdr = (error?: schedulerpb.IError) => ({ clusterId: 42, error });
    const handlers: Record<string, unknown> = {};
    for (const k of Object.keys(schedulerService))
      handlers[k] = (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED });
    handlers.allocID = (_: unknown, cb: grpc.sendUnaryData<schedulerpb.IAllocIDResponse>) => cb(null, { header: hdr(), id: ids++ });
    handlers.bootstrap = (_: unknown, cb: grpc.sendUnaryData<schedulerpb.IBootstrapResponse>) =>
      cb(null, { header: hdr({ type: schedulerpb.ErrorType.ALREADY_BOOTSTRAPPED, message: 'cluster 42 is bootstrapped' }) });
    handlers.getRegionByID = (_: unknown, cb: grpc.sendUnaryData<schedulerpb.IGetRegionResponse>) =>
      cb(null, { header: hdr({ type: schedulerpb.ErrorType.REGION_NOT_FOUND, message: 'no region' }) });
    let hb = 0;
    handlers.regionHeartbeat = (
      call: grpc.ServerDuplexStream<schedulerpb.RegionHeartbeatRequest, schedulerpb.IRegionHeartbeatResponse>,
    ) => {
      call.on('data', (r: schedulerpb.RegionHeartbeatRequest) => {
        hb++;
        call.write({ header: hdr(), regionId: r.region!.id, transferLeader: { peer: { id: 3, storeId: 3 } } });
      });
    };
    server.addService(schedulerService, handlers as grpc.UntypedServiceImplementation);
    const port = await listen(server);
    const pd = new PdClient(`127.0.0.1:${port}`, { timeoutMs: 3000 });
    try {
      assert.equal(await pd.allocId(), 100);
      assert.equal(pd.clusterId, 42);
      assert.equal(await pd.allocId(), 101);
      await assert.rejects(
        pd.bootstrap({ id: 1 }, { id: 2 }),
        (e: unknown) => e instanceof SchedulerError && e.type === schedulerpb.ErrorType.ALREADY_BOOTSTRAPPED,
      );
      assert.equal(await pd.getRegionById(9), null);
      const answer = new Promise<schedulerpb.RegionHeartbeatResponse>((resolve) => pd.onRegionHeartbeatResponse(resolve));
      pd.regionHeartbeat({ region: { id: 5 }, leader: { id: 1, storeId: 1 } });
      const a = await answer;
      assert.equal(a.regionId, 5);
      assert.equal(a.transferLeader!.peer!.id, 3);
      assert.equal(hb, 1);
    } finally {
      pd.close();
      server.forceShutdown();
    }
    // A scheduler that is not up yet: the call is retried until the deadline, then fails as UNAVAILABLE.
    const dead = new PdClient(`127.0.0.1:${port}`, { timeoutMs: 600 });
    const t0 = Date.now();
    await assert.rejects(
      dead.allocId(),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED,
    );
    assert.ok(Date.now() - t0 >= 300, 'retried for a while before giving up');
    dead.close();
  },
);
