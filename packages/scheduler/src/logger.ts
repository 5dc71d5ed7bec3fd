// The scheduler's structured logger (winston, JSON lines with fields), following the
// raftstore's convention: quiet under tests (NODE_TEST_CONTEXT or NODE_ENV=test) unless a level
// is asked for; TSKV_LOG=debug|info|warn|error picks the default level.
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  /** error | warn | info | debug (default: TSKV_LOG, else 'error' under tests, else 'info'). */
  level?: string;
  /** Append to this file instead of writing to stderr. */
  file?: string;
  /** Fields on every line. */
  fields?: Record<string, unknown>;
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

export function createLogger(opts: LoggerOptions = {}): Logger {
  const underTest = process.env.NODE_TEST_CONTEXT !== undefined || process.env.NODE_ENV === 'test';
  const level = opts.level ?? process.env.TSKV_LOG ?? (underTest ? 'error' : 'info');
  const transport = opts.file
    ? new winston.transports.File({ filename: opts.file })
    : new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] });
  return winston.createLogger({
    level,
    defaultMeta: { component: 'scheduler', ...opts.fields },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [transport],
  });
}

/** Ends the logger and waits (bounded) for its transports to flush, e.g. a log file before exit. */
export function closeLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    logger.on('finish', () => {
      clearTimeout(t);
      resolve();
    });
    logger.end();
  });
}
