// Public API of @tskv/server.
export { TinyKvServer } from './server.js';
export type { TinyKvServerOptions } from './server.js';
export { TinyKvService } from './kv_service.js';
export type { KvStore, KvServiceOptions } from './kv_service.js';
export { GrpcTransport } from './transport.js';
export type { GrpcTransportOptions, TransportStore, TransportStats } from './transport.js';
export { PdSchedulerClient, operatorOf } from './scheduler_client.js';
export type { PdSchedulerClientOptions } from './scheduler_client.js';
export { ServerMetrics } from './metrics.js';
export { StatusServer, statusDocument } from './status_server.js';
export {
  SERVER_STORE_DEFAULTS,
  DEFAULT_TUNING,
  DEFAULT_PROCESS,
  ConfigError,
  parseConfig,
  loadConfigFile,
  splitHostPort,
} from './config.js';
export type { ServerTuning, ProcessSettings, ConfigFile } from './config.js';
