// Public API of @tskv/rpc: the gRPC services of the product and their typed clients.

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
