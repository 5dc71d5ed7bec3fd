// The fixed cost of idle Raft groups: one tick() + hasReady() per peer per round, across many
// peers hosted in one process (the multi-raft case: a store holds thousands of mostly idle regions).
import { MemoryStorage, type Message, MessageType, newConfState, newMessage, RawNode, StateRole } from '../src/index.js';
import { nowNs } from './stats.js';

export type TickScenario = 'followers' | 'leaders-1voter' | 'leaders-3voter';

export interface TickOptions {
  scenario: TickScenario;
  peers: number;
  warmupMs: number;
  durationMs: number;
}

export interface TickResult {
  scenario: TickScenario;
  peers: number;
  rounds: number;
  wallUsPerRound: number;
  cpuUsPerRound: number;
  wallNsPerPeerTick: number;
  cpuNsPerPeerTick: number;
  /** Readies that had to be handled during the measurement (0 for a truly idle peer). */
  readiesPerRound: number;
}

interface IdlePeer {
  node: RawNode;
  store: MemoryStorage;
}

/** Persists and acknowledges one Ready, dropping outgoing messages (there is nobody to deliver to). */
function drainReady(p: IdlePeer): number {
  let n = 0;
  while (p.node.hasReady()) {
    const rd = p.node.ready();
    if (rd.snapshot) p.store.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) p.store.append(rd.entries);
    if (rd.hardState) p.store.setHardState(rd.hardState);
    const light = p.node.advance(rd);
    if (light.commitIndex !== null) p.store.setCommit(light.commitIndex);
    p.node.advanceApply();
    n++;
  }
  return n;
}

function makePeer(scenario: TickScenario): IdlePeer {
  const voters = scenario === 'leaders-1voter' ? [1] : [1, 2, 3];
  const store = MemoryStorage.newWithConfState(newConfState({ voters }));
  // Followers: an election timeout far beyond the number of measured rounds, so no follower
  // campaigns mid-measurement (a real idle follower would be kept quiet by heartbeats instead).
  // Leaders: the usual 10/2 ticks, so heartbeats fire every other round.
  const electionTick = scenario === 'followers' ? 100_000_000 : 10;
  const node = new RawNode({ id: 1, electionTick, heartbeatTick: 2 }, store);
  const p: IdlePeer = { node, store };
  const vote = (from: number, term: number): Message => newMessage({ msgType: MessageType.MsgRequestVoteResponse, from, to: 1, term });
  if (scenario === 'followers') {
    // Hear from a leader (node 2, term 1) so this is a follower of a live group, then go idle.
    node.step(newMessage({ msgType: MessageType.MsgHeartbeat, from: 2, to: 1, term: 1, commit: 0 }));
    drainReady(p);
    if (node.raft.state !== StateRole.Follower || node.raft.leaderId !== 2) throw new Error('follower setup failed');
  } else {
    node.campaign();
    drainReady(p);
    // A 3-voter group needs one more vote; the other two voters do not exist, so their
    // heartbeats are generated (and handed out through Ready) but never answered.
    if (scenario === 'leaders-3voter') node.step(vote(2, node.raft.term));
    drainReady(p);
    if (node.raft.state !== StateRole.Leader) throw new Error('leader setup failed');
  }
  return p;
}

export function runTicks(o: TickOptions): TickResult {
  const peers: IdlePeer[] = [];
  for (let i = 0; i < o.peers; i++) peers.push(makePeer(o.scenario));

  let readies = 0;
  const round = (): void => {
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i]!;
      p.node.tick();
      if (p.node.hasReady()) readies += drainReady(p);
    }
  };

  const warmEnd = nowNs() + o.warmupMs * 1e6;
  while (nowNs() < warmEnd) round();

  readies = 0;
  let rounds = 0;
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  const end = t0 + o.durationMs * 1e6;
  // At least a few rounds even with a tiny --duration-ms, so the figures mean something.
  while (rounds < 5 || nowNs() < end) {
    round();
    rounds++;
  }
  const wallNs = nowNs() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuNs = (cpu.user + cpu.system) * 1e3;

  for (const p of peers) {
    const want = o.scenario === 'followers' ? StateRole.Follower : StateRole.Leader;
    if (p.node.raft.state !== want) throw new Error(`a peer left the ${StateRole[want]} state during the run`);
  }
  return {
    scenario: o.scenario,
    peers: o.peers,
    rounds,
    wallUsPerRound: wallNs / rounds / 1e3,
    cpuUsPerRound: cpuNs / rounds / 1e3,
    wallNsPerPeerTick: wallNs / rounds / o.peers,
    cpuNsPerPeerTick: cpuNs / rounds / o.peers,
    readiesPerRound: readies / rounds,
  };
}
