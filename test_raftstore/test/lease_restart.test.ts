// Lease reads (readMode 'lease') and a follower restarted inside the leader's lease. The lease
// counts on the followers that confirmed it refusing votes for an election timeout; a restarted
// follower has forgotten the leader it heard and must not vote at once either.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { raft_cmdpb } from '@tskv/proto';
import { bytesToString, Cluster } from '../src/index.js';

const CmdType = raft_cmdpb.CmdType;
const b = (s: string): Uint8Array => Buffer.from(s);

test('a follower restarted inside the lease does not help elect another leader before it ends', { timeout: 60_000 }, async () => {
  // Election timeout 2 s (lease 1.6 s): room for a store restart inside the lease.
  // Hibernation off: an idle region going to sleep mid-test only adds noise.
  const c = new Cluster({
    stores: 3,
    name: 'lease-restart',
    config: { readMode: 'lease', raftElectionTicks: 40, hibernateRegions: false },
  });
  try {
    await c.start();
    await c.mustPut('k', 'v0');
    const L = (await c.waitForLeader()).storeId!;
    const [B, C] = c.storeIds().filter((s) => s !== L) as [number, number];
    const get = (): raft_cmdpb.IRaftCmdRequest => ({ header: c.header(1, L), requests: [{ cmdType: CmdType.Get, get: { key: b('k') } }] });
    // B is cut off from L (its log stays complete: nothing is written meanwhile); L's lease is
    // confirmed by C alone.
    c.transport.dropOneWay(L, B);
    c.transport.dropOneWay(B, L);
    // B's election timer runs out (it pre-campaigns, C and L ignore it): a candidate's own timer
    // is no protection for a lease confirmed later.
    const raftB = c.store(B)!.peer(1)!.raw.raft;
    for (let i = 0; raftB.leaderId !== 0; i++) {
      if (i > 1000) throw new Error(`store ${B} still follows a leader`);
      await sleep(10);
    }
    const peerL = c.store(L)!.peer(1)!;
    const before = peerL.leaseReads;
    for (let i = 0; peerL.leaseReads === before; i++) {
      if (i > 100) throw new Error('no read served from the lease');
      await c.call(L, get(), 500);
    }
    const leaseFrom = performance.now();
    // L is cut off from everyone now, C restarts.
    c.transport.isolate(L);
    await c.stopStore(C);
    await c.startStore(C);
    c.log(`store ${C} restarted ${Math.round(performance.now() - leaseFrom)} ms into L's lease`);
    // B's election timer may fire again at any moment: let it fire now.
    raftB.electionElapsed = raftB.randomizedElectionTimeout;
    const put = (sid: number): raft_cmdpb.IRaftCmdRequest => ({
      header: c.header(1, sid),
      requests: [{ cmdType: CmdType.Put, put: { key: b('k'), value: b('v1') } }],
    });
    // With C ignoring B, a new leader (B or C) is elected only after L's lease.
    const deadline = Date.now() + 15_000;
    let newLeader = 0;
    for (let i = 0; newLeader === 0; i++) {
      const sid = i % 2 === 0 ? B : C;
      const r = await c.call(sid, put(sid), 500);
      if (!r.header?.error) newLeader = sid;
      else if (Date.now() > deadline) throw new Error(`k=v1 never acknowledged: ${JSON.stringify(r.header.error)}`);
      else await sleep(5);
    }
    const ackedAt = performance.now() - leaseFrom;
    const stillLeader = peerL.isLeader();
    const r = await c.call(L, get(), 1000);
    const value = r.header?.error ? undefined : bytesToString(r.responses?.[0]?.get?.value);
    c.log(
      `v1 acknowledged by ${newLeader} ${Math.round(ackedAt)} ms into L's lease; read at L (leader when asked: ${stillLeader}): ` +
        `${r.header?.error ? JSON.stringify(r.header.error) : value}`,
    );
    assert.notEqual(
      value,
      'v0',
      `the old leader (store ${L}) answered the stale v0 after store ${newLeader} acknowledged v1 (${Math.round(ackedAt)} ms ` +
        `after L's lease began)`,
    );
    if (value !== undefined) assert.equal(value, 'v1');
    c.transport.clearFilters();
    await c.mustGetEqual('k', 'v1');
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});
