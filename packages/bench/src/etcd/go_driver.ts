// The Go driver of the etcd side: a cell is run by etcd's own benchmark tool (go_tool.ts) instead
// of the Node loops, so the etcd figures are not limited by grpc-js' cost per call.
//
// put → `put --key-size K --key-space-size N` (random keys of the key space's key length; the
// tool's keys are varint-encoded indices, not the harness's bench/... keys); get → `range KEY
// --consistency l` (the tool reads one key, a preloaded one); batch-put → `txn-put --txn-ops B`
// (B consecutive indices per txn). --clients and --conns as the row's; endpoints the leader (or
// every member, leader first: the tool hands them to its connections round-robin).
//
// The tool runs a fixed number of requests, so a cell is: a short probe (4 requests per client)
// for a first rate, a warm-up run of about --warmup seconds at that rate, then the measured run of
// about --duration seconds at the warm-up's rate. Reported: the measured run's Requests/sec, its
// percentiles, its errors; CPU % of the etcd members over the tool's lifetime, and the tool's own
// CPU (user + system of the child, from bash's `times`) as the load generator's ("bench").
import { spawn } from 'node:child_process';
import type { Cell } from '../args.js';
import { CpuSampler } from '../cpu.js';
import type { KeySpace } from '../keyspace.js';
import type { RunResult, RunTiming } from '../runner.js';
import { type GoBenchSummary, parseBashTimes, parseGoBenchmark } from './go_output.js';
import type { EtcdSystem } from './system.js';

export interface GoCellOptions {
  bin: string;
  cell: Cell;
  connections: number;
  batchSize: number;
  timing: RunTiming;
  keys: KeySpace;
  signal?: AbortSignal;
}

/** The tool's arguments for a cell and a request count. */
export function goArgs(
  cell: Cell,
  o: { endpoints: string[]; connections: number; total: number; batchSize: number; keys: KeySpace },
): string[] {
  const global = [
    '--endpoints',
    o.endpoints.join(','),
    '--clients',
    String(cell.clients),
    '--conns',
    String(Math.min(o.connections, cell.clients)),
    '--precise',
    '--dial-timeout',
    '10s',
  ];
  const total = ['--total', String(Math.max(1, Math.round(o.total)))];
  const keyShape = [
    '--key-size',
    String(o.keys.keys[0]!.length),
    '--key-space-size',
    String(o.keys.size),
    '--val-size',
    String(cell.valueSize),
  ];
  switch (cell.workload) {
    case 'put':
      return [...global, 'put', ...total, ...keyShape];
    case 'get':
      return [...global, 'range', Buffer.from(o.keys.keys[o.keys.size >> 1]!).toString('latin1'), ...total, '--consistency', 'l'];
    case 'batch-put':
      return [...global, 'txn-put', ...total, '--txn-ops', String(o.batchSize), ...keyShape];
    case 'txn1':
    case 'txn4rmw':
      // The tool's `stm` retries aborted transactions until they commit: transactions are run by
      // the harness's own Go driver (go_txn.ts), one attempt each.
      throw new Error(`goArgs: ${cell.workload} is run by the etcd-txn driver, not the benchmark tool`);
  }
}

export interface ToolRun {
  summary: GoBenchSummary;
  /** The tool process's wall time and CPU (user + system), ms. */
  wallMs: number;
  cpuMs: number;
}

/** Runs the tool once (under bash, whose `times` on fd 3 gives the child's CPU). */
export function runTool(bin: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('bash', ['-c', '"$0" "$@"; rc=$?; times >&3; exit $rc', bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const times: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => times.push(b));
    let why = '';
    const kill = (reason: string): void => {
      why ||= reason;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(() => kill(`timed out after ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const onAbort = (): void => kill('interrupted');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', reject);
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const wallMs = performance.now() - t0;
      const text = Buffer.concat(out).toString();
      if (why) return reject(new Error(`etcd benchmark tool ${why}`));
      try {
        const summary = parseGoBenchmark(text);
        if (code !== 0) throw new Error(`exit ${code ?? sig}`);
        resolve({ summary, wallMs, cpuMs: parseBashTimes(Buffer.concat(times).toString()) });
      } catch (e) {
        reject(new Error(`etcd benchmark tool (${args.join(' ')}): ${(e as Error).message}\n${text.slice(-1000)}\n${err.slice(-1500)}`));
      }
    });
  });
}

export async function runGoCell(sys: EtcdSystem, o: GoCellOptions): Promise<RunResult> {
  const { cell } = o;
  const m = sys.cluster.members.map((x) => x.clientAddr);
  const L = sys.cluster.leader;
  const endpoints = sys.endpoints === 'leader' ? [m[L]!] : m.map((_, i) => m[(L + i) % m.length]!);
  const argsFor = (total: number): string[] =>
    goArgs(cell, { endpoints, connections: o.connections, total, batchSize: o.batchSize, keys: o.keys });
  const limit = (s: number): number => Math.max(60_000, s * 5_000);
  const rateOf = (r: ToolRun): number => (r.summary.requestsPerSec > 0 ? r.summary.requestsPerSec : cell.clients);

  const probe = await runTool(o.bin, argsFor(Math.max(50, cell.clients * 4)), limit(10), o.signal);
  let rate = rateOf(probe);
  let warmupErrors = probe.summary.errors;
  let errorSample = probe.summary.errorKinds[0] ? `warm-up: ${probe.summary.errorKinds[0].message}` : null;
  const warmS = o.timing.warmupMs / 1000;
  if (warmS > 0) {
    const w = await runTool(o.bin, argsFor(Math.max(cell.clients * 2, rate * warmS)), limit(warmS), o.signal);
    rate = rateOf(w);
    warmupErrors += w.summary.errors;
    errorSample ??= w.summary.errorKinds[0] ? `warm-up: ${w.summary.errorKinds[0].message}` : null;
  }
  const durS = o.timing.durationMs / 1000;
  const cpu = new CpuSampler(sys.processes());
  cpu.start();
  const total = Math.round(Math.max(cell.clients * 2, rate * durS));
  const r = await runTool(o.bin, argsFor(total), limit(durS), o.signal);
  const cpuResult: Record<string, number | null> = {
    ...cpu.stop(),
    bench: Number.isFinite(r.cpuMs) ? Math.round((r.cpuMs / r.wallMs) * 1000) / 10 : null,
  };
  await sys.afterRun();

  const s = r.summary;
  const pct = (p: string): number => s.percentilesMs[p] ?? NaN;
  const perReq = cell.workload === 'batch-put' ? o.batchSize : 1;
  const measuredS = Number.isFinite(s.totalS) ? s.totalS : r.wallMs / 1000;
  return {
    system: 'etcd',
    driver: 'go',
    workload: cell.workload,
    valueSize: cell.valueSize,
    regions: cell.regions,
    clients: cell.clients,
    connections: Math.min(o.connections, cell.clients),
    threads: 1,
    batchSize: perReq,
    measuredS: Math.round(measuredS * 1000) / 1000,
    requests: s.requests,
    requestsPerSec: s.requests ? s.requestsPerSec : 0,
    keysPerSec: s.requests ? s.requestsPerSec * perReq : 0,
    latency: {
      count: s.requests,
      mean: s.averageMs,
      min: s.fastestMs,
      p50: pct('50'),
      p90: pct('90'),
      p99: pct('99'),
      p999: pct('99.9'),
      max: s.slowestMs,
    },
    errors: s.errors,
    warmupErrors,
    errorSample: s.errorKinds[0]?.message ?? errorSample,
    cpu: cpuResult,
    loopDelay: { mean: NaN, p50: NaN, p99: NaN, max: NaN },
    info: { ...sys.describe(), driver: 'go', tool: o.bin, total, toolWallS: Math.round(r.wallMs) / 1000 },
  };
}
