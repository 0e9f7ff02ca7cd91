/**
 * Which failures are worth another attempt. Transient: provider timeouts, 429/5xx, network failures, lost or
 * restarted database connections, serialization/deadlock aborts, cancelled statements. Permanent: bad parameters,
 * a provider's 4xx (bad key, bad request), a memory that no longer exists, invalid data. An error we do not know is
 * treated as transient: the retry limit still bounds it, and a lost write would be worse than a few extra attempts.
 * @module
 */
import { EngineError } from '../../shared/errors.js';
import type { JobError } from './queue.js';

/** SQLSTATE classes and codes after which the same statement may well succeed. */
const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-3]|57014|40001|40P01|55P03|58)/;

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

const TRANSIENT_MESSAGE = /connection terminated|connection (?:is )?(?:closed|lost)|timeout exceeded when trying to connect|terminating connection|server closed the connection|Client has encountered a connection error|Query read timeout/i;

/** Longest error message kept with a job. */
const MAX_MESSAGE = 500;

export function classifyError(error: unknown): JobError {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_MESSAGE);
  if (error instanceof EngineError) {
    return { code: error.code, message, retryable: error.retryable, status: error.status };
  }
  if (error instanceof EngineError) {
    return { code: error.code, message, retryable: error.code === 'unavailable' };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // Node's codes first: EPIPE has the shape of a SQLSTATE (five capitals) but is a dropped connection.
    if (TRANSIENT_NODE_CODES.has(code)) return { code: code.toLowerCase(), message, retryable: true };
    if (/^[0-9A-Z]{5}$/.test(code)) return { code: `sql_${code}`, message, retryable: TRANSIENT_SQLSTATE.test(code) };
  }
  if (TRANSIENT_MESSAGE.test(message)) return { code: 'connection', message, retryable: true };
  return { code: 'unknown', message, retryable: true };
}

/** A database failure that says nothing about the job itself (the database is unreachable or restarting). */
export function isConnectionError(error: unknown): boolean {
  const c = classifyError(error);
  return c.retryable && (c.code === 'connection' || c.code.startsWith('sql_08') || c.code.startsWith('sql_57P0') || TRANSIENT_NODE_CODES.has(c.code.toUpperCase()));
}
