/**
 * The frames the plugin writes, and the one place that turns a thrown value into a wire error.
 *
 * Shapes (daemon: pkg/entities/plugin_entities/event.go — `PluginUniversalEvent{session_id, event, data}`,
 * `SessionMessage{type, data}` with `data` required, `ErrorResponse{message, error_type, args}` with at most 10 args):
 * - heartbeat: `{"event":"heartbeat","session_id":null,"data":{}}`
 * - stream:    `{"event":"session","session_id":SID,"data":{"type":"stream","data":<payload>}}`
 * - error:     `{"event":"session","session_id":SID,"data":{"type":"error","data":{"error_type","message","args"}}}`
 * - end:       `{"event":"session","session_id":SID,"data":{"type":"end","data":{}}}`
 * - invoke:    `{"event":"session","session_id":SID,"data":{"type":"invoke","data":{"type","backwards_request_id","request"}}}`
 * - log:       `{"event":"log","session_id":null,"data":{"level","message","timestamp"}}` (stdio only: PluginLogEvent)
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { LogRecord } from '../shared/log.js';
import { PluginError, TOOL_INVOKE_ERROR } from './contract.js';

export interface WireError {
  error_type: string;
  message: string;
  args: Record<string, unknown>;
}

export const HEARTBEAT_FRAME = Object.freeze({ event: 'heartbeat', session_id: null, data: Object.freeze({}) });

export function streamFrame(sessionId: string, payload: unknown) {
  return { event: 'session', session_id: sessionId, data: { type: 'stream', data: payload } };
}

export function errorFrame(sessionId: string, error: WireError) {
  return { event: 'session', session_id: sessionId, data: { type: 'error', data: error } };
}

/** A backwards call into Dify made by the session (backwards.ts). */
export function invokeFrame(sessionId: string, call: { type: string; backwards_request_id: string; request: Record<string, unknown> }) {
  return { event: 'session', session_id: sessionId, data: { type: 'invoke', data: call } };
}

export function logFrame(record: LogRecord) {
  return { event: 'log', session_id: null, data: record };
}

export function endFrame(sessionId: string) {
  return { event: 'session', session_id: sessionId, data: { type: 'end', data: {} } };
}

const MAX_ARGS = 10;
const MAX_ARG_CHARS = 2000;
const MAX_MESSAGE_CHARS = 4000;

/** Keeps at most 10 JSON-safe args; long strings are cut, anything that is not plain data is dropped. */
function safeArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args).slice(0, MAX_ARGS)) {
    if (typeof value === 'string') out[key] = value.slice(0, MAX_ARG_CHARS);
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) out[key] = value;
    else {
      try {
        const json = JSON.stringify(value);
        if (json !== undefined && json.length <= MAX_ARG_CHARS) out[key] = JSON.parse(json) as unknown;
      } catch {
        // not plain data: dropped
      }
    }
  }
  return out;
}

/**
 * Maps anything thrown by a handler to the error sent to the daemon.
 * A {@link PluginError} is meant for the user and goes out as is. Anything else may carry internals (SQL, URLs with
 * passwords, stack frames): the daemon gets a generic message with a reference, and the error is handed to `log`
 * so it lands on stderr next to the same reference.
 */
export function toWireError(
  error: unknown,
  fallbackType: string = TOOL_INVOKE_ERROR,
  log: (reference: string, error: unknown) => void = () => {},
): WireError {
  if (error instanceof PluginError) {
    return {
      error_type: error.errorType,
      message: error.message.slice(0, MAX_MESSAGE_CHARS),
      args: safeArgs(error.args),
    };
  }
  const reference = randomUUID().slice(0, 8);
  log(reference, error);
  return {
    error_type: fallbackType,
    message: `internal error in the plugin (reference ${reference}; details are in the plugin log)`,
    args: {},
  };
}

/** Replaces every occurrence of the given secret strings (credential values) with `[secret]`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[secret]');
  }
  return out;
}

/** String credential values worth scrubbing from logs. */
export function secretValues(credentials: Record<string, unknown>): string[] {
  return Object.values(credentials).filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

/** A loggable view of a thrown value with the session's credential values removed from message and stack. */
export function describeError(error: unknown, secrets: readonly string[]): Record<string, unknown> {
  if (error instanceof Error) {
    return {
      type: error.name,
      message: scrubSecrets(error.message, secrets),
      stack: error.stack ? scrubSecrets(error.stack, secrets) : undefined,
    };
  }
  return { type: typeof error, message: scrubSecrets(String(error), secrets) };
}
