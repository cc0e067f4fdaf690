/**
 * One pino logger per daemon, tagged with its id. Quiet by default under tests
 * (`NACRE_LOG_LEVEL` overrides; tests leave it unset → 'silent' when NODE_ENV=test or TAP is set).
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export function createLogger(name: string, opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = opts.level ?? process.env['NACRE_LOG_LEVEL'] ?? (process.env['TAP'] === '1' ? 'silent' : 'info');
  return opts.destination ? pino({ name, level }, opts.destination) : pino({ name, level });
}

/** A logger that drops everything. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
