// The etcd side of a comparison: connections are EtcdClient channels (to the leader, or
// round-robin over the members), a get is a linearizable Range, a batch is one Txn of puts, a
// transaction the STM pattern (targets.ts).
// After each run the history is compacted (physical) so the backend does not grow run after run
// (etcd keeps every revision until compacted; its default quota is 2 GiB).
import type { NamedPid } from '../cpu.js';
import type { IndexRange, KeySpace } from '../keyspace.js';
import type { KvConn, SystemUnderTest } from '../runner.js';
import { connectTarget, type TargetSpec } from '../targets.js';
import { EtcdClient } from './client.js';
import type { EtcdCluster } from './cluster.js';

export class EtcdSystem implements SystemUnderTest {
  readonly name = 'etcd' as const;
  readonly separateTxnKeys = false;
  private readonly all: IndexRange[];

  constructor(
    readonly cluster: EtcdCluster,
    private readonly ks: KeySpace,
    readonly endpoints: 'leader' | 'all',
  ) {
    this.all = [{ lo: 0, hi: ks.size }];
  }

  connect(n: number, txn = false): Promise<KvConn[]> {
    return connectTarget(this.target(), n, 0, txn);
  }

  target(): TargetSpec {
    return { kind: 'etcd', members: this.cluster.members.map((m) => m.clientAddr), leader: this.cluster.leader, endpoints: this.endpoints };
  }

  batchRanges(): IndexRange[] {
    return this.all;
  }

  processes(): NamedPid[] {
    return this.cluster.pids();
  }

  describe(): Record<string, unknown> {
    return { leader: this.cluster.members[this.cluster.leader]?.name, endpoints: this.endpoints };
  }

  async afterRun(): Promise<void> {
    const c = new EtcdClient(this.cluster.members[this.cluster.leader]!.clientAddr);
    try {
      const rev = (await c.range(this.ks.keys[0]!)).header?.revision ?? 0;
      if (rev > 1) await c.compact(rev, true);
      this.cluster.leader = await this.cluster.findLeader();
    } catch {
      /* a compaction is housekeeping: an already compacted revision, a busy member... */
    } finally {
      c.close();
    }
  }
}
