/**
 * The one logger. It writes JSON lines to stderr (fd 2): stdout belongs to the protocol.
 * Secrets are redacted by key wherever they appear in a logged object.
 * @module
 */
import { pino } from 'pino';
import type { Logger, Level } from 'pino';

const REDACTED_KEYS = [
  'credentials',
  '*.credentials',
  'api_key',
  '*.api_key',
  'password',
  '*.password',
  'key',
  'dify_api_key',
  '*.dify_api_key',
  'connection_string',
  '*.connection_string',
];

function initialLevel(): Level {
  const wanted = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  const known: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
  if (wanted === 'warning') return 'warn';
  return (known as string[]).includes(wanted) ? (wanted as Level) : 'info';
}

export const logger: Logger = pino(
  {
    level: initialLevel(),
    base: { pid: process.pid },
    redact: { paths: REDACTED_KEYS, censor: '[secret]' },
  },
  pino.destination({ fd: 2, sync: false }),
);

/** Maps the credential page's log_level (INFO/DEBUG/WARNING/ERROR) onto the logger, without a restart. */
export function applyLogLevel(level: string | undefined): void {
  const map: Record<string, Level> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', WARN: 'warn', ERROR: 'error' };
  const next = level ? map[level.toUpperCase()] : undefined;
  if (next && logger.level !== next) logger.level = next;
}

export type { Logger };
