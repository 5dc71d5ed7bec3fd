// runChaos: one fault-injection run. A scheduler and N stores as real processes, a TCP proxy
// between every pair of stores, closed-loop clients recording every operation, faults drawn from
// the seed for the duration; then every fault healed, every store running, final reads of every
// key, and the verdicts: linearizability of the history (per key) and no acknowledged write lost.
//
// With the powerloss fault every store's data directory is a lazyfs mount (lazyfs.ts), and the
// run defaults to what makes power loss bite: small regions that split under a growing key space,
// and the stores' default raft-log GC (its frequent synced compactions would sync the kv engine
// behind every other write and hide what an unsynced one loses).
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BankOp, ListAppendTxn } from '@tskv/checker';
import { allRegions, RawClient, TxnClient } from '@tskv/client';
import { ProcessCluster, type UnexpectedExit } from '@tskv/cluster';
import { Prng } from '@tskv/util';
import { mountTmpfs, unmount } from './disk.js';
import { DEFAULT_FAULT_KINDS, type FaultEvent, type FaultKind, runFaults } from './faults.js';
import { type LatencySummary, latencySummary } from './latency.js';
import { LazyFs, lazyfsProblem } from './lazyfs.js';
import { ProxyMesh } from './mesh.js';
import { type TxnVerdict, TxnWorkload, type TxnWorkloadKind } from './txn_workload.js';
import { checkRecorded, type Verdict } from './verdict.js';
import { type RecordedOp, regKey, setPrefix, Workload } from './workload.js';

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
  /**
   * The stores' regionSplitSize in bytes (regionMaxSize 1.5 times it, split checks every second);
   * 0: the store defaults (96 MiB: nothing splits). Default: 32 KiB with powerloss, else 0.
   * Sets are left out when regions split: a scan across regions is not one read.
   */
  regionSplitSize?: number;
  /**
   * 'short': raft-log GC every 2 s, so a store down a few seconds is caught up by snapshot;
   * 'default': the stores' own settings. Default: 'default' with powerloss, else 'short'.
   */
  raftLogGc?: 'short' | 'default';
  /** New register keys per second (0: a fixed key set). Default: 10 with powerloss, else 0. */
  newKeysPerSec?: number;
  /** Register values padded to this many bytes (0: none). Default: 256 with powerloss, else 0. */
  valueBytes?: number;
  /**
   * What the clients run: 'register' (raw puts, gets, set appends and scans; checked for
   * linearizability and lost writes) or a transactional workload, 'bank' or 'list-append'
   * (txn_workload.ts). Default 'register'.
   */
  workload?: 'register' | TxnWorkloadKind;
  /** Accounts (bank) or list keys (list-append). Default 8 and 6. */
  txnKeys?: number;
  log: (msg: string) => void;
}

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'seed'> = Object.freeze({
  durationMs: 60_000,
  stores: 3,
  clients: 6,
  registers: 4,
  sets: 2,
  faults: DEFAULT_FAULT_KINDS,
  holdMs: [2500, 6000] as [number, number],
  gapMs: [1000, 3000] as [number, number],
  readMode: 'readIndex' as const,
  keepData: false,
  checkTimeoutMs: 60_000,
  log: () => {},
});

export interface ChaosReport {
  seed: number;
  options: {
    durationMs: number;
    stores: number;
    clients: number;
    /** Register keys at the end (more than at the start with key growth). */
    registers: number;
    sets: number;
    faults: string[];
    readMode: string;
    retryAmbiguousWrites: boolean;
    regionSplitSize: number;
    raftLogGc: 'short' | 'default';
    newKeysPerSec: number;
    valueBytes: number;
    workload: string;
  };
  dataDir: string;
  faults: FaultEvent[];
  ops: {
    total: number;
    ok: number;
    unknown: number;
    failed: number;
    byKind: Record<string, { ok: number; unknown: number; failed: number }>;
  };
  latency: { quiet: LatencySummary; underFaults: LatencySummary };
  /** Processes that exited without being asked to (a crash is a failure of the run). */
  crashes: string[];
  verdict: Verdict;
  /** The transactional workload's check (absent for the register workload). */
  txn?: TxnVerdict;
  /** The transactional history, until the report is returned (like opsRecorded). */
  txnRecorded?: { bank: BankOp[]; listAppend: ListAppendTxn[] };
  /**
   * Acknowledged writes the final reads lack (must be none): set appends missing, and registers
   * whose final value is older than a put acknowledged after it was written.
   */
  lostWrites: string[];
  /** Regions at the end, per the scheduler (1 when nothing split); 0 if it could not be asked. */
  regions: number;
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
  // Every random choice of the run (the fault schedule, the workload's operations, the proxies'
  // loss and jitter draws) comes from the seed, each part from a stream of its own, so a seed
  // replays the same choices; timing on a real machine still differs, which is why runs are many.
  const random = new Prng(o.seed);
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'tskv-chaos-'));
  const configDir = join(dataDir, 'config');
  mkdirSync(configDir, { recursive: true });
  let faults = [...o.faults];
  const powerloss = faults.includes('powerloss');
  if (powerloss) {
    const problem = lazyfsProblem();
    if (problem) throw new Error(`the powerloss fault cannot run: ${problem}`);
  }
  const regionSplitSize = o.regionSplitSize ?? (powerloss ? 32 * 1024 : 0);
  const raftLogGc = o.raftLogGc ?? (powerloss ? 'default' : 'short');
  const newKeysPerSec = o.newKeysPerSec ?? (powerloss ? 10 : 0);
  const valueBytes = o.valueBytes ?? (powerloss ? 256 : 0);
  let sets = o.sets;
  if (regionSplitSize > 0 && sets > 0) {
    o.log(`sets left out: regions split (a scan across regions is not one read)`);
    sets = 0;
  }
  const storeConfig: Record<string, unknown> = { readMode: o.readMode };
  // Shorter raft-log GC ticks than the default, so that a store down for a few seconds falls
  // behind the truncated index and is caught up by snapshot, not only by appends.
  if (raftLogGc === 'short') Object.assign(storeConfig, { raftLogGcTickMs: 2000, raftLogGcThreshold: 50 });
  if (regionSplitSize > 0)
    Object.assign(storeConfig, { regionSplitSize, regionMaxSize: Math.floor(regionSplitSize * 1.5), splitCheckTickMs: 1000 });
  writeFileSync(join(configDir, 'store.json'), JSON.stringify(storeConfig));

  // With powerloss a store's data directory is a lazyfs mount over a backing directory of its
  // own ("its disk"); otherwise the data directory is the disk.
  const diskDir = (i: number): string => (powerloss ? join(dataDir, 'disks', `store${i}`) : join(dataDir, `store${i}`));
  // Every store's disk on its own small tmpfs when the disk-full fault is on (and mounting works).
  const mounts: string[] = [];
  if (faults.includes('disk-full')) {
    for (let i = 1; i <= o.stores; i++) {
      const dir = diskDir(i);
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
  const lazyfs = new Map<number, LazyFs>();

  let cluster: ProcessCluster | null = null;
  const mesh = new ProxyMesh(o.stores, (j) => cluster!.store(j).addr, random.fork());
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
  const txnKind = o.workload && o.workload !== 'register' ? o.workload : null;
  const txnClients: TxnClient[] = [];
  let txnWorkload: TxnWorkload | null = null;
  let registersAtEnd = o.registers;
  const report = { seed: o.seed, dataDir } as ChaosReport;
  // Every verdict holds (false for a run that threw before reaching them).
  const passed = (): boolean =>
    crashes.length === 0 &&
    report.recovery?.ok === true &&
    report.lostWrites?.length === 0 &&
    report.verdict?.linearizable === true &&
    (txnKind === null || report.txn?.valid === true);
  try {
    if (powerloss) {
      mkdirSync(join(dataDir, 'logs'), { recursive: true });
      for (let i = 1; i <= o.stores; i++)
        lazyfs.set(i, await LazyFs.mount(diskDir(i), join(dataDir, `store${i}`), join(dataDir, 'logs', `lazyfs-store${i}.log`)));
      o.log(`every store's data directory on lazyfs (backing directories in ${join(dataDir, 'disks')})`);
    }
    if (regionSplitSize > 0 || newKeysPerSec > 0)
      o.log(
        `region split size ${regionSplitSize || 'default'} B, ${newKeysPerSec} new keys/s, ` +
          `values of ${valueBytes || 'unpadded'} B, raft-log GC ${raftLogGc}`,
      );
    await mesh.start();
    await cluster.start();
    await cluster.waitUntilReady({ timeoutMs: 60_000, replicas: Math.min(3, o.stores) });
    o.log(
      `cluster up: scheduler ${cluster.schedulerAddr}, ${o.stores} stores behind ${o.stores * (o.stores - 1)} proxies; data in ${dataDir}`,
    );
    const clientOpts = {
      schedulerAddr: cluster.schedulerAddr,
      timeoutMs: 4000,
      attemptTimeoutMs: 1500,
      retryAmbiguousWrites: o.retryAmbiguousWrites === true,
      scanBatchSize: 1 << 20,
    };
    if (txnKind) {
      for (let i = 0; i < o.clients; i++) txnClients.push(await TxnClient.connect(clientOpts));
      const keys = o.txnKeys ?? (txnKind === 'bank' ? 8 : 6);
      txnWorkload = new TxnWorkload(txnClients, { kind: txnKind, clients: o.clients, keys, thinkMs: 5 }, random.fork());
      await txnWorkload.setup(txnClients[0]!);
      o.log(`${txnKind} workload over ${keys} keys, ${o.clients} transactional clients`);
    } else for (let i = 0; i < o.clients; i++) clients.push(await RawClient.connect(clientOpts));
    // With a transactional workload the register workload has no clients: it records nothing.
    const workload = new Workload(
      clients,
      {
        clients: clients.length,
        registers: o.registers,
        sets,
        readRatio: 0.5,
        setRatio: sets > 0 ? 0.4 : 0,
        thinkMs: 5,
        newKeysPerSec,
        valueBytes,
      },
      random.fork(),
    );

    const t0 = performance.now();
    workload.start();
    txnWorkload?.start();
    const faultRandom = random.fork();
    const events = await runFaults(
      {
        cluster,
        mesh,
        random: faultRandom,
        leaderIndex: async () => leaderIndex(cluster!),
        log: o.log,
        diskFull,
        lazyfs,
      },
      { kinds: faults, holdMs: o.holdMs, gapMs: o.gapMs },
      t0,
      () => performance.now() - t0 < o.durationMs,
    );
    await workload.stop();
    await txnWorkload?.stop();
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
      if (txnWorkload) {
        const c = await TxnClient.connect({ ...clientOpts, timeoutMs: 10_000 });
        txnClients.push(c);
        const deadline = performance.now() + 30_000;
        while (!(await txnWorkload.finalRead(c))) {
          if (performance.now() > deadline) throw new Error('the final transactional read kept failing');
          await sleep(200);
        }
      }
      final = await RawClient.connect({ ...clientOpts, timeoutMs: 10_000 });
      const finalReads = txnWorkload
        ? []
        : [
            ...Array.from({ length: workload.registerCount }, (_, k) => ({ kind: 'get' as const, key: regKey(k) })),
            ...Array.from({ length: sets }, (_, k) => ({ kind: 'read' as const, key: setPrefix(k) })),
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
    report.regions = await regionCount(cluster);
    registersAtEnd = workload.registerCount;

    const ops = workload.ops;
    report.opsRecorded = ops;
    report.faults = events;
    report.ops = countOps(ops);
    report.latency = latencies(ops, events, t0);
    report.lostWrites = [...lostAppends(ops), ...lostPuts(ops, t0)];
    report.verdict = checkRecorded(ops, o.checkTimeoutMs);
    if (txnWorkload) {
      report.txn = txnWorkload.check();
      report.txnRecorded = { bank: txnWorkload.bankOps, listAppend: txnWorkload.listTxns };
    }
  } finally {
    for (const c of clients) c.close();
    for (const c of txnClients) c.close();
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
    for (const fs of lazyfs.values()) await fs.unmount();
    // tmpfs contents vanish with the mount: keep a copy for a run that failed (or threw).
    const failed = !passed();
    for (const m of mounts) {
      if (failed || o.keepData) cpSync(m, `${m}.kept`, { recursive: true });
      unmount(m);
    }
  }
  report.options = {
    durationMs: o.durationMs,
    stores: o.stores,
    clients: o.clients,
    registers: registersAtEnd,
    sets,
    faults,
    readMode: o.readMode,
    retryAmbiguousWrites: o.retryAmbiguousWrites === true,
    regionSplitSize,
    raftLogGc,
    newKeysPerSec,
    valueBytes,
    workload: txnKind ?? 'register',
  };
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

async function regionCount(cluster: ProcessCluster): Promise<number> {
  try {
    const pd = await cluster.pd(2000);
    try {
      return (await allRegions(pd)).length;
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
    const k = out.byKind[op.input.kind] ?? { ok: 0, unknown: 0, failed: 0 };
    out.byKind[op.input.kind] = k;
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
    if (op.clientId === 0 && op.status === 'ok' && op.input.kind === 'read' && op.output && 'elements' in op.output)
      finalRead.set(op.input.key, new Set(op.output.elements));
  }
  const lost: string[] = [];
  for (const op of ops) {
    if (op.input.kind !== 'append' || op.status !== 'ok') continue;
    const seen = finalRead.get(op.input.key);
    if (seen && !seen.has(op.input.element)) lost.push(`${op.input.key}${op.input.element}`);
  }
  return lost;
}

/**
 * Registers whose final read returned a value older than an acknowledged put: the put that wrote
 * the final value (or, for a final null, any put at all) completed before another acknowledged
 * put of the key began, so no order of the operations ends on it. Times are seconds since t0.
 */
export function lostPuts(ops: RecordedOp[], t0: number): string[] {
  const finalValue = new Map<string, string | null>();
  for (const op of ops) {
    if (op.clientId === 0 && op.status === 'ok' && op.input.kind === 'get' && op.output && 'value' in op.output)
      finalValue.set(op.input.key, op.output.value);
  }
  const putOf = new Map<string, RecordedOp>();
  const acked = new Map<string, RecordedOp[]>();
  for (const op of ops) {
    if (op.input.kind !== 'put') continue;
    putOf.set(`${op.input.key}\0${op.input.value}`, op);
    if (op.status === 'ok') (acked.get(op.input.key) ?? acked.set(op.input.key, []).get(op.input.key)!).push(op);
  }
  const t = (ms: number): string => ((ms - t0) / 1000).toFixed(3);
  const lost: string[] = [];
  for (const [key, value] of finalValue) {
    const writer = value === null ? undefined : putOf.get(`${key}\0${value}`);
    if (value !== null && writer?.status !== 'ok') continue; // unknown put: not decidable here
    const after = (acked.get(key) ?? []).filter((p) => writer === undefined || p.call > writer.return);
    if (after.length === 0) continue;
    const was = writer ? `"${value}" (put ok ${t(writer.call)}..${t(writer.return)} s)` : 'null';
    const puts = after.map((p) => `"${p.input.kind === 'put' ? p.input.value : ''}" (ok ${t(p.call)}..${t(p.return)} s)`);
    lost.push(`${key}: final read ${was}; lost acknowledged put${puts.length > 1 ? 's' : ''} ${puts.join(', ')}`);
  }
  return lost;
}
