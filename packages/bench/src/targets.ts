// Connections to a system under test, made from a plain description (TargetSpec) so that load
// generator threads (worker_threads) can make their own: a tskv connection is a RawClient (own
// region cache, own BatchCommands stream per store on its own TCP connection), an etcd one is an
// EtcdClient (one gRPC channel).
import { RawClient } from '@tskv/client';
import { EtcdClient } from './etcd/client.js';
import type { KvConn } from './runner.js';

export type TargetSpec =
  | { kind: 'tskv'; schedulerAddr: string }
  | { kind: 'etcd'; members: string[]; leader: number; endpoints: 'leader' | 'all' };

export class TskvConn implements KvConn {
  constructor(readonly c: RawClient) {}
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.c.put(key, value);
  }
  get(key: Uint8Array): Promise<Uint8Array | null> {
    return this.c.get(key);
  }
  async batchPut(keys: Uint8Array[], values: Uint8Array[]): Promise<void> {
    const pairs = new Array<[Uint8Array, Uint8Array]>(keys.length);
    for (let i = 0; i < keys.length; i++) pairs[i] = [keys[i]!, values[i]!];
    await this.c.batchPut(pairs);
  }
  close(): void {
    this.c.close();
  }
}

export class EtcdConn implements KvConn {
  constructor(readonly c: EtcdClient) {}
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.c.put(key, value);
  }
  async get(key: Uint8Array): Promise<Uint8Array | null> {
    const r = await this.c.range(key);
    return r.kvs[0]?.value ?? null;
  }
  async batchPut(keys: Uint8Array[], values: Uint8Array[]): Promise<void> {
    const r = await this.c.txnPuts(keys, values);
    if (!r.succeeded) throw new Error('etcd txn did not succeed');
  }
  close(): void {
    this.c.close();
  }
}

/** RawClient options of a benchmark connection: a local subchannel pool, so its own TCP connections. */
export function tskvClient(schedulerAddr: string): Promise<RawClient> {
  return RawClient.connect({ schedulerAddr, connection: { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } } });
}

/**
 * n connections; `first` is the index of the first one among all of the run's connections (etcd
 * round-robin continues across generator threads).
 */
export async function connectTarget(t: TargetSpec, n: number, first = 0): Promise<KvConn[]> {
  if (t.kind === 'tskv') return Promise.all(Array.from({ length: n }, async () => new TskvConn(await tskvClient(t.schedulerAddr))));
  const m = t.members;
  return Array.from(
    { length: n },
    (_, i) => new EtcdConn(new EtcdClient(t.endpoints === 'leader' ? m[t.leader]! : m[(t.leader + first + i) % m.length]!)),
  );
}
