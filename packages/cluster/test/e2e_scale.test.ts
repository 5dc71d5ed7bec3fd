// End to end at scale with the real processes: tinykv-scheduler and
// tinykv-server as child processes on free ports of 127.0.0.1, a temp data dir, sync writes,
// driven by RawClient.
//
// 1. Durability through a crash: 10,000 keys, the leader's store SIGKILLed while 2,000 more are
//    written, restarted on its data; every acknowledged key read back; the restarted store
//    catches up (its applied indexes reach the leader's commit index), then the leader's store is
//    killed too and the restarted one is half of the remaining quorum.
// 2-4 (one cluster). Splits: small regions, a few MB written, many regions tiling the key space;
//    a fourth store gets its share of replicas and leaders; a store killed for good has its
//    replicas replaced (maxStoreDownTimeMs short). Data checked after each step.
//
// Skips (saying why) until the scheduler and the server are built. Waits poll with generous
// deadlines (2 shared cores): nothing here asserts on speed.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allRegions, compareBytes, type RawClient, type RegionInfo } from '@tskv/client';
import type { PdClient } from '@tskv/rpc';
import { findPeer, keyInRegion } from '@tskv/util';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN].filter((f) => !existsSync(f));
const skip = missing.length ? `not built yet: ${missing.join(', ')}` : false;

const KiB = 1024;
const str = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString() : null);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const log = (msg: string): void => console.log(`  [e2e-scale] ${msg}`);

// ---- helpers ----

/** Runs fn over items with at most `limit` in flight; the first failure stops new starts and rejects. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

type Probe<T> = { ok: true; value: T } | { ok: false; why: string };

/** Polls probe until it says ok (resolves its value) or timeoutMs passed (rejects with the last reason). */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<Probe<T>>, pollMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let why = 'not checked yet';
  for (;;) {
    try {
      const r = await probe();
      if (r.ok) return r.value;
      why = r.why;
    } catch (e) {
      why = `probe failed: ${(e as Error).message}`;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${why}`);
    await sleep(pollMs);
  }
}

/** A JSON document over HTTP (the /status of a store or of the scheduler). */
async function getJson<T>(addr: string, path: string): Promise<T> {
  const res = await fetch(`http://${addr}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${addr}${path}: ${res.status}`);
  return (await res.json()) as T;
}

async function getText(addr: string, path: string): Promise<string> {
  const res = await fetch(`http://${addr}${path}`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

/** "created 12 finished 10 timed-out 0 cancelled 2" of the scheduler's operators, from its /metrics. */
async function operatorCounts(schedulerStatusAddr: string): Promise<string> {
  const t = await getText(schedulerStatusAddr, '/metrics');
  return ['created', 'finished', 'timed_out', 'cancelled']
    .map((w) => `${w.replace('_', '-')} ${metricSum(t, `tskv_scheduler_operators_${w}_total`)}`)
    .join(', ');
}

/** The sum of a Prometheus counter's samples (any labels) in /metrics text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

interface StoreStatusRegion {
  id: number;
  startKey: string;
  endKey: string;
  peers: { id: number; storeId: number; role: number }[];
  isLeader: boolean;
  commitIndex: number;
  appliedIndex: number;
  truncatedIndex: number;
  applyingSnapshot: boolean;
}
interface StoreStatus {
  storeId: number;
  regionCount: number;
  leaderCount: number;
  failed: string | null;
  regions: StoreStatusRegion[];
}
interface SchedulerStatus {
  stores: { id: number; state: string; live: boolean; down: boolean; regionCount: number; leaderCount: number }[];
  regionCount: number;
  pendingOperators: unknown[];
}

/** Requests the client sent and streams that failed, over all its store connections. */
function clientCounters(client: RawClient): { sent: number; streamFailures: number; timeouts: number } {
  let sent = 0;
  let streamFailures = 0;
  let timeouts = 0;
  for (const conn of client.connections().values()) {
    sent += conn.stats.requestsSent;
    streamFailures += conn.stats.streamFailures;
    timeouts += conn.stats.timeouts;
  }
  return { sent, streamFailures, timeouts };
}

/** The scheduler log's operator cancellations and timeouts, counted by reason (ids left out). */
function operatorEnds(logFile: string): string {
  const counts = new Map<string, number>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"operator cancelled"') && !line.includes('"operator timeout"')) continue;
    try {
      const m = JSON.parse(line) as { message: string; kind: string; reason: string };
      const why = `${m.message.replace('operator ', '')} ${m.kind}: ${m.reason.replace(/\d+/g, 'N')}`;
      counts.set(why, (counts.get(why) ?? 0) + 1);
    } catch {
      /* a partial line */
    }
  }
  return counts.size ? [...counts].map(([w, n]) => `${n}x ${w}`).join('; ') : 'none';
}

const voters = (r: RegionInfo): RegionInfo['peers'] => r.peers.filter((p) => p.role !== 'Learner');

/** What is wrong with the regions as a tiling of the whole key space (null: nothing). */
function tilingProblem(regions: readonly RegionInfo[]): string | null {
  if (regions.length === 0) return 'no regions';
  const rs = [...regions].sort((a, b) => compareBytes(a.startKey, b.startKey));
  if (rs[0]!.startKey.length !== 0) return `the first region ${rs[0]!.id} starts at ${rs[0]!.start}, not at the unbounded start`;
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (r.endKey.length > 0 && compareBytes(r.startKey, r.endKey) >= 0)
      return `region ${r.id} is empty or reversed: [${r.start}, ${r.end})`;
    const n = rs[i + 1];
    if (!n) {
      if (r.endKey.length !== 0) return `the last region ${r.id} ends at ${r.end}: a gap up to the unbounded end`;
    } else if (r.endKey.length === 0 || compareBytes(r.endKey, n.startKey) !== 0) {
      return (
        `region ${r.id} [${r.start}, ${r.end}) then region ${n.id} [${n.start}, ${n.end}): ` +
        `${r.endKey.length === 0 || compareBytes(r.endKey, n.startKey) > 0 ? 'overlap' : 'gap'}`
      );
    }
  }
  return null;
}

/** Placement problems of one region: two replicas on one store, fewer than `min` voters. */
function placementProblems(r: RegionInfo, min: number): string[] {
  const out: string[] = [];
  const stores = r.peers.map((p) => p.storeId);
  if (new Set(stores).size !== stores.length)
    out.push(
      `region ${r.id}: two replicas on one store ` +
        `(${r.peers.map((p) => `${p.id}@${p.storeId}${p.role === 'Voter' ? '' : `/${p.role}`}`).join(' ')})`,
    );
  if (voters(r).length < min) out.push(`region ${r.id}: ${voters(r).length} voters`);
  return out;
}

/**
 * Healthy: every region with exactly 3 voters on stores in `live`, no learner, a leader among
 * them, never two on one store, and no operator pending at the scheduler.
 */
async function healthProblem(
  pd: PdClient,
  schedulerStatusAddr: string,
  live: ReadonlySet<number>,
): Promise<{ regions: RegionInfo[]; why: string | null }> {
  const regions = await allRegions(pd);
  const bad: string[] = [];
  const tile = tilingProblem(regions);
  if (tile) bad.push(tile);
  for (const r of regions) {
    const v = voters(r);
    const off = r.peers.filter((p) => !live.has(p.storeId));
    if (v.length !== 3 || r.peers.length !== 3) bad.push(`region ${r.id}: ${v.length} voters, ${r.peers.length - v.length} others`);
    if (off.length) bad.push(`region ${r.id}: peers on stores ${off.map((p) => p.storeId).join(',')}`);
    if (!r.leader || !live.has(r.leader.storeId))
      bad.push(`region ${r.id}: leader ${r.leader ? `on store ${r.leader.storeId}` : 'unknown'}`);
    bad.push(...placementProblems(r, 3));
  }
  if (bad.length === 0) {
    const st = await getJson<SchedulerStatus>(schedulerStatusAddr, '/status');
    if (st.pendingOperators.length) bad.push(`${st.pendingOperators.length} operators pending`);
  }
  return { regions, why: bad.length ? `${bad.length} problems: ${bad.slice(0, 4).join('; ')}${bad.length > 4 ? '; ...' : ''}` : null };
}

/** Replicas and leaders per store id, from the scheduler's regions. */
function perStore(regions: readonly RegionInfo[]): { replicas: Map<number, number>; leaders: Map<number, number> } {
  const replicas = new Map<number, number>();
  const leaders = new Map<number, number>();
  for (const r of regions) {
    for (const p of r.peers) replicas.set(p.storeId, (replicas.get(p.storeId) ?? 0) + 1);
    if (r.leader) leaders.set(r.leader.storeId, (leaders.get(r.leader.storeId) ?? 0) + 1);
  }
  return { replicas, leaders };
}

const fmtCounts = (m: Map<number, number>): string =>
  [...m.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `s${s}:${n}`)
    .join(' ');

/**
 * Checks the placement invariants every pollMs in the background (two replicas never on one
 * store, never fewer than 3 voters) and collects violations; stop() returns them.
 */
function monitorPlacement(pd: PdClient, pollMs = 300): { stop: () => Promise<{ violations: string[]; samples: number }> } {
  const violations: string[] = [];
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const rs = await allRegions(pd);
        samples++;
        for (const r of rs) for (const v of placementProblems(r, 3)) if (violations.length < 20) violations.push(v);
      } catch {
        /* the scheduler busy for a moment: the next sample */
      }
      await sleep(pollMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { violations, samples };
    },
  };
}

/** Deterministic pseudo-random permutation of 0..n-1. */
function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let x = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Reads every key back: batchGet in chunks, then one scan over the whole key space, in key order. */
async function verifyAll(
  client: RawClient,
  acked: ReadonlyMap<string, string>,
  what: string,
  o: { scan?: boolean; gets?: number } = {},
): Promise<void> {
  const t0 = Date.now();
  const keys = [...acked.keys()];
  let mismatches = 0;
  const first: string[] = [];
  await pool(
    Array.from({ length: Math.ceil(keys.length / 500) }, (_, i) => keys.slice(i * 500, (i + 1) * 500)),
    4,
    async (chunk) => {
      const vs = await client.batchGet(chunk);
      chunk.forEach((k, i) => {
        if (str(vs[i]!) !== acked.get(k)) {
          mismatches++;
          if (first.length < 5) first.push(`${k}: got ${vs[i] ? `${str(vs[i]!)!.slice(0, 20)}...` : 'null'}`);
        }
      });
    },
  );
  assert.equal(mismatches, 0, `${what}: batchGet: ${mismatches} of ${keys.length} keys wrong, e.g. ${first.join('; ')}`);
  if (o.gets) {
    const sample = shuffled(keys.length, 7).slice(0, o.gets);
    await pool(sample, 32, async (i) => {
      const k = keys[i]!;
      assert.equal(str(await client.get(k)), acked.get(k), `${what}: get ${k}`);
    });
  }
  if (o.scan !== false) {
    const all = await client.scan('', '', 0);
    const want = [...keys].sort((a, b) => compareBytes(Buffer.from(a), Buffer.from(b)));
    assert.equal(all.length, want.length, `${what}: scan of the whole key space returned ${all.length} pairs, want ${want.length}`);
    for (let i = 0; i < all.length; i++) {
      const k = str(all[i]!.key)!;
      if (k !== want[i]) assert.fail(`${what}: scan position ${i}: key ${k}, want ${want[i]}`);
      if (str(all[i]!.value) !== acked.get(k)) assert.fail(`${what}: scan: wrong value of ${k}`);
    }
  }
  log(
    `${what}: ${keys.length} keys read back ` +
      `(batchGet${o.gets ? `, ${o.gets} gets` : ''}${o.scan !== false ? ', full scan in order' : ''}) in ${secs(Date.now() - t0)}`,
  );
}

interface Harness {
  dir: string;
  c: ProcessCluster;
  unexpected: UnexpectedExit[];
}

/** A cluster on a temp dir with config files; fn runs on it; everything is stopped and removed after. */
async function withCluster(
  name: string,
  cfg: { scheduler: object; store: object; stores?: number },
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `tskv-e2e-${name}-`));
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  writeFileSync(join(configDir, 'scheduler.json'), JSON.stringify(cfg.scheduler));
  writeFileSync(join(configDir, 'store.json'), JSON.stringify(cfg.store));
  const c = new ProcessCluster({
    dataDir: join(dir, 'data'),
    configDir,
    stores: cfg.stores ?? 3,
    schedulerPort: 0,
    basePort: 0,
    stopTimeoutMs: 10_000,
    readyTimeoutMs: 90_000,
  });
  const unexpected: UnexpectedExit[] = [];
  c.on('unexpected-exit', (e) => unexpected.push(e));
  try {
    await c.start();
    await fn({ dir, c, unexpected });
    assert.deepEqual(
      unexpected.map((e) => `${e.info.name} (${e.signal ?? e.code}): ${e.logTail}`),
      [],
      'no process exited on its own',
    );
  } catch (e) {
    for (const p of c.processes())
      console.error(`--- ${p.name} (running ${p.running}, last exit ${JSON.stringify(p.lastExit)})\n${c.logTail(p.name, 8)}`);
    throw e;
  } finally {
    await c.stop();
    if (process.env.TSKV_E2E_KEEP) console.error(`kept ${dir} (TSKV_E2E_KEEP)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const storeIndexOf = (c: ProcessCluster, storeId: number): number => {
  const s = c.addresses.stores.find((x) => x.storeId === storeId);
  if (!s) throw new Error(`no process for store id ${storeId}`);
  return s.index;
};

// ---- 1. durability through a crash ----

test('real cluster at scale: 10,000 keys, the leader store SIGKILLed while 2,000 more are written, restarted, every acknowledged ' +
  'key read back, the restarted store caught up', {
  skip,
  timeout: 200_000,
}, async () => {
  await withCluster(
    'crash',
    {
      scheduler: { scheduleIntervalMs: 300 },
      // Raft-log GC every second: the log is compacted while the store is down, so it most
      // likely catches up from a snapshot rather than from the log.
      store: { schedulerHeartbeatTickMs: 500, raftLogGcTickMs: 1000, raftLogGcCountLimit: 2000 },
    },
    async ({ c }) => {
      await c.waitUntilReady({ timeoutMs: 90_000 });
      const client = await c.client({ timeoutMs: 30_000 });
      const pd = await c.pd();
      const acked = new Map<string, string>();
      const key = (i: number): string => `k${String(i).padStart(6, '0')}`;
      const value = (i: number, phase: string): string => `${phase}-${i}-${'x'.repeat(64 + (i % 64))}`;
      try {
        // 5,000 single puts (64 in flight), then 5,000 in batchPuts of 100 (4 in flight).
        let t0 = Date.now();
        await pool(shuffled(5000, 1), 64, async (i) => {
          const v = value(i, 'a');
          await client.put(key(i), v);
          acked.set(key(i), v);
        });
        const singleMs = Date.now() - t0;
        t0 = Date.now();
        const batches = Array.from({ length: 50 }, (_, b) => Array.from({ length: 100 }, (_, j) => 5000 + b * 100 + j));
        await pool(batches, 4, async (batch) => {
          await client.batchPut(batch.map((i) => [key(i), value(i, 'a')] as const));
          for (const i of batch) acked.set(key(i), value(i, 'a'));
        });
        log(`wrote ${acked.size} keys: 5000 puts in ${secs(singleMs)}, 5000 in 50 batchPuts in ${secs(Date.now() - t0)}`);
        assert.equal(acked.size, 10_000);

        // The store leading the most regions (the data's only region at this size).
        const before = await allRegions(pd);
        const { leaders } = perStore(before);
        const victimId = [...leaders.entries()].sort((a, b) => b[1] - a[1])[0]![0];
        const victim = storeIndexOf(c, victimId);
        log(
          `${before.length} region(s), leaders ${fmtCounts(leaders)}; killing store${victim} (store id ${victimId}) during the next writes`,
        );

        // 2,000 more single puts; the leader's store is SIGKILLed once 200 of them are acknowledged.
        let phaseB = 0;
        let killed: Promise<unknown> | null = null;
        let killedAt = 0;
        let slowest = 0;
        const c0 = clientCounters(client);
        t0 = Date.now();
        await pool(shuffled(2000, 2), 64, async (j) => {
          const i = 10_000 + j;
          const v = value(i, 'b');
          const s = Date.now();
          await client.put(key(i), v);
          slowest = Math.max(slowest, Date.now() - s);
          acked.set(key(i), v);
          if (++phaseB === 200) {
            killedAt = Date.now();
            killed = c.kill(victim);
          }
        });
        await killed;
        assert.ok(killed, 'the store was killed during the writes');
        assert.deepEqual(c.store(victim).lastExit, { code: null, signal: 'SIGKILL' });
        const c1 = clientCounters(client);
        let notLeader = 0;
        for (const s of c.addresses.stores) {
          if (s.index !== victim)
            notLeader += metricSum(
              (await getText(s.statusAddr, '/metrics'))
                .split('\n')
                .filter((l) => l.includes('NotLeader') || l.includes('not_leader'))
                .join('\n'),
              'tskv_client_region_errors_total',
            );
        }
        log(
          `wrote 2000 more keys in ${secs(Date.now() - t0)} (store${victim} SIGKILLed after 200 of them; ` +
            `the slowest put took ${secs(slowest)}, all acknowledged; ` +
            `${c1.sent - c0.sent} requests sent for them, ${c1.streamFailures - c0.streamFailures} stream failures, ` +
            `${c1.timeouts - c0.timeouts} attempt timeouts, ${notLeader} NotLeader answers from the other stores)`,
        );
        assert.equal(acked.size, 12_000);

        // Every acknowledged key is there with the store down.
        await verifyAll(client, acked, `with store${victim} down`, { scan: false });

        // Restart it on its data; read everything again.
        t0 = Date.now();
        await c.restart(victim);
        await c.waitUntilReady({ timeoutMs: 90_000 });
        log(`store${victim} restarted, cluster ready again in ${secs(Date.now() - t0)} (${secs(Date.now() - killedAt)} after the kill)`);
        assert.equal(c.store(victim).storeId, victimId, 'same store id from its data dir');
        await verifyAll(client, acked, 'after the restart', { gets: 500 });

        // Caught up: no writes any more, so once the restarted store's applied index of every
        // region reaches the leader's commit index (read now, after the last acknowledged
        // write), it has applied every acknowledged write.
        const regions = await allRegions(pd);
        const target = new Map<number, number>();
        for (const r of regions) {
          assert.ok(r.leader, `region ${r.id} has a leader`);
          const ls = await getJson<StoreStatus>(c.store(storeIndexOf(c, r.leader.storeId)).statusAddr, '/status');
          const lr = ls.regions.find((x) => x.id === r.id);
          assert.ok(lr, `the leader's store reports region ${r.id}`);
          target.set(r.id, lr.commitIndex);
          assert.ok(findPeer(r, victimId), `region ${r.id} still has a replica on store ${victimId}`);
        }
        t0 = Date.now();
        const caught = await waitFor('the restarted store to catch up', 60_000, async (): Promise<Probe<StoreStatus>> => {
          const st = await getJson<StoreStatus>(c.store(victim).statusAddr, '/status');
          const behind: string[] = [];
          for (const [id, idx] of target) {
            const r = st.regions.find((x) => x.id === id);
            if (!r) behind.push(`region ${id} missing`);
            else if (r.appliedIndex < idx || r.applyingSnapshot) behind.push(`region ${id}: applied ${r.appliedIndex} < ${idx}`);
          }
          return behind.length ? { ok: false, why: behind.join('; ') } : { ok: true, value: st };
        });
        const snaps = metricSum(await getText(c.store(victim).statusAddr, '/metrics'), 'tskv_snapshots_received_total');
        const applied = caught.regions.map(
          (r) => `region ${r.id} applied ${r.appliedIndex} (leader commit ${target.get(r.id)}, truncated ${r.truncatedIndex})`,
        );
        log(`store${victim} caught up in ${secs(Date.now() - t0)}: ${applied.join(', ')}; snapshots received ${snaps}`);

        // Now kill the leader's store: the restarted store is one of the two left, so nothing
        // is served without it (a quorum of 2 of 3), and its log must be complete to lead.
        const now = await allRegions(pd);
        const leaderId = perStore(now).leaders;
        const others = c.addresses.stores.map((s) => s.storeId!).filter((s) => s !== victimId);
        // The leader's store unless the restarted store leads: then either of the others.
        const second = [...leaderId.entries()].filter(([s]) => s !== victimId).sort((a, b) => b[1] - a[1])[0]?.[0] ?? others[0]!;
        const secondIdx = storeIndexOf(c, second);
        await c.kill(secondIdx);
        t0 = Date.now();
        for (let j = 0; j < 100; j++) {
          const i = 12_000 + j;
          const v = value(i, 'c');
          await client.put(key(i), v);
          acked.set(key(i), v);
        }
        log(`store${secondIdx} (id ${second}) SIGKILLed too: 100 puts acknowledged by the remaining two in ${secs(Date.now() - t0)}`);
        await verifyAll(client, acked, `with store${secondIdx} down and store${victim} restarted`, { scan: true });
        const after = await allRegions(pd);
        log(`leaders now ${fmtCounts(perStore(after).leaders)}`);
      } finally {
        pd.close();
        client.close();
      }
    },
  );
});

// ---- 2-4. splits, a fourth store, replica repair ----

test('real cluster at scale: regions split many times, a fourth store gets its share of replicas and leaders, a dead store has ' +
  'its replicas replaced', {
  skip,
  timeout: 280_000,
}, async () => {
  await withCluster(
    'scale',
    {
      scheduler: { scheduleIntervalMs: 300, maxStoreDownTimeMs: 8000 },
      store: { schedulerHeartbeatTickMs: 500, regionMaxSize: 256 * KiB, regionSplitSize: 128 * KiB, splitCheckTickMs: 500 },
    },
    async ({ c }) => {
      await c.waitUntilReady({ timeoutMs: 90_000 });
      const pd = await c.pd();
      const client = await c.client({ timeoutMs: 30_000 });
      const acked = new Map<string, string>();
      const N = 3600; // 1 KiB values: ~3.6 MB, 3 replicas
      const key = (i: number): string => `s${String(i).padStart(6, '0')}`;
      const value = (i: number): string => {
        const head = `v${i}:`;
        return head + String.fromCharCode(97 + (i % 26)).repeat(KiB - head.length);
      };
      const schedStatus = c.addresses.schedulerStatus;
      try {
        // ---- 2. splits ----
        let t0 = Date.now();
        const order = shuffled(N, 3);
        await pool(order.slice(0, 2000), 64, async (i) => {
          await client.put(key(i), value(i));
          acked.set(key(i), value(i));
        });
        const rest = order.slice(2000);
        const batches = Array.from({ length: Math.ceil(rest.length / 50) }, (_, b) => rest.slice(b * 50, (b + 1) * 50));
        await pool(batches, 4, async (batch) => {
          await client.batchPut(batch.map((i) => [key(i), value(i)] as const));
          for (const i of batch) acked.set(key(i), value(i));
        });
        const writeMs = Date.now() - t0;
        assert.equal(acked.size, N);
        const keysIn = (r: RegionInfo): number => {
          let n = 0;
          for (const k of acked.keys()) {
            const b = Buffer.from(k);
            if (keyInRegion(b, r)) n++;
          }
          return n;
        };
        // Done splitting: no region holds more than regionMaxSize (256 KiB: ~250 values of 1 KiB; 300 with slack).
        const split = await waitFor(
          'at least 8 regions tiling the key space, none over regionMaxSize, each with a leader and 3 voters',
          90_000,
          async (): Promise<Probe<RegionInfo[]>> => {
            const { regions, why } = await healthProblem(pd, schedStatus, new Set(c.addresses.stores.map((s) => s.storeId!)));
            if (regions.length < 8) return { ok: false, why: `${regions.length} regions` };
            const big = regions.filter((r) => keysIn(r) > 300);
            if (big.length) return { ok: false, why: `${regions.length} regions, ${big.length} with more than 300 keys` };
            return why ? { ok: false, why } : { ok: true, value: regions };
          },
          500,
        );
        log(
          `wrote ${N} keys of 1 KiB (2000 puts, ${batches.length} batchPuts) in ${secs(writeMs)}; ${split.length} regions ` +
            `${secs(Date.now() - t0)} after the start of the writes`,
        );
        assert.equal(tilingProblem(split), null);
        assert.ok(split.length >= 8, `${split.length} regions`);
        const keysPerRegion = [...split].sort((x, y) => compareBytes(x.startKey, y.startKey)).map(keysIn);
        log(`keys per region, in key order: ${keysPerRegion.join(' ')}`);
        assert.equal(
          keysPerRegion.reduce((x, y) => x + y, 0),
          N,
        );
        const fresh = await c.client({ timeoutMs: 30_000 });
        try {
          await verifyAll(fresh, acked, 'after the splits (fresh client)', { gets: 400 });
        } finally {
          fresh.close();
        }
        // The first client's cache predates most splits: it follows EpochNotMatch.
        await verifyAll(client, acked, 'after the splits (the writing client)', { scan: false });

        // ---- 3. a fourth store ----
        const monitor = monitorPlacement(pd);
        t0 = Date.now();
        const idx4 = await c.addStore();
        const s4 = c.store(idx4).storeId!;
        log(`store${idx4} added (store id ${s4})`);
        const allFour = new Set(c.addresses.stores.map((s) => s.storeId!));
        const balanced = await waitFor(
          `store ${s4} to hold its share of replicas and some leaders`,
          120_000,
          async (): Promise<Probe<RegionInfo[]>> => {
            const { regions, why } = await healthProblem(pd, schedStatus, allFour);
            const { replicas, leaders } = perStore(regions);
            const share = Math.floor((regions.length * 3) / 4) - 2;
            const got = replicas.get(s4) ?? 0;
            const lead = leaders.get(s4) ?? 0;
            if (got < share || lead < 1)
              return {
                ok: false,
                why: `store ${s4}: ${got} replicas (want >= ${share}), ${lead} leaders; replicas ${fmtCounts(replicas)}`,
              };
            return why ? { ok: false, why } : { ok: true, value: regions };
          },
          500,
        );
        const rebalanceMs = Date.now() - t0;
        const b = perStore(balanced);
        log(
          `rebalanced in ${secs(rebalanceMs)}: ${balanced.length} regions, replicas ${fmtCounts(b.replicas)}, leaders ` +
            `${fmtCounts(b.leaders)}; operators ${await operatorCounts(schedStatus)}`,
        );
        // The new store's own view agrees: it holds the replicas and leads some regions.
        const st4 = await waitFor(`store ${s4}'s /status to agree`, 30_000, async (): Promise<Probe<StoreStatus>> => {
          const st = await getJson<StoreStatus>(c.store(idx4).statusAddr, '/status');
          const want = balanced.filter((r) => findPeer(r, s4)).map((r) => r.id);
          const has = new Set(st.regions.map((r) => r.id));
          const absent = want.filter((id) => !has.has(id));
          if (absent.length || st.leaderCount < 1)
            return { ok: false, why: `missing regions ${absent.join(',')}, ${st.leaderCount} leaders` };
          return { ok: true, value: st };
        });
        assert.equal(st4.failed, null);
        await verifyAll(client, acked, 'after the rebalance', { gets: 200 });

        // ---- 4. replica repair ----
        // Kill the store (of the first three) leading the most regions, for good.
        const { leaders } = perStore(await allRegions(pd));
        const deadId = [...leaders.entries()].filter(([s]) => s !== s4).sort((x, y) => y[1] - x[1])[0]![0];
        const deadIdx = storeIndexOf(c, deadId);
        const onDead = balanced.filter((r) => findPeer(r, deadId)).length;
        await c.kill(deadIdx);
        t0 = Date.now();
        log(`store${deadIdx} (id ${deadId}, ${leaders.get(deadId)} leaders, ${onDead} replicas) SIGKILLed for good`);
        const live = new Set([...allFour].filter((s) => s !== deadId));
        const repaired = await waitFor(
          `every region to have 3 voters on the live stores ${[...live].join(',')}`,
          120_000,
          async (): Promise<Probe<RegionInfo[]>> => {
            const { regions, why } = await healthProblem(pd, schedStatus, live);
            return why ? { ok: false, why } : { ok: true, value: regions };
          },
          500,
        );
        const r = perStore(repaired);
        log(
          `repaired in ${secs(Date.now() - t0)}: ${repaired.length} regions, replicas ${fmtCounts(r.replicas)}, leaders ` +
            `${fmtCounts(r.leaders)}; operators ${await operatorCounts(schedStatus)}`,
        );
        assert.equal(r.replicas.get(deadId) ?? 0, 0, 'no replica left on the dead store');
        assert.equal(
          repaired.length * 3,
          [...r.replicas.values()].reduce((x, y) => x + y, 0),
        );
        const sst = await getJson<SchedulerStatus>(schedStatus, '/status');
        assert.equal(sst.stores.find((s) => s.id === deadId)?.down, true, 'the scheduler counts the dead store as down');

        log(`operators cancelled or timed out (scheduler log): ${operatorEnds(c.processes()[0]!.logFile)}`);
        const { violations, samples } = await monitor.stop();
        log(`placement checked ${samples} times during the rebalance and the repair`);
        assert.deepEqual(violations, [], 'never two replicas on one store, never fewer than 3 voters');

        // Still all there, and writable, through the old client and a fresh one.
        await verifyAll(client, acked, 'after the repair (the old client)', { scan: false });
        for (let j = 0; j < 200; j++) {
          const i = N + j;
          await client.put(key(i), value(i));
          acked.set(key(i), value(i));
        }
        const last = await c.client({ timeoutMs: 30_000 });
        try {
          await verifyAll(last, acked, 'after the repair and 200 more puts (fresh client)', { gets: 200 });
        } finally {
          last.close();
        }
      } finally {
        pd.close();
        client.close();
      }
    },
  );
});
