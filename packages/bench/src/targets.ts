// Connections to a system under test, made from a plain description (TargetSpec) so that load
// generator threads (worker_threads) can make their own: a tskv connection is a RawClient (own
// region cache, own BatchCommands stream per store on its own TCP connection), plus a TxnClient
// (the same, and its own scheduler client for timestamps) for transactions; an etcd one is an
// EtcdClient (one gRPC channel).
import { RawClient, TxnAbortedError, TxnClient, WriteConflictError } from '@tskv/client';
import { EtcdClient } from './etcd/client.js';
import type { KvConn, TxnOutcome } from './runner.js';

export type TargetSpec =
  | { kind: 'tskv'; schedulerAddr: string }
  | { kind: 'etcd'; members: string[]; leader: number; endpoints: 'leader' | 'all' };

/** Background warnings of a TxnClient printed per connection before they are only counted. */
const WARNINGS_SHOWN = 3;

export class TskvConn implements KvConn {
  private warnings = 0;

  constructor(
    readonly c: RawClient,
    readonly t: TxnClient | null = null,
  ) {}

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
  async txn(keys: Uint8Array[], values: Uint8Array[], read: boolean): Promise<TxnOutcome> {
    if (!this.t) throw new Error('a tskv connection without a TxnClient');
    const txn = await this.t.begin();
    try {
      if (read) await txn.batchGet(keys);
      for (let i = 0; i < keys.length; i++) txn.put(keys[i]!, values[i]!);
      await txn.commit();
      return 'committed';
    } catch (e) {
      await txn.rollback().catch(() => {});
      if (e instanceof WriteConflictError || e instanceof TxnAbortedError) return 'aborted';
      throw e;
    }
  }
  /** For the TxnClient's logger: background failures (secondary commits, rollbacks), a few shown, the rest counted. */
  warn(m: string): void {
    if (++this.warnings <= WARNINGS_SHOWN) process.stderr.write(`  tskv txn client: ${m}\n`);
  }
  async drain(): Promise<void> {
    await this.t?.whenIdle();
  }
  close(): void {
    if (this.warnings > WARNINGS_SHOWN)
      process.stderr.write(`  tskv txn client: ${this.warnings - WARNINGS_SHOWN} more background warnings on this connection\n`);
    this.t?.close();
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
  /**
   * The etcd STM's pattern, one attempt: a write-only transaction is one Txn of puts (the STM's
   * only compare for it is always true); a read-modify-write reads the keys in one Txn of Ranges
   * (linearizable, one revision), then puts them in a Txn whose compares require every key's
   * mod revision to be the one read (0: still absent); a failed compare is an abort.
   */
  async txn(keys: Uint8Array[], values: Uint8Array[], read: boolean): Promise<TxnOutcome> {
    if (!read) {
      await this.batchPut(keys, values);
      return 'committed';
    }
    const got = await this.c.txnRanges(keys);
    const revs = keys.map((_, i) => got.responses[i]?.responseRange?.kvs[0]?.modRevision ?? 0);
    const r = await this.c.txnPutsIfModRevisions(keys, revs, values);
    return r.succeeded ? 'committed' : 'aborted';
  }
  close(): void {
    this.c.close();
  }
}

const LOCAL_POOL = { connection: { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } } };

/** RawClient options of a benchmark connection: a local subchannel pool, so its own TCP connections. */
export function tskvClient(schedulerAddr: string): Promise<RawClient> {
  return RawClient.connect({ schedulerAddr, ...LOCAL_POOL });
}

/** A tskv connection; with `txn`, a TxnClient besides the RawClient. */
export async function tskvConn(schedulerAddr: string, txn: boolean): Promise<TskvConn> {
  const raw = await tskvClient(schedulerAddr);
  if (!txn) return new TskvConn(raw);
  let conn: TskvConn | null = null;
  try {
    const t = await TxnClient.connect({ schedulerAddr, ...LOCAL_POOL, logger: (m) => conn?.warn(m) });
    conn = new TskvConn(raw, t);
    return conn;
  } catch (e) {
    raw.close();
    throw e;
  }
}

/**
 * n connections; `first` is the index of the first one among all of the run's connections (etcd
 * round-robin continues across generator threads); `txn`: able to run transactions.
 */
export async function connectTarget(t: TargetSpec, n: number, first = 0, txn = false): Promise<KvConn[]> {
  if (t.kind === 'tskv') return Promise.all(Array.from({ length: n }, () => tskvConn(t.schedulerAddr, txn)));
  const m = t.members;
  return Array.from(
    { length: n },
    (_, i) => new EtcdConn(new EtcdClient(t.endpoints === 'leader' ? m[t.leader]! : m[(t.leader + first + i) % m.length]!)),
  );
}
