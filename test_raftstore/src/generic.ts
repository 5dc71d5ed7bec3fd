// The generic test of TinyKV's project 2B (kv/test_raftstore/test_test.go), with its switches
// (nclients, unreliable, crash, partitions) and meaning:
//   - 5 stores, election timeout ≈ 500 ms (ticks of 50 ms × 10);
//   - rounds of client work; every client loops: 50% an append, 50% a read (a get of one of its
//     acknowledged values, or a scan of everything it has appended);
//   - unreliable: ~10% of raft messages are dropped (all the time);
//   - partitions: every 500 ms + 0–200 ms a new random two-way split of the stores (each store
//     flips a coin), healed at the end of the round, then one election timeout to settle;
//   - crash: at the end of each round every store is stopped, and after an election timeout all
//     are started again from disk;
//   - maxRaftLog (TinyKV 2C): the raft-log GC count limit is that small; at the end of every round
//     every store must have applied - truncated <= 2 x limit (compaction really ran). To make sure
//     snapshots really happen, every round also cuts one follower off until the leader has
//     compacted past what that follower applied, so it can only catch up by snapshot; the test
//     fails if no snapshot was ever applied;
//   - confchange (TinyKV 3B): all the time, a random store is picked every 0-200 ms: its peer of
//     region 1 is removed if it has one (while more than 2 remain), or a new peer is added there,
//     through the scheduler's operators;
//   - split (TinyKV 3B): regions over 300 B split (split size 200 B, checked every 100 ms); at the
//     end the region holding the empty key must no longer cover the whole key space;
//   - at the end of every round each client's values are all there, exactly once, in order;
//   - registers (on unless GenericOptions.registers is false): besides its appends, each client
//     overwrites and reads a few shared keys; the history is checked for linearizability at the
//     end of every round (register_workload.ts);
//   - crash and read modes: unless given (option or env), drawn from the seed and printed.
//
// Appends. TinyKV's clients append "x <client> <n> y" by writing key "<client> <n>" (zero-padded
// n). Here too every append writes a NEW key: `<client> <n:08>` = `x <client> <n> y`, and n keeps
// growing across rounds (so each round also checks everything written in earlier rounds, through
// the crashes). A request that timed out has an unknown outcome and is retried; because the retry
// writes the same key with the same value it is idempotent, and a double apply can't double-count.
// Each client appends sequentially (the next append starts only after the previous one was
// acknowledged), so the scan of its prefix must be exactly n = 0 .. acked-1 with the right values:
// a missing acknowledged value, a value that was never attempted, or a wrong value is a failure.
import { setTimeout as sleep } from 'node:timers/promises';
import { eraftpb } from '@tskv/proto';
import { envSeed, findPeer, Prng } from '@tskv/util';
import { bytesToString, Cluster, type ClusterOptions } from './cluster.js';
import { PartitionFilter } from './mock_transport.js';
import { RegisterHistory } from './register_workload.js';

export interface GenericOptions {
  name: string;
  nclients: number;
  unreliable: boolean;
  crash: boolean;
  partitions: boolean;
  /** Rounds of client work (TinyKV: 3). Env GENERIC_ROUNDS overrides. */
  rounds?: number;
  /** Client work per round in ms (TinyKV: 5000). Env GENERIC_ROUND_MS overrides. */
  roundMs?: number;
  stores?: number;
  seed?: number;
  /**
   * How `crash` stops the stores: 'stop' (TinyKV: after the clients finished, StopServer on
   * every store; Store.stop lets the current round finish) or 'kill' (Cluster.crashStore on every
   * store while the clients' last requests are still in flight: writes fail from that moment on,
   * so a store can die between its raft-log write and its kv write) or 'powerloss' (a kill that
   * also loses every write each database had not synced: ClusterOptions.powerLoss). Env
   * GENERIC_CRASH overrides. Default 'stop'.
   */
  crashMode?: CrashMode;
  /** Store config overrides (see TEST_STORE_CONFIG). */
  config?: ClusterOptions['config'];
  /** Probability of a put (vs a read) per client operation (TinyKV: 0.5). */
  putRatio?: number;
  /** TinyKV's maxraftlog: the raft-log GC count limit (snapshot scenarios); off by default. */
  maxRaftLog?: number;
  /** TinyKV's confchange: a background loop adds or removes a random peer of region 1. */
  confchange?: boolean;
  /** TinyKV's split: tiny region size limits (max 300 B, split 200 B); the first region must split. */
  split?: boolean;
  /** Shared registers overwritten and read by every client, checked for linearizability (default true). */
  registers?: boolean;
  /** 'readIndex' or 'lease'. Env TEST_READ_MODE overrides. Default: drawn from the seed. */
  readMode?: ReadMode;
}

export type ReadMode = 'readIndex' | 'lease';
const READ_MODES: readonly ReadMode[] = ['readIndex', 'lease'];

export type CrashMode = 'stop' | 'kill' | 'powerloss';
export const CRASH_MODES: readonly CrashMode[] = ['stop', 'kill', 'powerloss'];

export interface RoundReport {
  round: number;
  appends: number[];
  reads: number;
  partitionsApplied: number;
  /** The slowest client operation of the round (retries included). */
  maxOpMs: number;
  /** maxRaftLog: the store cut off until it needed a snapshot (0: none this round). */
  laggedStore: number;
  /** confchange: membership changes done, and changes not done within their wait. */
  changes: number;
  changesTimedOut: number;
  ms: number;
}

export interface GenericReport {
  seed: number;
  crashMode: CrashMode;
  readMode: ReadMode;
  /** The register history: operations by kind. */
  registers: { puts: number; gets: number; unknown: number };
  rounds: RoundReport[];
  totalAppends: number;
  ms: number;
  snapshots: import('./cluster.js').SnapActivity;
}

/** Election timeout of the test store config (50 ms × 10). */
export const ELECTION_TIMEOUT_MS = 500;

export function appendKey(client: number, n: number): string {
  return `${client} ${String(n).padStart(8, '0')}`;
}

export function appendValue(client: number, n: number): string {
  return `x ${client} ${n} y`;
}

/** The key range [start, end) holding exactly one client's keys. */
export function clientRange(client: number): [string, string] {
  return [`${client} `, `${client}!`];
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

/**
 * Checks that the scan of a client's range is exactly its appends 0 .. acked-1, in order, each
 * once, with the right values. Returns a description of the first problem, or null.
 */
export function checkAppends(client: number, kvs: [Uint8Array, Uint8Array][], acked: number): string | null {
  for (let i = 0; i < kvs.length; i++) {
    const [k, v] = kvs[i]!;
    const ks = bytesToString(k);
    const vs = bytesToString(v);
    if (i >= acked) {
      return (
        `client ${client}: value ${JSON.stringify(vs)} at key ${JSON.stringify(ks)} was never acknowledged (${acked} ` +
        `acknowledged, ${kvs.length} present)`
      );
    }
    if (ks !== appendKey(client, i)) {
      return (
        `client ${client}: position ${i} holds key ${JSON.stringify(ks)}, want ${JSON.stringify(appendKey(client, i))} ` +
        `(acknowledged value ${i} missing or out of order)`
      );
    }
    if (vs !== appendValue(client, i)) {
      return `client ${client}: key ${JSON.stringify(ks)} = ${JSON.stringify(vs)}, want ${JSON.stringify(appendValue(client, i))}`;
    }
  }
  if (kvs.length < acked) {
    return (
      `client ${client}: only ${kvs.length} of ${acked} acknowledged values present (first missing: ` +
      `${JSON.stringify(appendValue(client, kvs.length))})`
    );
  }
  return null;
}

class AppendClient {
  /** Appends 0 .. acked-1 were acknowledged. */
  acked = 0;
  appendsThisRound = 0;
  reads = 0;
  error: Error | null = null;
  /** The slowest operation of the round (retries included), in ms. */
  maxOpMs = 0;

  private round = 0;

  constructor(
    readonly id: number,
    private readonly cluster: Cluster,
    private readonly rng: Prng,
    private readonly putRatio: number,
    private readonly registers: RegisterHistory | null,
  ) {}

  async run(round: number, done: () => boolean): Promise<void> {
    this.round = round;
    this.appendsThisRound = 0;
    this.maxOpMs = 0;
    try {
      while (!done()) {
        const t0 = Date.now();
        await this.op();
        this.maxOpMs = Math.max(this.maxOpMs, Date.now() - t0);
      }
    } catch (e) {
      this.error = e instanceof Error ? e : new Error(String(e));
    }
  }

  private async op(): Promise<void> {
    if (this.registers && this.rng.chance(0.3)) {
      await this.registers.op(this.id, this.round, this.rng);
      this.reads++;
    } else if (this.acked === 0 || this.rng.chance(this.putRatio)) {
      const n = this.acked;
      await this.cluster.mustPut(appendKey(this.id, n), appendValue(this.id, n));
      this.acked = n + 1;
      this.appendsThisRound++;
    } else if (this.rng.chance(0.8)) {
      // A linearizable get of an acknowledged value: half the time the latest one (what a stale
      // read would miss), otherwise any.
      const n = this.rng.chance(0.5) ? this.acked - 1 : this.rng.int(this.acked);
      const v = await this.cluster.get(appendKey(this.id, n));
      if (v === undefined || bytesToString(v) !== appendValue(this.id, n)) {
        throw new Error(
          `client ${this.id}: get ${JSON.stringify(appendKey(this.id, n))} = ${v ? JSON.stringify(bytesToString(v)) : '<none>'}, ` +
            `want ${JSON.stringify(appendValue(this.id, n))} (acknowledged)`,
        );
      }
      this.reads++;
    } else {
      // A scan of everything this client appended: no write of its own is in flight.
      await this.check();
      this.reads++;
    }
  }

  async check(): Promise<void> {
    const [start, end] = clientRange(this.id);
    const kvs = await this.cluster.scan(start, end);
    const problem = checkAppends(this.id, kvs, this.acked);
    if (problem) throw new Error(problem);
  }
}

async function partitioner(cluster: Cluster, rng: Prng, done: () => boolean, stats: { applied: number }): Promise<void> {
  let current: PartitionFilter | null = null;
  const ids = cluster.storeIds();
  await sleep(300); // some operations without interruption first (as TinyKV does)
  while (!done()) {
    const groups: number[][] = [[], []];
    for (const id of ids) groups[rng.int(2)]!.push(id);
    const next = new PartitionFilter(groups);
    if (current) cluster.transport.removeFilter(current);
    current = cluster.transport.addFilter(next);
    stats.applied++;
    cluster.log(next.name);
    const wait = ELECTION_TIMEOUT_MS + rng.int(201);
    const until = Date.now() + wait;
    while (!done() && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
  }
  if (current) cluster.transport.removeFilter(current);
}

/**
 * Cuts one follower of region 1 off until the leader's log is compacted past its last entry (it
 * then needs a snapshot), or until done. Returns the store cut off, or 0.
 */
async function lagger(cluster: Cluster, rng: Prng, done: () => boolean): Promise<number> {
  await sleep(300);
  const leader = await cluster.waitForLeader(1, 3000).catch(() => undefined);
  const followers = cluster.storeIds().filter((id) => id !== leader?.storeId && cluster.store(id)?.peer(1));
  if (!leader || followers.length === 0 || done()) return 0;
  const victim = followers[rng.int(followers.length)]!;
  const filter = cluster.transport.isolate(victim);
  cluster.log(`lagger: store ${victim} cut off at log index ${cluster.store(victim)?.peer(1)?.raw.lastIndex() ?? 0}`);
  try {
    // Past the victim's last log entry, not just its applied index: entries it holds but has not
    // applied would be sent as appends, and it would catch up without a snapshot. Its log is read
    // each time because messages already on their way when it was cut off still land.
    while (!done()) {
      const l = cluster.leaderOf();
      const truncated = l ? (cluster.store(l.storeId!)?.peer(1)?.storage.applyState.truncatedIndex ?? 0) : 0;
      const has = cluster.store(victim)?.peer(1)?.raw.lastIndex() ?? 0;
      if (truncated > has) break;
      await sleep(20);
    }
  } finally {
    cluster.transport.removeFilter(filter);
  }
  return victim;
}

/** The confchange switch: adds or removes a random store's peer of region 1, again and again. */
async function confChanger(cluster: Cluster, rng: Prng, done: () => boolean, stats: { changes: number; failed: number }): Promise<void> {
  const ids = cluster.storeIds();
  while (!done()) {
    const region = cluster.scheduler.region(1);
    const store = ids[rng.int(ids.length)]!;
    const p = region && findPeer(region, store);
    try {
      if (p) {
        if ((region?.peers?.length ?? 0) > 2) {
          await cluster.mustRunOperator(
            1,
            { changePeer: { changeType: eraftpb.ConfChangeType.RemoveNode, peer: p } },
            `confchange: remove ${p.id}@${store}`,
            10_000,
          );
          stats.changes++;
        }
      } else {
        const peer = { id: cluster.scheduler.allocId(), storeId: store };
        await cluster.mustRunOperator(
          1,
          { changePeer: { changeType: eraftpb.ConfChangeType.AddNode, peer } },
          `confchange: add ${peer.id}@${store}`,
          10_000,
        );
        stats.changes++;
      }
    } catch (e) {
      // Partitions and crashes can hold a change up past the wait: the next pick goes on. Any
      // other error is a failure of the round.
      if (!(e instanceof Error) || !/not done within/.test(e.message)) throw e;
      stats.failed++;
      cluster.log(String(e));
    }
    await sleep(rng.int(201));
  }
}

/** maxRaftLog: every running store's log of region 1 is within 2 x limit (waits for the last GC). */
async function checkLogTrimmed(cluster: Cluster, limit: number): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const bad: string[] = [];
    for (const id of cluster.storeIds()) {
      const st = cluster.store(id)?.peer(1)?.storage.applyState;
      if (st && st.appliedIndex - st.truncatedIndex > 2 * limit)
        bad.push(`store ${id}: applied ${st.appliedIndex}, truncated ${st.truncatedIndex}`);
    }
    if (bad.length === 0) return;
    if (Date.now() > deadline) throw new Error(`raft log not compacted (limit ${limit}): ${bad.join('; ')}`);
    await sleep(50);
  }
}

export async function runGeneric(o: GenericOptions): Promise<GenericReport> {
  const rounds = envInt('GENERIC_ROUNDS') ?? o.rounds ?? 3;
  const roundMs = envInt('GENERIC_ROUND_MS') ?? o.roundMs ?? 5000;
  const envCrash = process.env.GENERIC_CRASH;
  if (envCrash && !CRASH_MODES.includes(envCrash as CrashMode))
    throw new Error(`GENERIC_CRASH must be one of ${CRASH_MODES.join(', ')}, got '${envCrash}'`);
  const envRead = process.env.TEST_READ_MODE;
  if (envRead && !READ_MODES.includes(envRead as ReadMode))
    throw new Error(`TEST_READ_MODE must be one of ${READ_MODES.join(', ')}, got '${envRead}'`);
  // The modes not given are drawn from the seed (a stream of their own: the cluster's choices
  // are the same whatever is drawn here).
  const seed = o.seed ?? envSeed('TEST_SEED');
  const draw = new Prng(seed ^ 0x5eed);
  const drawnCrash = CRASH_MODES[draw.int(CRASH_MODES.length)]!;
  const drawnRead = READ_MODES[draw.int(READ_MODES.length)]!;
  const crashMode = (envCrash as CrashMode | undefined) || o.crashMode || drawnCrash;
  const readMode = (envRead as ReadMode | undefined) || o.readMode || drawnRead;
  const from = (env: string | undefined, opt: string | undefined): string => (env ? 'env' : opt ? 'option' : 'drawn from the seed');
  console.log(
    `[${o.name}] seed ${seed}: ${o.crash ? `crash mode ${crashMode} (${from(envCrash, o.crashMode)}), ` : ''}read mode ` +
      `${readMode} (${from(envRead, o.readMode)})`,
  );
  const t0 = Date.now();
  const config = {
    readMode,
    ...(o.maxRaftLog ? { raftLogGcCountLimit: o.maxRaftLog } : {}),
    ...(o.split ? { regionMaxSize: 300, regionSplitSize: 200, splitCheckTickMs: 100 } : {}),
    ...o.config,
  };
  const cluster = new Cluster({ stores: o.stores ?? 5, name: o.name, seed, config, powerLoss: o.crash && crashMode === 'powerloss' });
  const rng = cluster.rng.fork();
  const reports: RoundReport[] = [];
  const registers = o.registers === false ? null : new RegisterHistory(cluster);
  try {
    await cluster.start();
    if (o.unreliable) cluster.transport.dropRandomly(0.1);
    const clients: AppendClient[] = [];
    for (let c = 0; c < o.nclients; c++) clients.push(new AppendClient(c, cluster, rng.fork(), o.putRatio ?? 0.5, registers));

    for (let round = 0; round < rounds; round++) {
      const r0 = Date.now();
      let clientsDone = false;
      let partitionerDone = false;
      const pstats = { applied: 0 };
      const running = clients.map((c) => c.run(round, () => clientsDone));
      const part = o.partitions ? partitioner(cluster, rng.fork(), () => partitionerDone, pstats) : Promise.resolve();
      const lag = o.maxRaftLog ? lagger(cluster, rng.fork(), () => clientsDone) : Promise.resolve(0);
      const cstats = { changes: 0, failed: 0 };
      let changerError: unknown = null;
      const changer = o.confchange
        ? confChanger(cluster, rng.fork(), () => clientsDone, cstats).catch((e: unknown) => {
            changerError = e;
          })
        : Promise.resolve();

      await sleep(roundMs);
      clientsDone = true;
      partitionerDone = true;
      if (o.crash && crashMode !== 'stop') {
        // Killed while the clients' last requests are in flight: they retry until the restart.
        cluster.log(`crash: ${crashMode} on all stores mid-write`);
        await cluster.crashAll();
        await sleep(ELECTION_TIMEOUT_MS);
        cluster.log('restart all stores');
        await cluster.startAll();
      }
      await part;
      const laggedStore = await lag;
      await changer;
      if (changerError)
        throw new Error(
          `round ${round}: membership change failed: ${changerError instanceof Error ? changerError.message : String(changerError)}`,
        );
      if (o.confchange && cstats.changes === 0)
        throw new Error(`round ${round}: no membership change was done (${cstats.failed} not done in time)`);
      // Healed: requests stuck in a minority are answered once a new term starts there.
      if (o.partitions) await sleep(ELECTION_TIMEOUT_MS);
      await Promise.all(running);
      const failed = clients.filter((c) => c.error);
      if (failed.length > 0) {
        throw new Error(`round ${round}: ${failed.map((c) => c.error!.message).join('; ')}`);
      }
      cluster.assertHealthy();

      if (o.crash && crashMode === 'stop') {
        cluster.log('crash: stop all stores');
        await cluster.stopAll();
        await sleep(ELECTION_TIMEOUT_MS);
        cluster.log('restart all stores');
        await cluster.startAll();
      }

      for (const c of clients) await c.check();
      if (registers) {
        await registers.readAll(round + 1);
        registers.check();
      }
      if (o.maxRaftLog) await checkLogTrimmed(cluster, o.maxRaftLog);
      cluster.assertHealthy();
      const rep: RoundReport = {
        round,
        appends: clients.map((c) => c.appendsThisRound),
        reads: clients.reduce((a, c) => a + c.reads, 0),
        partitionsApplied: pstats.applied,
        maxOpMs: Math.max(...clients.map((c) => c.maxOpMs)),
        laggedStore,
        changes: cstats.changes,
        changesTimedOut: cstats.failed,
        ms: Date.now() - r0,
      };
      reports.push(rep);
      console.log(
        `[${o.name}] round ${round}: appends per client [${rep.appends.join(' ')}], ` +
          `${rep.partitionsApplied} partitions, slowest op ${rep.maxOpMs} ms, round ${rep.ms} ms; transport: ` +
          `${JSON.stringify(cluster.transport.stats)}` +
          (cluster.crashStats.kills > 0 || cluster.crashStats.powerLosses > 0 ? `; crashes ${JSON.stringify(cluster.crashStats)}` : '') +
          (registers ? `; registers ${registers.puts} puts, ${registers.gets} gets, ${registers.unknown} unknown, linearizable` : '') +
          (o.maxRaftLog ? `; lagged store ${laggedStore}, snapshots ${JSON.stringify(cluster.snapStats())}` : '') +
          (o.confchange
            ? `; membership changes ${cstats.changes} (${cstats.failed} not done in time), peers now ` +
              `${(cluster.scheduler.region(1)?.peers ?? []).map((p) => `${p.id}@${p.storeId}`).join(' ')}`
            : ''),
      );
    }
    if (o.split) {
      const first = cluster.scheduler.regionByKey(new Uint8Array(0))?.region;
      if (!first || (first.endKey ?? new Uint8Array(0)).length === 0)
        throw new Error(`the first region never split: ${JSON.stringify(first)}`);
      console.log(
        `[${o.name}] regions at the end: ${cluster.scheduler.allRegions().length}, splits asked ${cluster.scheduler.splitsAsked}`,
      );
    }
    const snapshots = cluster.snapStats();
    if (o.maxRaftLog && snapshots.applied === 0)
      throw new Error(`no snapshot was applied in ${rounds} rounds: ${JSON.stringify(snapshots)}`);
    return {
      seed: cluster.seed,
      crashMode,
      readMode,
      registers: { puts: registers?.puts ?? 0, gets: registers?.gets ?? 0, unknown: registers?.unknown ?? 0 },
      rounds: reports,
      totalAppends: clients.reduce((a, c) => a + c.acked, 0),
      ms: Date.now() - t0,
      snapshots,
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`[${o.name}] seed ${cluster.seed} (replay with TEST_SEED=${cluster.seed}): ${msg}`, { cause: e });
  } finally {
    await cluster.shutdown();
  }
}
