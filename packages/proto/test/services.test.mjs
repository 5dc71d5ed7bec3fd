import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb, kvrpcpb, raft_serverpb, schedulerpb, tinykvpb } from '../dist/index.js';

test('kvrpcpb raw API messages round-trip, region errors included', () => {
  const req = {
    context: { regionId: 2 ** 40, regionEpoch: { confVer: 3, version: 9 }, peer: { id: 7, storeId: 2 } },
    key: new Uint8Array([1, 2]),
    cf: 'lock',
  };
  const r = kvrpcpb.RawGetRequest.decode(kvrpcpb.RawGetRequest.encode(req).finish());
  assert.equal(r.context.regionId, 2 ** 40);
  assert.equal(r.context.regionEpoch.version, 9);
  assert.equal(r.cf, 'lock');
  const resp = kvrpcpb.RawGetResponse.decode(
    kvrpcpb.RawGetResponse.encode({
      regionError: { message: 'not leader', notLeader: { regionId: 2, leader: { id: 8, storeId: 3 } } },
      notFound: true,
    }).finish(),
  );
  assert.equal(resp.regionError.notLeader.leader.storeId, 3);
  assert.equal(resp.notFound, true);
  const put = kvrpcpb.RawBatchPutRequest.decode(
    kvrpcpb.RawBatchPutRequest.encode({
      pairs: [
        { key: new Uint8Array([1]), value: new Uint8Array([2]) },
        { key: new Uint8Array([3]), value: new Uint8Array([]) },
      ],
    }).finish(),
  );
  assert.equal(put.pairs.length, 2);
});

test('schedulerpb heartbeats carry operators; the services list their methods', () => {
  const hb = schedulerpb.RegionHeartbeatResponse.decode(
    schedulerpb.RegionHeartbeatResponse.encode({
      regionId: 5,
      changePeerV2: { changes: [{ peer: { id: 9, storeId: 4 }, changeType: eraftpb.ConfChangeType.AddLearnerNode }] },
    }).finish(),
  );
  assert.equal(hb.changePeerV2.changes[0].changeType, eraftpb.ConfChangeType.AddLearnerNode);
  assert.equal(hb.changePeer, null);
  const ids = schedulerpb.AskBatchSplitResponse.decode(
    schedulerpb.AskBatchSplitResponse.encode({ ids: [{ newRegionId: 11, newPeerIds: [12, 13, 14] }] }).finish(),
  );
  assert.deepEqual(ids.ids[0].newPeerIds, [12, 13, 14]);
  for (const m of ['rawGet', 'rawPut', 'rawDelete', 'rawScan', 'rawBatchGet', 'rawBatchPut', 'raft', 'batchRaft', 'snapshot']) {
    assert.equal(typeof tinykvpb.TinyKv.prototype[m], 'function', `TinyKv.${m}`);
  }
  for (const m of ['bootstrap', 'allocID', 'tso', 'regionHeartbeat', 'storeHeartbeat', 'askBatchSplit', 'getRegionByID', 'scanRegions']) {
    assert.equal(typeof schedulerpb.Scheduler.prototype[m], 'function', `Scheduler.${m}`);
  }
  const batch = raft_serverpb.BatchRaftMessage.decode(
    raft_serverpb.BatchRaftMessage.encode({ msgs: [{ regionId: 1 }, { regionId: 2, hibernate: true }] }).finish(),
  );
  assert.equal(batch.msgs[1].hibernate, true);
});
