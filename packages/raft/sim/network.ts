// The simulated network: every message is independently lost, delayed (delivered at a later
// virtual time, so messages reorder) or duplicated, and partitions drop traffic between groups
// both when a message is sent and when it would arrive (a connection broken while in flight).
import type { Prng } from '@tskv/util';
import { type Message, MessageType } from '../src/index.js';
import type { SimParams } from './params.js';

export interface NetworkSink {
  /** Schedules delivery of `m` at virtual time `at`. */
  deliverAt(at: number, m: Message): void;
  /** The transport could not deliver `m` (lost, partitioned, or the receiver is down). */
  dropped(m: Message, why: string): void;
}

export class SimNetwork {
  /** Partition group per node id; nodes in different groups cannot talk. Empty = fully connected. */
  private group = new Map<number, number>();
  /** One-way cuts, as "from>to". */
  private cuts = new Set<string>();
  /** While calm (the end-of-run healing phase), nothing is lost, duplicated or long delayed. */
  calm = false;
  sent = 0;

  constructor(
    private readonly p: SimParams,
    private readonly rand: Prng,
    private readonly sink: NetworkSink,
  ) {}

  blocked(from: number, to: number): boolean {
    if (this.cuts.size > 0 && this.cuts.has(`${from}>${to}`)) return true;
    if (this.group.size === 0) return false;
    return (this.group.get(from) ?? 0) !== (this.group.get(to) ?? 0);
  }

  send(now: number, msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.sent++;
      if (this.blocked(m.from, m.to)) {
        this.sink.dropped(m, 'partition');
        continue;
      }
      if (!this.calm && this.rand.chance(this.p.lossRate)) {
        this.sink.dropped(m, 'loss');
        continue;
      }
      this.sink.deliverAt(now + this.delay(), copy(m));
      // Proposals are never duplicated: a client-facing transport dedupes them, and a duplicate
      // proposal would be a second, equally valid write the checker could not tell apart.
      if (!this.calm && m.msgType !== MessageType.MsgPropose && this.rand.chance(this.p.dupRate)) {
        this.sink.deliverAt(now + this.delay(), copy(m));
      }
    }
  }

  private delay(): number {
    let d = this.rand.int(1, this.p.maxDelay + 1);
    if (!this.calm && this.rand.chance(this.p.longDelayRate)) d += this.rand.int(0, this.p.longDelayMax);
    return d;
  }

  /** Splits `ids` into the given groups. */
  partition(groups: number[][]): void {
    this.group.clear();
    groups.forEach((g, i) => {
      for (const id of g) this.group.set(id, i + 1);
    });
  }

  cut(from: number, to: number): void {
    this.cuts.add(`${from}>${to}`);
  }

  heal(): void {
    this.group.clear();
    this.cuts.clear();
  }

  describe(): string {
    if (this.group.size === 0 && this.cuts.size === 0) return 'connected';
    const groups = new Map<number, number[]>();
    for (const [id, g] of this.group) groups.set(g, [...(groups.get(g) ?? []), id]);
    const gs = [...groups.values()].map((g) => `{${g.join(',')}}`).join(' ');
    return `${gs}${this.cuts.size ? ` cuts=${[...this.cuts].join(',')}` : ''}`;
  }
}

/**
 * Each delivery gets its own copy, as if deserialized: receivers mutate messages (a forwarded
 * proposal is re-addressed, its entries get an index and term), which must not leak into the
 * sender's log or into a duplicate.
 */
function copy(m: Message): Message {
  return { ...m, entries: m.entries.map((e) => ({ ...e })) };
}
