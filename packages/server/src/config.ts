// Configuration of a server process: the store's StoreConfig (raftstore defaults, with shorter
// scheduler heartbeats for real clusters) plus the server's own fields, and the JSON config file.
import { readFile } from 'node:fs/promises';
import type { StoreConfig } from '@tskv/raftstore';
import { storeConfig } from '@tskv/raftstore';
import { parseSecuritySection, type TlsOptions } from '@tskv/rpc';
import { DEFAULT_INPUT_LIMITS, type InputLimits, inputLimitsProblem } from './input_limits.js';

/** StoreConfig overrides a server process starts from (raftstore defaults otherwise). */
export const SERVER_STORE_DEFAULTS: Partial<StoreConfig> = Object.freeze({
  // A fresh cluster gets its replicas (the scheduler answers heartbeats) within seconds.
  schedulerHeartbeatTickMs: 1000,
});

/** Tuning of the server around the store (all optional); the client input limits are input_limits.ts'. */
export interface ServerTuning extends InputLimits {
  /** Raft messages queued per target store before new ones are dropped. */
  raftStreamMaxQueue: number;
  /** Approximate bytes of one BatchRaft frame. */
  raftFrameMaxBytes: number;
  /** Reconnect backoff of a failed raft stream. */
  raftReconnectMinMs: number;
  raftReconnectMaxMs: number;
  /** Snapshots sent at once. */
  snapMaxConcurrentSending: number;
  /** Client requests in flight beyond which new ones are answered ServerIsBusy. */
  maxInflightRequests: number;
  /** How long startup keeps retrying the scheduler. */
  startupTimeoutMs: number;
  /** Deadline of each scheduler call once running (retries included). */
  schedulerTimeoutMs: number;
  /** How long a region heartbeat waits for the scheduler's answer. */
  heartbeatTimeoutMs: number;
  /** Grace period of stop() before open streams are cut. */
  shutdownGraceMs: number;
  /**
   * Rewrites of other stores' addresses before this store dials them, "from=to,from=to" (each
   * host:port): a store reached through a proxy or a NAT. Empty: dial what the scheduler says.
   * The fault-injection harness (packages/chaos) puts a proxy between every pair of stores so.
   */
  peerAddressOverrides: string;
  /** How often MVCC GC reads the scheduler's safe point and collects the regions this store leads (0: never). */
  gcIntervalMs: number;
  /** Deletions per GC batch (one raft write). */
  gcBatchKeys: number;
  /** GC batches per second, over all regions (0: no limit): a running cluster keeps serving. */
  gcBatchesPerSecond: number;
}

export const DEFAULT_TUNING: ServerTuning = Object.freeze({
  ...DEFAULT_INPUT_LIMITS,
  raftStreamMaxQueue: 16_384,
  raftFrameMaxBytes: 4 * 1024 * 1024,
  raftReconnectMinMs: 100,
  raftReconnectMaxMs: 5000,
  snapMaxConcurrentSending: 4,
  maxInflightRequests: 100_000,
  startupTimeoutMs: 60_000,
  schedulerTimeoutMs: 5000,
  heartbeatTimeoutMs: 2000,
  shutdownGraceMs: 2000,
  peerAddressOverrides: '',
  gcIntervalMs: 10_000,
  gcBatchKeys: 1024,
  gcBatchesPerSecond: 50,
});

/** Where the process listens and logs (the command's flags; also accepted in the config file). */
export interface ProcessSettings {
  addr: string;
  statusAddr: string;
  schedulerAddr: string;
  dataDir: string;
  logLevel: string;
  logFile: string;
}

export const DEFAULT_PROCESS: ProcessSettings = Object.freeze({
  addr: '127.0.0.1:20160',
  statusAddr: '127.0.0.1:20180',
  schedulerAddr: '127.0.0.1:2379',
  dataDir: './data/store',
  logLevel: 'info',
  logFile: '',
});

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ConfigFile {
  store: Partial<StoreConfig>;
  tuning: Partial<ServerTuning>;
  process: Partial<ProcessSettings>;
  /** The "security" object (mutual TLS: caPath, certPath, keyPath, certAllowedCn); see docs/security.md. */
  security?: TlsOptions;
}

/** Every StoreConfig field with its default (the type of each value is what the file must give). */
function storeDefaults(): Record<string, unknown> {
  return { ...storeConfig({ storeId: 1 }), ...SERVER_STORE_DEFAULTS } as unknown as Record<string, unknown>;
}

/**
 * Validates a parsed config file: every key must be a StoreConfig field (but storeId: a store's
 * id is its data directory's), a tuning field or a process field, with a value of the default's
 * type. Unknown keys are an error naming the key.
 */
export function parseConfig(json: unknown, source = 'config'): ConfigFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${source}: must be a JSON object`);
  const sd = storeDefaults();
  const out: ConfigFile = { store: {}, tuning: {}, process: {} };
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (k === 'storeId')
      throw new ConfigError(`${source}: 'storeId' cannot be configured (the scheduler assigns it; it lives in the data directory)`);
    if (k === 'security') {
      try {
        out.security = parseSecuritySection(v, source);
      } catch (e) {
        throw new ConfigError((e as Error).message);
      }
      continue;
    }
    let def: unknown;
    let into: Record<string, unknown>;
    if (Object.hasOwn(sd, k)) {
      def = sd[k];
      into = out.store as Record<string, unknown>;
    } else if (Object.hasOwn(DEFAULT_TUNING, k)) {
      def = (DEFAULT_TUNING as unknown as Record<string, unknown>)[k];
      into = out.tuning as Record<string, unknown>;
    } else if (Object.hasOwn(DEFAULT_PROCESS, k)) {
      def = (DEFAULT_PROCESS as unknown as Record<string, unknown>)[k];
      into = out.process as Record<string, unknown>;
    } else {
      throw new ConfigError(`${source}: unknown key '${k}'`);
    }
    if (typeof v !== typeof def) throw new ConfigError(`${source}: '${k}' must be a ${typeof def}, got ${JSON.stringify(v)}`);
    if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0))
      throw new ConfigError(`${source}: '${k}' must be a non-negative number, got ${v}`);
    if (k === 'readMode' && v !== 'readIndex' && v !== 'lease')
      throw new ConfigError(`${source}: 'readMode' must be "readIndex" or "lease"`);
    if (k === 'peerAddressOverrides') parseAddressOverrides(v as string, `${source}: 'peerAddressOverrides'`);
    if (k === 'logLevel' && !(LOG_LEVELS as readonly string[]).includes(v as string))
      throw new ConfigError(`${source}: 'logLevel' must be one of ${LOG_LEVELS.join(', ')}`);
    into[k] = v;
  }
  const limits = inputLimitsProblem({ ...DEFAULT_TUNING, ...out.tuning });
  if (limits) throw new ConfigError(`${source}: ${limits}`);
  // The store's own checks (election vs heartbeat ticks, split sizes...), with the full defaults.
  try {
    storeConfig({ ...SERVER_STORE_DEFAULTS, ...out.store, storeId: 1 });
  } catch (e) {
    throw new ConfigError(`${source}: ${(e as Error).message}`);
  }
  return out;
}

export async function loadConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(json, `config file ${path}`);
}

/** Parses "from=to,from=to" (host:port each) into a map; throws ConfigError naming the bad part. */
export function parseAddressOverrides(text: string, what = 'peer address overrides'): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new ConfigError(`bad ${what} entry '${part}': expected from=to (host:port each)`);
    const from = part.slice(0, eq).trim();
    const to = part.slice(eq + 1).trim();
    splitHostPort(from, `${what} address`);
    splitHostPort(to, `${what} address`);
    out.set(from, to);
  }
  return out;
}

/** Splits "host:port" or "[v6]:port"; throws ConfigError on anything else. */
export function splitHostPort(addr: string, what = 'address'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  if (!m) throw new ConfigError(`bad ${what} '${addr}': expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`bad ${what} '${addr}': port out of range`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host || '0.0.0.0', port };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
