// tinykv-server: one store as a process. Prints one JSON line to stdout once serving:
//   {"event":"ready","storeId":N,"addr":"host:port","statusAddr":"host:port"}
// SIGTERM/SIGINT stop it gracefully (exit 0). Bad flags or config: a message on stderr, exit 2.
// A failed start (e.g. damaged data on disk): the reason on stderr, exit 1. A fatal storage error
// while serving (e.g. a full disk): the reason on stderr, exit 3.

import { loadTls, parseCnList, type TlsConfig } from '@tskv/rpc';
import { Command, CommanderError, Option } from 'commander';
import winston from 'winston';
import {
  ConfigError,
  type ConfigFile,
  DEFAULT_PROCESS,
  LOG_LEVELS,
  loadConfigFile,
  parseAddressOverrides,
  splitHostPort,
} from '../src/config.js';
import { TinyKvServer } from '../src/server.js';

function usageError(msg: string): never {
  process.stderr.write(`tinykv-server: ${msg}\n(see tinykv-server --help)\n`);
  process.exit(2);
}

const program = new Command('tinykv-server')
  .description('Run one tskv store: the TinyKv gRPC service over a multi-region raft store')
  .addOption(new Option('--addr <host:port>', 'gRPC listen address (port 0: any free port)').default(DEFAULT_PROCESS.addr))
  .addOption(new Option('--status-addr <host:port>', 'HTTP status address (/metrics, /status)').default(DEFAULT_PROCESS.statusAddr))
  .addOption(new Option('--scheduler <host:port>', 'scheduler gRPC address').default(DEFAULT_PROCESS.schedulerAddr))
  .addOption(new Option('--data-dir <dir>', 'data directory of the store').default(DEFAULT_PROCESS.dataDir))
  .addOption(new Option('--config <file>', 'JSON config file: StoreConfig fields (not storeId), server tuning and these settings'))
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(DEFAULT_PROCESS.logLevel))
  .addOption(new Option('--log-file <file>', 'log to this file (default: stderr)'))
  .addOption(
    new Option(
      '--peer-address-overrides <list>',
      'dial other stores at rewritten addresses: from=to,... (host:port each; e.g. through proxies)',
    ),
  )
  .addOption(
    new Option('--ca-path <file>', 'mutual TLS: the CA certificate (PEM) every peer, scheduler and client certificate is checked against'),
  )
  .addOption(
    new Option('--cert-path <file>', "mutual TLS: this store's certificate (PEM), served and presented to other stores and the scheduler"),
  )
  .addOption(new Option('--key-path <file>', 'mutual TLS: the key of --cert-path (PEM)'))
  .addOption(new Option('--cert-allowed-cn <a,b>', 'mutual TLS: refuse callers whose certificate CN is not in this list'))
  .helpOption('-h, --help', 'show this help')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .allowExcessArguments(false);

try {
  program.parse(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
    process.exit(2); // commander printed the message
  }
  throw e;
}

const flags = program.opts<{
  addr: string;
  statusAddr: string;
  scheduler: string;
  dataDir: string;
  config?: string;
  logLevel: string;
  logFile?: string;
  peerAddressOverrides?: string;
}>();
const fromCli = (name: string): boolean => program.getOptionValueSource(name) === 'cli';

let file: ConfigFile = { store: {}, tuning: {}, process: {} };
if (flags.config) {
  try {
    file = await loadConfigFile(flags.config);
  } catch (e) {
    usageError(e instanceof ConfigError ? e.message : String(e));
  }
}
// Flags given on the command line win over the file, the file over the defaults.
const pick = <K extends keyof typeof file.process>(flag: string, key: K, cliValue: string | undefined): string =>
  (fromCli(flag) ? cliValue : undefined) ?? (file.process[key] as string | undefined) ?? cliValue ?? (DEFAULT_PROCESS[key] as string);
const addr = pick('addr', 'addr', flags.addr);
const statusAddr = pick('statusAddr', 'statusAddr', flags.statusAddr);
const schedulerAddr = pick('scheduler', 'schedulerAddr', flags.scheduler);
const dataDir = pick('dataDir', 'dataDir', flags.dataDir);
const logLevel = pick('logLevel', 'logLevel', flags.logLevel);
const logFile = pick('logFile', 'logFile', flags.logFile);
try {
  splitHostPort(addr, '--addr');
  if (statusAddr) splitHostPort(statusAddr, '--status-addr');
  splitHostPort(schedulerAddr, '--scheduler');
} catch (e) {
  usageError((e as Error).message);
}
if (!dataDir) usageError('--data-dir must not be empty');
// Security: each flag given wins over the file's "security" key of the same name.
const sec = program.opts<{ caPath?: string; certPath?: string; keyPath?: string; certAllowedCn?: string }>();
let tls: TlsConfig | null = null;
try {
  tls = loadTls(
    {
      ...file.security,
      ...(sec.caPath !== undefined ? { caPath: sec.caPath } : {}),
      ...(sec.certPath !== undefined ? { certPath: sec.certPath } : {}),
      ...(sec.keyPath !== undefined ? { keyPath: sec.keyPath } : {}),
      ...(sec.certAllowedCn !== undefined ? { certAllowedCn: parseCnList(sec.certAllowedCn) } : {}),
    },
    'security (--ca-path/--cert-path/--key-path)',
  );
} catch (e) {
  usageError((e as Error).message);
}
if (flags.peerAddressOverrides !== undefined) {
  try {
    parseAddressOverrides(flags.peerAddressOverrides, '--peer-address-overrides');
  } catch (e) {
    usageError((e as Error).message);
  }
  file.tuning.peerAddressOverrides = flags.peerAddressOverrides;
}

const logger = winston.createLogger({
  level: logLevel,
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [
    logFile ? new winston.transports.File({ filename: logFile }) : new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] }),
  ],
});

let server: TinyKvServer | null = null;
let stopping = false;
const stop = (signal: string): void => {
  if (stopping) {
    logger.warn('second signal: exiting now', { signal });
    process.exit(1);
  }
  stopping = true;
  logger.info('signal received: stopping', { signal });
  const done = (code: number): void => {
    // Let the logger flush (a file transport writes asynchronously).
    logger.on('finish', () => process.exit(code));
    logger.end();
    setTimeout(() => process.exit(code), 1000).unref();
  };
  if (!server) {
    done(0);
    return;
  }
  server.stop().then(
    () => done(0),
    (e: unknown) => {
      logger.error('stop failed', { err: String(e) });
      done(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

// A fatal storage error at run time (a raft or kv write failed: a full or failing disk). The
// store refuses everything from then on and only a restart rebuilds it from disk, so the process
// stops and exits 3 for its supervisor to restart it, as TiKV and etcd do (docs/operations.md).
const EXIT_FATAL_STORAGE = 3;
const fatal = (e: Error): void => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`tinykv-server: fatal storage error, exiting for a restart: ${e.message}\n`);
  logger.error('fatal storage error: exiting for a restart', { err: e.message });
  const exit = (): never => process.exit(EXIT_FATAL_STORAGE);
  setTimeout(exit, 5000).unref();
  void (server ? server.stop() : Promise.resolve())
    .catch((err: unknown) => logger.error('stop failed', { err: String(err) }))
    .then(() => {
      logger.on('finish', exit);
      logger.end();
    });
};

try {
  server = await TinyKvServer.start({
    addr,
    statusAddr: statusAddr || undefined,
    schedulerAddr,
    dataDir,
    storeConfig: file.store,
    tuning: file.tuning,
    onFatal: fatal,
    tls,
    logger,
  });
} catch (e) {
  logger.error('startup failed', { err: e instanceof Error ? e.message : String(e) });
  process.stderr.write(`tinykv-server: startup failed: ${e instanceof Error ? e.message : String(e)}\n`);
  // Set the exit code too: the process may end by itself before the (unref'd) timer fires, and
  // would then exit 0.
  process.exitCode = 1;
  logger.end();
  setTimeout(() => process.exit(1), 200).unref();
}
if (server && stopping) {
  // A signal arrived during startup.
  await server.stop();
  process.exit(0);
}
if (server)
  process.stdout.write(
    `${JSON.stringify({ event: 'ready', storeId: server.storeId, addr: server.addr, statusAddr: server.statusAddr ?? '' })}\n`,
  );
