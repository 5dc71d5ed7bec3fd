// Public API of @tskv/rpc: the gRPC services of the product and their typed clients.

export type {
  BatchCodec,
  BatchCommandsRequestFrame,
  BatchCommandsRequestItem,
  BatchCommandsResponseFrame,
  BatchCommandsResponseItem,
  DecodedBatchCommandsRequest,
  DecodedBatchCommandsResponse,
  TxnBatchRequests,
  TxnBatchResponses,
} from './batch_codec.js';
export { batchCommandsRequestCodec, batchCommandsResponseCodec } from './batch_codec.js';
export type {
  GetGCSafePointRequest,
  GetGCSafePointResponse,
  UpdateGCSafePointRequest,
  UpdateGCSafePointResponse,
} from './gc_codec.js';
export { GcCodecError, gcCodec } from './gc_codec.js';
export type { PdClientOptions, RegionWithLeader, StoreWithStats } from './pd_client.js';
export { PdClient, SchedulerError } from './pd_client.js';
export type { SchedulerGrpcClient, SchedulerServiceDefinition, TinyKvGrpcClient, TinyKvServiceDefinition } from './services.js';
export {
  channelOptions,
  MAX_MESSAGE_BYTES,
  newSchedulerGrpcClient,
  newTinyKvGrpcClient,
  schedulerService,
  serverOptions,
  tinyKvService,
  unary,
} from './services.js';
export type { StatusFetchOptions, StatusHttpServer, StatusResponse } from './status_http.js';
export { createStatusServer, statusFetch, statusScheme, statusUrl } from './status_http.js';
export type { TlsConfig, TlsOptions } from './tls.js';
export {
  allowedCnInterceptor,
  channelCredentials,
  loadTls,
  parseCnList,
  parseSecuritySection,
  SECURITY_KEYS,
  secureServerOptions,
  serverCredentials,
  TlsConfigError,
} from './tls.js';
export type { TxnMessageCodec } from './txn_codec.js';
export { TxnCodecError, txnCodec } from './txn_codec.js';
export type {
  KeyError,
  KvBatchRollbackRequest,
  KvBatchRollbackResponse,
  KvCheckTxnStatusRequest,
  KvCheckTxnStatusResponse,
  KvCommitRequest,
  KvCommitResponse,
  KvGetRequest,
  KvGetResponse,
  KvPair,
  KvPrewriteRequest,
  KvPrewriteResponse,
  KvResolveLockRequest,
  KvResolveLockResponse,
  KvScanRequest,
  KvScanResponse,
  LockInfo,
  Mutation,
  WithContext,
  WithRegionError,
  WriteConflict,
} from './txn_types.js';
export { Action, Op } from './txn_types.js';
