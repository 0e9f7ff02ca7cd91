/**
 * Credentials → {@link Settings}: parses the five JSON provider blocks (Mem0's Python config format, snake_case keys)
 * and the plain fields, checks what we know about each provider's keys, and names the field and the problem when
 * something is wrong, without ever repeating a secret value. Unknown keys are kept in the LLM, embedder and reranker
 * blocks (Mem0 has many); the vector-store block is checked strictly by the store's own parser.
 * @module
 */
import type { z } from 'zod';
import { applyLogLevel } from '../../shared/log.js';
import { parseStoreConfig } from '../../store/config.js';
import { EngineError, STORE_CODES } from '../../shared/errors.js';
import { BLOCK_FIELDS, DEFAULTS, LOG_LEVELS, settingsHash } from './settings.js';
import type { LogLevelName, PgvectorConfig, ProviderBlock, Settings, VectorStoreSettings } from './settings.js';
import { boolLike, describeJsonError, embedderConfig, externalVectorConfig, intLike, llmConfig, pgliteConfig, pgvectorConfig, rerankerConfig } from './settings-schemas.js';
import { collectionOf, EXTERNAL_VECTOR_STORES, isExternalVectorStore, stateStoreConfig } from './vector-store-config.js';
import type { StateStoreBlock } from './settings.js';
import { isWorkspaceModel, parsePicker, PICKERS, WORKSPACE_PROVIDER } from './workspace-models.js';
import type { ProviderRole } from '../../shared/errors.js';
import { parseGraphStore } from './graph-config.js';
import type { GraphStoreConfig } from './graph-config.js';


function fail(message: string, field: string): never {
  throw new EngineError('credentials', message, { field });
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** Removes one surrounding Markdown code fence (```json … ``` or ``` … ```) and surrounding whitespace. */
export function stripCodeFence(text: string): string {
  const trimmed = text.trim();
  const fenced = /^```[ \t]*(?:json5?|jsonc)?[ \t]*\r?\n?([\s\S]*?)\r?\n?[ \t]*```$/i.exec(trimmed);
  return (fenced?.[1] ?? trimmed).trim();
}

/** A block's value: JSON text parsed (one code fence stripped), an object as given; undefined when blank. */
function jsonValue(field: string, raw: unknown): unknown {
  const text = typeof raw === 'string' ? stripCodeFence(raw) : raw;
  if (isBlank(text)) return undefined;
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return fail(`${field}: not valid JSON (${describeJsonError(text, error)})`, field);
  }
}

/** Reads one block; `null` when an optional block is empty. `extraKeys`: top-level keys allowed besides provider/config. */
function readBlock(field: string, raw: unknown, required: boolean, extraKeys: readonly string[] = []): (ProviderBlock & { extra: Record<string, unknown> }) | null {
  const value = jsonValue(field, raw);
  if (value === undefined) return required ? fail(`${field} is required`, field) : null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${field} must be a JSON object like {"provider": "...", "config": {...}}`, field);
  }
  const block = value as Record<string, unknown>;
  const extra = Object.keys(block).filter((key) => key !== 'provider' && key !== 'config' && !extraKeys.includes(key));
  if (extra.length > 0) {
    const keys = extra.map((key) => JSON.stringify(key.slice(0, 40))).join(', ');
    fail(`${field} has unknown top-level key(s) ${keys}: only "provider" and "config" belong there; put provider settings inside "config"`, field);
  }
  if (typeof block.provider !== 'string' || block.provider.trim() === '') {
    fail(`${field}.provider is required and must be a non-empty string (e.g. "openai")`, field);
  }
  const config = block.config ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail(`${field}.config must be a JSON object`, field);
  const kept = Object.fromEntries(extraKeys.filter((key) => block[key] !== undefined).map((key) => [key, block[key]]));
  return { provider: block.provider.trim().toLowerCase(), config: config as Record<string, unknown>, extra: kept };
}

/** Applies a provider's config schema; issues become `field.config.key must …` messages (values never shown). */
function checkConfig<T extends Record<string, unknown>>(field: string, schema: z.ZodType<T>, config: Record<string, unknown>): T {
  const parsed = schema.safeParse(config);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = [field, 'config', ...(issue?.path ?? []).map(String)].join('.');
  return fail(`${where} ${issue?.message ?? 'is invalid'}`, field);
}

function providerBlock(field: string, raw: unknown, required: boolean, schema: z.ZodType<Record<string, unknown>>): ProviderBlock | null {
  const read = readBlock(field, raw, required);
  return read && { provider: read.provider, config: checkConfig(field, schema, read.config) };
}

/** The graph-store block: empty → no graph memory; else graph-config.ts decides where the graph lives. */
function graphStore(raw: unknown): GraphStoreConfig | null {
  const field = BLOCK_FIELDS.graphStore;
  const value = jsonValue(field, raw);
  return value === undefined ? null : parseGraphStore(value, field);
}

/**
 * A model: the settings page's picker when one is set, else the JSON block. The picker wins when both are given: it
 * is the workspace's own model (keys, quotas and usage kept by Dify), while a JSON block is often left over from
 * before the pickers existed; the block is then not read at all, and it takes over again once the picker is cleared.
 */
function model(role: ProviderRole, credentials: Record<string, unknown>, schema: z.ZodType<Record<string, unknown>>, required: boolean): ProviderBlock | null {
  const picked = parsePicker(role, credentials[PICKERS[role].field]);
  if (picked) return picked;
  const field = BLOCK_FIELDS[role];
  const raw = credentials[field];
  if (required && isBlank(typeof raw === 'string' ? stripCodeFence(raw) : raw)) {
    fail(`${field} is required (or pick a model in "${PICKERS[role].label}")`, field);
  }
  const block = providerBlock(field, raw, required, schema);
  if (block?.provider === WORKSPACE_PROVIDER) {
    fail(`${field}.provider "${WORKSPACE_PROVIDER}" is not a provider block: pick the workspace model in "${PICKERS[role].label}"`, field);
  }
  return block;
}

/**
 * The vector DB block. Our checks give the friendly messages; then the store's own parser (the code that will open
 * the database) must accept the block too, so the settings page never passes a block the store would refuse.
 */
function vectorStore(raw: unknown, embedderDims: unknown): VectorStoreSettings {
  const field = BLOCK_FIELDS.vectorStore;
  const read = readBlock(field, raw, false, ['state_store']);
  // A vector size the store block does not name is the embedder's (when it names one), not Mem0's default 1536:
  // an operator with a 1024-d embedder and no vector-store block must not get a 1536-d table.
  const sized = (config: Record<string, unknown>): Record<string, unknown> =>
    config.embedding_model_dims === undefined && typeof embedderDims === 'number' ? { ...config, embedding_model_dims: embedderDims } : config;
  // No vector DB block: memories go to the embedded PGlite database (nothing to run or configure).
  if (!read) return { provider: 'pglite', config: sized({}), isDefault: true };
  if (read.provider !== 'pgvector' && read.provider !== 'pglite') {
    if (isExternalVectorStore(read.provider)) return externalVectorStore({ ...read, config: sized(read.config) }, embedderDims);
    const shown = JSON.stringify(read.provider.slice(0, 40));
    fail(`${field}.provider ${shown} is not supported: use "pgvector" (your own PostgreSQL), "pglite" (embedded) or one of mem0ai's vector stores (${EXTERNAL_VECTOR_STORES.join(', ')})`, field);
  }
  if (read.extra.state_store !== undefined) {
    fail(`${field}.state_store belongs only to other vector stores (qdrant, chroma, …): with "${read.provider}" the state tables live next to the memories`, field);
  }
  const store: VectorStoreSettings =
    read.provider === 'pglite'
      ? { provider: 'pglite', config: checkConfig(field, pgliteConfig, sized(read.config)), isDefault: false }
      : { provider: 'pgvector', config: checkConfig(field, pgvectorConfig, sized(read.config)) as PgvectorConfig };
  let dims: number;
  try {
    dims = parseStoreConfig({ provider: store.provider, config: store.config }).dims;
  } catch (error) {
    // EngineError messages name keys, never values.
    if (error instanceof EngineError && STORE_CODES.has(error.code)) fail(`${field}: ${error.message}`, field);
    throw error;
  }
  if (typeof embedderDims === 'number' && embedderDims !== dims) {
    const given = store.config.embedding_model_dims === undefined ? `${dims} by default` : String(dims);
    fail(`${field}.config.embedding_model_dims (${given}) must equal ${BLOCK_FIELDS.embedder}.config.embedding_dims (${embedderDims})`, field);
  }
  return store;
}

/**
 * A `mem0ai` vector store (src/memory/vector-store-config.ts). Its config keys are the store's own and pass through;
 * `collection_name` and `embedding_model_dims` are checked here. `state_store` (optional) is a pgvector or pglite
 * block, checked like the vector store block itself.
 */
function externalVectorStore(read: ProviderBlock & { extra: Record<string, unknown> }, embedderDims: unknown): VectorStoreSettings {
  const field = BLOCK_FIELDS.vectorStore;
  const config = checkConfig(field, externalVectorConfig, read.config);
  let stateStore: StateStoreBlock = { provider: 'pglite', config: {}, isDefault: true };
  if (read.extra.state_store !== undefined && read.extra.state_store !== null) {
    const inner = readBlock(`${field}.state_store`, read.extra.state_store, true);
    if (!inner || (inner.provider !== 'pgvector' && inner.provider !== 'pglite')) {
      return fail(`${field}.state_store.provider must be "pgvector" or "pglite"`, field);
    }
    const schema = inner.provider === 'pglite' ? pgliteConfig : pgvectorConfig;
    stateStore = { provider: inner.provider, config: checkConfig(`${field}.state_store`, schema as z.ZodType<Record<string, unknown>>, inner.config), isDefault: false };
  }
  const settings = { provider: read.provider, config, external: { stateStore } };
  const { dims } = collectionOf(config);
  try {
    parseStoreConfig(stateStoreConfig({ provider: read.provider, config, stateStore }));
  } catch (error) {
    if (error instanceof EngineError && STORE_CODES.has(error.code)) fail(`${field}.state_store: ${error.message}`, field);
    throw error;
  }
  if (typeof embedderDims === 'number' && embedderDims !== dims) {
    const given = config.embedding_model_dims === undefined ? `${dims} by default` : String(dims);
    fail(`${field}.config.embedding_model_dims (${given}) must equal ${BLOCK_FIELDS.embedder}.config.embedding_dims (${embedderDims})`, field);
  }
  return settings;
}

function wholeNumber(field: string, raw: unknown, fallback: number, min: number, max: number): number {
  if (isBlank(raw)) return fallback;
  const value = intLike(raw);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail(`${field} must be a whole number from ${min} to ${max} (default ${fallback})`, field);
  }
  return value;
}

/** Optional days: empty, zero, negative or not a number → `undefined`. */
function positiveDays(raw: unknown): number | undefined {
  if (isBlank(raw)) return undefined;
  const value = typeof raw === 'number' ? raw : Number(String(raw).normalize('NFKC').trim());
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function booleanSetting(field: string, raw: unknown, fallback: boolean): boolean {
  if (isBlank(raw)) return fallback;
  const value = boolLike(raw);
  return typeof value === 'boolean' ? value : fail(`${field} must be true or false`, field);
}

function logLevel(raw: unknown): LogLevelName {
  if (isBlank(raw)) return DEFAULTS.logLevel;
  const wanted = String(raw).trim().toUpperCase();
  const level = wanted === 'WARN' ? 'WARNING' : wanted;
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevelName;
  return fail(`log_level must be one of ${LOG_LEVELS.join(', ')}`, 'log_level');
}

function heartbeat(raw: unknown): number {
  const seconds = wholeNumber('heartbeat_interval', raw, DEFAULTS.heartbeatIntervalSeconds, 1, 86_400);
  // Below the minimum is refused, not clamped: an operator who typed 10 should learn that 10 is not what would run.
  if (seconds < DEFAULTS.minHeartbeatIntervalSeconds) {
    fail(`heartbeat_interval must be at least ${DEFAULTS.minHeartbeatIntervalSeconds} seconds (got ${seconds})`, 'heartbeat_interval');
  }
  return seconds;
}

/** Credentials → Settings. @throws EngineError `credentials` naming the field and the problem. */
export function parseCredentials(credentials: Record<string, unknown>): Settings {
  const llm = model('llm', credentials, llmConfig, true) as ProviderBlock;
  const embedder = model('embedder', credentials, embedderConfig, true) as ProviderBlock;
  // The daemon routes calls to the workspace's models only inside a live tool session, so writes that need one
  // cannot wait in the queue for a background worker: they run before the tool answers (CONFIG.md, "Async mode").
  const inSession = isWorkspaceModel(llm) || isWorkspaceModel(embedder);
  const store = vectorStore(credentials[BLOCK_FIELDS.vectorStore], embedder.config.embedding_dims);
  const checkpointDays = positiveDays(credentials.checkpoint_ttl_days);
  const unhashed: Omit<Settings, 'hash'> = {
    asyncMode: booleanSetting('async_mode', credentials.async_mode, DEFAULTS.asyncMode) && !inSession,
    llm,
    embedder,
    vectorStore: store,
    graphStore: graphStore(credentials[BLOCK_FIELDS.graphStore]),
    reranker: model('reranker', credentials, rerankerConfig, false),
    maxConcurrentMemoryOperations: wholeNumber('max_concurrent_memory_operations', credentials.max_concurrent_memory_operations, DEFAULTS.maxConcurrentMemoryOperations, 1, 1000),
    heartbeatIntervalSeconds: heartbeat(credentials.heartbeat_interval),
    // Empty, 0 or not a number: no hard TTL.
    memoryTtlDays: positiveDays(credentials.memory_ttl_days) ?? null,
    // Not a number or ≤ 0 → 90 days; otherwise at least 1 day.
    checkpointTtlDays: checkpointDays === undefined ? DEFAULTS.checkpointTtlDays : Math.max(1, checkpointDays),
    logLevel: logLevel(credentials.log_level),
  };
  return { ...unhashed, hash: settingsHash(unhashed) };
}

/**
 * Parses a credential set for the settings page and applies its log level. The round trip (database, pgvector,
 * embedder dimension) follows in credential-check.ts `verifyCredentials`.
 */
export function validateCredentials(credentials: Record<string, unknown>): Settings {
  const settings = parseCredentials(credentials);
  applyLogLevel(settings.logLevel);
  return settings;
}
