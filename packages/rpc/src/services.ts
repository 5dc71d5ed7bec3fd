// gRPC service definitions built directly on the static protobufjs codecs of @tskv/proto, so
// grpc-js (de)serializes with the same generated code the rest of the product uses (no
// proto-loader, no second schema at run time). Paths are the canonical `/package.Service/Method`.
//
// The transactional methods, BatchCommands and the scheduler's GC safe point methods carry u64
// timestamps: they use the lossless codecs of txn_codec.ts, batch_codec.ts and gc_codec.ts
// instead (the generated code would round them to doubles).
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb, raft_serverpb, schedulerpb } from '@tskv/proto';
import {
  type BatchCodec,
  type BatchCommandsRequestFrame,
  type BatchCommandsResponseFrame,
  batchCommandsRequestCodec,
  batchCommandsResponseCodec,
  type DecodedBatchCommandsRequest,
  type DecodedBatchCommandsResponse,
} from './batch_codec.js';
import { gcCodec } from './gc_codec.js';
import { type TxnMessageCodec, txnCodec } from './txn_codec.js';

/** What a protobufjs static message class offers. */
interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
}

/** Bytes to gRPC without a copy: grpc-js only reads them. */
function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function serializer<T>(c: Codec<T>): (m: T) => Buffer {
  return (m) => toBuffer(c.encode(m).finish());
}

function method<Req, Res>(
  service: string,
  name: string,
  req: Codec<Req>,
  res: Codec<Res>,
  requestStream = false,
  responseStream = false,
): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serializer(req),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: serializer(res),
    responseDeserialize: (b: Buffer) => res.decode(b),
    originalName: name[0]!.toLowerCase() + name.slice(1),
  };
}

/** A unary method over lossless codecs (encode returns the bytes). */
function txnMethod<Req, Res>(
  service: string,
  name: string,
  req: TxnMessageCodec<Req>,
  res: TxnMessageCodec<Res>,
): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: Req) => toBuffer(req.encode(m)),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (m: Res) => toBuffer(res.encode(m)),
    responseDeserialize: (b: Buffer) => res.decode(b),
    originalName: name[0]!.toLowerCase() + name.slice(1),
  };
}

/** BatchCommands: frames are written as BatchCommands*Frame and decoded as DecodedBatchCommands*. */
function batchMethod(
  service: string,
  req: BatchCodec<BatchCommandsRequestFrame, DecodedBatchCommandsRequest>,
  res: BatchCodec<BatchCommandsResponseFrame, DecodedBatchCommandsResponse>,
): grpc.MethodDefinition<DecodedBatchCommandsRequest, DecodedBatchCommandsResponse> {
  return {
    path: `/${service}/BatchCommands`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: BatchCommandsRequestFrame) => toBuffer(req.encode(m)),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (m: BatchCommandsResponseFrame) => toBuffer(res.encode(m)),
    responseDeserialize: (b: Buffer) => res.decode(b),
    originalName: 'batchCommands',
  };
}

const KV = 'tinykvpb.TinyKv';
const SCHED = 'schedulerpb.Scheduler';

/**
 * The store's service: the raw client API, the transactional API, the batched client stream
 * (raw and transactional requests), raft and snapshot streams.
 */
export const tinyKvService = {
  rawGet: method(KV, 'RawGet', kvrpcpb.RawGetRequest, kvrpcpb.RawGetResponse),
  rawPut: method(KV, 'RawPut', kvrpcpb.RawPutRequest, kvrpcpb.RawPutResponse),
  rawDelete: method(KV, 'RawDelete', kvrpcpb.RawDeleteRequest, kvrpcpb.RawDeleteResponse),
  rawScan: method(KV, 'RawScan', kvrpcpb.RawScanRequest, kvrpcpb.RawScanResponse),
  rawBatchGet: method(KV, 'RawBatchGet', kvrpcpb.RawBatchGetRequest, kvrpcpb.RawBatchGetResponse),
  rawBatchPut: method(KV, 'RawBatchPut', kvrpcpb.RawBatchPutRequest, kvrpcpb.RawBatchPutResponse),
  kvGet: txnMethod(KV, 'KvGet', txnCodec.GetRequest, txnCodec.GetResponse),
  kvScan: txnMethod(KV, 'KvScan', txnCodec.ScanRequest, txnCodec.ScanResponse),
  kvPrewrite: txnMethod(KV, 'KvPrewrite', txnCodec.PrewriteRequest, txnCodec.PrewriteResponse),
  kvCommit: txnMethod(KV, 'KvCommit', txnCodec.CommitRequest, txnCodec.CommitResponse),
  kvCheckTxnStatus: txnMethod(KV, 'KvCheckTxnStatus', txnCodec.CheckTxnStatusRequest, txnCodec.CheckTxnStatusResponse),
  kvBatchRollback: txnMethod(KV, 'KvBatchRollback', txnCodec.BatchRollbackRequest, txnCodec.BatchRollbackResponse),
  kvResolveLock: txnMethod(KV, 'KvResolveLock', txnCodec.ResolveLockRequest, txnCodec.ResolveLockResponse),
  batchCommands: batchMethod(KV, batchCommandsRequestCodec, batchCommandsResponseCodec),
  raft: method(KV, 'Raft', raft_serverpb.RaftMessage, raft_serverpb.Done, true, false),
  batchRaft: method(KV, 'BatchRaft', raft_serverpb.BatchRaftMessage, raft_serverpb.Done, true, false),
  snapshot: method(KV, 'Snapshot', raft_serverpb.SnapshotChunk, raft_serverpb.Done, true, false),
} satisfies grpc.ServiceDefinition;

/** The scheduler's service (placement driver). */
export const schedulerService = {
  bootstrap: method(SCHED, 'Bootstrap', schedulerpb.BootstrapRequest, schedulerpb.BootstrapResponse),
  isBootstrapped: method(SCHED, 'IsBootstrapped', schedulerpb.IsBootstrappedRequest, schedulerpb.IsBootstrappedResponse),
  allocID: method(SCHED, 'AllocID', schedulerpb.AllocIDRequest, schedulerpb.AllocIDResponse),
  tso: method(SCHED, 'Tso', schedulerpb.TsoRequest, schedulerpb.TsoResponse, true, true),
  putStore: method(SCHED, 'PutStore', schedulerpb.PutStoreRequest, schedulerpb.PutStoreResponse),
  getStore: method(SCHED, 'GetStore', schedulerpb.GetStoreRequest, schedulerpb.GetStoreResponse),
  getAllStores: method(SCHED, 'GetAllStores', schedulerpb.GetAllStoresRequest, schedulerpb.GetAllStoresResponse),
  getRegion: method(SCHED, 'GetRegion', schedulerpb.GetRegionRequest, schedulerpb.GetRegionResponse),
  getRegionByID: method(SCHED, 'GetRegionByID', schedulerpb.GetRegionByIDRequest, schedulerpb.GetRegionResponse),
  scanRegions: method(SCHED, 'ScanRegions', schedulerpb.ScanRegionsRequest, schedulerpb.ScanRegionsResponse),
  regionHeartbeat: method(SCHED, 'RegionHeartbeat', schedulerpb.RegionHeartbeatRequest, schedulerpb.RegionHeartbeatResponse, true, true),
  storeHeartbeat: method(SCHED, 'StoreHeartbeat', schedulerpb.StoreHeartbeatRequest, schedulerpb.StoreHeartbeatResponse),
  askBatchSplit: method(SCHED, 'AskBatchSplit', schedulerpb.AskBatchSplitRequest, schedulerpb.AskBatchSplitResponse),
  reportBatchSplit: method(SCHED, 'ReportBatchSplit', schedulerpb.ReportBatchSplitRequest, schedulerpb.ReportBatchSplitResponse),
  getGCSafePoint: txnMethod(SCHED, 'GetGCSafePoint', gcCodec.GetGCSafePointRequest, gcCodec.GetGCSafePointResponse),
  updateGCSafePoint: txnMethod(SCHED, 'UpdateGCSafePoint', gcCodec.UpdateGCSafePointRequest, gcCodec.UpdateGCSafePointResponse),
} satisfies grpc.ServiceDefinition;

export type TinyKvServiceDefinition = typeof tinyKvService;
export type SchedulerServiceDefinition = typeof schedulerService;

/**
 * Message size limits, set on purpose: a raft frame carries at most raftMaxSizePerMsg of
 * entries per message (1 MiB by default) times the messages batched into it, and a snapshot
 * chunk is at most snapChunkBytes (1 MiB); 64 MiB leaves room for both and still refuses a
 * runaway peer or client long before memory is at risk.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Channel options every client and server of the product uses. */
export function channelOptions(): grpc.ChannelOptions {
  return {
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    // Long-lived streams: detect a dead peer within seconds, not at the TCP timeout.
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_time_between_pings_ms': 5_000,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
  };
}

/** Server options matching channelOptions (the server must allow the clients' pings). */
export function serverOptions(): grpc.ServerOptions {
  return {
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 4_000,
  };
}

const TinyKvClientCtor = grpc.makeGenericClientConstructor(tinyKvService, 'TinyKv');
const SchedulerClientCtor = grpc.makeGenericClientConstructor(schedulerService, 'Scheduler');

/**
 * A method of a grpc-js generic client. grpc-js builds these at run time, each taking several
 * argument shapes (request, metadata, options, callback in various combinations), and types
 * them only as `Function`; callers cast the call or stream a method returns to its typed form.
 */
// biome-ignore lint/suspicious/noExplicitAny: the run-time generated methods accept and return what grpc-js decides; see above.
type GrpcClientMethod = (...args: any[]) => any;

/** The raw grpc-js client of a store; methods are named as in tinyKvService. */
export type TinyKvGrpcClient = grpc.Client & Record<keyof TinyKvServiceDefinition, GrpcClientMethod>;
export type SchedulerGrpcClient = grpc.Client & Record<keyof SchedulerServiceDefinition, GrpcClientMethod>;

export function newTinyKvGrpcClient(
  address: string,
  credentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): TinyKvGrpcClient {
  return new TinyKvClientCtor(address, credentials, { ...channelOptions(), ...options }) as unknown as TinyKvGrpcClient;
}

export function newSchedulerGrpcClient(
  address: string,
  credentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): SchedulerGrpcClient {
  return new SchedulerClientCtor(address, credentials, { ...channelOptions(), ...options }) as unknown as SchedulerGrpcClient;
}

/** A unary call as a promise with a deadline. */
export function unary<Req, Res>(
  client: grpc.Client,
  m: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    m.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}
