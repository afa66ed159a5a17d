import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../../src/ports.ts';

/** One Powertools logger per function, behind the Log port; callers never pass log bodies. */
export function createPowertoolsLog(serviceName: string): Log & { readonly logger: Logger } {
  const logger = new Logger({ serviceName });
  return {
    logger,
    debug: (message, fields) => logger.debug(message, fields ?? {}),
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
}

/** One captured log line (local runs and tests). */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A Log that keeps its lines in memory, so tests can assert on them. */
export function createMemoryLog(): Log & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, fields?: Record<string, unknown>): void => {
      entries.push({ level, message, fields: fields ?? {} });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
