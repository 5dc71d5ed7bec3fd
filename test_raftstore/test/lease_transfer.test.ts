// Lease reads (readMode 'lease') around a leader transfer. The transferee campaigns with the
// transfer context, which voters grant even inside their check-quorum lease, so a new leader can
// be elected and commit while the old leader still holds a lease: reads at the old leader must
// not be served from it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { findPeer } from '@tskv/util';
import type { Filter } from '../src/index.js';
import { bytesToString, Cluster, MessageType } from '../src/index.js';

const CmdType = raft_cmdpb.CmdType;
const T = { timeout: 60_000 };
const b = (s: string): Uint8Array => Buffer.from(s);

// Election timeout 2 s (lease 1.6 s): the old leader's check-quorum step-down and the transfer's
// own time-out come long after the new leader's write, so the last read meets a live lease.
// Hibernation off: an idle region going to sleep mid-test only adds noise.
const CONFIG = { readMode: 'lease' as const, raftElectionTicks: 40, hibernateRegions: false };

async function withCluster(name: string, fn: (c: Cluster) => Promise<void>): Promise<void> {
  const c = new Cluster({ stores: 3, name, config: CONFIG });
  try {
    await c.start();
    await fn(c);
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
}

function get(c: Cluster, storeId: number): raft_cmdpb.IRaftCmdRequest {
  return { header: c.header(1, storeId), requests: [{ cmdType: CmdType.Get, get: { key: b('k') } }] };
}

async function until(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(5);
  }
}

/** Reads at `storeId` until one is answered from the leader lease. */
async function untilLeaseRead(c: Cluster, storeId: number): Promise<void> {
  const peer = c.store(storeId)!.peer(1)!;
  const before = peer.leaseReads;
  for (let i = 0; i < 100; i++) {
    await c.call(storeId, get(c, storeId), 500);
    if (peer.leaseReads > before) return;
    await sleep(5);
  }
  throw new Error(`store ${storeId} served no read from its lease`);
}

/** Puts k=value at storeId, retrying until it is acknowledged there. */
async function putAt(c: Cluster, storeId: number, value: string): Promise<void> {
  const req = (): raft_cmdpb.IRaftCmdRequest => ({
    header: c.header(1, storeId),
    requests: [{ cmdType: CmdType.Put, put: { key: b('k'), value: b(value) } }],
  });
  for (let i = 0; i < 200; i++) {
    const r = await c.call(storeId, req(), 500);
    if (!r.header?.error) return;
    await sleep(5);
  }
  throw new Error(`store ${storeId} never acknowledged k=${value}`);
}

function transferLeader(c: Cluster, from: number, to: number): Promise<raft_cmdpb.IRaftCmdResponse> {
  const peer = findPeer(c.scheduler.region(1)!, to)!;
  return c.call(from, {
    header: c.header(1, from),
    adminRequest: { cmdType: raft_cmdpb.AdminCmdType.TransferLeader, transferLeader: { peer } },
  });
}

/** The read at the old leader: an error (NotLeader, Timeout...) or the new value, never the old. */
async function assertNotStale(c: Cluster, oldLeader: number, what: string): Promise<void> {
  const stillLeader = c.store(oldLeader)!.peer(1)!.isLeader();
  const r = await c.call(oldLeader, get(c, oldLeader), 1000);
  const value = r.header?.error ? undefined : bytesToString(r.responses?.[0]?.get?.value);
  c.log(`read at the old leader (leader when asked: ${stillLeader}): ${r.header?.error ? JSON.stringify(r.header.error) : value}`);
  assert.notEqual(
    value,
    'v0',
    `${what}: the old leader (store ${oldLeader}) answered the stale v0 after v1 was acknowledged by the new leader`,
  );
  if (value !== undefined) assert.equal(value, 'v1');
}

describe('lease reads and leader transfer', () => {
  test('the old leader serves no lease read once the transferee can have been elected', T, () =>
    withCluster('lease-transfer', async (c) => {
      await c.mustPut('k', 'v0');
      const L = (await c.waitForLeader()).storeId!;
      const [X, V] = c.storeIds().filter((s) => s !== L) as [number, number];
      await untilLeaseRead(c, L);
      // L no longer hears from the others (it will not learn of the new term), they still hear it.
      c.transport.dropOneWay(X, L);
      c.transport.dropOneWay(V, L);
      const resp = await transferLeader(c, L, X);
      assert.equal(resp.header?.error ?? null, null, JSON.stringify(resp.header?.error));
      await until(`store ${X} leads`, () => c.store(X)!.peer(1)!.isLeader());
      await putAt(c, X, 'v1');
      await assertNotStale(c, L, 'after the transfer');
    }),
  );

  test('a transferee that gets MsgTimeoutNow late, after the transfer timed out, cannot leave the old leader a stale lease', T, () =>
    withCluster('lease-transfer-late', async (c) => {
      await c.mustPut('k', 'v0');
      const L = (await c.waitForLeader()).storeId!;
      const [X, V] = c.storeIds().filter((s) => s !== L) as [number, number];
      const peerL = c.store(L)!.peer(1)!;
      // The network holds MsgTimeoutNow back (a slow link, a stream stuck behind retransmissions).
      const held: Uint8Array[] = [];
      const hold: Filter = {
        name: 'hold MsgTimeoutNow',
        before: (m) => {
          if (m.message?.msgType !== MessageType.MsgTimeoutNow) return true;
          held.push(raft_serverpb.RaftMessage.encode(m).finish());
          return false;
        },
      };
      c.transport.addFilter(hold);
      const resp = await transferLeader(c, L, X);
      assert.equal(resp.header?.error ?? null, null, JSON.stringify(resp.header?.error));
      await until('MsgTimeoutNow sent', () => held.length > 0);
      const sentAt = performance.now();
      // The transfer times out (an election timeout after it started), L stays leader, and an
      // election timeout has passed since MsgTimeoutNow went out.
      await until('the transfer timed out', () => peerL.raw.raft.leadTransferee === 0, 5000);
      assert.ok(peerL.isLeader());
      await sleep(Math.max(0, sentAt + 2000 + 200 - performance.now()));
      // Reads at L: in readIndex or lease mode, whatever it allows itself now.
      for (let i = 0; i < 3; i++) await c.call(L, get(c, L), 500);
      c.transport.dropOneWay(X, L);
      c.transport.dropOneWay(V, L);
      // MsgTimeoutNow arrives at last: X campaigns with the transfer context and V grants it.
      c.store(X)!.onRaftMessage(raft_serverpb.RaftMessage.decode(held[0]!));
      await until(`store ${X} leads`, () => c.store(X)!.peer(1)!.isLeader());
      await putAt(c, X, 'v1');
      await assertNotStale(c, L, 'after the late MsgTimeoutNow');
    }),
  );
});
