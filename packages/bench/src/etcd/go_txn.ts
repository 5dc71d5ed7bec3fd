// The Go driver of the etcd side's transaction workloads: go/etcd-txn/main.go, a small
// closed-loop driver over clientv3 (etcd's benchmark tool has an `stm` command, but it retries
// aborted transactions until they commit; here each transaction is one attempt, aborts counted
// apart, as on the tskv side). Built like the benchmark tool (go_tool.ts): Debian's golang-go and
// golang-etcd-server-dev, `go build` in GOPATH mode with nothing fetched; the binary is cached as
// <cache>/etcd-txn-<hash of the source>, so an edited source is rebuilt.
//
// A run is one process: its own warm-up, then the measured period, which it marks on stdout
// ("phase measure", "phase end") so the etcd members' CPU is sampled over exactly that period;
// its own CPU over the period (getrusage) is the load generator's ("bench").
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tailFile } from '@tskv/cluster';
import type { Cell } from '../args.js';
import { CpuSampler } from '../cpu.js';
import type { LatencySummary } from '../histogram.js';
import type { KeySpace } from '../keyspace.js';
import { KEY_PREFIX } from '../keyspace.js';
import type { RunResult, RunTiming } from '../runner.js';
import { cacheDir, ETCD_SRC, GOCODE, installGoEtcd, type Log, run } from './go_tool.js';
import type { EtcdSystem } from './system.js';

/** The driver's source (packages/bench/go/etcd-txn/main.go, from dist/src/etcd/). */
export const TXN_SOURCE = fileURLToPath(new URL('../../../go/etcd-txn/main.go', import.meta.url));

export interface TxnTool {
  bin: string;
}

/** The cached binary's path for this source. */
export function txnToolPath(source = TXN_SOURCE): string {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  return join(cacheDir(), `etcd-txn-${hash}`);
}

/** Builds the driver into the cache (go build, about 20 s), or says why it could not. Log: <cache>/etcd-txn-build.log. */
export function buildTxnTool(log: Log): TxnTool | { error: string } {
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'etcd-txn-build.log');
  const fd = openSync(logFile, 'w');
  const fail = (why: string): { error: string } => ({ error: `${why} (log: ${logFile})\n${tailFile(logFile, 15)}` });
  try {
    const missing = installGoEtcd('etcd-txn driver', log, fd);
    if (missing) return fail(missing);
    if (!existsSync(`${ETCD_SRC}/clientv3`)) return fail(`${ETCD_SRC}/clientv3 missing after installing golang-etcd-server-dev`);
    const bin = txnToolPath();
    const build = join(dir, 'etcd-txn-build');
    rmSync(build, { recursive: true, force: true });
    const pkg = join(build, 'gopath/src/tskvbench/etcd-txn');
    mkdirSync(pkg, { recursive: true });
    copyFileSync(TXN_SOURCE, join(pkg, 'main.go'));
    log('  etcd-txn driver: go build (offline, GOPATH mode)');
    const env = {
      GO111MODULE: 'off',
      GOPATH: `${join(build, 'gopath')}:${GOCODE}`,
      GOPROXY: 'off',
      GOFLAGS: '',
      GOCACHE: join(build, 'gocache'),
      CGO_ENABLED: '0',
    };
    if (run('go', ['build', '-o', `${bin}.tmp`, '.'], fd, { cwd: pkg, env }) !== 0) return fail('go build of go/etcd-txn failed');
    renameSync(`${bin}.tmp`, bin);
    rmSync(build, { recursive: true, force: true });
    return { bin };
  } finally {
    closeSync(fd);
  }
}

/** The cached driver, else a fresh build; null with the reason printed when it cannot be had. */
export function ensureTxnTool(log: Log): TxnTool | null {
  const bin = txnToolPath();
  if (existsSync(bin)) return { bin };
  log(`etcd-txn driver: not built yet: building it into ${cacheDir()}`);
  let r: TxnTool | { error: string };
  try {
    r = buildTxnTool(log);
  } catch (e) {
    r = { error: String((e as Error).message ?? e) };
  }
  if ('error' in r) {
    log(`etcd-txn driver: could not build it: ${r.error}`);
    return null;
  }
  log(`  etcd-txn driver: built: ${r.bin}`);
  return r;
}

/** The driver's arguments for a cell. */
export function txnToolArgs(cell: Cell, o: { endpoints: string[]; connections: number; keys: KeySpace; timing: RunTiming }): string[] {
  const width = o.keys.keys[0]!.length - KEY_PREFIX.length;
  return [
    '--endpoints',
    o.endpoints.join(','),
    '--clients',
    String(cell.clients),
    '--conns',
    String(Math.min(o.connections, cell.clients)),
    '--workload',
    cell.workload,
    '--keys',
    String(o.keys.size),
    '--key-prefix',
    KEY_PREFIX,
    '--key-width',
    String(width),
    '--val-size',
    String(cell.valueSize),
    '--warmup',
    `${o.timing.warmupMs}ms`,
    '--duration',
    `${o.timing.durationMs}ms`,
  ];
}

/** What the driver prints last ("result {json}"). */
export interface TxnToolResult {
  committed: number;
  aborted: number;
  errors: number;
  warmupCommitted: number;
  warmupAborted: number;
  warmupErrors: number;
  errorSample: string;
  measuredS: number;
  /** Its CPU (user + system) over the measured period, s. */
  cpuS: number;
  latencyMs: LatencySummary;
}

/** The result line of the driver's output; throws if there is none. */
export function parseTxnToolOutput(text: string): TxnToolResult {
  const line = text
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('result '));
  if (!line) throw new Error('no result line');
  const r = JSON.parse(line.slice('result '.length)) as TxnToolResult;
  for (const k of ['committed', 'aborted', 'errors', 'measuredS'] as const)
    if (typeof r[k] !== 'number') throw new Error(`result line without ${k}`);
  const l = r.latencyMs;
  // No committed transaction: no latency.
  if (!l || l.count === 0) r.latencyMs = { count: 0, mean: NaN, min: NaN, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN };
  return r;
}

export interface GoTxnCellOptions {
  bin: string;
  cell: Cell;
  connections: number;
  timing: RunTiming;
  keys: KeySpace;
  signal?: AbortSignal;
}

export async function runGoTxnCell(sys: EtcdSystem, o: GoTxnCellOptions): Promise<RunResult> {
  const { cell } = o;
  const m = sys.cluster.members.map((x) => x.clientAddr);
  const L = sys.cluster.leader;
  const endpoints = sys.endpoints === 'leader' ? [m[L]!] : m.map((_, i) => m[(L + i) % m.length]!);
  const args = txnToolArgs(cell, { endpoints, connections: o.connections, keys: o.keys, timing: o.timing });
  const cpu = new CpuSampler(sys.processes());
  let cpuResult: Record<string, number | null> = {};
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn(o.bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let pending = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      pending += b.toString();
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line === 'phase measure') cpu.start();
        else if (line === 'phase end') cpuResult = cpu.stop();
        nl = pending.indexOf('\n');
      }
    });
    child.stderr!.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
    });
    let why = '';
    const kill = (reason: string): void => {
      why ||= reason;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const limitMs = o.timing.warmupMs + o.timing.durationMs + 60_000;
    const timer = setTimeout(() => kill(`timed out after ${Math.round(limitMs / 1000)} s`), limitMs);
    const onAbort = (): void => kill('interrupted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', reject);
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (why) return reject(new Error(`etcd-txn driver ${why}`));
      if (code !== 0) return reject(new Error(`etcd-txn driver (${args.join(' ')}): exit ${code ?? sig}\n${err.slice(-1500)}`));
      resolve(out);
    });
  });
  await sys.afterRun();
  let r: TxnToolResult;
  try {
    r = parseTxnToolOutput(text);
  } catch (e) {
    throw new Error(`etcd-txn driver: ${(e as Error).message}\n${text.slice(-1000)}`);
  }
  const measuredS = Math.max(1e-9, r.measuredS);
  return {
    system: 'etcd',
    driver: 'go',
    workload: cell.workload,
    valueSize: cell.valueSize,
    regions: cell.regions,
    clients: cell.clients,
    connections: Math.min(o.connections, cell.clients),
    threads: 1,
    batchSize: 1,
    measuredS: Math.round(measuredS * 1000) / 1000,
    requests: r.committed,
    aborts: r.aborted,
    warmupAborts: r.warmupAborted,
    requestsPerSec: r.committed / measuredS,
    keysPerSec: r.committed / measuredS,
    latency: r.latencyMs,
    errors: r.errors,
    warmupErrors: r.warmupErrors,
    errorSample: r.errorSample || null,
    cpu: { ...cpuResult, bench: r.cpuS >= 0 ? Math.round((r.cpuS / measuredS) * 1000) / 10 : null },
    loopDelay: { mean: NaN, p50: NaN, p99: NaN, max: NaN },
    info: { ...sys.describe(), driver: 'go', tool: o.bin },
  };
}
