/**
 * What every tool answers: a JSON message `{status, messages, results}`, a short human text, and the same three
 * values as `variable` messages so workflows can branch on `status`. Errors become outcomes here, in one place.
 * @module
 */
import type { Logger } from 'pino';
import { PluginError } from '../runtime/contract.js';
import { EngineError } from '../errors.js';
import { StoreError } from '../store/errors.js';
import type { ToolMessage } from '../runtime/contract.js';
import { NotBuiltError, NotFoundError, OverloadError, TimeoutError, ToolError, UpstreamError, ValidationError } from './errors.js';
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
}

/**
 * THE error → status mapping. Parameter problems are answered (status ERROR), not thrown, so a workflow can branch
 * on them. Unknown errors are logged and answered with a generic text: their messages may carry connection strings.
 */
export function outcomeFromError(error: unknown, emptyResults: unknown, logger?: Logger): ToolOutcome {
  const answer = (status: Status, message: Text | readonly Text[]): ToolOutcome => ({ status, results: emptyResults, message });
  if (error instanceof ValidationError) return answer('ERROR', error.issues);
  if (error instanceof NotFoundError) return answer('NOT_FOUND', error.text);
  if (error instanceof TimeoutError) return answer('TIMEOUT', error.text);
  if (error instanceof OverloadError) return answer('OVERLOAD', error.text);
  if (error instanceof UpstreamError || error instanceof NotBuiltError || error instanceof ToolError) return answer('ERROR', error.text);
  // Engine and store errors are written to be shown (keys and operators, never values, SQL or credentials).
  if (error instanceof EngineError) {
    const detail = { detail: error.message };
    if (error.code === 'not_found') return answer('NOT_FOUND', { key: 'error.not_found_detail', params: detail });
    if (error.code === 'timeout') return answer('TIMEOUT', { key: 'error.timed_out', params: detail });
    return answer('ERROR', { key: error.code === 'invalid_params' ? 'error.invalid_request' : 'error.engine', params: detail });
  }
  if (error instanceof StoreError) {
    const detail = { detail: error.message };
    if (error.code === 'not_found') return answer('NOT_FOUND', { key: 'error.not_found_detail', params: detail });
    return answer('ERROR', { key: error.code === 'validation' ? 'error.invalid_request' : 'error.store', params: detail });
  }
  // Our own PluginErrors (credential parsing) carry messages written to be shown, never secret values.
  if (error instanceof PluginError) return answer('ERROR', { key: 'error.credentials', params: { detail: error.message } });
  logger?.error({ err: error }, 'tool failed with an unexpected error');
  return answer('ERROR', { key: 'error.unexpected' });
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
  const json = { status: outcome.status, messages, results: outcome.results };
  return [
    { type: 'json', message: { json_object: json }, meta: null },
    { type: 'text', message: { text: [messages, ...(outcome.details ?? [])].join('\n') }, meta: null },
    variable('status', json.status),
    variable('messages', json.messages),
    variable('results', json.results),
  ];
}

function variable(name: string, value: unknown): ToolMessage {
  return { type: 'variable', message: { variable_name: name, variable_value: value, stream: false }, meta: null };
}
