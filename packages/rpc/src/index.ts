// Public API of @tskv/rpc: the gRPC services of the product and their typed clients.
export {
  tinyKvService,
  schedulerService,
  channelOptions,
  serverOptions,
  newTinyKvGrpcClient,
  newSchedulerGrpcClient,
  unary,
  MAX_MESSAGE_BYTES,
} from './services.js';
export type { TinyKvServiceDefinition, SchedulerServiceDefinition, TinyKvGrpcClient, SchedulerGrpcClient } from './services.js';
export { PdClient, SchedulerError } from './pd_client.js';
export type { PdClientOptions, RegionWithLeader, StoreWithStats } from './pd_client.js';
export { loadTls, serverCredentials, channelCredentials, secureServerOptions, allowedCnInterceptor, parseCnList, parseSecuritySection, SECURITY_KEYS, TlsConfigError } from './tls.js';
export type { TlsOptions, TlsConfig } from './tls.js';
