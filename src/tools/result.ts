/**
 * What every tool answers: a JSON message `{status, messages, results}`, a short human text, and the same three
 * values as `variable` messages so workflows can branch on `status`. Errors become outcomes here, in one place.
 * @module
 */
import type { Logger } from 'pino';
import { CREDENTIAL_VALIDATION_ERROR, PluginError } from '../runtime/contract.js';
import { EngineError, isEngineError, STORE_CODES } from '../errors.js';
import type { ToolMessage } from '../runtime/contract.js';
import { TimeoutError, ToolError, ValidationError } from './errors.js';
import { translate } from './i18n.js';
import type { Language, Text } from './i18n.js';

export const STATUSES = ['SUCCESS', 'NOT_FOUND', 'TIMEOUT', 'OVERLOAD', 'ERROR', 'ACCEPTED'] as const;
export type Status = (typeof STATUSES)[number];

/** The result of one tool run, before rendering. Several texts (e.g. parameter issues) are joined into one line. */
export interface ToolOutcome {
  status: Status;
  results: unknown;
  message: Text | readonly Text[];
  /** Extra lines for the human text message only (e.g. one line per memory found). */
  details?: string[];
  /** A file to send before the answer (export_memories): a temporary file, deleted once sent (tools/index.ts). */
  file?: { path: string; name: string; mimeType: string; bytes: number };
  /**
   * What the caller should know although the call worked (a fallback). Rendered as the JSON message's top-level
   * `warnings` list, present only when non-empty, and as text lines.
   */
  warnings?: readonly Text[];
}

/**
 * THE error → status mapping. Parameter problems are answered (status ERROR), not thrown, so a workflow can branch
 * on them. Unknown errors are logged and answered with a generic text: their messages may carry connection strings.
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
  return answer('ERROR', { key: 'error.unexpected' });
}

/** Engine errors are written to be shown (keys and operators, never values, SQL or credentials). */
function engineAnswer(error: EngineError): [Status, Text] {
  const detail = { detail: error.message };
  switch (error.code) {
    case 'not_found':
      return ['NOT_FOUND', error.missing ? { key: `not_found.${error.missing.what}`, params: { id: error.missing.id } } : { key: 'error.not_found_detail', params: detail }];
    case 'timeout':
      return ['TIMEOUT', { key: 'error.timed_out', params: detail }];
    case 'overload':
      return ['OVERLOAD', { key: 'error.overload', params: { pending: error.load?.pending ?? 0, limit: error.load?.limit ?? 0 } }];
    case 'credentials':
      // Written to be shown: they name the credential field, never a secret value.
      return ['ERROR', { key: 'error.credentials', params: detail }];
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

/** Renders an outcome as the messages Dify receives, in the request's language. */
export function buildMessages(tool: string, outcome: ToolOutcome, language: Language): ToolMessage[] {
  const texts = isTextList(outcome.message) ? outcome.message : [outcome.message];
  const separator = translate(language, { key: 'format.list_separator' });
  const message = texts.map((text) => translate(language, text)).join(separator);
  const messages = translate(language, { key: 'format.tool_message', params: { tool, message } });
  const warnings = (outcome.warnings ?? []).map((text) => translate(language, text));
  const json = { status: outcome.status, messages, results: outcome.results, ...(warnings.length > 0 && { warnings }) };
  return [
    { type: 'json', message: { json_object: json }, meta: null },
    { type: 'text', message: { text: [messages, ...warnings, ...(outcome.details ?? [])].join('\n') }, meta: null },
    variable('status', json.status),
    variable('messages', json.messages),
    variable('results', json.results),
  ];
}

function variable(name: string, value: unknown): ToolMessage {
  return { type: 'variable', message: { variable_name: name, variable_value: value, stream: false }, meta: null };
}
