/**
 * A small client for the two Dify Service API endpoints long-term extraction reads: a user's conversations and a
 * conversation's messages. Every HTTP attempt has a deadline; 429, 5xx, timeouts and connection failures are retried
 * with exponential backoff and jitter (a `Retry-After` header wins); 401/403 and 404 fail at once with typed errors.
 * The API key only ever goes into the Authorization header: it is never logged and is scrubbed from error texts.
 *
 * Facts about the API (langgenius/dify, api/controllers/service_api/app/conversation.py and message.py):
 * - `GET /conversations?user=&last_id=&limit=&sort_by=` → `{limit, has_more, data: [{id, name, inputs, status,
 *   introduction, created_at, updated_at}]}`; `limit` is 1–100; `last_id` returns the conversations after that one in
 *   the sort order (strictly older `updated_at` for `-updated_at`); an unknown `last_id` is a 404.
 * - `GET /messages?user=&conversation_id=&first_id=&limit=` → `{limit, has_more, data: [{id, conversation_id, query,
 *   answer, created_at, ...}]}`; without `first_id` the newest `limit` messages, with it the newest `limit` messages
 *   created strictly before that message; each page is in chronological order; `has_more` means older ones exist.
 * - Times are Unix seconds. Errors are `{code, message, status}`.
 * @module
 */
import { z } from 'zod';
import type { Logger } from 'pino';

/** Raised for a bad `dify_base_url` before any request is made. */
export class DifyConfigError extends Error {
  override readonly name = 'DifyConfigError';
}

/** Base of every failure of a Dify call. `status` is the HTTP status when there was a response. */
export class DifyError extends Error {
  override readonly name: string = 'DifyError';
  constructor(
    message: string,
    readonly status: number | undefined,
    /** Dify's own error `code` (e.g. `unauthorized`, `not_found`), when the body had one. */
    readonly difyCode: string | undefined,
  ) {
    super(message);
  }
}

/** 401 or 403: the key is wrong, revoked, or the app's API is disabled. Fails the user, never retried. */
export class DifyAuthError extends DifyError {
  override readonly name = 'DifyAuthError';
}

/** 404: the conversation, the paging anchor (`first_id`/`last_id`) or the route does not exist. */
export class DifyNotFoundError extends DifyError {
  override readonly name = 'DifyNotFoundError';
}

/** Everything else: other 4xx, 5xx/429 after the last retry, timeouts, connection failures, malformed bodies. */
export class DifyUpstreamError extends DifyError {
  override readonly name = 'DifyUpstreamError';
  constructor(
    message: string,
    status: number | undefined,
    difyCode: string | undefined,
    readonly reason: 'status' | 'timeout' | 'network' | 'bad_response',
    /** The server's `Retry-After`, in milliseconds, when it sent one. */
    readonly retryAfterMs?: number | undefined,
  ) {
    super(message, status, difyCode);
  }
}

export interface DifyConversation {
  id: string;
  name: string;
  status: string;
  /** Unix seconds. */
  created_at: number;
  /** Unix seconds; moves when a message is added. */
  updated_at: number;
}

export interface DifyMessage {
  id: string;
  conversation_id: string;
  /** What the end user wrote. */
  query: string;
  /** What the app answered. */
  answer: string;
  /** Unix seconds. */
  created_at: number;
}

export interface DifyPage<T> {
  limit: number;
  has_more: boolean;
  data: T[];
}

/** Dify allows 1–100 items per page on both endpoints. */
export const DIFY_MAX_PAGE = 100;

const text = z.string().nullish().transform((v) => v ?? '');
const seconds = z.number().finite().nonnegative();
const conversationSchema = z.object({
  id: z.string().min(1),
  name: text,
  status: text,
  created_at: seconds,
  updated_at: seconds,
});
const messageSchema = z.object({
  id: z.string().min(1),
  conversation_id: z.string().min(1),
  query: text,
  answer: text,
  created_at: seconds,
});
const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ limit: z.number().int(), has_more: z.boolean(), data: z.array(item) });
const conversationPage = pageOf(conversationSchema);
const messagePage = pageOf(messageSchema);
const errorBody = z.object({ code: z.string().optional(), message: z.string().optional() });

/**
 * Checks and normalises `dify_base_url`: http(s), no credentials in the URL, path ending in `/v1` (one trailing
 * slash tolerated). Returns the URL without the trailing slash.
 */
export function normalizeDifyBaseUrl(raw: string): string {
  const trimmed = raw.trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new DifyConfigError('dify_base_url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DifyConfigError('dify_base_url must start with http:// or https://');
  }
  if (url.username || url.password) throw new DifyConfigError('dify_base_url must not contain a user name or password');
  if (url.search || url.hash) throw new DifyConfigError('dify_base_url must not contain a query or fragment');
  if (!url.pathname.endsWith('/v1')) {
    throw new DifyConfigError(`dify_base_url must end with /v1 (the Service API root), got path '${url.pathname}'`);
  }
  return trimmed;
}

export interface DifyClientOptions {
  /** `dify_base_url` (validated by {@link normalizeDifyBaseUrl}). */
  baseUrl: string;
  /** The app's Service API key. */
  apiKey: string;
  /** Deadline of one HTTP attempt. Default 15 s. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt for transient failures. Default 3. */
  retries?: number | undefined;
  /** First backoff delay; doubles each retry. Default 500 ms. */
  backoffBaseMs?: number | undefined;
  /** Cap of one backoff delay, also of a honoured `Retry-After`. Default 10 s. */
  backoffMaxMs?: number | undefined;
  logger?: Pick<Logger, 'debug' | 'warn'> | undefined;
  /** Test seams. */
  fetch?: typeof fetch | undefined;
  random?: (() => number) | undefined;
}

/** Counters for the benchmark ("Dify API calls per processed message") and task reports. */
export interface DifyClientStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Of those, repeats after a transient failure. */
  retries: number;
  conversationPages: number;
  messagePages: number;
}

export interface ListConversationsParams {
  user: string;
  lastId?: string | null | undefined;
  limit?: number | undefined;
}

export interface ListMessagesParams {
  user: string;
  conversationId: string;
  firstId?: string | null | undefined;
  limit?: number | undefined;
}

const RETRYABLE_STATUS = (status: number) => status === 429 || status >= 500;
const MAX_ERROR_BODY = 4096;

export class DifyClient {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #log: Pick<Logger, 'debug' | 'warn'> | undefined;
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  readonly #stats: DifyClientStats = { requests: 0, retries: 0, conversationPages: 0, messagePages: 0 };

  constructor(options: DifyClientOptions) {
    this.baseUrl = normalizeDifyBaseUrl(options.baseUrl);
    if (!options.apiKey.trim()) throw new DifyConfigError('dify_api_key is empty');
    this.#apiKey = options.apiKey.trim();
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#retries = Math.max(0, options.retries ?? 3);
    this.#backoffBaseMs = options.backoffBaseMs ?? 500;
    this.#backoffMaxMs = options.backoffMaxMs ?? 10_000;
    this.#log = options.logger;
    this.#fetch = options.fetch ?? fetch;
    this.#random = options.random ?? Math.random;
  }

  stats(): DifyClientStats {
    return { ...this.#stats };
  }

  /** One page of the user's conversations, most recently updated first. */
  async listConversations(params: ListConversationsParams, signal?: AbortSignal): Promise<DifyPage<DifyConversation>> {
    const query: Record<string, string> = {
      user: params.user,
      limit: String(pageLimit(params.limit)),
      sort_by: '-updated_at',
    };
    if (params.lastId) query.last_id = params.lastId;
    const body = await this.#get('/conversations', query, signal);
    this.#stats.conversationPages += 1;
    return parseBody(conversationPage, body, '/conversations');
  }

  /** One page of a conversation's messages (chronological within the page); `firstId` pages to older ones. */
  async listMessages(params: ListMessagesParams, signal?: AbortSignal): Promise<DifyPage<DifyMessage>> {
    const query: Record<string, string> = {
      user: params.user,
      conversation_id: params.conversationId,
      limit: String(pageLimit(params.limit)),
    };
    if (params.firstId) query.first_id = params.firstId;
    const body = await this.#get('/messages', query, signal);
    this.#stats.messagePages += 1;
    return parseBody(messagePage, body, '/messages');
  }

  async #get(path: string, query: Record<string, string>, signal: AbortSignal | undefined): Promise<unknown> {
    const url = `${this.baseUrl}${path}?${new URLSearchParams(query).toString()}`;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      let failure: DifyUpstreamError;
      let retryAfterMs: number | undefined;
      try {
        return await this.#attempt(url, path, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (!(error instanceof DifyUpstreamError) || !isTransient(error)) throw error;
        failure = error;
        retryAfterMs = error.retryAfterMs;
      }
      if (attempt >= this.#retries) throw failure;
      const delay = this.#delay(attempt, retryAfterMs);
      this.#stats.retries += 1;
      this.#log?.debug({ path, status: failure.status, reason: failure.reason, attempt: attempt + 1, delayMs: delay }, 'dify call retried');
      await sleep(delay, signal);
    }
  }

  async #attempt(url: string, path: string, signal: AbortSignal | undefined): Promise<unknown> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    this.#stats.requests += 1;
    let response: Response;
    let raw: string;
    try {
      response = await this.#fetch(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' },
        signal: combined,
      });
      raw = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (deadline.aborted) {
        throw new DifyUpstreamError(`Dify ${path} did not answer within ${this.#timeoutMs} ms`, undefined, undefined, 'timeout');
      }
      throw new DifyUpstreamError(`Dify ${path} could not be reached: ${this.#scrub(describe(error))}`, undefined, undefined, 'network');
    }
    if (response.ok) {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new DifyUpstreamError(`Dify ${path} answered ${response.status} with a body that is not JSON`, response.status, undefined, 'bad_response');
      }
    }
    throw this.#statusError(path, response, raw);
  }

  #statusError(path: string, response: Response, raw: string): DifyError {
    const status = response.status;
    const parsed = errorBody.safeParse(safeJson(raw.slice(0, MAX_ERROR_BODY)));
    const difyCode = parsed.success ? parsed.data.code : undefined;
    const said = parsed.success && parsed.data.message ? `: ${this.#scrub(parsed.data.message).slice(0, 300)}` : '';
    if (status === 401 || status === 403) {
      return new DifyAuthError(
        `Dify rejected the API key for ${path} (HTTP ${status}${difyCode ? ` ${difyCode}` : ''}${said}); check dify_api_key and that the app's API access is enabled`,
        status,
        difyCode,
      );
    }
    if (status === 404) return new DifyNotFoundError(`Dify ${path} answered 404${said}`, status, difyCode);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
    return new DifyUpstreamError(`Dify ${path} answered HTTP ${status}${said}`, status, difyCode, 'status', retryAfterMs);
  }

  #delay(attempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.#backoffMaxMs);
    const ceiling = Math.min(this.#backoffBaseMs * 2 ** attempt, this.#backoffMaxMs);
    // "Equal jitter": at least half the step, so retries never pile up at zero delay.
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  /** The key must never leave through an error text, even if a proxy echoes it back. */
  #scrub(message: string): string {
    return message.split(this.#apiKey).join('[secret]');
  }
}

function isTransient(error: DifyUpstreamError): boolean {
  if (error.reason === 'timeout' || error.reason === 'network') return true;
  return error.reason === 'status' && error.status !== undefined && RETRYABLE_STATUS(error.status);
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DIFY_MAX_PAGE;
  return Math.min(DIFY_MAX_PAGE, Math.max(1, Math.trunc(limit)));
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, path: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected shape';
  throw new DifyUpstreamError(`Dify ${path} answered with an unexpected body (${where})`, 200, undefined, 'bad_response');
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : '';
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** `Retry-After` as seconds or an HTTP date → milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
