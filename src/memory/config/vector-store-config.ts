/**
 * Vector stores other than our own PostgreSQL ones: the block `{"provider": "qdrant", "config": {...},
 * "state_store": {...}}` names one of `mem0ai`'s vector stores (reached through its `VectorStoreFactory`) for the
 * memories, and where the plugin's state tables live (history, job queue, extraction checkpoints and tasks, access
 * log): `state_store` takes the same blocks as the vector store itself, `pgvector` or `pglite`; without it the
 * embedded PGlite database in its default folder is used.
 *
 * Config keys are Mem0's Python ones (snake_case), mapped onto `mem0ai`'s camelCase names: `collection_name` →
 * `collectionName`, `embedding_model_dims` → `dimension` (and `embeddingModelDims`, which some stores read), every
 * other key camelCased (`api_key` → `apiKey`, `redis_url` → `redisUrl`, `db_path` → `dbPath`). Pure: no I/O.
 * @module
 */
import { createHash } from 'node:crypto';
import { camelCase } from './provider-config.js';
import type { StateStoreBlock } from './settings.js';

/** `mem0ai` 3.3 vector stores this plugin passes a block to (`pgvector` and `pglite` are served by our own store). */
export const EXTERNAL_VECTOR_STORES = [
  'memory', 'qdrant', 'chroma', 'redis', 'valkey', 'supabase', 'milvus', 'weaviate', 'elasticsearch', 'opensearch',
  'mongodb', 'pinecone', 'azure-ai-search', 'upstash_vector', 'turbopuffer', 'cassandra', 's3_vectors', 's3-vectors',
  'baidu', 'vectorize', 'databricks', 'neptune', 'azure_mysql', 'oracledb', 'vertex_ai_vector_search',
] as const;

/**
 * How a `mem0ai` 3.3 store turned its search result into `score`, per store and metric, read from its own code:
 * - `inverse`: a distance `d` reported as `1 / (1 + d)` (Chroma always; Milvus and Baidu with their default `L2`;
 *   Turbopuffer `euclidean_squared`; S3 Vectors `euclidean`; Neptune Analytics always; Oracle `EUCLIDEAN`, `HAMMING`,
 *   `MANHATTAN`). The distance is recovered and scored `max(0, 1 - d)` like every distance backend.
 * - `inverse_sqrt`: Oracle `EUCLIDEAN_SQUARED`, reported as `1 / (1 + sqrt(d))`.
 * - `distance`: the raw distance passed through (Milvus/Baidu with an L2 metric not spelled exactly `L2`, which
 *   `mem0ai` compares case-sensitively while the server does not).
 * - `similarity`: already a similarity (cosine, inner product, `1 - distance`, vendor scores): clamped to [0, 1].
 */
type ScoreKind = 'inverse' | 'inverse_sqrt' | 'distance' | 'similarity';

function scoreKind(provider: string, config: Record<string, unknown>): ScoreKind {
  const text = (key: string, fallback: string): string => (typeof config[key] === 'string' ? (config[key] as string) : fallback);
  switch (provider) {
    case 'chroma':
    case 'neptune':
      return 'inverse';
    case 'milvus':
    case 'baidu': {
      const metric = text('metricType', 'L2');
      if (metric === 'L2') return 'inverse';
      return metric.toUpperCase() === 'L2' ? 'distance' : 'similarity';
    }
    case 'turbopuffer':
      return text('distanceMetric', 'cosine_distance') === 'euclidean_squared' ? 'inverse' : 'similarity';
    case 's3_vectors':
    case 's3-vectors':
      return text('distanceMetric', 'cosine') === 'euclidean' ? 'inverse' : 'similarity';
    case 'oracledb': {
      const metric = text('distanceMetric', 'COSINE').toUpperCase();
      if (metric === 'EUCLIDEAN_SQUARED') return 'inverse_sqrt';
      return metric === 'EUCLIDEAN' || metric === 'HAMMING' || metric === 'MANHATTAN' ? 'inverse' : 'similarity';
    }
    default:
      return 'similarity';
  }
}

/**
 * The 0–1 similarity of a `mem0ai` search score for `provider`; `config` is the store's config as passed to
 * `mem0ai` ({@link mapVectorStoreConfig}: camelCase keys), which decides the metric.
 */
export function normalizeScore(provider: string, score: number | undefined | null, config: Record<string, unknown> = {}): number {
  if (typeof score !== 'number' || !Number.isFinite(score)) return 0;
  let value: number;
  switch (scoreKind(provider, config)) {
    case 'inverse':
      value = score > 0 ? 1 - (1 / score - 1) : 0;
      break;
    case 'inverse_sqrt':
      value = score > 0 ? 1 - (1 / score - 1) ** 2 : 0;
      break;
    case 'distance':
      value = 1 - score;
      break;
    default:
      value = score;
  }
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

export function isExternalVectorStore(provider: string): boolean {
  return (EXTERNAL_VECTOR_STORES as readonly string[]).includes(provider);
}

/** Mem0's defaults for the collection keys every store shares. */
export const DEFAULT_COLLECTION = 'mem0';
export const DEFAULT_DIMS = 1536;

/** The collection name and vector size of an external block (Mem0's defaults when absent). */
export function collectionOf(config: Record<string, unknown>): { collectionName: string; dims: number } {
  const name = config.collection_name;
  const dims = config.embedding_model_dims;
  return {
    collectionName: typeof name === 'string' && name.trim() !== '' ? name.trim() : DEFAULT_COLLECTION,
    dims: typeof dims === 'number' && Number.isInteger(dims) && dims > 0 ? dims : DEFAULT_DIMS,
  };
}

/**
 * The state store's block for the store parser: a collection named after the external one
 * ({@link stateCollectionName}) whose (unused, empty) memories table has the external store's vector size; the state
 * tables are `<that name>_history`, `<that name>_jobs`, ….
 */
export function stateStoreConfig(external: { provider: string; config: Record<string, unknown>; stateStore: StateStoreBlock }): {
  provider: 'pgvector' | 'pglite';
  config: Record<string, unknown>;
} {
  const { collectionName, dims } = collectionOf(external.config);
  return {
    provider: external.stateStore.provider,
    config: { collection_name: stateCollectionName(external.provider, collectionName, external.config), embedding_model_dims: dims, ...external.stateStore.config },
  };
}

/**
 * Config keys (Mem0's Python names) that say WHERE a store is, as opposed to how to log in or tune it. Two blocks
 * that differ in one of these are different stores and must not share state tables.
 */
const LOCATION_KEYS = [
  'host', 'port', 'url', 'uri', 'path', 'db_path', 'endpoint', 'cluster_url', 'redis_url', 'valkey_url', 'mongo_uri',
  'connection_string', 'tenant', 'database', 'database_name', 'db_name', 'dbname', 'account', 'index_name', 'table_name',
  'vector_bucket_name', 'namespace', 'graph_identifier', 'project_id', 'region', 'cloud_id', 'environment', 'dsn',
] as const;

/**
 * The state tables' collection name: `<collection_name>_<provider>` as a plain SQL name (e.g. `mem0_qdrant`), so an
 * external store never shares its queue or history with a pgvector/pglite collection of the same name in the same
 * database. Two different stores must never share state tables either (one credential set's queue workers would
 * claim the other's jobs and write them, with their own LLM, into their own store; extraction checkpoints would mix),
 * and several credential sets often share one state database (the default embedded one). So a hash is added of the
 * exact provider, collection name and the store's location keys ({@link LOCATION_KEYS}: host, port, url, path, …)
 * whenever there are any, or when the plain spelling loses something (characters other than letters, digits and
 * `_`, a leading digit, a name too long). Changing an API key keeps the name; moving the store to another host does
 * not. A `collection_name` inside `state_store.config` overrides all this.
 */
export function stateCollectionName(provider: string, collectionName: string, config: Record<string, unknown> = {}): string {
  const plain = (text: string) => text.replace(/[^A-Za-z0-9_]/g, '_');
  const name = `${plain(collectionName)}_${plain(provider)}`;
  const location = LOCATION_KEYS.filter((k) => config[k] !== undefined && config[k] !== null && config[k] !== '').map((k) => [k, config[k]]);
  const lossless = name.length <= 63 && /^[A-Za-z_]/.test(name) && plain(collectionName) === collectionName && plain(provider) === provider;
  if (lossless && location.length === 0) return name;
  const hash = createHash('sha256').update(JSON.stringify([provider, collectionName, location])).digest('hex').slice(0, 10);
  return `${/^[A-Za-z_]/.test(name) ? '' : 'c_'}${name}`.slice(0, 52) + `_${hash}`;
}

/** Python keys → `mem0ai` config for `VectorStoreFactory.create(provider, config)`. */
export function mapVectorStoreConfig(provider: string, config: Record<string, unknown>): Record<string, unknown> {
  const { collectionName, dims } = collectionOf(config);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || value === null) continue;
    if (key === 'embedding_model_dims' || key === 'collection_name') continue;
    out[camelCase(key)] = value;
  }
  out.collectionName = collectionName;
  out.dimension = dims;
  out.embeddingModelDims = dims;
  // The memory store's file: Mem0 Python calls it `path`, mem0ai `dbPath`.
  if (provider === 'memory' && out.dbPath === undefined && typeof out.path === 'string') out.dbPath = out.path;
  return out;
}
