// FaultProxy: a TCP proxy between one store and another, whose link the harness can cut, slow
// down or make lossy while the stores keep running.
//
// Why a proxy and not network namespaces: this kernel has no `tc netem` (no delay or loss) and
// the machine no iptables, so delay and loss need userspace anyway; a proxy per ordered pair of
// stores (store A dials B's proxy, see the server's peerAddressOverrides) covers partitions of any
// shape as well, without root.
//
// A TCP stream never loses or reorders bytes, and the proxy keeps that invariant:
// - delay: every chunk is held `delayMs` (± jitter) and chunks leave in order;
// - loss: what a lost segment does to a TCP stream is a retransmission stall, so a "lost" chunk
//   is held an extra `retransmitMs` (and everything behind it waits, in order);
// - partition: bytes in either direction are silently discarded (the sender sees no error, as
//   with packets dropped on the wire) and every connection that lost bytes is marked; when the
//   partition heals, marked connections are reset, because a stream with a hole in it must never
//   be delivered. New connections during a partition are accepted and starved the same way.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Prng } from '@tskv/util';

export interface LinkFaults {
  /** Drop everything (a silent partition of this direction pair). */
  partitioned: boolean;
  /** Added one-way latency of every chunk, ms. */
  delayMs: number;
  /** Uniform ± jitter around delayMs, ms. */
  jitterMs: number;
  /** Probability that a chunk is "lost": held retransmitMs more. */
  lossRate: number;
  retransmitMs: number;
}

export const NO_FAULTS: Readonly<LinkFaults> = Object.freeze({
  partitioned: false,
  delayMs: 0,
  jitterMs: 0,
  lossRate: 0,
  retransmitMs: 200,
});

export interface ProxyStats {
  connections: number;
  bytesForwarded: number;
  bytesDropped: number;
  resets: number;
}

/** One direction of one connection: chunks in order, each released at or after its due time. */
class DelayedPipe {
  private queue: { due: number; data: Buffer }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastDue = 0;

  constructor(
    private readonly out: Socket,
    private readonly onForward: (n: number) => void,
  ) {}

  push(data: Buffer, delayMs: number): void {
    if (delayMs <= 0 && this.queue.length === 0) {
      this.write(data);
      return;
    }
    // Never earlier than the chunk before it: TCP order.
    const due = Math.max(Date.now() + delayMs, this.lastDue);
    this.lastDue = due;
    this.queue.push({ due, data });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const now = Date.now();
        while (this.queue.length > 0 && this.queue[0]!.due <= now) this.write(this.queue.shift()!.data);
        this.schedule();
      },
      Math.max(0, this.queue[0]!.due - Date.now()),
    );
  }

  private write(data: Buffer): void {
    if (this.out.destroyed) return;
    this.out.write(data);
    this.onForward(data.length);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }
}

interface Conn {
  client: Socket;
  upstream: Socket;
  /** Lost bytes while partitioned: must be reset when the link heals. */
  tainted: boolean;
  pipes: DelayedPipe[];
}

export class FaultProxy {
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  private faults: LinkFaults = { ...NO_FAULTS };
  readonly stats: ProxyStats = { connections: 0, bytesForwarded: 0, bytesDropped: 0, resets: 0 };
  private port = 0;

  /**
   * @param target where connections go, asked at each connect (a restarted store keeps its
   *   address, but the harness may not know it when the proxy starts)
   * @param random the harness's seeded PRNG (loss and jitter draws replay from the seed)
   */
  constructor(
    readonly name: string,
    private readonly target: () => { host: string; port: number },
    private readonly random: Prng,
    private readonly host = '127.0.0.1',
  ) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((client) => this.onConnection(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  get current(): Readonly<LinkFaults> {
    return this.faults;
  }

  /** Changes the link's faults; healing a partition resets the connections that lost bytes. */
  set(f: Partial<LinkFaults>): void {
    const wasPartitioned = this.faults.partitioned;
    this.faults = { ...this.faults, ...f };
    if (wasPartitioned && !this.faults.partitioned) {
      for (const c of [...this.conns]) if (c.tainted) this.reset(c);
    }
  }

  heal(): void {
    this.set({ ...NO_FAULTS });
  }

  private onConnection(client: Socket): void {
    const { host, port } = this.target();
    const upstream = connect({ host, port });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const c: Conn = { client, upstream, tainted: false, pipes: [] };
    this.conns.add(c);
    this.stats.connections++;
    const toUpstream = new DelayedPipe(upstream, (n) => (this.stats.bytesForwarded += n));
    const toClient = new DelayedPipe(client, (n) => (this.stats.bytesForwarded += n));
    c.pipes = [toUpstream, toClient];
    client.on('data', (d) => this.relay(c, d, toUpstream));
    upstream.on('data', (d) => this.relay(c, d, toClient));
    const close = (): void => {
      if (!this.conns.delete(c)) return;
      for (const p of c.pipes) p.clear();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  private relay(c: Conn, data: Buffer, pipe: DelayedPipe): void {
    const f = this.faults;
    if (f.partitioned) {
      c.tainted = true;
      this.stats.bytesDropped += data.length;
      return;
    }
    let delay = f.delayMs + (f.jitterMs > 0 ? (this.random.next() * 2 - 1) * f.jitterMs : 0);
    if (this.random.chance(f.lossRate)) delay += f.retransmitMs;
    pipe.push(data, delay);
  }

  private reset(c: Conn): void {
    this.stats.resets++;
    this.conns.delete(c);
    for (const p of c.pipes) p.clear();
    c.client.resetAndDestroy();
    c.upstream.resetAndDestroy();
  }

  /** Closes the listener and every connection. */
  async stop(): Promise<void> {
    for (const c of [...this.conns]) this.reset(c);
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
