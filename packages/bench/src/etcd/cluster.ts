// A local 3-member etcd cluster as child processes, with etcd's default settings: each member its
// own data directory, client and peer URLs on free loopback ports, --initial-cluster. Installs
// Debian's etcd-server package first if there is no etcd command.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tailFile } from '@tskv/cluster';
import { EtcdClient } from './client.js';

/** The path of the etcd command, or null. */
export function findEtcd(bin = 'etcd'): string | null {
  if (bin.includes('/')) return existsSync(bin) ? bin : null;
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const p = r.status === 0 ? r.stdout.trim() : '';
  return p || null;
}

/**
 * Returns the etcd command, installing Debian's etcd-server (apt-get install -y etcd-server) if
 * it is missing (RUNLEVEL=1 asks the package scripts not to start the system service; the
 * benchmark's members use free ports anyway).
 */
export function ensureEtcd(bin = 'etcd', log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): string {
  const found = findEtcd(bin);
  if (found) return found;
  if (bin !== 'etcd') throw new Error(`etcd command not found: ${bin}`);
  log('etcd is not installed: apt-get install -y etcd-server');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'etcd-server'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  if (r.status !== 0) {
    log('apt-get install failed; trying apt-get update first');
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'etcd-server'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  }
  const p = findEtcd('etcd') ?? (existsSync('/usr/bin/etcd') ? '/usr/bin/etcd' : null);
  if (r.status !== 0 || !p) throw new Error('could not install etcd-server (apt-get install -y etcd-server failed)');
  return p;
}

/** "3.4.23" from `etcd --version`, or "unknown". */
export function etcdVersion(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  const m = /etcd Version:\s*(\S+)/i.exec(`${r.stdout}\n${r.stderr}`);
  return m?.[1] ?? 'unknown';
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  /** host:port of the client URL (the gRPC endpoint). */
  clientAddr: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  child: ChildProcess | null;
  pid: number | null;
  exited: Promise<void> | null;
}

export class EtcdCluster {
  readonly members: EtcdMember[] = [];
  /** Index in members of the leader (after start()). */
  leader = 0;
  private readonly onExit = (): void => this.killNow();

  constructor(
    readonly dir: string,
    readonly bin: string,
    readonly size = 3,
    readonly host = '127.0.0.1',
  ) {}

  async start(timeoutMs = 60_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const used = new Set<number>();
    const port = async (): Promise<number> => {
      for (;;) {
        const p = await freePort(this.host);
        if (!used.has(p)) {
          used.add(p);
          return p;
        }
      }
    };
    for (let i = 1; i <= this.size; i++) {
      const cp = await port();
      const pp = await port();
      this.members.push({
        name: `etcd${i}`,
        clientUrl: `http://${this.host}:${cp}`,
        clientAddr: `${this.host}:${cp}`,
        peerUrl: `http://${this.host}:${pp}`,
        dataDir: join(this.dir, `etcd${i}`),
        logFile: join(this.dir, `etcd${i}.log`),
        child: null,
        pid: null,
        exited: null,
      });
    }
    const initial = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    process.on('exit', this.onExit);
    for (const m of this.members) {
      const args = [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        m.clientUrl,
        '--advertise-client-urls',
        m.clientUrl,
        '--listen-peer-urls',
        m.peerUrl,
        '--initial-advertise-peer-urls',
        m.peerUrl,
        '--initial-cluster',
        initial,
        '--initial-cluster-token',
        'tskv-bench',
        '--initial-cluster-state',
        'new',
      ];
      const fd = openSync(m.logFile, 'a');
      try {
        // Own process group: a Ctrl-C reaches only the benchmark, which stops etcd itself.
        m.child = spawn(this.bin, args, { stdio: ['ignore', fd, fd], detached: true });
      } finally {
        closeSync(fd);
      }
      m.pid = m.child.pid ?? null;
      const child = m.child;
      m.exited = new Promise((res) =>
        child.once('exit', () => {
          m.child = null;
          res();
        }),
      );
    }
    await this.waitHealthy(timeoutMs);
  }

  /** Waits until every member answers /health with true and a leader is known. */
  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const dead = this.members.find((m) => !m.child);
      if (dead) throw new Error(`${dead.name} exited during startup:\n${tailFile(dead.logFile, 20)}`);
      try {
        const healthy = await Promise.all(
          this.members.map(async (m) => {
            const r = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
            const j = (await r.json()) as { health?: string };
            return j.health === 'true';
          }),
        );
        if (healthy.every(Boolean)) {
          this.leader = await this.findLeader();
          return;
        }
        last = `health: ${healthy.join(', ')}`;
      } catch (e) {
        last = String((e as Error).message ?? e);
      }
      if (Date.now() > deadline) throw new Error(`etcd not healthy after ${timeoutMs} ms (${last})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The index of the leader, from Maintenance/Status of each member. */
  async findLeader(): Promise<number> {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ids = await Promise.all(
        this.members.map(async (m) => {
          const c = new EtcdClient(m.clientAddr);
          try {
            const s = await c.status();
            return { member: s.header?.memberId ?? 0n, leader: s.leader };
          } catch {
            return { member: 0n, leader: 0n };
          } finally {
            c.close();
          }
        }),
      );
      const leader = ids.find((x) => x.leader !== 0n)?.leader ?? 0n;
      const i = ids.findIndex((x) => x.member === leader && leader !== 0n);
      if (i >= 0) return i;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('etcd: no leader found');
  }

  pids(): { name: string; pid: number }[] {
    return this.members.filter((m) => m.pid).map((m) => ({ name: m.name, pid: m.pid! }));
  }

  /** SIGTERM every member; SIGKILL after timeoutMs. */
  async stop(timeoutMs = 5_000): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        if (!m.child || !m.exited) return;
        m.child.kill('SIGTERM');
        let t: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => (t = setTimeout(() => r('late'), timeoutMs)));
        if ((await Promise.race([m.exited, late])) === 'late') m.child?.kill('SIGKILL');
        await m.exited;
        clearTimeout(t);
      }),
    );
    process.off('exit', this.onExit);
  }

  killNow(): void {
    for (const m of this.members) {
      try {
        m.child?.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
