// A store holding the leaders of 1,000 hibernating regions dies: with no client traffic at all,
// every region must elect a leader among the remaining stores within a few election timeouts,
// and the scheduler must learn the new leaders (their heartbeats), instead of the regions
// sleeping leaderless until a request happens to touch them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findPeer } from '@tskv/util';
import { Cluster } from '../src/index.js';

const N = 1000;
const TICK_MS = 50;
const ELECTION_TICKS = 20;
const ELECTION_MS = TICK_MS * ELECTION_TICKS;
// Generous for 2 shared cores: the election itself takes one or two election timeouts.
const BOUND_MS = 20 * ELECTION_MS;
const key = (i: number): string => `d${String(i).padStart(5, '0')}`;
const ROLES = ['follower', 'candidate', 'leader', 'pre-candidate'];
const regionIds = Array.from({ length: N }, (_, i) => i + 1);

/** Polls until check() returns null (done) or the deadline passes (throws with its last answer). */
async function until(what: string, timeoutMs: number, check: () => string | null, pollMs = 100): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const why = check();
    if (why === null) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms: ${why}`);
    await sleep(pollMs);
  }
}

test("1,000 hibernating regions elect new leaders without client traffic when their leaders' store dies", {
  timeout: 400_000,
}, async () => {
  const splitKeys = Array.from({ length: N - 1 }, (_, i) => key(i + 1));
  const c = new Cluster({
    stores: 3,
    name: 'HibernateLeaderDown',
    splitKeys,
    config: { raftBaseTickMs: TICK_MS, raftElectionTicks: ELECTION_TICKS },
  });
  try {
    await c.start();
    await until('a leader in every region', 120_000, () => {
      const missing = regionIds.filter((r) => !c.leaderOf(r));
      return missing.length ? `${missing.length} regions without a leader, e.g. ${missing.slice(0, 5).join(', ')}` : null;
    });

    // Every leader onto the store that already holds most of them.
    const counts = new Map<number, number>();
    for (const r of regionIds) counts.set(c.leaderOf(r)!.storeId!, (counts.get(c.leaderOf(r)!.storeId!) ?? 0) + 1);
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const moves = regionIds.filter((r) => c.leaderOf(r)!.storeId !== victim);
    for (let i = 0; i < moves.length; i += 100) {
      await Promise.all(
        moves.slice(i, i + 100).map((r) => {
          const peer = findPeer(c.scheduler.region(r)!, victim)!;
          return c.mustTransferLeader(r, peer);
        }),
      );
    }
    await until(`every leader on store ${victim}`, 60_000, () => {
      const off = regionIds.filter((r) => c.leaderOf(r)?.storeId !== victim);
      return off.length ? `${off.length} regions led elsewhere, e.g. ${off.slice(0, 5).join(', ')}` : null;
    });
    console.log(`leaders per store before: ${JSON.stringify(Object.fromEntries(counts))}; moved ${moves.length} to store ${victim}`);

    /** A region's peers on the running stores, for failure messages. */
    const describe = (r: number): string =>
      `region ${r}: ` +
      c
        .storeIds()
        .flatMap((id) => {
          const p = c.store(id)?.peer(r);
          if (!p) return [];
          const raft = p.raw.raft;
          return [
            `store ${id} ${ROLES[raft.state] ?? raft.state}${p.hibernating ? ' asleep' : ''} term ${raft.term} leader ` +
              `${raft.leaderId} vote ${raft.vote} elapsed ${raft.electionElapsed}/${raft.randomizedElectionTimeout} last ` +
              `${raft.raftLog.lastIndex()}`,
          ];
        })
        .join(', ');
    const asleep = (): number => c.storeIds().reduce((n, id) => n + (c.store(id)?.stats().hibernating ?? 0), 0);
    await until('every peer hibernating', 120_000, () => (asleep() === N * 3 ? null : `${asleep()} of ${N * 3} peers hibernating`));
    // Asleep a while, as idle regions are (the last ones just fell asleep).
    await sleep(2 * ELECTION_MS);
    assert.equal(asleep(), N * 3, 'a region woke with no traffic');

    await c.crashStore(victim);
    const t0 = Date.now();
    const timeline: string[] = [];
    let nextMark = 0;
    const led = await until(`a leader in every region after store ${victim} died`, BOUND_MS, () => {
      const missing = regionIds.filter((r) => !c.leaderOf(r));
      if (Date.now() - t0 >= nextMark) {
        timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s:${N - missing.length}`);
        nextMark += 1000;
      }
      return missing.length
        ? `${missing.length} regions without a leader (over time: ${timeline.join(' ')}), e.g. ` +
            `${missing.slice(0, 3).map(describe).join('; ')}`
        : null;
    });
    console.log(`regions with a leader over time: ${timeline.join(' ')}`);
    const seen = await until('the scheduler to know every new leader', BOUND_MS, () => {
      const stale = regionIds.filter((r) => (c.scheduler.leader(r)?.storeId ?? victim) === victim);
      return stale.length ? `${stale.length} regions with a leader on store ${victim} (or none) at the scheduler` : null;
    });
    const after = new Map<number, number>();
    for (const r of regionIds) after.set(c.leaderOf(r)!.storeId!, (after.get(c.leaderOf(r)!.storeId!) ?? 0) + 1);
    console.log(
      `store ${victim} died: every region had a new leader after ${led} ms (${(led / ELECTION_MS).toFixed(1)} election timeouts), ` +
        `the scheduler knew them all after ${Date.now() - t0} ms (${seen} ms more); leaders per store ` +
        `${JSON.stringify(Object.fromEntries(after))}`,
    );
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});

test('a live store reported unreachable: followers asleep for an election timeout elect at once, those just asleep keep their leader', {
  timeout: 120_000,
}, async () => {
  // A long election timeout, so that "within one" and "at once" are far apart on a loaded machine.
  const electionMs = 100 * TICK_MS;
  const c = new Cluster({ stores: 3, name: 'HibernateFalseAlarm', config: { raftBaseTickMs: TICK_MS, raftElectionTicks: 100 } });
  const asleep = (): number => c.storeIds().reduce((n, id) => n + (c.store(id)?.stats().hibernating ?? 0), 0);
  const term = (storeId: number): number => c.store(storeId)!.peer(1)!.raw.raft.term;
  try {
    await c.start();
    await c.mustPut('k', 'v');
    await until('the region asleep', 60_000, () => (asleep() === 3 ? null : `${asleep()} of 3 peers asleep`), 10);
    const sleptAt = Date.now();

    // Just asleep: the leader may hold a lease its followers confirmed; they must not forget it.
    const l1 = c.leaderOf(1)!;
    const t1 = term(l1.storeId!);
    const followers = c.storeIds().filter((id) => id !== l1.storeId);
    for (const id of followers) c.store(id)!.reportStoreUnreachable(l1.storeId!);
    await sleep(300);
    assert.ok(Date.now() - sleptAt < electionMs, 'the machine stalled for an election timeout: nothing to check');
    for (const id of followers) {
      const p = c.store(id)!.peer(1)!;
      assert.equal(p.hibernating, false, `store ${id}'s follower did not wake`);
      assert.equal(p.raw.raft.leaderId, l1.id, `store ${id}'s follower forgot a leader it heard within an election timeout`);
      assert.equal(p.raw.raft.term, t1);
    }

    // Awake, the followers time out and elect (or hear the leader they woke); then the region sleeps.
    await until('the region asleep again', 60_000, () => (asleep() === 3 ? null : `${asleep()} of 3 peers asleep`));
    await sleep(electionMs + 500);
    const l2 = c.leaderOf(1)!;
    const t2 = term(l2.storeId!);
    for (const id of c.storeIds().filter((s) => s !== l2.storeId)) c.store(id)!.reportStoreUnreachable(l2.storeId!);
    const elected = await until(
      'a new leader elsewhere',
      60_000,
      () => {
        const l = c.leaderOf(1);
        return l && l.storeId !== l2.storeId && term(l.storeId!) > t2 ? null : `leader ${JSON.stringify(l)}`;
      },
      10,
    );
    console.log(
      `asleep for an election timeout (${electionMs} ms), the followers of a leader reported unreachable elected another in ${elected} ms`,
    );
    assert.ok(elected < electionMs, `the election took ${elected} ms: the followers waited for their election timers`);
    await until('the region asleep again', 60_000, () => (asleep() === 3 ? null : `${asleep()} of 3 peers asleep`));
    await c.mustGetEqual('k', 'v');
    c.assertHealthy();
  } finally {
    await c.shutdown();
  }
});
