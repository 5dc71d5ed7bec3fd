// ProxyMesh: one FaultProxy per ordered pair of stores. Store i dials store j through proxy
// (i, j) (its --peer-address-overrides maps j's address to the proxy), so a link, a direction
// pair or any partition shape can be faulted. Clients and the scheduler talk to stores directly:
// the faults are between stores, as in etcd's robustness tests.
import type { Prng } from '@tskv/util';
import { FaultProxy, type LinkFaults, NO_FAULTS } from './proxy.js';

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

export class ProxyMesh {
  /** proxies.get(`${from}->${to}`) (store indexes, 1-based). */
  private readonly proxies = new Map<string, FaultProxy>();

  /**
   * @param storeAddr the current address of store j (asked at each connection)
   */
  constructor(
    readonly stores: number,
    private readonly storeAddr: (j: number) => string,
    private readonly random: Prng,
  ) {}

  async start(): Promise<void> {
    for (let i = 1; i <= this.stores; i++) {
      for (let j = 1; j <= this.stores; j++) {
        if (i === j) continue;
        const p = new FaultProxy(`${i}->${j}`, () => splitAddr(this.storeAddr(j)), this.random.fork());
        await p.start();
        this.proxies.set(`${i}->${j}`, p);
      }
    }
  }

  link(from: number, to: number): FaultProxy {
    const p = this.proxies.get(`${from}->${to}`);
    if (!p) throw new Error(`no proxy ${from}->${to}`);
    return p;
  }

  /** Store i's address rewrites: every other store's address -> the proxy from i to it. */
  overridesFor(i: number): string {
    const parts: string[] = [];
    for (let j = 1; j <= this.stores; j++) if (j !== i) parts.push(`${this.storeAddr(j)}=${this.link(i, j).address}`);
    return parts.join(',');
  }

  /** Cuts every link between stores of different groups (stores in no group keep all links). */
  partition(groups: number[][]): void {
    const groupOf = new Map<number, number>();
    for (const [gi, g] of groups.entries()) for (const s of g) groupOf.set(s, gi);
    for (const [name, p] of this.proxies) {
      const [a, b] = name.split('->').map(Number) as [number, number];
      const ga = groupOf.get(a);
      const gb = groupOf.get(b);
      if (ga !== undefined && gb !== undefined && ga !== gb) p.set({ partitioned: true });
    }
  }

  /** Cuts the links between a and b, both directions. */
  cut(a: number, b: number): void {
    this.link(a, b).set({ partitioned: true });
    this.link(b, a).set({ partitioned: true });
  }

  /** Sets faults on every link. */
  all(f: Partial<LinkFaults>): void {
    for (const p of this.proxies.values()) p.set(f);
  }

  healAll(): void {
    for (const p of this.proxies.values()) p.set({ ...NO_FAULTS });
  }

  totals(): { connections: number; bytesForwarded: number; bytesDropped: number; resets: number } {
    const t = { connections: 0, bytesForwarded: 0, bytesDropped: 0, resets: 0 };
    for (const p of this.proxies.values()) {
      t.connections += p.stats.connections;
      t.bytesForwarded += p.stats.bytesForwarded;
      t.bytesDropped += p.stats.bytesDropped;
      t.resets += p.stats.resets;
    }
    return t;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.stop()));
  }
}
