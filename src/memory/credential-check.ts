/**
 * The settings page's real round trip: open the engine for a credential set, check that the database answers with
 * pgvector installed (with a mem0ai vector store: that store answers a one-row list, and the state database answers),
 * that the embedder answers with the configured dimension and that the LLM's endpoint answers its free model list
 * (no LLM tokens are spent; provider-probe.ts), close
 * it again. Any failure becomes an EngineError `credentials` that names the credential field at fault
 * and says what went wrong in words an operator can act on, e.g.
 * `local_vector_db_json_secret: cannot connect to 127.0.0.1:5432 (ECONNREFUSED)`. Never a secret value.
 * @module
 */
import type { Logger } from 'pino';
import { describeCause, EngineError, isEngineError, STORE_CODES } from '../shared/errors.js';
import { BLOCK_FIELDS } from './config/settings.js';
import { checkEngine } from './engine.js';
import { probeProvider } from './provider-probe.js';
import type { EngineOptions } from './engine.js';
import type { ProviderRole } from '../shared/errors.js';
import type { PgvectorConfig, Settings } from './config/settings.js';
import type { StateStoreBlock } from './config/settings.js';

/** The whole check (engine start, database round trip, one embedding) gives up after this. */
export const CREDENTIAL_CHECK_TIMEOUT_MS = 30_000;
/** One embedder call during the check. */
const CHECK_PROVIDER_TIMEOUT_MS = 10_000;

export interface CredentialCheckOptions extends EngineOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
}

const ROLE_FIELDS: Record<ProviderRole, string> = {
  llm: BLOCK_FIELDS.llm,
  embedder: BLOCK_FIELDS.embedder,
  reranker: BLOCK_FIELDS.reranker,
};

/** @throws EngineError `credentials` naming the failing part (the tools turn it into the daemon's credential error). */
export async function verifyCredentials(settings: Settings, options: CredentialCheckOptions = {}): Promise<{ pgvectorVersion: string; dims: number }> {
  const timeoutMs = options.timeoutMs ?? CREDENTIAL_CHECK_TIMEOUT_MS;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new EngineError(
          'credentials',
          `the credential check did not finish within ${Math.round(timeoutMs / 1000)} s: the database (${databaseTarget(settings)}) or the embedder is not answering`,
        ),
      );
    }, timeoutMs);
  });
  const providerTimeoutMs = options.providerTimeoutMs ?? Math.min(CHECK_PROVIDER_TIMEOUT_MS, timeoutMs);
  // The engine round trip (database, embedder) and the LLM's free endpoint, side by side.
  const check = Promise.all([
    checkEngine(settings, { ...options, providerTimeoutMs, signal: controller.signal }),
    checkLlm(settings, providerTimeoutMs, controller.signal),
  ]).then(([engine]) => engine);
  // After the deadline the check still finishes (and closes what it opened) in the background.
  check.catch(() => {});
  try {
    return await Promise.race([check, deadline]);
  } catch (error) {
    if (isEngineError(error, 'credentials')) throw error;
    throw credentialError(error, settings, options.logger);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Reaches the LLM without spending tokens (its model list or Ollama's tags, see provider-probe.ts): refused when the
 * endpoint is unreachable or refuses the key. Providers with no free endpoint, and a workspace model picked on the
 * settings page, are not reached here (CONFIG.md says which).
 */
async function checkLlm(settings: Settings, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const probe = await probeProvider(settings.llm, { role: 'llm', timeoutMs, signal });
  if (!probe || probe.reachable) return;
  const who = `the llm (${settings.llm.provider})`;
  const message = probe.status === 401 || probe.status === 403
    ? `${who} refused the API key (HTTP ${probe.status}); check api_key`
    : `${who} is not reachable: ${probe.detail}; check the base URL and that the server is running`;
  throw new EngineError('credentials', `${BLOCK_FIELDS.llm}: ${message}`, { field: BLOCK_FIELDS.llm });
}

/** Maps a failure of the round trip onto the credential field it concerns. */
export function credentialError(error: unknown, settings: Settings, logger?: Logger): EngineError {
  // Messages that already start with the field (the provider catalog's refusals) are not prefixed twice.
  const fail = (field: string, message: string): EngineError =>
    new EngineError('credentials', message.startsWith(`${field}.`) ? message : `${field}: ${message}`, { field });
  // The graph store's failures (Neo4j unreachable, refused login) say "graph store" and concern its own field.
  if (error instanceof EngineError && error.message.startsWith('graph store')) return fail(BLOCK_FIELDS.graphStore, error.message);
  // A mem0ai vector store that did not answer in time (vector-store-external.ts) concerns the vector store field.
  if (error instanceof EngineError && !error.role && error.message.startsWith('vector store ')) return fail(BLOCK_FIELDS.vectorStore, error.message);
  if (error instanceof EngineError && !STORE_CODES.has(error.code)) {
    // A workspace model's failure names its picker (or the block it disagrees with) itself.
    const field = error.field ?? (error.role ? ROLE_FIELDS[error.role] : BLOCK_FIELDS.embedder);
    const who = error.role ? `the ${error.role}${error.provider ? ` (${error.provider})` : ''}` : 'the provider';
    if (error.code === 'upstream' && (error.status === 401 || error.status === 403)) {
      return fail(field, `${who} refused the API key (HTTP ${error.status}); check api_key`);
    }
    if (error.code === 'timeout') return fail(field, `${who} did not answer in time (${error.message})`);
    return fail(field, error.message);
  }
  const field = BLOCK_FIELDS.vectorStore;
  // With a mem0ai vector store, every failure of that store arrives as an error whose message starts with "vector
  // store" (vector-store-external.ts); the rest comes from the state database, named as `….state_store`.
  const external = settings.vectorStore.external;
  if (error instanceof EngineError && (!external || error.message.startsWith('vector store '))) return fail(field, error.message);
  const where = external ? `${field}.state_store` : field;
  if (error instanceof EngineError) return fail(where, error.message);
  const problem = databaseProblem(error, settings);
  if (problem) return new EngineError('credentials', problem, { field });
  logger?.error({ err: error }, 'credential check failed with an unexpected error');
  return fail(where, `the database check failed: ${describeCause(error)} (more in the plugin log)`);
}

/**
 * A database that cannot be reached or refuses us, described the way the credential check describes it and naming
 * the credential field (`local_vector_db_json_secret: cannot connect to 127.0.0.1:5432 (ECONNREFUSED)`, `…: the
 * database refused: password authentication failed; check user and password (SQLSTATE 28P01)`), so a tool call that
 * meets the same failure says the same thing. undefined when `error` is not a database failure.
 */
export function databaseProblem(error: unknown, settings: Settings): string | undefined {
  const external = settings.vectorStore.external;
  const where = external ? `${BLOCK_FIELDS.vectorStore}.state_store` : BLOCK_FIELDS.vectorStore;
  const target = external ? stateTarget(external.stateStore) : databaseTarget(settings);
  const network = networkCode(error);
  if (network) return `${where}: cannot connect to ${target} (${network})`;
  if (error instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(error.message)) {
    return `${where}: cannot connect to ${target} (no answer in time)`;
  }
  const sqlState = sqlStateOf(error);
  if (sqlState) return `${where}: the database refused: ${databaseMessage(sqlState, error)}`;
  return undefined;
}

/**
 * A tool call's failure that is the database's (down, refusing the password), as an EngineError `unavailable` naming
 * the credential field and saying what validation would say; undefined for any other error. Typed errors already say
 * what failed; a TypeError is fetch's (a model or Dify endpoint, not the database).
 */
export function databaseFailure(error: unknown, settings: Settings | undefined): EngineError | undefined {
  if (!settings || error instanceof EngineError || error instanceof TypeError) return undefined;
  const problem = databaseProblem(error, settings);
  return problem ? new EngineError('unavailable', problem, { field: BLOCK_FIELDS.vectorStore, cause: error }) : undefined;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    // AggregateError (several addresses tried): the first one's code.
    const inner = (current as { errors?: unknown[] }).errors?.[0];
    current = inner ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Server messages name users and databases, never passwords; a few common ones get a hint. */
function databaseMessage(sqlState: string, error: unknown): string {
  const hints: Record<string, string> = {
    '28P01': 'password authentication failed; check user and password',
    '28000': 'the server does not accept this user from here (pg_hba.conf)',
    '3D000': 'the database does not exist; check dbname',
    '42501': 'permission denied; the user may not create the table or the vector extension',
  };
  const server = error instanceof Error ? error.message.slice(0, 200) : '';
  return `${hints[sqlState] ?? server} (SQLSTATE ${sqlState})`;
}

/** host:port (or the embedded database's folder) for messages; never a user name or password. */
export function databaseTarget(settings: Settings): string {
  const vs = settings.vectorStore;
  if (vs.external) return `the ${vs.provider} vector store or the state database (${stateTarget(vs.external.stateStore)})`;
  if (vs.provider === 'pglite') return `the embedded database ${vs.config.path ?? '(default folder)'}`;
  return postgresTarget(vs.config);
}

/** Where an external store's state database is, for messages. */
function stateTarget(state: StateStoreBlock): string {
  return state.provider === 'pglite'
    ? `the embedded database ${typeof state.config.path === 'string' ? state.config.path : '(default folder)'}`
    : postgresTarget(state.config as PgvectorConfig);
}

function postgresTarget(c: PgvectorConfig): string {
  if (c.connection_string) {
    try {
      const url = new URL(c.connection_string);
      return `${url.hostname || 'localhost'}:${url.port || '5432'}`;
    } catch {
      return 'the database in connection_string';
    }
  }
  return `${c.host ?? 'localhost'}:${c.port ?? 5432}`;
}
