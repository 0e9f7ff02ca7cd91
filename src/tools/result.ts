/**
 * What every tool answers: a JSON message `{status, messages, results}` with the full data, a short human text (a
 * summary, not a second copy), and `status`/`messages`/`results` as `variable` messages so workflows can branch on
 * `status`. Every answer fits the protocol's line limit whatever the data: a JSON message that would pass it keeps as
 * many whole results as fit and says `"truncated": true` and how to get the rest; the `results` variable carries at
 * most {@link MAX_RESULTS_VARIABLE_BYTES}. Errors become outcomes here, in one place.
 * @module
 */
import type { Logger } from 'pino';
import { CREDENTIAL_VALIDATION_ERROR, PluginError } from '../runtime/contract.js';
import { describeCause, EngineError, isEngineError, STORE_CODES } from '../shared/errors.js';
import { MAX_OUTPUT_LINE_BYTES } from '../runtime/framing.js';
import type { ToolMessage } from '../runtime/contract.js';
import { TimeoutError, ToolError, ValidationError } from './errors.js';
import { translate } from './i18n.js';
import type { Language, Text } from './i18n.js';

/** PARTIAL_SUCCESS: an extraction task that completed while some of its users failed (check_extraction_status). */
export const STATUSES = ['SUCCESS', 'PARTIAL_SUCCESS', 'NOT_FOUND', 'TIMEOUT', 'OVERLOAD', 'ERROR', 'ACCEPTED'] as const;
export type Status = (typeof STATUSES)[number];

/** The result of one tool run, before rendering. Several texts (e.g. parameter issues) are joined into one line. */
export interface ToolOutcome {
  status: Status;
  results: unknown;
  message: Text | readonly Text[];
  /** Extra lines for the human text message only (e.g. one line per memory found); only the first few are sent. */
  details?: string[];
  /** Where `results` starts in the whole list, for tools that page with an `offset` parameter (get_all_memories). */
  offset?: number;
  /** A file to send before the answer (export_memories): a temporary file, deleted once sent (tools/index.ts). */
  file?: { path: string; name: string; mimeType: string; bytes: number };
  /**
   * What the caller should know although the call worked (a clamped number, an ignored parameter, a fallback).
   * Rendered as the JSON message's top-level `warnings` list, present only when non-empty, and as text lines.
   */
  warnings?: readonly Text[];
  /**
   * With a graph store (Mem0's `relations`): rendered as the JSON message's top-level `relations` and as the
   * `relations` variable; absent without one.
   */
  relations?: unknown;
}

/** Room left in a line for the frame around the JSON message (session id, envelope keys). */
const FRAME_ENVELOPE_BYTES = 16 * 1024;
/** Largest JSON message, in bytes of its JSON text. */
export const MAX_JSON_MESSAGE_BYTES = MAX_OUTPUT_LINE_BYTES - FRAME_ENVELOPE_BYTES;
/** Largest `results` variable: workflows get the first whole results that fit; the JSON message has them all. */
export const MAX_RESULTS_VARIABLE_BYTES = 64 * 1024;
/** The text message: the status line plus at most this many detail lines, each cut at {@link MAX_DETAIL_CHARS}. */
const MAX_DETAIL_LINES = 10;
const MAX_DETAIL_CHARS = 200;

/**
 * THE error → status mapping. Parameter problems are answered (status ERROR), not thrown, so a workflow can branch
 * on them. Unknown errors are logged and answered with their kind and the start of their message, anything
 * secret-looking cut out (their messages may carry connection strings).
 */
export function outcomeFromError(error: unknown, emptyResults: unknown, logger?: Logger): ToolOutcome {
  const answer = (status: Status, message: Text | readonly Text[]): ToolOutcome => ({ status, results: emptyResults, message });
  if (error instanceof ValidationError) return answer('ERROR', error.issues);
  if (error instanceof TimeoutError) return answer('TIMEOUT', error.text);
  if (error instanceof ToolError) return answer('ERROR', error.text);
  if (error instanceof EngineError) {
    const [status, text] = engineAnswer(error);
    return answer(status, text);
  }
  logger?.error({ err: error }, 'tool failed with an unexpected error');
  return answer('ERROR', { key: 'error.unexpected', params: { detail: describeCause(error) } });
}

/** Engine errors are written to be shown (keys and operators, never values, SQL or credentials). */
function engineAnswer(error: EngineError): [Status, Text] {
  const detail = { detail: error.message };
  switch (error.code) {
    case 'not_found':
      // A not-found message already says so: shown as it is, never behind a second "not found:".
      return ['NOT_FOUND', error.missing ? { key: `not_found.${error.missing.what}`, params: { id: error.missing.id } } : { key: 'format.detail', params: detail }];
    case 'timeout':
      return ['TIMEOUT', { key: 'error.timed_out', params: detail }];
    case 'overload':
      return ['OVERLOAD', { key: 'error.overload', params: { pending: error.load?.pending ?? 0, limit: error.load?.limit ?? 0 } }];
    case 'credentials':
      // Written to be shown: they name the credential field, never a secret value.
      return ['ERROR', { key: 'error.credentials', params: detail }];
    case 'unavailable':
      // The database down or refusing us at call time: the credential check's words, naming the field.
      if (error.field) return ['ERROR', { key: 'error.database', params: detail }];
      return ['ERROR', { key: 'error.store', params: detail }];
    case 'invalid_params':
    case 'validation':
      return ['ERROR', error.field ? { key: 'param.invalid', params: { name: error.field, detail: error.message } } : { key: 'error.invalid_request', params: detail }];
    default:
      return ['ERROR', { key: STORE_CODES.has(error.code) ? 'error.store' : 'error.engine', params: detail }];
  }
}

/**
 * What the daemon is told when credential validation fails: the engine's `credentials` error becomes the daemon's
 * credential error naming the field; anything else passes unchanged.
 */
export function wireError(error: unknown): unknown {
  if (isEngineError(error, 'credentials')) {
    return new PluginError(CREDENTIAL_VALIDATION_ERROR, error.message, error.field ? { field: error.field } : {});
  }
  return error;
}

function isTextList(message: Text | readonly Text[]): message is readonly Text[] {
  return Array.isArray(message);
}

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** How many of `items`, from the first, fit in `budget` bytes as JSON array elements (comma included). */
function wholeItemsWithin(items: readonly unknown[], budget: number): number {
  let used = 0;
  for (let i = 0; i < items.length; i += 1) {
    used += bytesOf(items[i]) + 1;
    if (used > budget) return i;
  }
  return items.length;
}

/** Renders an outcome as the messages Dify receives, in the request's language. */
export function buildMessages(tool: string, outcome: ToolOutcome, language: Language): ToolMessage[] {
  const texts: Text[] = [...(isTextList(outcome.message) ? outcome.message : [outcome.message])];
  let results = outcome.results;
  let page: { truncated: true; next_offset?: number } | undefined;
  if (Array.isArray(results) && bytesOf({ status: outcome.status, messages: '', results }) > MAX_JSON_MESSAGE_BYTES) {
    // Whole results only, leaving room for the status line and the note added below.
    const kept = wholeItemsWithin(results, MAX_JSON_MESSAGE_BYTES - 8 * 1024);
    results = results.slice(0, kept);
    if (outcome.offset !== undefined) {
      page = { truncated: true, next_offset: outcome.offset + kept };
      texts.push({ key: 'format.truncated_offset', params: { shown: kept, next: outcome.offset + kept } });
    } else {
      page = { truncated: true };
      texts.push({ key: 'format.truncated', params: { shown: kept } });
    }
  }
  let variableResults = results;
  if (Array.isArray(results) && bytesOf(results) > MAX_RESULTS_VARIABLE_BYTES) {
    variableResults = results.slice(0, wholeItemsWithin(results, MAX_RESULTS_VARIABLE_BYTES));
    texts.push({ key: 'format.results_variable_cut', params: { shown: (variableResults as unknown[]).length, total: results.length } });
  }
  const separator = translate(language, { key: 'format.list_separator' });
  const message = texts.map((text) => translate(language, text)).join(separator);
  const messages = translate(language, { key: 'format.tool_message', params: { tool, message } });
  const warnings = (outcome.warnings ?? []).map((text) => translate(language, text));
  const json = {
    status: outcome.status, messages, results, ...page, ...(outcome.relations !== undefined && { relations: outcome.relations }),
    ...(warnings.length > 0 && { warnings }),
  };
  const warningLines = warnings.map((warning) => translate(language, { key: 'format.warning_line', params: { warning } }));
  return [
    { type: 'json', message: { json_object: json }, meta: null },
    { type: 'text', message: { text: summary([messages, ...warningLines].join('\n'), outcome.details ?? [], language) }, meta: null },
    variable('status', json.status),
    variable('messages', json.messages),
    variable('results', variableResults),
    ...(outcome.relations !== undefined ? [variable('relations', outcome.relations)] : []),
  ];
}

/** The text message: the status line and the first few detail lines, each short; the JSON output has the rest. */
function summary(messages: string, details: readonly string[], language: Language): string {
  const cut = (line: string) => (line.length > MAX_DETAIL_CHARS ? `${line.slice(0, MAX_DETAIL_CHARS - 1)}…` : line);
  const lines = [messages, ...details.slice(0, MAX_DETAIL_LINES).map(cut)];
  if (details.length > MAX_DETAIL_LINES) {
    lines.push(translate(language, { key: 'format.more_lines', params: { count: details.length - MAX_DETAIL_LINES } }));
  }
  return lines.join('\n');
}

function variable(name: string, value: unknown): ToolMessage {
  return { type: 'variable', message: { variable_name: name, variable_value: value, stream: false }, meta: null };
}
