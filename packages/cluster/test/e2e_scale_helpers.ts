// Helpers of the end-to-end tests at scale (e2e_scale_*.test.ts): a cluster of real processes on
// a temp dir (withCluster), polling with deadlines, the stores' and the scheduler's /status and
// /metrics, checks of the regions' tiling and placement, and reading every acknowledged key back.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allRegions, compareBytes, type RawClient, type RegionInfo } from '@tskv/client';
import type { PdClient } from '@tskv/rpc';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN].filter((f) => !existsSync(f));
/** Why the tests skip: the scheduler or the server not built yet. */
export const skip = missing.length ? `not built yet: ${missing.join(', ')}` : false;

export const KiB = 1024;
const str = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString() : null);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const log = (msg: string): void => console.log(`  [e2e-scale] ${msg}`);

/** Runs fn over items with at most `limit` in flight; the first failure stops new starts and rejects. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
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

export type Probe<T> = { ok: true; value: T } | { ok: false; why: string };

/** Polls probe until it says ok (resolves its value) or timeoutMs passed (rejects with the last reason). */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<Probe<T>>, pollMs = 500): Promise<T> {
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
export async function getJson<T>(addr: string, path: string): Promise<T> {
  const res = await fetch(`http://${addr}${path}`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${addr}${path}: ${res.status}`);
  return (await res.json()) as T;
}

export async function getText(addr: string, path: string): Promise<string> {
  const res = await fetch(`http://${addr}${path}`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

/** "created 12 finished 10 timed-out 0 cancelled 2" of the scheduler's operators, from its /metrics. */
export async function operatorCounts(schedulerStatusAddr: string): Promise<string> {
  const t = await getText(schedulerStatusAddr, '/metrics');
  return ['created', 'finished', 'timed_out', 'cancelled']
    .map((w) => `${w.replace('_', '-')} ${metricSum(t, `tskv_scheduler_operators_${w}_total`)}`)
    .join(', ');
}

/** The sum of a Prometheus counter's samples (any labels) in /metrics text. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

export interface StoreStatusRegion {
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
export interface StoreStatus {
  storeId: number;
  regionCount: number;
  leaderCount: number;
  failed: string | null;
  regions: StoreStatusRegion[];
}
export interface SchedulerStatus {
  stores: { id: number; state: string; live: boolean; down: boolean; regionCount: number; leaderCount: number }[];
  regionCount: number;
  pendingOperators: unknown[];
}

/** Requests the client sent and streams that failed, over all its store connections. */
export function clientCounters(client: RawClient): { sent: number; streamFailures: number; timeouts: number } {
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
export function operatorEnds(logFile: string): string {
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
export function tilingProblem(regions: readonly RegionInfo[]): string | null {
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
export async function healthProblem(
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
export function perStore(regions: readonly RegionInfo[]): { replicas: Map<number, number>; leaders: Map<number, number> } {
  const replicas = new Map<number, number>();
  const leaders = new Map<number, number>();
  for (const r of regions) {
    for (const p of r.peers) replicas.set(p.storeId, (replicas.get(p.storeId) ?? 0) + 1);
    if (r.leader) leaders.set(r.leader.storeId, (leaders.get(r.leader.storeId) ?? 0) + 1);
  }
  return { replicas, leaders };
}

export const fmtCounts = (m: Map<number, number>): string =>
  [...m.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `s${s}:${n}`)
    .join(' ');

/**
 * Checks the placement invariants every pollMs in the background (two replicas never on one
 * store, never fewer than 3 voters) and collects violations; stop() returns them.
 */
export function monitorPlacement(pd: PdClient, pollMs = 300): { stop: () => Promise<{ violations: string[]; samples: number }> } {
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
export function shuffled(n: number, seed: number): number[] {
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
export async function verifyAll(
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

export interface Harness {
  dir: string;
  c: ProcessCluster;
  unexpected: UnexpectedExit[];
}

/** A cluster on a temp dir with config files; fn runs on it; everything is stopped and removed after. */
export async function withCluster(
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

export const storeIndexOf = (c: ProcessCluster, storeId: number): number => {
  const s = c.addresses.stores.find((x) => x.storeId === storeId);
  if (!s) throw new Error(`no process for store id ${storeId}`);
  return s.index;
};
