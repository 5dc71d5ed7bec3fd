// A minimal etcd v3 client over grpc-js: KV/Put, KV/Range (linearizable by default), KV/Txn (of
// puts, of ranges, of puts under mod-revision compares), KV/Compact and Maintenance/Status, with
// the handwritten codec. One instance is one gRPC channel (its own TCP connection: the local
// subchannel pool), on which any number of calls run concurrently, as with etcd's own clientv3
// and its benchmark tool.
import * as grpc from '@grpc/grpc-js';
import {
  type CompactionResponse,
  decodeCompactionResponse,
  decodePutResponse,
  decodeRangeResponse,
  decodeStatusResponse,
  decodeTxnResponse,
  encodeCompactionRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeStatusRequest,
  encodeTxnPuts,
  encodeTxnPutsIfModRevisions,
  encodeTxnRanges,
  type PutResponse,
  type RangeOptions,
  type RangeResponse,
  type StatusResponse,
  type TxnResponse,
} from './codec.js';

const identity = (b: Buffer): Buffer => b;

export interface EtcdClientOptions {
  /** Deadline of each call (default 10 s, like RawClient's operation timeout). */
  timeoutMs?: number;
  channelOptions?: grpc.ChannelOptions;
}

export class EtcdClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;

  constructor(
    readonly address: string,
    opts: EtcdClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      ...opts.channelOptions,
    });
  }

  private call<T>(path: string, req: Buffer, decode: (b: Buffer) => T, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, identity, identity, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(err);
        else {
          try {
            resolve(decode(res!));
          } catch (e) {
            reject(e);
          }
        }
      });
    });
  }

  put(key: Uint8Array, value: Uint8Array): Promise<PutResponse> {
    return this.call('/etcdserverpb.KV/Put', encodePutRequest(key, value), decodePutResponse);
  }

  range(key: Uint8Array, o?: RangeOptions): Promise<RangeResponse> {
    return this.call('/etcdserverpb.KV/Range', encodeRangeRequest(key, o), decodeRangeResponse);
  }

  /** One transaction putting every pair (no compares: always succeeds). */
  txnPuts(keys: readonly Uint8Array[], values: readonly Uint8Array[]): Promise<TxnResponse> {
    return this.call('/etcdserverpb.KV/Txn', encodeTxnPuts(keys, values), decodeTxnResponse);
  }

  /** One transaction reading every key (linearizable, one revision). */
  txnRanges(keys: readonly Uint8Array[]): Promise<TxnResponse> {
    return this.call('/etcdserverpb.KV/Txn', encodeTxnRanges(keys), decodeTxnResponse);
  }

  /** One transaction putting every pair if every key's mod revision is still the one given (0: absent); succeeded false otherwise. */
  txnPutsIfModRevisions(keys: readonly Uint8Array[], modRevisions: readonly number[], values: readonly Uint8Array[]): Promise<TxnResponse> {
    return this.call('/etcdserverpb.KV/Txn', encodeTxnPutsIfModRevisions(keys, modRevisions, values), decodeTxnResponse);
  }

  /** Compacts the history up to revision; physical: wait until it is removed from the backend. */
  compact(revision: number, physical = true, timeoutMs = 120_000): Promise<CompactionResponse> {
    return this.call('/etcdserverpb.KV/Compact', encodeCompactionRequest(revision, physical), decodeCompactionResponse, timeoutMs);
  }

  status(timeoutMs = 2_000): Promise<StatusResponse> {
    return this.call('/etcdserverpb.Maintenance/Status', encodeStatusRequest(), decodeStatusResponse, timeoutMs);
  }

  close(): void {
    this.client.close();
  }
}
