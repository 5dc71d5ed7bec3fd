// Helpers of the transactional client tests: a fake cluster and a TxnClient on it.
import { decodeKey } from '@tskv/txn';
import { TxnClient, type TxnClientOptions } from '../src/index.js';
import { FakeCluster, type FakeClusterOptions } from '../src/testing/index.js';

export const s = (b: Uint8Array | null | undefined): string | null => (b ? Buffer.from(b).toString() : null);
export const B = (x: string): Uint8Array => Buffer.from(x);

export interface Setup {
  cluster: FakeCluster;
  client: TxnClient;
  /** Messages of the client's logger (background failures). */
  logs: string[];
  /** Another client on the same cluster. */
  another(opts?: TxnClientOptions): Promise<TxnClient>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function setup(opts: FakeClusterOptions = {}, clientOpts: TxnClientOptions = {}): Promise<Setup> {
  const cluster = await FakeCluster.start(opts);
  const logs: string[] = [];
  const clients: TxnClient[] = [];
  const connect = async (o: TxnClientOptions = {}): Promise<TxnClient> => {
    const c = await TxnClient.connect({
      schedulerAddr: cluster.schedulerAddr,
      timeoutMs: 8000,
      logger: (m) => logs.push(m),
      ...clientOpts,
      ...o,
    });
    clients.push(c);
    return c;
  };
  const client = await connect();
  return {
    cluster,
    client,
    logs,
    another: connect,
    async [Symbol.asyncDispose]() {
      for (const c of clients) {
        await c.whenIdle().catch(() => {});
        c.close();
      }
      await cluster.close();
    },
  };
}

/** The user keys that hold a lock in the fake cluster's storage. */
export function lockedKeys(cluster: FakeCluster): string[] {
  return cluster.txnStorage.entries('lock').map(([k]) => Buffer.from(k).toString());
}

/** The write-CF records of a user key: commit (or rollback) ts and the record's bytes. */
export function writesOf(cluster: FakeCluster, key: string): { ts: bigint; kind: number; startTs: bigint }[] {
  const out: { ts: bigint; kind: number; startTs: bigint }[] = [];
  for (const [k, v] of cluster.txnStorage.entries('write')) {
    const d = decodeKey(k);
    if (Buffer.from(d.userKey).toString() !== key) continue;
    out.push({ ts: d.ts, kind: v[0]!, startTs: Buffer.from(v).readBigUInt64BE(1) });
  }
  return out;
}

/** Requests of a kind served by any store. */
export function served(cluster: FakeCluster, kind: string): number {
  let n = 0;
  for (const st of cluster.stores.values()) n += st.served.filter((k) => k === kind).length;
  return n;
}

export async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
