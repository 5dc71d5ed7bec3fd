// runChaos: one fault-injection run. A scheduler and N stores as real processes, a TCP proxy
// between every pair of stores, closed-loop clients recording every operation, faults drawn from
// the seed for the duration; then every fault healed, every store running, final reads of every
// key, and the verdicts: linearizability of the history (per key) and no acknowledged write lost.
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawClient, allRegions } from '@tskv/client';
import { ProcessCluster, type UnexpectedExit } from '@tskv/cluster';
import { type FaultEvent, type FaultKind, FAULT_KINDS, runFaults } from './faults.js';
import { checkRecorded, type Verdict } from './verdict.js';
import { mountTmpfs, unmount } from './disk.js';
import { ProxyMesh } from './mesh.js';
import { fork, seededRandom } from './random.js';
import { type RecordedOp, Workload, regKey, setPrefix } from './workload.js';
import { latencySummary, type LatencySummary } from './latency.js';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  stores: number;
  clients: number;
  registers: number;
  sets: number;
  faults: readonly FaultKind[];
  holdMs: [number, number];
  gapMs: [number, number];
  readMode: 'readIndex' | 'lease';
  /** Base directory (a temp dir by default; kept when the run fails or keepData is set). */
  dataDir?: string;
  keepData: boolean;
  /** Time budget of the linearizability search per model. */
  checkTimeoutMs: number;
  /**
   * The clients retry writes whose outcome is unknown (RawClient's default). Off for a real
   * check: a retried write can be applied twice, which is not linearizable; on, it shows what
   * the checker says about that default.
   */
  retryAmbiguousWrites?: boolean;
  log: (msg: string) => void;
}

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'seed'> = Object.freeze({
  durationMs: 60_000,
  stores: 3,
  clients: 6,
  registers: 4,
  sets: 2,
  faults: FAULT_KINDS,
  holdMs: [2500, 6000] as [number, number],
  gapMs: [1000, 3000] as [number, number],
  readMode: 'readIndex' as const,
  keepData: false,
  checkTimeoutMs: 60_000,
  log: () => {},
});

export interface ChaosReport {
  seed: number;
  options: { durationMs: number; stores: number; clients: number; registers: number; sets: number; faults: string[]; readMode: string; retryAmbiguousWrites: boolean };
  dataDir: string;
  faults: FaultEvent[];
  ops: { total: number; ok: number; unknown: number; failed: number; byKind: Record<string, { ok: number; unknown: number; failed: number }> };
  latency: { quiet: LatencySummary; underFaults: LatencySummary };
  /** Processes that exited without being asked to (a crash is a failure of the run). */
  crashes: string[];
  verdict: Verdict;
  /** Acknowledged set appends missing from the final reads (must be none). */
  lostWrites: string[];
  recovery: { ms: number; ok: boolean; error?: string };
  ok: boolean;
  elapsedMs: number;
  /** The history, until the report is returned (then in history.json when kept). */
  opsRecorded?: RecordedOp[];
}

/** Infinity does not survive JSON: unknown completions are written as null. */
export function historyForFile(ops: RecordedOp[]): unknown[] {
  return ops.map((op) => ({ ...op, return: Number.isFinite(op.return) ? op.return : null }));
}

export function historyFromFile(json: unknown): RecordedOp[] {
  if (!Array.isArray(json)) throw new Error('a history file holds a JSON array of operations');
  return json.map((x: RecordedOp & { return: number | null }) => ({ ...x, return: x.return === null ? Infinity : x.return }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const tStart = performance.now();
  const random = seededRandom(o.seed);
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'tskv-chaos-'));
  const configDir = join(dataDir, 'config');
  mkdirSync(configDir, { recursive: true });
  // Shorter raft-log GC ticks than the default, so that a store down for a few seconds falls
  // behind the truncated index and is caught up by snapshot, not only by appends.
  writeFileSync(join(configDir, 'store.json'), JSON.stringify({ readMode: o.readMode, raftLogGcTickMs: 2000, raftLogGcThreshold: 50 }));

  // Every store on its own small tmpfs when the disk-full fault is on (and mounting works).
  let faults = [...o.faults];
  const mounts: string[] = [];
  if (faults.includes('disk-full')) {
    for (let i = 1; i <= o.stores; i++) {
      const dir = join(dataDir, `store${i}`);
      const err = mountTmpfs(dir);
      if (err) {
        o.log(`disk-full left out: cannot mount a tmpfs at ${dir} (${err})`);
        faults = faults.filter((k) => k !== 'disk-full');
        break;
      }
      mounts.push(dir);
    }
    if (!faults.includes('disk-full')) for (const m of mounts.splice(0)) unmount(m);
  }
  const diskFull = new Set<number>();

  let cluster: ProcessCluster | null = null;
  const mesh = new ProxyMesh(o.stores, (j) => cluster!.store(j).addr, fork(random));
  cluster = new ProcessCluster({
    dataDir,
    stores: o.stores,
    schedulerPort: 0,
    basePort: 0,
    configDir,
    logLevel: 'info',
    storeArgs: (i) => ['--peer-address-overrides', mesh.overridesFor(i)],
  });
  const crashes: string[] = [];
  cluster.on('unexpected-exit', (u: UnexpectedExit) => {
    if (u.code === 3 && diskFull.has(u.info.index)) {
      o.log(`${u.info.name} stopped on its full disk (exit 3), as designed`);
      return;
    }
    const msg = `${u.info.name} exited unexpectedly (${u.signal ?? `code ${u.code}`})`;
    crashes.push(msg);
    o.log(`${msg}\n${u.logTail}`);
  });
  const clients: RawClient[] = [];
  let final: RawClient | null = null;
  const report = { seed: o.seed, dataDir } as ChaosReport;
  // Every verdict holds (false for a run that threw before reaching them).
  const passed = (): boolean =>
    crashes.length === 0 && report.recovery?.ok === true && report.lostWrites?.length === 0 && report.verdict?.linearizable === true;
  try {
    await mesh.start();
    await cluster.start();
    await cluster.waitUntilReady({ timeoutMs: 60_000, replicas: Math.min(3, o.stores) });
    o.log(`cluster up: scheduler ${cluster.schedulerAddr}, ${o.stores} stores behind ${o.stores * (o.stores - 1)} proxies; data in ${dataDir}`);
    const clientOpts = { schedulerAddr: cluster.schedulerAddr, timeoutMs: 4000, attemptTimeoutMs: 1500, retryAmbiguousWrites: o.retryAmbiguousWrites === true, scanBatchSize: 1 << 20 };
    for (let i = 0; i < o.clients; i++) clients.push(await RawClient.connect(clientOpts));
    const workload = new Workload(clients, { clients: o.clients, registers: o.registers, sets: o.sets, readRatio: 0.5, setRatio: o.sets > 0 ? 0.4 : 0, thinkMs: 5 }, fork(random));

    const t0 = performance.now();
    workload.start();
    const faultRandom = fork(random);
    const events = await runFaults(
      {
        cluster,
        mesh,
        random: faultRandom,
        leaderIndex: async () => leaderIndex(cluster!),
        log: o.log,
        diskFull,
      },
      { kinds: faults, holdMs: o.holdMs, gapMs: o.gapMs },
      t0,
      () => performance.now() - t0 < o.durationMs,
    );
    await workload.stop();
    o.log(`workload stopped after ${((performance.now() - t0) / 1000).toFixed(1)} s, ${workload.ops.length} operations`);

    // Recovery: every store running (a fault heals itself, but a store may have crashed), then
    // one successful read of every key through a fresh client, recorded into the history.
    const tr = performance.now();
    mesh.healAll();
    for (let i = 1; i <= o.stores; i++) {
      cluster.resume(i);
      if (!cluster.store(i).running) await cluster.startStore(i);
    }
    report.recovery = { ms: 0, ok: true };
    try {
      await cluster.waitUntilReady({ timeoutMs: 60_000, replicas: Math.min(3, o.stores) });
      final = await RawClient.connect({ ...clientOpts, timeoutMs: 10_000 });
      const finalReads = [
        ...Array.from({ length: o.registers }, (_, k) => ({ kind: 'get' as const, key: regKey(k) })),
        ...Array.from({ length: o.sets }, (_, k) => ({ kind: 'read' as const, key: setPrefix(k) })),
      ];
      for (const input of finalReads) {
        const deadline = performance.now() + 30_000;
        for (;;) {
          const op = await workload.invoke(final, 0, input);
          if (op.status === 'ok') break;
          if (performance.now() > deadline) throw new Error(`final ${input.kind} of ${input.key} kept failing: ${op.error}`);
          await sleep(200);
        }
      }
    } catch (e) {
      report.recovery = { ms: 0, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    report.recovery.ms = Math.round(performance.now() - tr);

    const ops = workload.ops;
    report.opsRecorded = ops;
    report.faults = events;
    report.ops = countOps(ops);
    report.latency = latencies(ops, events, t0);
    report.lostWrites = lostAppends(ops);
    report.verdict = checkRecorded(ops, o.checkTimeoutMs);
  } finally {
    for (const c of clients) c.close();
    final?.close();
    for (let i = 1; i <= (cluster?.storeCount ?? 0); i++) {
      try {
        cluster!.resume(i);
      } catch {
        /* not running */
      }
    }
    await cluster.stop().catch(() => cluster!.killAllNow());
    await mesh.stop();
    // tmpfs contents vanish with the mount: keep a copy for a run that failed (or threw).
    const failed = !passed();
    for (const m of mounts) {
      if (failed || o.keepData) cpSync(m, `${m}.kept`, { recursive: true });
      unmount(m);
    }
  }
  report.options = { durationMs: o.durationMs, stores: o.stores, clients: o.clients, registers: o.registers, sets: o.sets, faults, readMode: o.readMode, retryAmbiguousWrites: o.retryAmbiguousWrites === true };
  report.crashes = crashes;
  report.ok = passed();
  report.elapsedMs = Math.round(performance.now() - tStart);
  if (!report.ok || o.keepData) {
    // The whole history, to look at or to check again (chaos --check-history FILE).
    writeFileSync(join(dataDir, 'history.json'), JSON.stringify(historyForFile(report.opsRecorded ?? [])));
  }
  if (report.ok && !o.keepData && !o.dataDir) rmSync(dataDir, { recursive: true, force: true });
  return report;
}

/** The store index the scheduler last saw leading the first region; 0 if unknown. */
async function leaderIndex(cluster: ProcessCluster): Promise<number> {
  try {
    const pd = await cluster.pd(2000);
    try {
      const regions = await allRegions(pd);
      const leaderStore = regions[0]?.leader?.storeId ?? 0;
      const s = cluster.addresses.stores.find((x) => x.storeId === leaderStore);
      return s?.index ?? 0;
    } finally {
      pd.close();
    }
  } catch {
    return 0;
  }
}

function countOps(ops: RecordedOp[]): ChaosReport['ops'] {
  const out: ChaosReport['ops'] = { total: ops.length, ok: 0, unknown: 0, failed: 0, byKind: {} };
  for (const op of ops) {
    out[op.status]++;
    const k = (out.byKind[op.input.kind] ??= { ok: 0, unknown: 0, failed: 0 });
    k[op.status]++;
  }
  return out;
}

/** Latency of completed operations, split by whether a fault was active during them. */
function latencies(ops: RecordedOp[], events: FaultEvent[], t0: number): ChaosReport['latency'] {
  const quiet: number[] = [];
  const faulty: number[] = [];
  for (const op of ops) {
    if (op.status !== 'ok' || op.clientId === 0) continue;
    const a = op.call - t0;
    const b = op.return - t0;
    const under = events.some((e) => a < e.end && b > e.start);
    (under ? faulty : quiet).push(op.return - op.call);
  }
  return { quiet: latencySummary(quiet), underFaults: latencySummary(faulty) };
}

/** Set elements whose append was acknowledged but that the final read of the set lacks. */
export function lostAppends(ops: RecordedOp[]): string[] {
  const finalRead = new Map<string, Set<string>>();
  for (const op of ops) {
    if (op.clientId === 0 && op.status === 'ok' && op.input.kind === 'read' && op.output && 'elements' in op.output) finalRead.set(op.input.key, new Set(op.output.elements));
  }
  const lost: string[] = [];
  for (const op of ops) {
    if (op.input.kind !== 'append' || op.status !== 'ok') continue;
    const seen = finalRead.get(op.input.key);
    if (seen && !seen.has(op.input.element)) lost.push(`${op.input.key}${op.input.element}`);
  }
  return lost;
}
