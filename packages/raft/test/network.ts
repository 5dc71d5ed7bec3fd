// Test harness in the etcd/raft-rs style: Raft state machines stepped directly, with persistence
// emulated synchronously after every step, and a Network that routes messages with drops,
// cuts, isolation and message-type filters.
import { mulberry32 } from '@tskv/util';
import { Config, type ConfigOptions } from '../src/config.js';
import { ProposalDroppedError } from '../src/errors.js';
import { Raft } from '../src/raft.js';
import { MemoryStorage } from '../src/storage.js';
import { type Entry, type Message, MessageType, newConfState, newEntry, newMessage } from '../src/types.js';

export function newStorage(voters: number[], learners: number[] = []): MemoryStorage {
  return MemoryStorage.newWithConfState(newConfState({ voters, learners }));
}

export function newConfig(id: number, election = 10, heartbeat = 1, extra: Partial<ConfigOptions> = {}): Config {
  return new Config({
    id,
    electionTick: election,
    heartbeatTick: heartbeat,
    maxSizePerMsg: Infinity,
    maxInflightMsgs: 256,
    random: mulberry32(id * 7919),
    ...extra,
  });
}

/** A Raft over a MemoryStorage whose configuration is `voters` (+ `learners`). */
export function newTestRaft(
  id: number,
  voters: number[],
  election = 10,
  heartbeat = 1,
  extra: Partial<ConfigOptions> & { learners?: number[]; storage?: MemoryStorage } = {},
): Raft {
  const { learners, storage, ...opts } = extra;
  return new Raft(newConfig(id, election, heartbeat, opts), storage ?? newStorage(voters, learners ?? []));
}

export function storageOf(r: Raft): MemoryStorage {
  return r.raftLog.store as MemoryStorage;
}

/** Emulates the application persisting a Ready: snapshot, entries, hard state, then telling raft. */
export function persist(r: Raft): void {
  const s = storageOf(r);
  const snap = r.raftLog.unstableSnapshot();
  if (snap) {
    s.applySnapshot(snap);
    r.raftLog.stableSnap(snap.metadata.index);
    r.onPersistSnap(snap.metadata.index);
  }
  const ents = r.raftLog.unstableEntries();
  if (ents.length > 0) {
    s.append(ents);
    const last = ents[ents.length - 1]!;
    r.raftLog.stableEntries(last.index, last.term);
    r.onPersistEntries(last.index, last.term);
  }
  s.setHardState(r.hardState());
}

/** Persists, then returns (and marks applied) the committed entries not yet applied. */
export function nextEnts(r: Raft): Entry[] {
  persist(r);
  const ents = r.raftLog.nextEntries() ?? [];
  if (ents.length > 0) r.commitApply(ents[ents.length - 1]!.index);
  return ents;
}

/** Persists, then takes the outgoing messages (as the application would after a Ready). */
export function readMessages(r: Raft): Message[] {
  persist(r);
  const msgs = r.msgs;
  r.msgs = [];
  return msgs;
}

export function msg(fields: Partial<Message>): Message {
  return newMessage(fields);
}

export function ent(index: number, term: number, data?: string): Entry {
  return newEntry({ index, term, data: data === undefined ? undefined : new TextEncoder().encode(data) });
}

/** Proposal message carrying one entry with `data`. */
export function propose(from: number, to: number, data = 'somedata'): Message {
  return newMessage({ msgType: MessageType.MsgPropose, from, to, entries: [newEntry({ data: new TextEncoder().encode(data) })] });
}

export function hup(id: number): Message {
  return newMessage({ msgType: MessageType.MsgHup, from: id, to: id });
}

export function beat(id: number): Message {
  return newMessage({ msgType: MessageType.MsgBeat, from: id, to: id });
}

/** A peer that swallows every message. */
export const BLACK_HOLE = null;

export type PeerSlot = Raft | null | undefined;

export class Network {
  readonly peers = new Map<number, Raft | null>();
  private dropm = new Map<string, number>();
  private ignorem = new Set<MessageType>();
  /** Return false to drop a message (after the built-in filters). */
  msgHook: ((m: Message) => boolean) | null = null;
  private readonly random: () => number;
  /** Every message delivered, for assertions about traffic. */
  delivered: Message[] = [];

  /**
   * `undefined` slots get a fresh Raft with the default config; `null` slots are black holes.
   * Ids are 1..n in slot order.
   */
  constructor(slots: PeerSlot[], extra: Partial<ConfigOptions> = {}, seed = 1) {
    this.random = mulberry32(seed);
    const ids = slots.map((_, i) => i + 1);
    slots.forEach((p, i) => {
      const id = i + 1;
      if (p === undefined) this.peers.set(id, newTestRaft(id, ids, 10, 1, extra));
      else this.peers.set(id, p);
    });
  }

  raft(id: number): Raft {
    const r = this.peers.get(id);
    if (!r) throw new Error(`peer ${id} is not a raft`);
    return r;
  }

  /** Delivers messages and everything they cause until the network is quiet. */
  send(...msgs: Message[]): void {
    const queue = [...msgs];
    let steps = 0;
    while (queue.length > 0) {
      if (++steps > 1_000_000) throw new Error('network did not quiesce');
      const m = queue.shift()!;
      const p = this.peers.get(m.to);
      if (!p) continue;
      this.delivered.push(m);
      try {
        p.step(m);
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e;
      }
      queue.push(...this.filter(readMessages(p)));
    }
  }

  drop(from: number, to: number, perc: number): void {
    this.dropm.set(`${from}-${to}`, perc);
  }

  cut(a: number, b: number): void {
    this.drop(a, b, 1);
    this.drop(b, a, 1);
  }

  isolate(id: number): void {
    for (const other of this.peers.keys()) {
      if (other !== id) this.cut(id, other);
    }
  }

  ignore(t: MessageType): void {
    this.ignorem.add(t);
  }

  recover(): void {
    this.dropm.clear();
    this.ignorem.clear();
  }

  filter(msgs: Message[]): Message[] {
    const out: Message[] = [];
    for (const m of msgs) {
      if (this.ignorem.has(m.msgType)) continue;
      if (m.msgType === MessageType.MsgHup) throw new Error('hups never go over the network');
      const perc = this.dropm.get(`${m.from}-${m.to}`) ?? 0;
      if (perc > 0 && this.random() < perc) continue;
      if (this.msgHook && !this.msgHook(m)) continue;
      out.push(m);
    }
    return out;
  }
}
