/**
 * One `mem0ai` vector store (qdrant, chroma, redis, …), opened through `VectorStoreFactory` and put behind a
 * deadline: every call gives up after `timeoutMs` with an {@link EngineError} `timeout`; every failure becomes a
 * {@link EngineError} whose message is scrubbed of the block's secrets (API keys, passwords, URLs with credentials).
 * A store whose SDK this build does not include fails with "needs package X which this build does not include".
 * The engine opens it once and keeps it on its store (`EngineStore.external`, memory/store-repository.ts).
 * @module
 */
import { logger } from '../../shared/log.js';
import { EngineError } from '../../shared/errors.js';
import { loadMem0 } from '../mem0.js';
import { collectionOf, mapVectorStoreConfig, normalizeScore } from '../config/vector-store-config.js';

/** What we call on a `mem0ai` VectorStore (its `VectorStoreResult` is `{id, payload, score?}`). */
export interface VectorStoreResult {
  id: string;
  payload: Record<string, unknown>;
  score?: number | undefined;
}

export interface VectorStoreLike {
  insert(vectors: number[][], ids: string[], payloads: Record<string, unknown>[]): Promise<void>;
  search(query: number[], topK?: number, filters?: Record<string, unknown>): Promise<VectorStoreResult[]>;
  get(id: string): Promise<VectorStoreResult | null>;
  update(id: string, vector: number[], payload: Record<string, unknown>): Promise<void>;
  delete(id: string): Promise<void>;
  list(filters?: Record<string, unknown>, topK?: number): Promise<[VectorStoreResult[], number]>;
}

export interface ExternalStore {
  readonly provider: string;
  readonly collectionName: string;
  readonly dims: number;
  /** A search result's `score` as a 0–1 similarity (the store's metric decides how: {@link normalizeScore}). */
  score(raw: number | undefined | null): number;
  /** The store, every call bounded by the deadline and its errors mapped. */
  readonly store: VectorStoreLike;
  /**
   * Releases the store's connections or files (the `close()` of stores that have one: redis, valkey, mongodb, …; the
   * SQLite handle of the "memory" store). Bounded by the deadline; never throws; later calls do nothing.
   */
  close(): Promise<void>;
}

export const DEFAULT_VECTOR_STORE_TIMEOUT_MS = 30_000;

/** Opens (constructs) the store; the first call connects. */
export async function openExternalStore(
  block: { provider: string; config: Record<string, unknown> },
  options: { timeoutMs?: number } = {},
): Promise<ExternalStore> {
  const mem0 = await loadMem0();
  const secrets = secretsOf(block.config);
  const provider = block.provider;
  const { collectionName, dims } = collectionOf(block.config);
  const config = mapVectorStoreConfig(provider, block.config);
  let inner: VectorStoreLike;
  try {
    inner = mem0.VectorStoreFactory.create(provider, config as never) as unknown as VectorStoreLike;
  } catch (error) {
    throw storeFailure(provider, error, secrets);
  }
  return {
    provider, collectionName, dims,
    score: (raw) => normalizeScore(provider, raw, config),
    store: guard(provider, inner, options.timeoutMs ?? DEFAULT_VECTOR_STORE_TIMEOUT_MS, secrets),
    close: once(() => closeInner(provider, inner, options.timeoutMs ?? DEFAULT_VECTOR_STORE_TIMEOUT_MS, secrets)),
  };
}

function once(work: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= work());
}

async function closeInner(provider: string, inner: VectorStoreLike, timeoutMs: number, secrets: string[]): Promise<void> {
  const closable = inner as unknown as { close?: () => unknown; db?: { open?: boolean; close?: () => unknown } };
  let timer: NodeJS.Timeout | undefined;
  try {
    let closing: Promise<unknown> | undefined;
    if (typeof closable.close === 'function') closing = Promise.resolve(closable.close());
    // mem0ai's "memory" store has no close(); its better-sqlite3 handle does.
    else if (provider === 'memory' && closable.db?.open === true && typeof closable.db.close === 'function') closable.db.close();
    if (!closing) return;
    closing.catch(() => {});
    await Promise.race([closing, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`did not close within ${timeoutMs} ms`)), timeoutMs);
    })]);
  } catch (error) {
    logger.warn({ err: storeFailure(provider, error, secrets).message }, 'closing the vector store failed');
  } finally {
    clearTimeout(timer);
  }
}

function guard(provider: string, inner: VectorStoreLike, timeoutMs: number, secrets: string[]): VectorStoreLike {
  const run = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EngineError('timeout', `vector store ${provider} did not answer ${what} within ${timeoutMs} ms`)), timeoutMs);
    });
    let work: Promise<T>;
    try {
      work = call();
    } catch (error) {
      clearTimeout(timer);
      throw storeFailure(provider, error, secrets);
    }
    work.catch(() => {});
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw storeFailure(provider, error, secrets);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    insert: (vectors, ids, payloads) => run('an insert', () => inner.insert(vectors, ids, payloads)),
    search: (query, topK, filters) => run('a search', () => inner.search(query, topK, filters)),
    get: (id) => run('a get', () => inner.get(id)),
    update: (id, vector, payload) => run('an update', () => inner.update(id, vector, payload)),
    delete: (id) => run('a delete', () => inner.delete(id)),
    list: (filters, topK) => run('a list', () => inner.list(filters, topK)),
  };
}

/** A failure of the store as a EngineError: a missing SDK or native module named as such, else the scrubbed message. */
export function storeFailure(provider: string, error: unknown, secrets: string[]): EngineError {
  const message = error instanceof Error ? error.message : String(error);
  const missing = /The '([^']+)' package is required/.exec(message)?.[1]
    ?? /Cannot find (?:package|module) '([^'/]+(?:\/[^'/]+)?)'/.exec(message)?.[1];
  if (missing) {
    return new EngineError('store_config', `vector store ${provider} needs package ${missing} which this build does not include`, { cause: error });
  }
  // better-sqlite3 (mem0ai's "memory" store) is a native module: bundled, its loader cannot find the binary (it looks
  // for it next to its own file, through __filename, which an ESM bundle does not have).
  if (/bindings file|better_sqlite3\.node|better-sqlite3/i.test(message) || (provider === 'memory' && /__filename is not defined/.test(message))) {
    return new EngineError('store_config', `vector store ${provider} needs package better-sqlite3 (a native module) which this build does not include`, { cause: error });
  }
  if (/^Unsupported vector store provider/i.test(message)) {
    return new EngineError('store_config', `vector store provider "${provider}" is not supported by mem0ai`, { cause: error });
  }
  return new EngineError('unavailable', `vector store ${provider} failed: ${scrub(message, secrets).slice(0, 300)}`, { cause: error });
}

const SECRET_KEY = /key|pass|secret|token|url|uri|connection|credential|auth|dsn|cert|private/i;

/** String values of the block that may be secret (API keys, passwords, URLs that can carry credentials). */
export function secretsOf(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  // Everything under a secret-looking key is secret (`"auth": {"bearer": "…"}`).
  const walk = (value: unknown, secret: boolean, depth: number): void => {
    if (depth > 4) return;
    if (typeof value === 'string' && secret && value.length >= 4) out.push(value);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, secret || SECRET_KEY.test(k), depth + 1);
  };
  walk(config, false, 0);
  return out;
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[secret]');
  // Credentials inside any URL the SDK quotes.
  return out.replace(/(\w+:\/\/)[^\s/@:]+:[^\s/@]+@/g, '$1[secret]@');
}
