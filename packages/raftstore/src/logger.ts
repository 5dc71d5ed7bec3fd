import winston from 'winston';

/**
 * The store's structured logger. Quiet by default under tests (TSKV_LOG unset and NODE_ENV=test
 * or running under node --test); TSKV_LOG=debug|info|warn selects a level.
 */
export function createLogger(fields: Record<string, unknown> = {}): winston.Logger {
  const underTest = process.env.NODE_TEST_CONTEXT !== undefined || process.env.NODE_ENV === 'test';
  const level = process.env.TSKV_LOG ?? (underTest ? 'error' : 'info');
  return winston.createLogger({
    level,
    defaultMeta: fields,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

export type Logger = winston.Logger;
