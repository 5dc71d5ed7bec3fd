// Router: region id -> peer mailbox. Senders never touch a peer directly; the raft worker drains
// mailboxes in rounds, so all raft state is mutated from one place.
import { eraftpb } from '@tskv/proto';
import type { PeerMsg } from './msg.js';
import type { Peer } from './peer.js';

export class Router {
  private readonly peers = new Map<number, Peer>();
  /** Peers with undelivered mail, in arrival order (a Set keeps each once per round). */
  private readonly withMail = new Set<Peer>();
  private wake: (() => void) | null = null;

  register(peer: Peer): void {
    this.peers.set(peer.regionId, peer);
  }

  unregister(regionId: number): void {
    this.peers.delete(regionId);
  }

  get(regionId: number): Peer | undefined {
    return this.peers.get(regionId);
  }

  all(): IterableIterator<Peer> {
    return this.peers.values();
  }

  get size(): number {
    return this.peers.size;
  }

  /** Queues mail for a region; false if the region has no peer on this store. */
  send(regionId: number, msg: PeerMsg): boolean {
    const p = this.peers.get(regionId);
    if (!p) return false;
    // Anything but the hibernate notice, unreachable reports and heartbeat responses (the answers
    // to the leader's last heartbeat arrive after it went to sleep) wakes a hibernating peer.
    if (
      msg.kind !== 'hibernate' &&
      msg.kind !== 'unreachable' &&
      !(msg.kind === 'raft' && msg.msg.message?.msgType === eraftpb.MessageType.MsgHeartbeatResponse)
    )
      p.wake();
    p.mailbox.push(msg);
    this.withMail.add(p);
    this.notify();
    return true;
  }

  /** Queues a tick for every peer (one wake-up for all). */
  broadcastTick(): void {
    for (const p of this.peers.values()) {
      if (p.hibernating) continue;
      p.mailbox.push({ kind: 'tick' });
      this.withMail.add(p);
    }
    this.notify();
  }

  /** Queues the same message for every awake peer (one wake-up for all). */
  broadcast(msg: PeerMsg): void {
    for (const p of this.peers.values()) {
      if (p.hibernating) continue;
      p.mailbox.push(msg);
      this.withMail.add(p);
    }
    this.notify();
  }

  /** Takes the set of peers that have mail. */
  takeWithMail(): Peer[] {
    const out = [...this.withMail];
    this.withMail.clear();
    return out;
  }

  hasMail(): boolean {
    return this.withMail.size > 0;
  }

  /** Resolves when mail arrives (immediately if some is waiting). */
  waitForMail(): Promise<void> {
    if (this.withMail.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  notify(): void {
    const w = this.wake;
    if (w) {
      this.wake = null;
      w();
    }
  }
}
