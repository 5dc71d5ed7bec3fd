// The faults and their schedule. A schedule is drawn from the run's seed: quiet gaps, then one
// fault at a time, held for a while, then healed. One at a time keeps each fault's effect
// attributable in the report; kills and partitions still overlap with the recovery (elections,
// snapshots, catch-up) of the fault before.
import type { ProcessCluster } from '@tskv/cluster';
import type { Prng } from '@tskv/util';
import { fillDisk, freeDisk } from './disk.js';
import type { LazyFs } from './lazyfs.js';
import type { ProxyMesh } from './mesh.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'isolate-leader', 'bridge', 'delay', 'loss', 'disk-full', 'powerloss'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * The kinds a run draws from unless told otherwise: all but powerloss, which needs the native
 * lazyfs and /dev/fuse (and a store whose writes lazyfs slows down), so it is asked for by name.
 */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = Object.freeze(FAULT_KINDS.filter((k) => k !== 'powerloss'));

export interface FaultEvent {
  kind: FaultKind;
  /** What was done, e.g. "SIGKILL store 2, restart after 3.1 s". */
  detail: string;
  /** ms since the start of the run. */
  start: number;
  end: number;
}

export interface FaultContext {
  cluster: ProcessCluster;
  mesh: ProxyMesh;
  random: Prng;
  /** The store index (1-based) the scheduler last saw leading the workload's region; 0 if none. */
  leaderIndex(): Promise<number>;
  log(msg: string): void;
  /** Stores whose disk is full now (their exit 3 is the expected fail-stop, not a crash). */
  diskFull: Set<number>;
  /** Each store's data directory as a lazyfs mount, by store index (for powerloss). */
  lazyfs: Map<number, LazyFs>;
}

/** An applied fault: heal() undoes it (restart, SIGCONT, links healed). */
interface Active {
  detail: string;
  heal(): Promise<void>;
}

/** Store numbers 1..n in a random order. */
function shuffled(r: Prng, n: number): number[] {
  return r.shuffle(Array.from({ length: n }, (_, i) => i + 1));
}

async function apply(kind: FaultKind, ctx: FaultContext, holdMs: number): Promise<Active> {
  const { cluster, mesh, random: r } = ctx;
  const n = cluster.storeCount;
  switch (kind) {
    case 'kill': {
      const s = r.range(1, n);
      await cluster.kill(s, 'SIGKILL');
      return { detail: `SIGKILL store ${s}, restarted after ${(holdMs / 1000).toFixed(1)} s`, heal: () => cluster.startStore(s) };
    }
    case 'pause': {
      const s = r.range(1, n);
      cluster.pause(s);
      return { detail: `SIGSTOP store ${s} for ${(holdMs / 1000).toFixed(1)} s, then SIGCONT`, heal: async () => cluster.resume(s) };
    }
    case 'partition': {
      // A minority (at most (n-1)/2 stores, at least one) cut off from the majority.
      const order = shuffled(r, n);
      const k = r.range(1, Math.floor((n - 1) / 2));
      const minority = order.slice(0, k);
      const majority = order.slice(k);
      mesh.partition([minority, majority]);
      return { detail: `partition {${minority.join(',')}} | {${majority.join(',')}}`, heal: async () => mesh.healAll() };
    }
    case 'isolate-leader': {
      let s = await ctx.leaderIndex();
      if (s === 0) s = r.range(1, n);
      const others = Array.from({ length: n }, (_, i) => i + 1).filter((x) => x !== s);
      mesh.partition([[s], others]);
      return { detail: `leader (store ${s}) isolated from {${others.join(',')}}`, heal: async () => mesh.healAll() };
    }
    case 'bridge': {
      // Two halves that cannot talk, and one store that talks to both (needs 3 stores).
      const order = shuffled(r, n);
      const bridge = order[0]!;
      const rest = order.slice(1);
      const half = Math.ceil(rest.length / 2);
      const a = rest.slice(0, half);
      const b = rest.slice(half);
      for (const x of a) for (const y of b) mesh.cut(x, y);
      return { detail: `bridge: {${a.join(',')}} x {${b.join(',')}} cut, store ${bridge} reaches both`, heal: async () => mesh.healAll() };
    }
    case 'delay': {
      const delayMs = r.range(20, 150);
      const jitterMs = Math.floor(delayMs / 2);
      mesh.all({ delayMs, jitterMs });
      return { detail: `every link delayed ${delayMs} ± ${jitterMs} ms`, heal: async () => mesh.healAll() };
    }
    case 'disk-full': {
      const s = r.range(1, n);
      const dir = cluster.store(s).dataDir;
      ctx.diskFull.add(s);
      const filler = fillDisk(dir);
      return {
        detail: `store ${s}'s disk filled (${(filler.bytes / 2 ** 20).toFixed(0)} MiB filler) for ${(holdMs / 1000).toFixed(1)} s`,
        heal: async () => {
          freeDisk(filler.path);
          // The supervisor's part: a store that stopped on the full disk is started again.
          if (!cluster.store(s).running) {
            ctx.log(
              `store ${s} had stopped on the full disk ` +
                `(${cluster.store(s).lastExit?.code === 3 ? 'exit 3' : JSON.stringify(cluster.store(s).lastExit)}): restarting it`,
            );
            await cluster.startStore(s);
          }
          ctx.diskFull.delete(s);
        },
      };
    }
    case 'powerloss': {
      // One store, or the whole rack at once: then only what a quorum had fsynced survives.
      const all = r.pick(['one', 'all'] as const) === 'all';
      const stores = all ? Array.from({ length: n }, (_, i) => i + 1) : [r.range(1, n)];
      const disks = stores.map((s) => {
        const fs = ctx.lazyfs.get(s);
        if (!fs) throw new Error(`powerloss: store ${s}'s data directory is not on lazyfs`);
        return fs;
      });
      await Promise.all(stores.map((s) => cluster.kill(s, 'SIGKILL')));
      // The processes are gone: every write they made has reached lazyfs (a FUSE write returns
      // only once answered), and nothing touches the mounts until the restart.
      const dropped: string[] = [];
      for (const [j, fs] of disks.entries()) {
        const d = await fs.discard();
        dropped.push(`store ${stores[j]} ${d.files} files/${d.bytes} B`);
      }
      const who = all ? `every store (${stores.join(',')})` : `store ${stores[0]}`;
      return {
        detail:
          `power loss of ${who}: SIGKILL, unsynced data dropped (${dropped.join(', ')}), restarted after ` +
          `${(holdMs / 1000).toFixed(1)} s`,
        heal: async () => {
          for (const s of stores) await cluster.startStore(s);
        },
      };
    }
    case 'loss': {
      const lossRate = r.pick([0.05, 0.1, 0.2, 0.3]);
      mesh.all({ lossRate, retransmitMs: 200 });
      return {
        detail: `every link loses ${Math.round(lossRate * 100)}% of segments (200 ms retransmission stalls)`,
        heal: async () => mesh.healAll(),
      };
    }
  }
}

export interface ScheduleOptions {
  kinds: readonly FaultKind[];
  /** A fault is held this long (ms, drawn uniformly). */
  holdMs: [number, number];
  /** Quiet time between faults (ms, drawn uniformly). */
  gapMs: [number, number];
}

/**
 * Runs faults until `until()` says stop: gap, fault, hold, heal, ... Every fault is healed before
 * this resolves. Returns what was done.
 */
export async function runFaults(ctx: FaultContext, o: ScheduleOptions, t0: number, until: () => boolean): Promise<FaultEvent[]> {
  const events: FaultEvent[] = [];
  const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  while (until()) {
    await sleep(ctx.random.range(o.gapMs[0], o.gapMs[1]));
    if (!until() || o.kinds.length === 0) break;
    const kind = ctx.random.pick(o.kinds);
    const holdMs = ctx.random.range(o.holdMs[0], o.holdMs[1]);
    const start = performance.now() - t0;
    const active = await apply(kind, ctx, holdMs);
    ctx.log(`fault at ${(start / 1000).toFixed(1)} s: ${active.detail}`);
    await sleep(holdMs);
    await active.heal();
    events.push({ kind, detail: active.detail, start, end: performance.now() - t0 });
  }
  return events;
}
