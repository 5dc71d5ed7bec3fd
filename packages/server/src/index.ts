// Public API of @tskv/server.

export type { ConfigFile, ProcessSettings, ServerTuning } from './config.js';
export {
  ConfigError,
  DEFAULT_PROCESS,
  DEFAULT_TUNING,
  loadConfigFile,
  parseConfig,
  SERVER_STORE_DEFAULTS,
  splitHostPort,
} from './config.js';
export type { KvServiceOptions, KvStore } from './kv_service.js';
export { TinyKvService } from './kv_service.js';
export { ServerMetrics } from './metrics.js';
export type { PdSchedulerClientOptions } from './scheduler_client.js';
export { operatorOf, PdSchedulerClient } from './scheduler_client.js';
export type { TinyKvServerOptions } from './server.js';
export { TinyKvServer } from './server.js';
export { StatusServer, statusDocument } from './status_server.js';
export type { GrpcTransportOptions, TransportStats, TransportStore } from './transport.js';
export { GrpcTransport } from './transport.js';
