/**
 * One engine per credential set: the providers (LLM, embedder, optional reranker), the store, and the memory
 * service over them. With a `mem0ai` vector store (qdrant, chroma, …) the memories live there and the store holds
 * only the state tables; `store.external` names it (chosen here, once) and every repository built over the store
 * serves the external memories. `openEngine` builds it, `checkEngine` is the credential round trip (database reachable,
 * pgvector present, embedder answers with the configured dimension; no LLM tokens), `close` releases the store.
 * @module
 */
import type { Logger } from 'pino';
import { AccessLogger } from './access-log.js';
import { ExternalAccessLog } from './external/access-log.js';
import { openStore, parseStoreConfig } from '../store/index.js';
import { borrowDatabase } from './embedded-databases.js';
import { createProviders, DEFAULT_PROVIDER_TIMEOUT_MS } from './providers.js';
import type { Providers } from './providers.js';
import { MemoryService } from './service.js';
import { BLOCK_FIELDS } from './config/settings.js';
import type { Settings } from './config/settings.js';
import { describeWorkspaceModel, isWorkspaceModel } from './config/workspace-models.js';
import { EngineError } from '../shared/errors.js';
import { storeRepository } from './store-repository.js';
import type { EngineStore } from './store-repository.js';
import { stateStoreConfig } from './config/vector-store-config.js';
import { openExternalStore } from './external/stores.js';
import { GraphMemory } from './graph/graph-memory.js';
import { GraphOutbox, outboxTiming } from './graph/outbox.js';
import { PostgresGraph } from '../store/graph/postgres.js';
import { openNeo4jGraph } from '../store/graph/neo4j.js';
import type { GraphBackend } from '../store/graph/types.js';

export interface Engine {
  readonly settingsHash: string;
  readonly providers: Providers;
  readonly store: EngineStore;
  readonly service: MemoryService;
  /** The graph memory when a graph store is configured (local_graph_db_json_secret), else null. */
  readonly graph: GraphMemory | null;
  close(): Promise<void>;
}

export interface EngineOptions {
  /** Deadline of one provider call (ms). */
  providerTimeoutMs?: number;
  /** Where a relative PGlite path is resolved (default: the working directory). */
  baseDir?: string;
  logger?: Logger;
}

export async function openEngine(settings: Settings, options: EngineOptions = {}): Promise<Engine> {
  // Providers first: a bad provider block fails before a database pool is opened.
  const providers = await createProviders(settings, { timeoutMs: options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS });
  const vs = await measuredDims(settings, providers);
  // A mem0ai vector store holds the memories; our store then only holds the state tables (its memories table stays empty).
  const storeBlock = vs.external
    ? stateStoreConfig({ provider: vs.provider, config: vs.config, stateStore: vs.external.stateStore })
    : { provider: vs.provider, config: vs.config };
  const storeConfig = parseStoreConfig(storeBlock, { baseDir: options.baseDir });
  const external = vs.external
    ? await openExternalStore({ provider: vs.provider, config: vs.config }, { timeoutMs: options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS })
    : undefined;
  // An embedded database directory may already be open for another credential set: share it, never open it twice.
  // A state database that fails to open closes the vector store opened for it.
  let borrowed: Awaited<ReturnType<typeof borrowDatabase>>;
  try {
    borrowed = await borrowDatabase(storeConfig);
  } catch (error) {
    await external?.close();
    throw error;
  }
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore(storeConfig, borrowed.database ? { database: borrowed.database } : {});
  } catch (error) {
    await borrowed.release();
    await external?.close();
    throw error;
  }
  // The graph store, chosen once per credential set: the tables beside the memories (or the state tables of a mem0ai
  // vector store), or a Neo4j server. A Neo4j that does not answer fails the engine like a database that does not.
  let graphBackend: GraphBackend | null = null;
  try {
    graphBackend = await openGraphBackend(settings, opened, options.providerTimeoutMs);
  } catch (error) {
    await opened.close();
    await borrowed.release();
    await external?.close();
    throw error;
  }
  const graph = graphBackend && settings.graphStore
    ? new GraphMemory(graphBackend, providers.llm, providers.embedder, {
      threshold: settings.graphStore.threshold, customPrompt: settings.graphStore.customPrompt, logger: options.logger,
      // The memories' history is in the SQL store (beside a mem0ai vector store too): the graph's change log goes there.
      changeLog: { db: opened.database.pool, tables: opened.tables },
      // Only the PostgreSQL graph beside SQL memories shares their transaction; any other waits in the outbox.
      ...(graphBackend.provider === 'postgres' && !external
        ? {}
        : { outbox: new GraphOutbox(opened.database.pool, opened.tables, graphBackend, options.logger, outboxTiming(options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS)) }),
    })
    : null;
  // Searches over this store (through any repository built on it) note their recalls here, in the background.
  const accessLog = external ? new ExternalAccessLog(opened.database.pool, opened.tables) : new AccessLogger(opened.database.pool, opened.tables);
  const store: EngineStore = { ...opened, accessLog, external };
  const service = new MemoryService({ repository: storeRepository(store), providers, graph, logger: options.logger });
  let closing: Promise<void> | undefined;
  return {
    settingsHash: settings.hash,
    providers,
    store,
    service,
    graph,
    // Recalls still being written go first: the pool they need closes with the store (a Neo4j driver closes before it).
    close: () => (closing ??= accessLog.close().then(() => graphBackend?.close()).then(() => store.close()).finally(() =>
      Promise.all([borrowed.release(), external?.close()]).then(() => undefined))),
  };
}

/**
 * A workspace embedder (a picker) has no `embedding_dims` to read: its dimension is measured with one embedding
 * before the store opens, and the collection is created (or checked) with it. A size the vector DB block names must
 * agree with what the model returns.
 */
async function measuredDims(settings: Settings, providers: Providers): Promise<Settings['vectorStore']> {
  const vs = settings.vectorStore;
  if (!isWorkspaceModel(settings.embedder)) return vs;
  const dims = (await providers.embedder.embed('dimension check', 'search')).length;
  const given = vs.config.embedding_model_dims;
  if (given === undefined) return { ...vs, config: { ...vs.config, embedding_model_dims: dims } } as Settings['vectorStore'];
  if (given !== dims) {
    throw new EngineError('config', `${BLOCK_FIELDS.vectorStore}.config.embedding_model_dims is ${String(given)} but ${describeWorkspaceModel('embedder', settings.embedder)} returns ${dims} dimensions`, {
      role: 'embedder', provider: providers.embedder.provider, field: BLOCK_FIELDS.vectorStore,
    });
  }
  return vs;
}

/** The graph backend of the settings' graph-store block; null without one (no graph table is ever touched then). */
async function openGraphBackend(settings: Settings, store: EngineStore, timeoutMs: number | undefined): Promise<GraphBackend | null> {
  const config = settings.graphStore;
  if (!config) return null;
  if (config.provider === 'postgres') return new PostgresGraph(store.database.pool, store.tables, store.collection.dims);
  return openNeo4jGraph(config.connection!, { dims: store.collection.dims, timeoutMs: timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS });
}

/** The credential round trip on a freshly opened engine, closed afterwards. */
export async function checkEngine(settings: Settings, options: EngineOptions & { signal?: AbortSignal } = {}): Promise<{ pgvectorVersion: string; dims: number }> {
  const engine = await openEngine(settings, options);
  try {
    const checked = await engine.service.checkConnection(options.signal);
    // A configured graph store answers too (the Neo4j server was reached when the engine opened; this is a query).
    await engine.graph?.backend.ping();
    return checked;
  } finally {
    await engine.close();
  }
}
