// ProcessCluster: a local tskv cluster as real processes, one scheduler and N stores, each a
// child `node` process with its own data directory and log file:
//
//   DATA/scheduler/  DATA/store1/ ... DATA/storeN/
//   DATA/logs/scheduler.log  DATA/logs/store1.log ...         (the processes' own logs)
//   DATA/logs/scheduler.stderr.log  DATA/logs/store1.stderr.log ...  (their stderr: crashes)
//
// start() runs the scheduler, waits for its ready line (one JSON line on stdout), then starts the
// stores and waits for theirs. A child that exits without being asked to is reported with the
// 'unexpected-exit' event (with the tail of its logs). stop() sends SIGTERM to every child
// (stores first, then the scheduler) and SIGKILLs what is still running after stopTimeoutMs.
// Used by `npm start` (bin/start.ts), end-to-end tests and benchmarks (temp data dir, free ports).
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type ClusterOverview, clusterOverview, RawClient, type RawClientOptions, readiness, waitForScheduler } from '@tskv/client';
import { loadTls, PdClient, type StatusFetchOptions, type StatusResponse, statusFetch, statusUrl, type TlsOptions } from '@tskv/rpc';

/** The commands of the product, relative to this file (not to the cwd). */
export const DEFAULT_SCHEDULER_BIN = fileURLToPath(new URL('../../../scheduler/dist/bin/tinykv-scheduler.js', import.meta.url));
export const DEFAULT_SERVER_BIN = fileURLToPath(new URL('../../../server/dist/bin/tinykv-server.js', import.meta.url));

export interface ProcessClusterOptions {
  /** Base directory of data and logs (created if missing; reused if present). */
  dataDir: string;
  /** Number of stores (default 3). */
  stores?: number;
  /** Host every process listens on (default 127.0.0.1). */
  host?: string;
  /** Scheduler gRPC port (default 2379; 0: a free port); its status port is schedulerStatusPort (default port + 1). */
  schedulerPort?: number;
  schedulerStatusPort?: number;
  /**
   * Store ports: store i (1-based) listens on basePort + i, its status server on
   * basePort + statusOffset + i (statusOffset = max(20, stores + 1)). Default 20160 (stores at
   * 20161..., status at 20181...). 0: free ports, picked once (kept across restarts).
   */
  basePort?: number;
  /** Directory of config files: scheduler.json, store<i>.json or store.json (passed with --config if present). */
  configDir?: string;
  /** --log-level of every process. */
  logLevel?: string;
  /** Paths of the commands (default: the built scheduler and server packages next to this one). */
  schedulerBin?: string;
  serverBin?: string;
  /** Extra arguments of node itself (e.g. --max-old-space-size=512). */
  nodeArgs?: string[];
  /** Extra arguments of each scheduler / store command. */
  schedulerArgs?: string[];
  serverArgs?: string[];
  /** More arguments of store i's command (1-based), asked at each start (after ports are picked). */
  storeArgs?: (index: number) => string[];
  env?: NodeJS.ProcessEnv;
  /** How long a process may take to print its ready line (default 60 s). */
  readyTimeoutMs?: number;
  /** SIGKILL a child still running this long after SIGTERM (default 10 s). */
  stopTimeoutMs?: number;
  /**
   * Run children in their own process groups (default false). The launcher sets it so that
   * Ctrl-C reaches only the launcher, which then stops the children gracefully with SIGTERM.
   */
  detached?: boolean;
  /** Check that fixed ports are free before starting (default true). */
  checkPorts?: boolean;
  /**
   * Mutual TLS with the certificates of scripts/make-test-certs.sh in `dir`: the scheduler and
   * every store serve and dial with store.pem (CN tskv-store), refusing callers whose CN is not in
   * allowedCn (if given); pd() and client() use client.pem (CN tskv-client). See docs/security.md.
   */
  tls?: { dir: string; allowedCn?: string[] };
}

export type ProcessRole = 'scheduler' | 'store';

export interface ProcessInfo {
  role: ProcessRole;
  /** "scheduler" or "store<i>". */
  name: string;
  /** 0 for the scheduler, 1.. for stores. */
  index: number;
  addr: string;
  statusAddr: string;
  dataDir: string;
  logFile: string;
  stderrFile: string;
  configFile: string | null;
  pid: number | null;
  running: boolean;
  /** From the ready line: the store id, the scheduler's cluster id. */
  storeId: number | null;
  clusterId: number | null;
  /** Exit of the last run, if it ended. */
  lastExit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

export interface ClusterAddresses {
  scheduler: string;
  schedulerStatus: string;
  stores: { index: number; storeId: number | null; addr: string; statusAddr: string }[];
}

export interface UnexpectedExit {
  info: ProcessInfo;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of its log and stderr files. */
  logTail: string;
}

export class ProcessStartError extends Error {
  constructor(
    message: string,
    readonly info: ProcessInfo,
    readonly logTail: string,
  ) {
    super(message);
    this.name = 'ProcessStartError';
  }
}

interface Proc {
  info: ProcessInfo;
  child: ChildProcess | null;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null;
  /** True when we asked it to stop (its exit is not reported as unexpected). */
  expectExit: boolean;
  /** The current run printed its ready line. */
  ready: boolean;
}

/** A free TCP port on host (bound then released). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolvePort(port));
    });
  });
}

/** Resolves true if host:port can be listened on now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.unref();
    s.once('error', () => res(false));
    s.listen(port, host, () => s.close(() => res(true)));
  });
}

/** The last `lines` lines of a file ('' if it does not exist). Reads at most its last 64 KiB. */
export function tailFile(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const n = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(n);
  const fd = openSync(file, 'r');
  let got = 0;
  try {
    while (got < n) {
      const r = readSync(fd, buf, got, n - got, size - n + got);
      if (r <= 0) break;
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  const all = buf.subarray(0, got).toString('utf8').split('\n');
  if (all[all.length - 1] === '') all.pop();
  if (n < size && all.length > 0) all.shift(); // a partial first line
  return all.slice(-lines).join('\n');
}

function findConfig(dir: string | undefined, names: string[]): string | null {
  if (!dir) return null;
  for (const n of names) {
    for (const ext of ['.json', '.toml', '.yaml', '.yml']) {
      const f = join(dir, n + ext);
      if (existsSync(f)) return f;
    }
  }
  return null;
}

export class ProcessCluster extends EventEmitter {
  readonly dataDir: string;
  readonly logsDir: string;
  readonly host: string;
  private readonly opts: ProcessClusterOptions;
  private scheduler: Proc | null = null;
  private readonly storeProcs: Proc[] = [];
  private portsPicked = false;
  private schedulerPort = 0;
  private schedulerStatusPort = 0;
  private readonly storePorts: { addr: number; status: number }[] = [];
  private stopping = false;
  private readonly onProcessExit = (): void => this.killAllNow();

  constructor(opts: ProcessClusterOptions) {
    super();
    this.opts = opts;
    this.dataDir = resolve(opts.dataDir);
    this.logsDir = join(this.dataDir, 'logs');
    this.host = opts.host ?? '127.0.0.1';
  }

  get schedulerBin(): string {
    return this.opts.schedulerBin ?? DEFAULT_SCHEDULER_BIN;
  }

  get serverBin(): string {
    return this.opts.serverBin ?? DEFAULT_SERVER_BIN;
  }

  /** The scheduler's gRPC address (known before start for fixed ports, after it for free ones). */
  get schedulerAddr(): string {
    return this.scheduler?.info.addr ?? `${this.host}:${this.schedulerPort}`;
  }

  get addresses(): ClusterAddresses {
    return {
      scheduler: this.scheduler?.info.addr ?? '',
      schedulerStatus: this.scheduler?.info.statusAddr ?? '',
      stores: this.storeProcs.map((p) => ({
        index: p.info.index,
        storeId: p.info.storeId,
        addr: p.info.addr,
        statusAddr: p.info.statusAddr,
      })),
    };
  }

  /** Every process (scheduler first), as last seen. */
  processes(): ProcessInfo[] {
    return [this.scheduler, ...this.storeProcs].filter((p): p is Proc => !!p).map((p) => ({ ...p.info }));
  }

  store(index: number): ProcessInfo {
    return { ...this.storeProc(index).info };
  }

  get storeCount(): number {
    return this.storeProcs.length;
  }

  private storeProc(index: number): Proc {
    const p = this.storeProcs[index - 1];
    if (!p) throw new Error(`no store ${index} (stores are 1..${this.storeProcs.length})`);
    return p;
  }

  private async pickPorts(n: number): Promise<void> {
    const o = this.opts;
    if (!this.portsPicked) {
      this.schedulerPort = o.schedulerPort ?? 2379;
      if (this.schedulerPort === 0) this.schedulerPort = await freePort(this.host);
      this.schedulerStatusPort = o.schedulerStatusPort ?? (o.schedulerPort === 0 ? 0 : this.schedulerPort + 1);
      if (this.schedulerStatusPort === 0) this.schedulerStatusPort = await freePort(this.host);
      this.portsPicked = true;
    }
    const base = o.basePort ?? 20160;
    const statusOffset = Math.max(20, (o.stores ?? 3) + 1);
    while (this.storePorts.length < n) {
      const i = this.storePorts.length + 1;
      if (base === 0) this.storePorts.push({ addr: await freePort(this.host), status: await freePort(this.host) });
      else this.storePorts.push({ addr: base + i, status: base + statusOffset + i });
    }
  }

  private newProc(role: ProcessRole, index: number): Proc {
    const name = role === 'scheduler' ? 'scheduler' : `store${index}`;
    const ports = role === 'scheduler' ? { addr: this.schedulerPort, status: this.schedulerStatusPort } : this.storePorts[index - 1]!;
    const configFile =
      role === 'scheduler' ? findConfig(this.opts.configDir, ['scheduler']) : findConfig(this.opts.configDir, [`store${index}`, 'store']);
    return {
      info: {
        role,
        name,
        index,
        addr: `${this.host}:${ports.addr}`,
        statusAddr: `${this.host}:${ports.status}`,
        dataDir: join(this.dataDir, name),
        logFile: join(this.logsDir, `${name}.log`),
        stderrFile: join(this.logsDir, `${name}.stderr.log`),
        configFile,
        pid: null,
        running: false,
        storeId: null,
        clusterId: null,
        lastExit: null,
      },
      child: null,
      exited: null,
      expectExit: false,
      ready: false,
    };
  }

  /** The last lines of a process's log file and stderr. */
  logTail(nameOrIndex: string | number, lines = 20): string {
    const p =
      typeof nameOrIndex === 'number'
        ? this.storeProc(nameOrIndex)
        : nameOrIndex === 'scheduler'
          ? this.scheduler
          : this.storeProcs.find((x) => x.info.name === nameOrIndex);
    if (!p) return '';
    return tailOf(p.info, lines);
  }

  /** Starts the scheduler, waits for it, then starts every store and waits for them. */
  async start(): Promise<void> {
    const n = this.opts.stores ?? 3;
    if (n < 1) throw new Error('a cluster needs at least one store');
    mkdirSync(this.logsDir, { recursive: true });
    for (const bin of [this.schedulerBin, this.serverBin]) {
      if (!existsSync(bin)) throw new Error(`${bin} does not exist: build the repository first (npm run build)`);
    }
    await this.pickPorts(n);
    this.scheduler ??= this.newProc('scheduler', 0);
    while (this.storeProcs.length < n) this.storeProcs.push(this.newProc('store', this.storeProcs.length + 1));
    if (this.opts.checkPorts !== false) await this.checkPorts([this.scheduler, ...this.storeProcs]);
    process.off('exit', this.onProcessExit);
    process.on('exit', this.onProcessExit);
    this.stopping = false;
    await this.run(this.scheduler);
    await Promise.all(this.storeProcs.map((p) => this.run(p)));
  }

  private async checkPorts(ps: Proc[]): Promise<void> {
    const busy: string[] = [];
    for (const p of ps) {
      if (p.info.running) continue;
      for (const a of [p.info.addr, p.info.statusAddr]) {
        const port = Number(a.slice(a.lastIndexOf(':') + 1));
        if (port && !(await portIsFree(this.host, port))) busy.push(`${a} (${p.info.name})`);
      }
    }
    if (busy.length)
      throw new Error(
        `port${busy.length > 1 ? 's' : ''} already in use: ${busy.join(', ')} (is another cluster running? stop it, or choose other ports)`,
      );
  }

  private args(p: Proc): string[] {
    const i = p.info;
    const a = ['--addr', i.addr, '--status-addr', i.statusAddr];
    if (p.info.role === 'store') a.push('--scheduler', this.schedulerAddr);
    a.push('--data-dir', i.dataDir, '--log-file', i.logFile);
    if (i.configFile) a.push('--config', i.configFile);
    if (this.opts.logLevel) a.push('--log-level', this.opts.logLevel);
    const tls = this.opts.tls;
    if (tls) {
      a.push('--ca-path', join(tls.dir, 'ca.pem'), '--cert-path', join(tls.dir, 'store.pem'), '--key-path', join(tls.dir, 'store-key.pem'));
      if (tls.allowedCn?.length) a.push('--cert-allowed-cn', tls.allowedCn.join(','));
    }
    a.push(...((p.info.role === 'scheduler' ? this.opts.schedulerArgs : this.opts.serverArgs) ?? []));
    if (p.info.role === 'store' && this.opts.storeArgs) a.push(...this.opts.storeArgs(i.index));
    return a;
  }

  /** Spawns one process and waits for its ready line. */
  private run(p: Proc): Promise<void> {
    if (p.info.running) return Promise.resolve();
    mkdirSync(p.info.dataDir, { recursive: true });
    const bin = p.info.role === 'scheduler' ? this.schedulerBin : this.serverBin;
    const argv = [...(this.opts.nodeArgs ?? []), bin, ...this.args(p)];
    // Each run's stderr starts with a header, so a tail shows which run it is from.
    appendFileSync(p.info.stderrFile, `--- ${new Date().toISOString()} starting: node ${argv.join(' ')}\n`);
    const errFd = openSync(p.info.stderrFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, argv, {
        cwd: process.cwd(),
        env: this.opts.env ?? process.env,
        stdio: ['ignore', 'pipe', errFd],
        detached: this.opts.detached ?? false,
      });
    } finally {
      closeSync(errFd);
    }
    p.child = child;
    p.expectExit = false;
    p.ready = false;
    p.info.running = true;
    p.info.pid = child.pid ?? null;
    p.info.lastExit = null;
    p.exited = new Promise((res) => {
      child.once('exit', (code, signal) => {
        p.info.running = false;
        p.info.lastExit = { code, signal };
        p.child = null;
        res({ code, signal });
        // Before its ready line, a failure is the rejection of run(), not an event.
        if (!p.expectExit && !this.stopping && p.ready) {
          const ev: UnexpectedExit = { info: { ...p.info }, code, signal, logTail: tailOf(p.info, 20) };
          if (this.listenerCount('unexpected-exit') > 0) this.emit('unexpected-exit', ev);
        }
      });
    });
    const timeoutMs = this.opts.readyTimeoutMs ?? 60_000;
    return new Promise<void>((res, rej) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (ready) return;
        ready = true;
        rej(new ProcessStartError(`${p.info.name} did not print its ready line within ${timeoutMs} ms`, { ...p.info }, tailOf(p.info, 20)));
      }, timeoutMs);
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (line) => {
        if (ready) return;
        let m: { event?: string; addr?: string; statusAddr?: string; storeId?: number; clusterId?: number } | null = null;
        try {
          m = JSON.parse(line);
        } catch {
          return;
        }
        if (m?.event !== 'ready') return;
        ready = true;
        p.ready = true;
        clearTimeout(timer);
        if (m.addr) p.info.addr = m.addr;
        if (m.statusAddr) p.info.statusAddr = m.statusAddr;
        if (m.storeId !== undefined) p.info.storeId = Number(m.storeId);
        if (m.clusterId !== undefined) p.info.clusterId = Number(m.clusterId);
        this.emit('ready', { ...p.info });
        res();
      });
      void p.exited!.then(({ code, signal }) => {
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        rej(
          new ProcessStartError(
            `${p.info.name} exited (${signal ?? `code ${code}`}) before it was ready`,
            { ...p.info },
            tailOf(p.info, 20),
          ),
        );
      });
    });
  }

  /** Sends a signal to a store (default SIGKILL: a crash) and waits for its exit; not reported as unexpected. */
  async kill(storeIndex: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const p = this.storeProc(storeIndex);
    return this.terminate(p, signal);
  }

  private async terminate(
    p: Proc,
    signal: NodeJS.Signals,
    killAfterMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!p.child || !p.exited) return p.info.lastExit ?? { code: null, signal: null };
    p.expectExit = true;
    const exited = p.exited;
    p.child.kill(signal);
    if (killAfterMs === undefined) return exited;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (t = setTimeout(() => r('timeout'), killAfterMs)));
    const first = await Promise.race([exited, timeout]);
    clearTimeout(t);
    if (first === 'timeout') {
      p.child?.kill('SIGKILL');
      return exited;
    }
    return first;
  }

  /**
   * Freezes a running store (SIGSTOP): its sockets stay open and nothing answers, as with a
   * process stuck in a long GC pause or a VM stall. resume() (SIGCONT) lets it go on.
   */
  pause(storeIndex: number): void {
    const p = this.storeProc(storeIndex);
    if (!p.child || !p.info.running) throw new Error(`${p.info.name} is not running`);
    p.child.kill('SIGSTOP');
  }

  resume(storeIndex: number): void {
    const p = this.storeProc(storeIndex);
    p.child?.kill('SIGCONT');
  }

  /** Stops a store gracefully (SIGTERM, SIGKILL after stopTimeoutMs). */
  async stopStore(storeIndex: number): Promise<void> {
    await this.terminate(this.storeProc(storeIndex), 'SIGTERM', this.opts.stopTimeoutMs ?? 10_000);
  }

  /** Starts a store that is not running (same ports, same data). */
  async startStore(storeIndex: number): Promise<void> {
    const p = this.storeProc(storeIndex);
    if (p.info.running) return;
    if (this.opts.checkPorts !== false) await this.checkPorts([p]);
    await this.run(p);
  }

  /** Stops a store if it runs (gracefully), then starts it again on its data. */
  async restart(storeIndex: number): Promise<void> {
    await this.stopStore(storeIndex);
    await this.startStore(storeIndex);
  }

  /** Starts one more store; returns its index. */
  async addStore(): Promise<number> {
    const i = this.storeProcs.length + 1;
    await this.pickPorts(i);
    const p = this.newProc('store', i);
    this.storeProcs.push(p);
    if (this.opts.checkPorts !== false) await this.checkPorts([p]);
    await this.run(p);
    return i;
  }

  /** Stops and starts the scheduler (same port, same data). */
  async restartScheduler(): Promise<void> {
    if (!this.scheduler) throw new Error('not started');
    await this.terminate(this.scheduler, 'SIGTERM', this.opts.stopTimeoutMs ?? 10_000);
    await this.run(this.scheduler);
  }

  /**
   * Stops every process: SIGTERM to the stores, then to the scheduler; whatever still runs
   * stopTimeoutMs later gets SIGKILL. Resolves once all have exited.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const ms = this.opts.stopTimeoutMs ?? 10_000;
    await Promise.all(this.storeProcs.map((p) => this.terminate(p, 'SIGTERM', ms)));
    if (this.scheduler) await this.terminate(this.scheduler, 'SIGTERM', ms);
    process.off('exit', this.onProcessExit);
  }

  /** SIGKILLs every child now (synchronous; for the exit of the parent). */
  killAllNow(): void {
    for (const p of [...this.storeProcs, this.scheduler]) {
      if (p?.child) {
        p.expectExit = true;
        try {
          p.child.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }

  /** A scheduler client for this cluster (the caller closes it). */
  async pd(timeoutMs = 5_000): Promise<PdClient> {
    const tls = loadTls(this.clientTls());
    const pd = new PdClient(this.schedulerAddr, { timeoutMs, tls });
    await waitForScheduler(pd, this.schedulerAddr, timeoutMs, tls);
    return pd;
  }

  /** A RawClient for this cluster (the caller closes it). */
  client(opts: RawClientOptions = {}): Promise<RawClient> {
    return RawClient.connect({ schedulerAddr: this.schedulerAddr, tls: this.clientTls(), ...opts });
  }

  /** The client certificate of opts.tls (undefined: plaintext). */
  clientTls(): TlsOptions | undefined {
    const d = this.opts.tls?.dir;
    return d ? { caPath: join(d, 'ca.pem'), certPath: join(d, 'client.pem'), keyPath: join(d, 'client-key.pem') } : undefined;
  }

  private statusAddrOf(target: 'scheduler' | number | string): string {
    if (target === 'scheduler') {
      if (!this.scheduler) throw new Error('not started');
      return this.scheduler.info.statusAddr;
    }
    return typeof target === 'number' ? this.storeProc(target).info.statusAddr : target;
  }

  /**
   * The URL of a status page of the scheduler, store `i` (1-based) or a host:port: https:// when
   * the cluster runs on TLS (its status servers are then HTTPS with mutual TLS).
   */
  statusUrl(target: 'scheduler' | number | string, path = '/'): string {
    return statusUrl(this.statusAddrOf(target), path, this.opts.tls ? loadTls(this.clientTls()) : null).href;
  }

  /** Fetches a status page (as statusUrl), with the client certificate when on TLS. */
  statusFetch(target: 'scheduler' | number | string, path: string, opts: Omit<StatusFetchOptions, 'tls'> = {}): Promise<StatusResponse> {
    return statusFetch(this.statusAddrOf(target), path, { ...opts, tls: loadTls(this.clientTls()) });
  }

  /**
   * Waits until the cluster is usable, without writing: every running store up at the
   * scheduler, every region with a leader and `replicas` voters (default min(3, running
   * stores)). Resolves with the last overview; rejects after timeoutMs with what is missing.
   */
  async waitUntilReady(
    o: { timeoutMs?: number; replicas?: number; pollMs?: number; onProgress?: (missing: string[]) => void } = {},
  ): Promise<ClusterOverview> {
    const timeoutMs = o.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const running = this.storeProcs.filter((p) => p.info.running).length;
    const replicas = o.replicas ?? Math.min(3, running);
    const pd = await this.pd(Math.max(1000, Math.min(5000, timeoutMs)));
    let missing: string[] = ['no answer from the scheduler yet'];
    try {
      for (;;) {
        try {
          const ov = await clusterOverview(pd, { replicas, downAfterMs: 60_000 });
          const r = readiness(ov, { stores: running });
          if (r.ready) return ov;
          missing = r.missing;
        } catch (e) {
          missing = [`scheduler: ${(e as Error).message}`];
        }
        o.onProgress?.(missing);
        if (Date.now() >= deadline) throw new Error(`cluster not ready after ${timeoutMs} ms: ${missing.join('; ')}`);
        await new Promise((r) => setTimeout(r, Math.min(o.pollMs ?? 250, Math.max(1, deadline - Date.now()))));
      }
    } finally {
      pd.close();
    }
  }
}

function tailOf(info: ProcessInfo, lines: number): string {
  const parts: string[] = [];
  const log = tailFile(info.logFile, lines);
  if (log) parts.push(`--- ${info.logFile} (last lines)\n${log}`);
  const err = tailFile(info.stderrFile, lines);
  if (err) parts.push(`--- ${info.stderrFile} (last lines)\n${err}`);
  return parts.join('\n');
}
