// Proposal throughput/latency through a 3-node group wired in one process: MemoryStorage, messages
// passed in memory, the full Ready / LightReady / advance protocol on every node.
import {
  type ConfigOptions,
  EMPTY_BYTES,
  type Entry,
  MemoryStorage,
  type Message,
  newConfState,
  RawNode,
  StateRole,
} from '../src/index.js';
import { Histogram, nowNs, PairQueue } from './stats.js';

export interface ProposalOptions {
  /** Entries per proposal: 1 uses propose(), more uses proposeBatch(). */
  batch: number;
  /** Maximum proposed-but-not-yet-applied entries on the leader (the pipeline depth). */
  window: number;
  entryBytes: number;
  warmupMs: number;
  durationMs: number;
  /** Wall-clock interval between raft ticks (heartbeats keep flowing as in a real deployment). */
  tickIntervalMs: number;
  /** Overrides of the raft Config (for exploring e.g. skipBcastCommit or maxInflightMsgs). */
  config?: Partial<ConfigOptions>;
}

export interface ProposalResult {
  batch: number;
  window: number;
  entryBytes: number;
  durationMs: number;
  committedEntries: number;
  proposalsPerSec: number;
  batchesPerSec: number;
  latencyP50Us: number;
  latencyP99Us: number;
  latencyMaxUs: number;
  latencySamples: number;
  /** Rounds of the event loop (ready on every node + one delivery pass) per second. */
  roundsPerSec: number;
  messagesPerEntry: number;
  cpuPerEntryUs: number;
  heapUsedMiB: number;
  finalIndex: number;
}

// How many applied entries each storage keeps below the lowest applied index, and how far that
// lowest index may run ahead before we compact again. Compaction keeps the run in bounded memory.
const COMPACT_MARGIN = 1024;
const COMPACT_EVERY = 8192;

interface Peer {
  id: number;
  node: RawNode;
  store: MemoryStorage;
  applied: number;
  appliedBytes: number;
}

class Group {
  readonly peers: Peer[] = [];
  private readonly byId = new Map<number, Peer>();
  /** Messages the nodes' Readies produced this round, delivered at the end of it. */
  private outbox: Message[] = [];
  private spare: Message[] = [];
  messagesDelivered = 0;
  /** Called after a node applied committed entries (p.applied is the new applied index). */
  onApply: (p: Peer) => void = () => {};

  constructor(ids: number[], config: Partial<ConfigOptions> = {}) {
    for (const id of ids) {
      const store = MemoryStorage.newWithConfState(newConfState({ voters: ids }));
      // Library defaults otherwise (maxSizePerMsg 1 MiB, maxInflightMsgs 256): we measure those.
      const node = new RawNode({ electionTick: 10, heartbeatTick: 2, ...config, id }, store);
      const p: Peer = { id, node, store, applied: 0, appliedBytes: 0 };
      this.peers.push(p);
      this.byId.set(id, p);
    }
  }

  peer(id: number): Peer {
    return this.byId.get(id)!;
  }

  private send(msgs: Message[]): void {
    for (let i = 0; i < msgs.length; i++) this.outbox.push(msgs[i]!);
  }

  private apply(p: Peer, ents: Entry[]): void {
    if (ents.length === 0) return;
    // The "state machine" just counts bytes: we measure raft, not an application.
    for (let i = 0; i < ents.length; i++) p.appliedBytes += ents[i]!.data.length;
    p.applied = ents[ents.length - 1]!.index;
    this.onApply(p);
  }

  /** One Ready, handled in the order raw_node.ts documents. */
  private handleReady(p: Peer): void {
    const { node, store } = p;
    const rd = node.ready();
    this.send(rd.messages); // 1. a leader may send before its own write
    if (rd.snapshot) store.applySnapshot(rd.snapshot); // 2. persist
    if (rd.entries.length > 0) store.append(rd.entries);
    if (rd.hardState) store.setHardState(rd.hardState);
    this.send(rd.persistedMessages); // 3. votes / acks only after persisting
    this.apply(p, rd.committedEntries); // 4. apply
    const light = node.advance(rd); // 5.
    if (light.commitIndex !== null) store.setCommit(light.commitIndex);
    this.send(light.messages);
    this.apply(p, light.committedEntries);
    node.advanceApply();
  }

  /** One round: every node drains its Ready, then everything they sent is delivered. */
  round(): number {
    for (let i = 0; i < this.peers.length; i++) {
      const p = this.peers[i]!;
      while (p.node.hasReady()) this.handleReady(p);
    }
    const msgs = this.outbox;
    if (msgs.length === 0) return 0;
    // Double-buffered so the outbox array is reused instead of reallocated every round.
    this.outbox = this.spare;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      this.byId.get(m.to)!.node.step(m);
    }
    const n = msgs.length;
    this.messagesDelivered += n;
    msgs.length = 0;
    this.spare = msgs;
    return n;
  }

  /** Runs rounds until no node has anything to do. */
  settle(maxRounds = 10_000): void {
    for (let i = 0; i < maxRounds; i++) {
      if (this.round() === 0 && !this.peers.some((p) => p.node.hasReady())) return;
    }
    throw new Error('group did not settle');
  }

  tick(): void {
    for (const p of this.peers) p.node.tick();
  }

  /** Discards log entries every node has applied, keeping a margin (so followers never need a snapshot). */
  compact(): void {
    let minApplied = Infinity;
    for (const p of this.peers) minApplied = Math.min(minApplied, p.applied);
    const to = minApplied - COMPACT_MARGIN;
    for (const p of this.peers) if (to >= p.store.firstIndex()) p.store.compact(to);
  }
}

export function runProposals(o: ProposalOptions): ProposalResult {
  const g = new Group([1, 2, 3], o.config);
  const leader = g.peer(1);
  leader.node.campaign();
  g.settle();
  if (leader.node.raft.state !== StateRole.Leader) throw new Error('node 1 did not become leader');

  // In-flight batches on the leader: (last log index of the batch, propose time in ns).
  const inflight = new PairQueue(Math.ceil(o.window / o.batch) + 1);
  let inflightEntries = 0;
  let measuring = false;
  let committed = 0;
  const lat = new Histogram();
  g.onApply = (p) => {
    if (p !== leader) return;
    const t = nowNs();
    while (inflight.length > 0 && inflight.firstA() <= p.applied) {
      if (measuring) {
        lat.record(t - inflight.firstB());
        committed += o.batch;
      }
      inflight.shift();
      inflightEntries -= o.batch;
    }
  };

  // Payloads come from a pool built up front: in Node 20 `new Uint8Array(100)` costs more than a
  // whole raft proposal (about 25% of CPU in a profile, plus the GC it caused), and we measure
  // raft, not the allocator. Entries are immutable values, so sharing payloads is safe.
  const pool: Uint8Array[] = [];
  for (let i = 0; i < 4096; i++) {
    const data = new Uint8Array(o.entryBytes);
    for (let j = 0; j < data.length; j++) data[j] = (i + j) & 0xff;
    pool.push(data);
  }
  const batchBuf: { data: Uint8Array }[] = [];
  let seq = 0;
  const proposeOne = (): void => {
    if (o.batch === 1) {
      leader.node.propose(EMPTY_BYTES, pool[seq++ & 4095]!);
    } else {
      batchBuf.length = 0;
      for (let i = 0; i < o.batch; i++) batchBuf.push({ data: pool[seq++ & 4095]! });
      leader.node.proposeBatch(batchBuf);
    }
    // The leader appends synchronously, so its last index is this batch's last entry.
    inflight.push(leader.node.raft.raftLog.lastIndex(), nowNs());
    inflightEntries += o.batch;
  };

  let nextTick = nowNs() + o.tickIntervalMs * 1e6;
  let lastCompactAt = 0;
  const loop = (untilNs: number): number => {
    let rounds = 0;
    for (;;) {
      while (inflightEntries + o.batch <= o.window) proposeOne();
      g.round();
      rounds++;
      if (leader.applied - lastCompactAt >= COMPACT_EVERY) {
        g.compact();
        lastCompactAt = leader.applied;
      }
      // Reading the clock every round costs ~50 ns against rounds of many microseconds.
      const t = nowNs();
      if (t >= nextTick) {
        g.tick();
        nextTick = t + o.tickIntervalMs * 1e6;
      }
      if (t >= untilNs) return rounds;
    }
  };

  loop(nowNs() + o.warmupMs * 1e6);
  const msgs0 = g.messagesDelivered;
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  measuring = true;
  const rounds = loop(t0 + o.durationMs * 1e6);
  const elapsedNs = nowNs() - t0;
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const msgs = g.messagesDelivered - msgs0;
  const heapUsedMiB = process.memoryUsage().heapUsed / (1 << 20);

  // Let the tail finish, then check all three state machines saw the same log. With
  // skipBcastCommit the followers learn the last commit index only from a heartbeat: tick.
  g.settle();
  for (let i = 0; i < 10 && g.peers.some((p) => p.applied !== leader.applied); i++) {
    g.tick();
    g.settle();
  }
  const finalIndex = leader.applied;
  for (const p of g.peers) {
    if (p.applied !== finalIndex || p.appliedBytes !== leader.appliedBytes) {
      throw new Error(`node ${p.id} applied ${p.applied} (${p.appliedBytes} B), leader ${finalIndex} (${leader.appliedBytes} B)`);
    }
  }
  if (leader.appliedBytes !== seq * o.entryBytes) throw new Error(`applied ${leader.appliedBytes} B, proposed ${seq * o.entryBytes} B`);

  const secs = elapsedNs / 1e9;
  return {
    batch: o.batch,
    window: o.window,
    entryBytes: o.entryBytes,
    durationMs: elapsedNs / 1e6,
    committedEntries: committed,
    proposalsPerSec: committed / secs,
    batchesPerSec: committed / o.batch / secs,
    latencyP50Us: lat.percentile(50) / 1e3,
    latencyP99Us: lat.percentile(99) / 1e3,
    latencyMaxUs: lat.max / 1e3,
    latencySamples: lat.count,
    roundsPerSec: rounds / secs,
    messagesPerEntry: msgs / Math.max(1, committed),
    cpuPerEntryUs: (cpu.user + cpu.system) / Math.max(1, committed),
    heapUsedMiB,
    finalIndex,
  };
}
