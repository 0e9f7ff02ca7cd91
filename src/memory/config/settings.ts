/**
 * The typed settings one credential set stands for. Built by `parseCredentials` in credentials.ts.
 * A Settings object holds secrets (API keys, passwords): never log it whole; log {@link describeSettings} instead.
 * @module
 */
import { createHash } from 'node:crypto';
import type { GraphStoreConfig } from './graph-config.js';

/** Where the state tables live for an external vector store. */
export interface StateStoreBlock {
  provider: 'pgvector' | 'pglite';
  config: Record<string, unknown>;
  /** No `state_store` was given: embedded PGlite in its default folder. */
  isDefault: boolean;
}

/** The settings page's JSON block fields (names from the original plugin), for messages that name the field. */
export const BLOCK_FIELDS = {
  llm: 'local_llm_json_secret',
  embedder: 'local_embedder_json_secret',
  vectorStore: 'local_vector_db_json_secret',
  graphStore: 'local_graph_db_json_secret',
  reranker: 'local_reranker_json_secret',
} as const;

export const LOG_LEVELS = ['INFO', 'DEBUG', 'WARNING', 'ERROR'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** A Mem0-style provider block: `{"provider": "...", "config": {...}}` with Mem0's Python (snake_case) config keys. */
export interface ProviderBlock {
  provider: string;
  config: Record<string, unknown>;
}

/** Mem0's pgvector keys we read (others are kept, unread). */
export interface PgvectorConfig extends Record<string, unknown> {
  dbname?: string;
  collection_name?: string;
  schema_name?: string;
  embedding_model_dims?: number;
  user?: string;
  password?: string;
  host?: string;
  port?: number;
  sslmode?: string;
  connection_string?: string;
  hnsw?: boolean;
  diskann?: boolean;
  minconn?: number;
  maxconn?: number;
}

export interface PgliteConfig extends Record<string, unknown> {
  /** Data directory; absent → the store picks its default. */
  path?: string;
  collection_name?: string;
  embedding_model_dims?: number;
  hnsw?: boolean;
}

export type VectorStoreSettings =
  | { provider: 'pgvector'; config: PgvectorConfig; external?: undefined }
  /** `isDefault`: no vector DB block was given, so the embedded PGlite database is used. */
  | { provider: 'pglite'; config: PgliteConfig; isDefault: boolean; external?: undefined }
  | ExternalVectorStoreSettings;

/**
 * One of `mem0ai`'s vector stores (qdrant, chroma, …; src/memory/vector-store-config.ts) holds the memories; the
 * state tables (history, queue, checkpoints, access log) live in `external.stateStore`.
 */
export interface ExternalVectorStoreSettings {
  provider: string;
  /** Mem0's Python keys, as given. */
  config: Record<string, unknown>;
  external: { stateStore: StateStoreBlock };
}

export interface Settings {
  /** Writes return at once (ACCEPT) and run in the background; reads always wait, bounded by a timeout. */
  asyncMode: boolean;
  llm: ProviderBlock;
  embedder: ProviderBlock;
  vectorStore: VectorStoreSettings;
  /** The graph memory beside the memories (graph-config.ts); null: none (no graph table is touched, no LLM call made). */
  graphStore: GraphStoreConfig | null;
  reranker: ProviderBlock | null;
  /** Concurrency ceiling; the overload guard refuses work when pending > 2 × this. */
  maxConcurrentMemoryOperations: number;
  heartbeatIntervalSeconds: number;
  /** Hard TTL for memories in days; null = no TTL (the forgetting curve still applies). */
  memoryTtlDays: number | null;
  /** Extraction checkpoints older than this are cleaned by forget_memories. */
  checkpointTtlDays: number;
  logLevel: LogLevelName;
  /** sha256 (hex) over the canonical JSON of everything above: equal hashes ⇔ the same clients can be reused. */
  hash: string;
}

export const DEFAULTS = {
  asyncMode: true,
  maxConcurrentMemoryOperations: 20,
  heartbeatIntervalSeconds: 120,
  minHeartbeatIntervalSeconds: 30,
  checkpointTtlDays: 90,
  logLevel: 'INFO' as LogLevelName,
};

/** JSON with object keys sorted at every depth, so equal settings always serialise (and hash) the same way. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function settingsHash(settings: Omit<Settings, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(settings)).digest('hex');
}

/** What may be logged about a settings object: providers and numbers, no config values. */
export function describeSettings(settings: Settings): Record<string, unknown> {
  return {
    asyncMode: settings.asyncMode,
    llm: settings.llm.provider,
    embedder: settings.embedder.provider,
    vectorStore: settings.vectorStore.provider,
    stateStore: settings.vectorStore.external?.stateStore.provider ?? null,
    graphStore: settings.graphStore?.provider ?? null,
    reranker: settings.reranker?.provider ?? null,
    maxConcurrentMemoryOperations: settings.maxConcurrentMemoryOperations,
    heartbeatIntervalSeconds: settings.heartbeatIntervalSeconds,
    memoryTtlDays: settings.memoryTtlDays,
    checkpointTtlDays: settings.checkpointTtlDays,
    logLevel: settings.logLevel,
    hash: settings.hash.slice(0, 12),
  };
}
