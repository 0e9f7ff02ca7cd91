/**
 * The engine's one error family. `code` says what went wrong in a way the tools can map to a status
 * (invalid_params → ERROR with a clear message, not_found → NOT_FOUND, timeout → TIMEOUT, upstream → ERROR, …).
 * Messages never contain credentials: provider errors are summarised, not echoed with their request.
 * @module
 */

export type EngineErrorCode =
  /** A parameter is missing or malformed (bad UUID, empty user_id, metadata not an object…). */
  | 'invalid_params'
  /** The memory does not exist (in that scope). */
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
  | 'llm_output';

export type ProviderRole = 'llm' | 'embedder' | 'reranker';

export interface EngineErrorDetails {
  /** HTTP status of an upstream failure, when the provider reported one. */
  status?: number | undefined;
  /** Which provider failed. */
  role?: ProviderRole | undefined;
  provider?: string | undefined;
  cause?: unknown;
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly status: number | undefined;
  readonly role: ProviderRole | undefined;
  readonly provider: string | undefined;

  constructor(code: EngineErrorCode, message: string, details: EngineErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EngineError';
    this.code = code;
    this.status = details.status;
    this.role = details.role;
    this.provider = details.provider;
  }

  /**
   * Whether trying again later may help: timeouts, rate limits (429), server errors (5xx) and network failures
   * (upstream without a status). A 400/401/403/404 from a provider will fail the same way again.
   */
  get retryable(): boolean {
    if (this.code === 'timeout') return true;
    if (this.code !== 'upstream') return false;
    if (this.status === undefined) return true;
    return this.status === 408 || this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}
