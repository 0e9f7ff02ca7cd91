/**
 * The one error family below the tools: store/, memory/ and jobs/ throw {@link EngineError}, never a wire error or a
 * tool error. `code` says what went wrong in a way src/tools/result.ts maps to a status and a message in one place
 * (invalid_params → ERROR with a clear message, not_found → NOT_FOUND, timeout → TIMEOUT, overload → OVERLOAD, …) and
 * the credential check maps to the daemon's credential error. Messages never contain credentials, values or SQL:
 * provider errors are summarised, not echoed with their request.
 * @module
 */

export type EngineErrorCode =
  /** A parameter is missing or malformed (bad UUID, empty user_id, metadata not an object…). */
  | 'invalid_params'
  /** The memory (task, checkpoint) does not exist (in that scope). */
  | 'not_found'
  /** A provider block cannot be turned into a client (unknown provider, missing field). */
  | 'config'
  /** The configured provider needs an npm package this build does not include. */
  | 'missing_package'
  /** The provider answered with an error (HTTP status kept in `status` when there is one). */
  | 'upstream'
  /** A provider call or an operation ran out of time (or was aborted). */
  | 'timeout'
  /** The LLM's answer was not the JSON we asked for, even after one repair and one retry. */
  | 'llm_output'
  /** Too much pending work: the request was refused and nothing was queued (`load` says how much). */
  | 'overload'
  /** The plugin's credentials cannot be used (`field` names the credential at fault). */
  | 'credentials'
  /** Store: a value the store will not keep (text not a string, bad identifier, bad filter). */
  | 'validation'
  /** Store: the vector store or database configuration is unusable (or the build lacks its package). */
  | 'store_config'
  /** Store: the collection's migrations do not match this version. */
  | 'migration'
  /** Store: the database or vector store cannot be reached. */
  | 'unavailable';

/** The codes the store raises: a tool shows them as a storage failure rather than an engine one. */
export const STORE_CODES: ReadonlySet<EngineErrorCode> = new Set(['validation', 'store_config', 'migration', 'unavailable']);

export type ProviderRole = 'llm' | 'embedder' | 'reranker';

/** What a not_found error can be about; each has its own translated message (`not_found.<what>`). */
export type MissingThing = 'memory' | 'task' | 'checkpoint' | 'job';

export interface EngineErrorDetails {
  /** HTTP status of an upstream failure, when the provider reported one. */
  status?: number | undefined;
  /** Which provider failed. */
  role?: ProviderRole | undefined;
  provider?: string | undefined;
  /** The parameter or credential field at fault (invalid_params, credentials). */
  field?: string | undefined;
  /** What was not found (not_found of a task or a checkpoint; a memory when absent). */
  missing?: { what: MissingThing; id: string } | undefined;
  /** How much work was pending when it refused (overload). */
  load?: { pending: number; limit: number } | undefined;
  cause?: unknown;
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly status: number | undefined;
  readonly role: ProviderRole | undefined;
  readonly provider: string | undefined;
  readonly field: string | undefined;
  readonly missing: EngineErrorDetails['missing'];
  readonly load: EngineErrorDetails['load'];

  constructor(code: EngineErrorCode, message: string, details: EngineErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EngineError';
    this.code = code;
    this.status = details.status;
    this.role = details.role;
    this.provider = details.provider;
    this.field = details.field;
    this.missing = details.missing;
    this.load = details.load;
  }

  /**
   * Whether trying again later may help: timeouts, rate limits (429), server errors (5xx), network failures
   * (upstream without a status) and an unreachable store. A 400/401/403/404 from a provider will fail the same way again.
   */
  get retryable(): boolean {
    if (this.code === 'timeout' || this.code === 'unavailable') return true;
    if (this.code !== 'upstream') return false;
    if (this.status === undefined) return true;
    return this.status === 408 || this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

/**
 * A short, secret-free description of an error nobody expected (its class and the start of its message), for answers
 * that must still say something a person can act on. Connection strings with a password, `password=…` pairs and
 * API-key-like tokens are cut out.
 */
export function describeCause(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  let message = error instanceof Error ? error.message : String(error);
  message = message
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[secret]@')
    .replace(/(pass(?:word)?|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)\S+/gi, '$1$2[secret]')
    .replace(/\b(sk|pk|rk)-[A-Za-z0-9_*-]{6,}/g, '[secret]')
    .replace(/\s+/g, ' ')
    .trim();
  const short = message.length > 200 ? `${message.slice(0, 199)}…` : message;
  return short ? `${name}: ${short}` : name;
}

export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}

/** Too much pending work (`pending` of at most `limit`): refused, nothing queued. */
export function overloaded(pending: number, limit: number): EngineError {
  return new EngineError('overload', `too busy (${pending} operations pending, limit ${limit}); nothing was queued`, { load: { pending, limit } });
}

/** The task, checkpoint, memory or queued job `id` does not exist. */
export function notFound(what: MissingThing, id: string): EngineError {
  return new EngineError('not_found', `no ${what} with id ${id}`, { missing: { what, id } });
}
