// tinykv-scheduler: runs the scheduler (placement driver) until SIGTERM or SIGINT.
//
// On serving it prints exactly one line to stdout, for supervisors and tests to wait on:
//   {"event":"ready","addr":"127.0.0.1:2379","statusAddr":"127.0.0.1:2380","clusterId":N}
// with the actual bound addresses (port 0 picks a free one). Logs go to stderr or --log-file.
// Exit codes: 0 after a graceful stop, 1 when it cannot start, 2 for bad flags or config.
import { readFileSync } from 'node:fs';
import { loadTls, parseCnList, parseSecuritySection, type TlsConfig, type TlsOptions } from '@tskv/rpc';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolveConfig, type SchedulerConfig } from '../src/config.js';
import { closeLogger, createLogger, LOG_LEVELS } from '../src/logger.js';
import { SchedulerServer } from '../src/server.js';
import { splitHostPort } from '../src/status_server.js';

function address(v: string): string {
  try {
    splitHostPort(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
}

function usageError(message: string): never {
  process.stderr.write(`tinykv-scheduler: ${message}\n`);
  process.exit(2);
}

/** The config file: scheduler config fields, and "security" (mutual TLS, docs/security.md). */
function loadConfig(file: string | undefined): { config: Partial<SchedulerConfig>; security: TlsOptions } {
  if (!file) return { config: {}, security: {} };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    usageError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    usageError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  let security: TlsOptions = {};
  if (json !== null && typeof json === 'object' && !Array.isArray(json) && 'security' in json) {
    const { security: s, ...rest } = json as Record<string, unknown>;
    try {
      security = parseSecuritySection(s, `config file ${file}`);
    } catch (e) {
      usageError((e as Error).message);
    }
    json = rest;
  }
  try {
    resolveConfig(json);
  } catch (e) {
    usageError(`config file ${file}: ${(e as Error).message}`);
  }
  return { config: json as Partial<SchedulerConfig>, security };
}

const program = new Command('tinykv-scheduler')
  .description('The tskv scheduler (placement driver): cluster metadata, ids, timestamps, heartbeats and scheduling')
  .option('--addr <host:port>', 'gRPC listen address', address, '127.0.0.1:2379')
  .option('--status-addr <host:port>', 'HTTP status address (/metrics, /status)', address, '127.0.0.1:2380')
  .option('--data-dir <dir>', 'where the metadata is kept', './data/scheduler')
  .option('--config <file>', 'JSON object of scheduler config fields')
  .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('info'))
  .option('--log-file <file>', 'append logs to this file instead of stderr')
  .option('--ca-path <file>', 'mutual TLS: the CA certificate (PEM) every store and client certificate is checked against')
  .option('--cert-path <file>', "mutual TLS: the scheduler's certificate (PEM)")
  .option('--key-path <file>', 'mutual TLS: the key of --cert-path (PEM)')
  .option('--cert-allowed-cn <a,b>', 'mutual TLS: refuse callers whose certificate CN is not in this list')
  .showHelpAfterError('(run tinykv-scheduler --help for usage)')
  .exitOverride();

try {
  program.parse(process.argv);
} catch (e) {
  if (
    e instanceof CommanderError &&
    (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
  )
    process.exit(0);
  process.exit(2); // commander has printed the reason
}

const opts = program.opts<{
  addr: string;
  statusAddr: string;
  dataDir: string;
  config?: string;
  logLevel: string;
  logFile?: string;
  caPath?: string;
  certPath?: string;
  keyPath?: string;
  certAllowedCn?: string;
}>();
const { config, security } = loadConfig(opts.config);
// Each security flag given wins over the file's key of the same name.
let tls: TlsConfig | null = null;
try {
  tls = loadTls(
    {
      ...security,
      ...(opts.caPath !== undefined ? { caPath: opts.caPath } : {}),
      ...(opts.certPath !== undefined ? { certPath: opts.certPath } : {}),
      ...(opts.keyPath !== undefined ? { keyPath: opts.keyPath } : {}),
      ...(opts.certAllowedCn !== undefined ? { certAllowedCn: parseCnList(opts.certAllowedCn) } : {}),
    },
    'security (--ca-path/--cert-path/--key-path)',
  );
} catch (e) {
  usageError((e as Error).message);
}
const logger = createLogger({ level: opts.logLevel, ...(opts.logFile ? { file: opts.logFile } : {}) });

let server: SchedulerServer;
try {
  server = await SchedulerServer.start({ dataDir: opts.dataDir, addr: opts.addr, statusAddr: opts.statusAddr, config, logger, tls });
} catch (e) {
  logger.error('scheduler failed to start', { err: (e as Error).message });
  process.stderr.write(`tinykv-scheduler: cannot start: ${(e as Error).message}\n`);
  await closeLogger(logger);
  process.exit(1);
}

process.stdout.write(
  `${JSON.stringify({ event: 'ready', addr: server.addr, statusAddr: server.statusAddr, clusterId: server.clusterId })}\n`,
);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) {
    process.stderr.write(`tinykv-scheduler: ${signal} again: exiting now\n`);
    process.exit(1);
  }
  stopping = true;
  logger.info('stopping', { signal });
  server
    .stop()
    .then(async () => {
      await closeLogger(logger);
      process.exit(0);
    })
    .catch(async (e: unknown) => {
      logger.error('stop failed', { err: String(e) });
      await closeLogger(logger);
      process.exit(1);
    });
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
