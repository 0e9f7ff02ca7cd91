/**
 * The shape of a tool module and the zod building blocks tools share (ids, UUIDs, JSON objects, counts, timeouts).
 * Every rule reports a translatable issue naming the parameter, e.g. `memory_id must be a UUID, got "abc"`.
 * @module
 */
import { z } from 'zod';
import type { SessionContext } from '../runtime/contract.js';
import type { Settings } from '../memory/config/settings.js';
import { showValue } from './coerce.js';
import { ValidationError } from './errors.js';
import type { Text } from './i18n.js';
import type { ToolOutcome } from './result.js';
import type { CallScope, MemoryServices } from '../memory/api.js';
import { UUID } from '../shared/ids.js';

/** Seconds a read or write may take when the caller gives no `timeout` (the seed's code default), and the ceiling. */
export const DEFAULT_TIMEOUT_SECONDS = 15;
export const MAX_TIMEOUT_SECONDS = 60;

export interface ToolContext {
  services: MemoryServices;
  settings: Settings;
  session: SessionContext;
}

/** One tool: its zod schema (keys = the YAML's parameter names), what "no results" looks like, and the handler. */
export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  schema: z.ZodObject<Shape>;
  /** `results` when the tool fails: `[]` for list tools, `{}` for single-object tools. */
  emptyResults: () => unknown;
  /** Parameters that fall back to their default when malformed instead of failing (the seed's `timeout` rule). */
  lenient?: readonly string[];
  /** Required text parameters whose given blank value reaches the handler instead of failing as missing. */
  keepBlank?: readonly string[];
  /** Deletes or overwrites memories: a parameter it does not declare is refused (nothing done), not ignored. */
  destructive?: boolean;
  run(input: z.output<z.ZodObject<Shape>>, context: ToolContext): Promise<ToolOutcome>;
}

export function defineTool<Shape extends z.ZodRawShape>(definition: ToolDefinition<Shape>): ToolDefinition<Shape> {
  return definition;
}

/** Runs a tool's schema over the coerced parameters. @throws ValidationError naming each bad parameter. */
export function parseInput<Shape extends z.ZodRawShape>(schema: z.ZodObject<Shape>, values: Record<string, unknown>): z.output<z.ZodObject<Shape>> {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  throw new ValidationError(parsed.error.issues.map(issueText));
}

function issueText(issue: z.core.$ZodIssue): Text {
  const name = issue.path.map(String).join('.') || 'parameters';
  if (issue.code === 'custom' && typeof issue.params?.key === 'string') {
    const { key, ...params } = issue.params as { key: string } & Record<string, string | number>;
    return { key, params: { ...params, name } };
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return { key: 'param.required', params: { name } };
  return { key: 'param.invalid', params: { name, detail: issue.message } };
}

/** A failed rule: the i18n key and its values (`name` is filled in from the issue's path). */
class Bad {
  constructor(
    readonly key: string,
    readonly params: Record<string, string | number> = {},
  ) {}
}

function rule<In, Out>(base: z.ZodType<In>, check: (value: In) => Out | Bad) {
  return base.transform((value, context): Out => {
    const result = check(value);
    if (!(result instanceof Bad)) return result;
    context.addIssue({ code: 'custom', input: value, params: { key: result.key, ...result.params } });
    return z.NEVER;
  });
}

const MAX_ID_LENGTH = 255;

function trimmedId(value: string): string | Bad {
  const id = value.trim();
  if (id === '') return new Bad('param.required');
  return id.length > MAX_ID_LENGTH ? new Bad('param.too_long', { max: MAX_ID_LENGTH }) : id;
}

/** A required identifier (user_id, app_id, task_id): trimmed, at most 255 characters. */
export const id = () => rule(z.string(), trimmedId);

/** An optional identifier (agent_id, run_id, app_id): trimmed; empty means not given. */
export const optionalId = () => rule(z.string().optional(), (value) => (value === undefined || value.trim() === '' ? undefined : trimmedId(value)));

/**
 * Length caps on free text. They keep requests within what the providers accept (an embedding input is at most
 * 8192 tokens) and keep work bounded: the store's keyword tokeniser (Intl.Segmenter) slows down faster than
 * linearly with the text's length and runs on the event loop, so a 1 MB query would stall the plugin for minutes.
 */
export const MAX_MESSAGE_LENGTH = 100_000;
/** A search query or a memory's text. */
export const MAX_SHORT_TEXT_LENGTH = 10_000;
/** metadata / filters given as JSON text. */
export const MAX_JSON_LENGTH = 100_000;

function capped(value: string, max: number): string | Bad {
  return value.length > max ? new Bad('param.too_long', { max }) : value;
}

/** Free text the user wrote (messages, queries): kept as given, must not be only whitespace, at most `max` long. */
export const text = (max = MAX_SHORT_TEXT_LENGTH) => rule(z.string(), (value) => (value.trim() === '' ? new Bad('param.required') : capped(value, max)));
export const optionalText = (max = MAX_SHORT_TEXT_LENGTH) => rule(z.string().optional(), (value) => (value?.trim() ? capped(value, max) : undefined));
/** Text that may be given blank (the handler decides what blank means), at most `max` long. */
export const blankableText = (max = MAX_SHORT_TEXT_LENGTH) => rule(z.string(), (value) => capped(value, max));

/** Longest secret accepted (API keys are far shorter; a huge one is a mistake, not a key). */
const MAX_SECRET_LENGTH = 4096;

/** A secret (an API key): trimmed, required, bounded; never shown in messages. */
export const secret = () =>
  rule(z.string(), (value) => (value.trim() === '' ? new Bad('param.required') : capped(value.trim(), MAX_SECRET_LENGTH)));

/** A memory id: a UUID in any case, returned lower-case. */
export const uuid = () => rule(z.string(), (value) => (UUID.test(value.trim()) ? value.trim().toLowerCase() : new Bad('param.uuid', { value: showValue(value) })));

/** A queued write's id (`job_id` of an async answer): a UUID in any case, returned lower-case. */
export const jobId = () => rule(z.string(), (value) => (UUID.test(value.trim()) ? value.trim().toLowerCase() : new Bad('param.job_id', { value: showValue(value) })));

/** An optional JSON object given as text (metadata, filters); empty text and `{}` mean not given. */
export const jsonObject = () =>
  rule(z.string().optional(), (value): Record<string, unknown> | undefined | Bad => {
    if (value === undefined || value.trim() === '') return undefined;
    if (value.length > MAX_JSON_LENGTH) return new Bad('param.too_long', { max: MAX_JSON_LENGTH });
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return new Bad('param.json', { value: showValue(value) });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return new Bad('param.json_object', { value: showValue(parsed) });
    return Object.keys(parsed).length === 0 ? undefined : (parsed as Record<string, unknown>);
  });

/**
 * A whole number (top_k, limit, days_back, …): the default when not given. Its bounds are the YAML declaration's
 * `min` and `max`, applied before the schema by coerce.ts (below min: ERROR; above max: clamped with a warning).
 */
export const count = (fallback: number) =>
  rule(z.number().optional(), (value) => {
    if (value === undefined) return fallback;
    return Number.isInteger(value) ? value : new Bad('param.integer', { value: showValue(value) });
  });

/** An optional number in [min, max] (a score threshold): undefined when not given; outside the range is an error. */
export const bounded = (min: number, max: number) =>
  rule(z.number().optional(), (value) =>
    value === undefined || (value >= min && value <= max) ? value : new Bad('param.range', { min, max, value: showValue(value) }));

/**
 * `timeout` in seconds: not given or 0 → the default. Its bounds (0–60) are the declaration's, applied by coerce.ts;
 * the cap here only guards callers that bypass the declaration. (Malformed text is lenient, with a warning.)
 */
export const timeout = (fallback = DEFAULT_TIMEOUT_SECONDS) =>
  rule(z.number().optional(), (value) => (value === undefined || !(value > 0) ? fallback : Math.min(value, MAX_TIMEOUT_SECONDS)));

/**
 * A workspace model picked in the workflow node (`llm_model`, `rerank_model`): read and checked by dispatch.ts before
 * the handler runs (it becomes part of the call's settings), so the handler itself never uses it.
 */
export const nodeModel = () => z.unknown().optional();
export const flag = (fallback: boolean) => rule(z.boolean().optional(), (value) => value ?? fallback);

/** `user_ids`: a JSON array (`["a","b"]`) or a list split by commas (also `，`), semicolons or new lines; deduplicated. */
export const userIdList = () =>
  rule(z.string(), (value): string[] | Bad => {
    const listed = value.trim();
    let items: unknown[];
    if (listed.startsWith('[') || listed.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(listed);
      } catch {
        return new Bad('param.json', { value: showValue(value) });
      }
      if (!Array.isArray(parsed)) return new Bad('param.user_ids');
      items = parsed;
    } else {
      items = listed.split(/[,，;；\n]/);
    }
    if (items.some((item) => typeof item !== 'string' && typeof item !== 'number')) return new Bad('param.user_ids');
    const ids = [...new Set(items.map((item) => String(item).trim()).filter((item) => item !== ''))];
    if (ids.length === 0) return new Bad('param.user_ids');
    return ids.some((item) => item.length > MAX_ID_LENGTH) ? new Bad('param.too_long', { max: MAX_ID_LENGTH }) : ids;
  });

/** The Dify Service API base: an http(s) URL whose path ends in `/v1` (a trailing slash is dropped). */
export const difyBaseUrl = () =>
  rule(z.string(), (value) => {
    const trimmed = value.trim().replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      return new Bad('param.url', { value: showValue(value) });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return new Bad('param.url', { value: showValue(value) });
    // user:password@host would put a secret into logs and task records.
    if (url.username || url.password) return new Bad('param.url_credentials');
    return url.pathname.endsWith('/v1') ? trimmed : new Bad('param.url_v1', { value: showValue(value) });
  });

/** The scope fields most memory tools share. */
export function scopeOf(input: { user_id: string; agent_id?: string | undefined; run_id?: string | undefined }): CallScope {
  return { userId: input.user_id, agentId: input.agent_id, runId: input.run_id };
}
