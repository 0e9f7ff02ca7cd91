/**
 * The one logger. Secrets are redacted by key wherever they appear in a logged object.
 *
 * Where lines go: JSON lines on stderr (fd 2) until the stdio door hands over a forwarder ({@link forwardLogs});
 * from then on each line becomes a protocol `log` record the door sends as a frame, because the daemon logs those
 * with the plugin's identity and level while it turns every stderr line into a `WARN plugin stderr`. Fatal lines
 * always go to stderr as well (the daemon keeps a plugin's last stderr to explain a failed launch). Remote
 * debugging never forwards: the daemon drops a debugging plugin's log frames.
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

/** One log line as the protocol carries it (daemon: plugin_entities.PluginLogEvent; timestamp in Unix seconds). */
export interface LogRecord {
  level: 'debug' | 'info' | 'warning' | 'error' | 'fatal';
  message: string;
  timestamp: number;
}

/** pino's numeric levels → the names the daemon maps onto its own levels (control_panel/logger.go). */
const LEVEL_NAMES: Array<[number, LogRecord['level']]> = [
  [60, 'fatal'],
  [50, 'error'],
  [40, 'warning'],
  [30, 'info'],
  [0, 'debug'],
];
/** A log message longer than this is cut: a log frame must never come near the protocol's line limit. */
const MAX_MESSAGE_CHARS = 16_000;
const OMITTED_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Turns one pino JSON line into a protocol log record: `msg`, then the other fields as JSON. */
export function toLogRecord(line: string): LogRecord | undefined {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const levelNumber = typeof parsed.level === 'number' ? parsed.level : 30;
  const level = LEVEL_NAMES.find(([min]) => levelNumber >= min)![1];
  const fields = Object.fromEntries(Object.entries(parsed).filter(([key]) => !OMITTED_KEYS.has(key)));
  const text = typeof parsed.msg === 'string' ? parsed.msg : '';
  let message = Object.keys(fields).length > 0 ? `${text} ${JSON.stringify(fields)}`.trim() : text;
  if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS)}… (cut)`;
  const timestamp = typeof parsed.time === 'number' ? parsed.time / 1000 : Date.now() / 1000;
  return { level, message, timestamp };
}

/** pino's destination: stderr, or the forwarder once one is set (fatal lines to both). */
class LogSink {
  private readonly stderr = pino.destination({ fd: 2, sync: false });
  forwarder: ((record: LogRecord) => void) | undefined;

  write(line: string): void {
    const forward = this.forwarder;
    const record = forward ? toLogRecord(line) : undefined;
    if (!forward || !record) {
      this.stderr.write(line);
      return;
    }
    if (record.level === 'fatal') this.stderr.write(line);
    forward(record);
  }

  /** Writes straight to stderr (the forwarder's own fallback: never back through the logger). */
  writeStderr(line: string): void {
    this.stderr.write(line);
  }

  flush(callback: (error?: Error) => void): void {
    this.stderr.flush(callback);
  }
}

const sink = new LogSink();

export const logger: Logger = pino(
  {
    level: initialLevel(),
    base: { pid: process.pid },
    redact: { paths: REDACTED_KEYS, censor: '[secret]' },
  },
  sink,
);

/**
 * From now on, log lines go to `forward` as protocol log records (undefined: back to stderr). `forward` must not log
 * through this logger; when it cannot send a record it passes the record to {@link logToStderr}.
 */
export function forwardLogs(forward: ((record: LogRecord) => void) | undefined): void {
  sink.forwarder = forward;
}

/** A record that could not be forwarded (the daemon's end of stdout is gone): written to stderr instead. */
export function logToStderr(record: LogRecord, reason: string): void {
  sink.writeStderr(`${JSON.stringify({ level: record.level, time: Math.round(record.timestamp * 1000), msg: record.message, undelivered: reason })}\n`);
}

/** Maps the credential page's log_level (INFO/DEBUG/WARNING/ERROR) onto the logger, without a restart. */
export function applyLogLevel(level: string | undefined): void {
  const map: Record<string, Level> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', WARN: 'warn', ERROR: 'error' };
  const next = level ? map[level.toUpperCase()] : undefined;
  if (next && logger.level !== next) logger.level = next;
}

export type { Logger };
