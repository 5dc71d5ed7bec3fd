// The admin API over a SchedulerCore driven by hand (heartbeats as a leader would send them):
// each operator is checked and refused with a reason naming the problem (nothing added), handed
// to the leader in heartbeat answers once accepted, and shown in flight and then ended; the
// split operator finishes on the split report; store state changes, scheduler pauses, and the
// HTTP face (routes, methods, bodies) through a real status server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb, type metapb } from '@tskv/proto';
import { adminAnswer } from '../src/admin_api.js';
import { resolveConfig } from '../src/config.js';
import { SchedulerCore } from '../src/core.js';
import { createLogger } from '../src/logger.js';
import { SchedulerStorage } from '../src/storage.js';
import { startServer, tempDir } from './helpers.js';

const hex = (s: string): string => Buffer.from(s).toString('hex');
const T = eraftpb.ConfChangeType;

/** A core with stores 1..4 heartbeating and region 1 (every key) on stores 1, 2, 3, led on 1. */
async function cluster(t: { after(fn: () => Promise<void> | void): void }) {
  const dir = await tempDir(t);
  const storage = await SchedulerStorage.open(dir);
  const core = await SchedulerCore.open(resolveConfig({}), storage, createLogger());
  t.after(() => core.close());
  const region: metapb.IRegion = {
    id: 1,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    regionEpoch: { confVer: 3, version: 1 },
    peers: [
      { id: 11, storeId: 1 },
      { id: 12, storeId: 2 },
      { id: 13, storeId: 3 },
    ],
  };
  await core.bootstrap({ id: 1, address: '127.0.0.1:1' }, region);
  for (const id of [2, 3, 4]) await core.putStore({ id, address: `127.0.0.1:${id}` });
  const storeHeartbeats = (...ids: number[]): void => {
    for (const id of ids) core.storeHeartbeat({ storeId: id });
  };
  storeHeartbeats(1, 2, 3, 4);
  let leader: metapb.IPeer = { id: 11, storeId: 1 };
  const hb = (r: metapb.IRegion = region, pendingPeers: metapb.IPeer[] = []) => core.regionHeartbeat({ region: r, leader, pendingPeers });
  await hb();
  const call = async (method: string, path: string, body?: unknown) => {
    const a = await adminAnswer(core, method, path, body === undefined ? '' : JSON.stringify(body));
    return { status: a.status, ...a.json } as { status: number; error?: string; note?: string; [k: string]: unknown };
  };
  const op = (name: string, regionId: number, storeId: number) => call('POST', '/admin/operators', { name, regionId, storeId });
  return {
    core,
    region,
    hb,
    call,
    op,
    storeHeartbeats,
    setLeader: (p: metapb.IPeer) => {
      leader = p;
    },
  };
}

test('admin transfer-leader: refusals name the problem; the step goes out in heartbeat answers until the leader moved', async (t) => {
  const c = await cluster(t);
  assert.deepEqual(await c.op('transfer-leader', 99, 2), { status: 404, error: 'region 99 not found' });
  assert.deepEqual(await c.op('transfer-leader', 1, 99), { status: 404, error: 'store 99 not found' });
  assert.deepEqual(await c.op('transfer-leader', 1, 4), { status: 409, error: 'region 1 has no peer on store 4' });
  assert.deepEqual(await c.op('transfer-leader', 1, 1), { status: 409, error: 'the leader of region 1 is already on store 1' });
  assert.equal(c.core.ops.size, 0, 'nothing added');

  const ok = await c.op('transfer-leader', 1, 2);
  assert.equal(ok.status, 200, ok.error);
  const op = ok.operator as { id: number; kind: string; state: string; steps: string[] };
  assert.equal(op.kind, 'admin-transfer-leader');
  assert.equal(op.state, 'running');
  assert.deepEqual(op.steps, ['transfer leader from store 1 to peer 12 on store 2']);
  assert.match(ok.note!, /balance-leader may move it again/);

  // One operator per region, whoever asks.
  const busy = await c.op('add-peer', 1, 4);
  assert.equal(busy.status, 409);
  assert.match(busy.error!, /^region 1 already has an operator in flight \(operator \d+: admin-transfer-leader region 1: transfer leader/);

  assert.equal(Number((await c.hb()).transferLeader?.peer?.id), 12);
  assert.equal(Number((await c.hb()).transferLeader?.peer?.id), 12, 'repeated until seen done');
  c.setLeader({ id: 12, storeId: 2 });
  const after = await c.hb();
  assert.equal(after.transferLeader, undefined);
  const done = await c.call('GET', `/admin/operators/${op.id}`);
  assert.equal(done.state, 'finished');
  assert.equal(typeof done.tookMs, 'number');
  const list = await c.call('GET', '/admin/operators');
  assert.deepEqual(list.operators, []);
  assert.equal((list.recent as { id: number }[])[0]!.id, op.id);
  assert.deepEqual(await c.call('GET', '/admin/operators/12345'), {
    status: 404,
    error: 'operator 12345 not found (not in flight, and not among the recently ended)',
  });
});

test('admin add-peer and remove-peer: a learner then its promotion; the leader moved before its removal; quorum and down-store refusals', async (t) => {
  const c = await cluster(t);
  assert.deepEqual(await c.op('add-peer', 1, 2), { status: 409, error: 'region 1 already has a peer on store 2 (peer 12)' });
  await c.core.putStore({ id: 5, address: '127.0.0.1:5' }); // registered, never heard from
  assert.deepEqual(await c.op('add-peer', 1, 5), { status: 409, error: 'store 5 is down: not heard from since the scheduler started' });

  const add = await c.op('add-peer', 1, 4);
  assert.equal(add.status, 200, add.error);
  assert.match(add.note!, /4 voters, more than maxReplicas 3: the replica-checker removes one/);
  const a1 = await c.hb();
  assert.equal(a1.changePeer?.changeType, T.AddLearnerNode);
  const newPeer = a1.changePeer!.peer!;
  assert.equal(Number(newPeer.storeId), 4);
  // The learner is in (conf_ver 4), then promoted (5): done.
  c.region.peers!.push({ id: newPeer.id, storeId: 4, role: 1, isLearner: true });
  c.region.regionEpoch!.confVer = 4;
  assert.equal((await c.hb()).changePeer?.changeType, T.AddNode);
  c.region.peers![3] = { id: newPeer.id, storeId: 4 };
  c.region.regionEpoch!.confVer = 5;
  assert.equal((await c.hb()).changePeer, undefined);
  assert.equal(c.core.ops.size, 0);

  // Removing the leader: its leadership moves first.
  const rm = await c.op('remove-peer', 1, 1);
  assert.equal(rm.status, 200, rm.error);
  const steps = (rm.operator as { steps: string[] }).steps;
  assert.equal(steps.length, 2);
  assert.match(steps[0]!, /^transfer leader from store 1 to peer \d+ on store [234]$/);
  assert.equal(steps[1], 'remove peer 11 on store 1');
  c.core.ops.cancel(1, 'test');

  // Stores 3 and 4 go silent: removing a live voter (store 2) would leave 1 live voter of 3.
  const now = Date.now;
  Date.now = () => now() + 60_000;
  t.after(() => {
    Date.now = now;
  });
  c.storeHeartbeats(1, 2);
  const q = await c.op('remove-peer', 1, 2);
  assert.deepEqual(q, {
    status: 409,
    error: 'removing the voter on store 2 would leave region 1 1 live voters of 3: short of a quorum (2)',
  });
  assert.equal((await c.op('transfer-leader', 1, 3)).error, 'store 3 is down: last heartbeat 60.0 s ago');
  assert.deepEqual(await c.op('remove-peer', 1, 5), { status: 409, error: 'region 1 has no peer on store 5' });
  // A voter on a down store may go: the live ones keep a quorum.
  assert.equal((await c.op('remove-peer', 1, 4)).status, 200);
});

test('admin remove-peer of the only voter is refused; a paused region takes no operator', async (t) => {
  const c = await cluster(t);
  c.region.peers = [{ id: 11, storeId: 1 }];
  c.region.regionEpoch!.confVer = 6;
  await c.hb();
  assert.deepEqual(await c.op('remove-peer', 1, 1), {
    status: 409,
    error: 'the peer on store 1 is the only voter of region 1: removing it would lose the region',
  });
  assert.deepEqual(await c.call('POST', '/admin/regions/1/pause'), { status: 200, regionId: 1, paused: true });
  assert.deepEqual(await c.op('add-peer', 1, 2), {
    status: 409,
    error: 'region 1 is paused: resume it first (POST /admin/regions/1/resume)',
  });
});

test('admin split-region: at a key inside a region; finished on the split report; a boundary already there is refused', async (t) => {
  const c = await cluster(t);
  assert.deepEqual(await c.call('POST', '/admin/operators', { name: 'split-region', key: '' }), {
    status: 400,
    error: 'the split key is empty: the first region already starts there',
  });
  assert.equal((await c.call('POST', '/admin/operators', { name: 'split-region', key: 'zz' })).status, 400);
  const ok = await c.call('POST', '/admin/operators', { name: 'split-region', key: hex('m') });
  assert.equal(ok.status, 200, ok.error);
  const id = (ok.operator as { id: number; steps: string[] }).id;
  assert.deepEqual((ok.operator as { steps: string[] }).steps, ['split at "m"']);
  const ans = await c.hb();
  assert.deepEqual(
    (ans.splitRegion?.keys ?? []).map((k) => Buffer.from(k).toString()),
    ['m'],
  );
  // The leader splits: ids from askBatchSplit, then the report.
  const [ids] = await c.core.askBatchSplit(c.region, 1);
  const left = { ...c.region, endKey: Buffer.from('m'), regionEpoch: { confVer: 3, version: 2 } };
  const right = {
    id: ids!.newRegionId,
    startKey: Buffer.from('m'),
    endKey: new Uint8Array(0),
    regionEpoch: { confVer: 3, version: 2 },
    peers: c.region.peers!.map((p, i) => ({ id: ids!.newPeerIds![i], storeId: p.storeId })),
  };
  await c.core.reportBatchSplit([left, right]);
  const done = await c.call('GET', `/admin/operators/${id}`);
  assert.equal(done.state, 'finished', JSON.stringify(done));
  assert.deepEqual(await c.call('POST', '/admin/operators', { name: 'split-region', key: hex('m') }), {
    status: 409,
    error: `"m" is already a region boundary (region ${ids!.newRegionId} starts there)`,
  });
  // A split found done by a heartbeat (the report lost) finishes too.
  await c.hb(left);
  const again = await c.call('POST', '/admin/operators', { name: 'split-region', key: hex('f') });
  assert.equal(again.status, 200);
  await c.hb({ ...left, endKey: Buffer.from('f'), regionEpoch: { confVer: 3, version: 3 } });
  assert.equal((await c.call('GET', `/admin/operators/${(again.operator as { id: number }).id}`)).state, 'finished');
});

test('admin store state and scheduler pauses: offline refused without enough stores left; tombstones, unknown names', async (t) => {
  const c = await cluster(t);
  const off = await c.call('POST', '/admin/stores/4/state/Offline');
  assert.equal(off.status, 200, off.error);
  assert.equal(off.state, 'Offline');
  assert.equal(off.changed, true);
  assert.equal((await c.call('POST', '/admin/stores/4/state/Offline')).changed, false);
  assert.deepEqual(await c.call('POST', '/admin/stores/1/state/Offline'), {
    status: 409,
    error:
      'store 1 holds 1 replica and only 2 other stores are up: placing 3 replicas of each region elsewhere needs 3 (add a store first)',
  });
  assert.deepEqual(await c.call('POST', '/admin/stores/9/state/Offline'), { status: 404, error: 'store 9 not found' });
  assert.equal((await c.call('GET', '/admin/stores/4')).regionCount, 0);
  await c.core.buryEmptyStores();
  assert.deepEqual(await c.call('POST', '/admin/stores/4/state/Up'), {
    status: 409,
    error: 'store 4 is a tombstone (removed from the cluster)',
  });
  assert.deepEqual(await c.op('add-peer', 1, 4), { status: 409, error: 'store 4 is a tombstone (removed from the cluster)' });

  assert.deepEqual(await c.call('POST', '/admin/schedulers/balance-leader/pause'), {
    status: 200,
    name: 'balance-leader',
    paused: true,
    changed: true,
  });
  assert.equal(c.core.cfg.enableBalanceLeader, false);
  assert.deepEqual(await c.call('GET', '/admin/schedulers'), {
    status: 200,
    schedulers: [
      { name: 'balance-leader', paused: true },
      { name: 'balance-region', paused: false },
      { name: 'replica-checker', paused: false },
    ],
  });
  assert.equal((await c.call('POST', '/admin/schedulers/balance-leader/resume')).paused, false);
  assert.equal(c.core.cfg.enableBalanceLeader, true);
  assert.deepEqual(await c.call('POST', '/admin/schedulers/hot-region/pause'), {
    status: 404,
    error: 'unknown scheduler "hot-region": expected one of balance-leader, balance-region, replica-checker',
  });
});

test('admin API over HTTP: JSON answers, 405 for a wrong method, 400 for a bad body, 404 for an unknown path', async (t) => {
  const dir = await tempDir(t);
  const server = await startServer(dir);
  t.after(() => server.stop());
  const base = `http://${server.statusAddr}`;
  const get = await fetch(`${base}/admin/schedulers`);
  assert.equal(get.status, 200);
  assert.equal(((await get.json()) as { schedulers: unknown[] }).schedulers.length, 3);
  const wrong = await fetch(`${base}/admin/schedulers`, { method: 'POST' });
  assert.equal(wrong.status, 405);
  assert.deepEqual(await wrong.json(), { error: '/admin/schedulers takes GET, not POST' });
  const badBody = await fetch(`${base}/admin/operators`, { method: 'POST', body: '{nope' });
  assert.equal(badBody.status, 400);
  assert.deepEqual(await badBody.json(), { error: 'the body is not JSON' });
  const badName = await fetch(`${base}/admin/operators`, { method: 'POST', body: JSON.stringify({ name: 'merge' }) });
  assert.equal(badName.status, 400);
  assert.match(((await badName.json()) as { error: string }).error, /unknown operator "merge": expected one of transfer-leader/);
  const none = await fetch(`${base}/admin/nothing`);
  assert.equal(none.status, 404);
});
