/**
 * The store: one pool, migrated collection, memories API. `openStore(config)` is the only way in; `close()` ends
 * the pool (and the embedded database).
 * @module
 */
import type pg from 'pg';
import { logger } from '../shared/log.js';
import type { RecallSink } from './access-log.js';
import type { CollectionConfig, StoreConfig } from './config.js';
import { EngineError } from '../shared/errors.js';
import { MemoryStore } from './memories.js';
import { migrate } from './migrations.js';
import type { MigrationResult } from './migrations.js';
import { openDatabase, SESSION_SETTINGS_SQL } from './pool.js';
import type { Database, PoolTuning } from './pool.js';
import { refreshDerivedColumns } from './refresh.js';
import type { Tables } from './sql.js';
import { transactionPool } from './scoped-pools.js';
import { tablesFor } from './tables.js';

export interface Store {
  readonly kind: Database['kind'];
  readonly database: Database;
  readonly collection: CollectionConfig;
  readonly tables: Tables;
  /** pgvector's version as installed in the database, e.g. "0.8.1". */
  readonly pgvectorVersion: string;
  readonly migration: MigrationResult;
  readonly memories: MemoryStore;
  /** A real round trip: the database answers and pgvector is installed. */
  ping(): Promise<{ pgvectorVersion: string; dims: number }>;
  /** Re-derives keyword tokens and timestamps for rows written by Mem0's Python store since the last call. */
  refreshDerived(): Promise<number>;
  /** Where searches note their recalls (forgetting's access log); set by the engine that owns the store. */
  readonly accessLog?: RecallSink | undefined;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  tuning?: Partial<PoolTuning>;
  /**
   * An already open database to use instead of opening one from `config` (several collections over one PGlite, or
   * tests). The store then does not own it: `close()` leaves it open.
   */
  database?: Database;
}

/**
 * Opens the pool, migrates the collection, checks the vector dimension, detects pgvector's version and refreshes
 * derived columns of rows written by Mem0's Python store. Closes what it opened if any step fails.
 */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<Store> {
  const owned = options.database === undefined;
  const database = options.database ?? (await openDatabase(config, options.tuning));
  try {
    const migration = await migrate(database.pool, config);
    const tables = tablesFor(config);
    const pgvectorVersion = await vectorVersion(database);
    await checkDims(database, tables, config.dims);
    const refreshed = await refreshDerivedColumns(database.pool, tables);
    if (refreshed > 0) logger.info({ refreshed, collection: config.collectionName }, 'derived columns refreshed');
    // Connections opened before the extension existed (a new database) missed the settings; an idle one gets them now.
    await database.pool.query(SESSION_SETTINGS_SQL).catch(() => {});
    const memories = new MemoryStore(database.pool, tables, config.dims, {
      iterativeScan: versionAtLeast(pgvectorVersion, 0, 8),
    });
    return {
      kind: database.kind,
      database,
      collection: {
        schemaName: config.schemaName, collectionName: config.collectionName, dims: config.dims, hnsw: config.hnsw,
      },
      tables,
      pgvectorVersion,
      migration,
      memories,
      refreshDerived: () => refreshDerivedColumns(database.pool, tables),
      ping: async () => ({ pgvectorVersion: await vectorVersion(database), dims: config.dims }),
      close: () => (owned ? database.close() : Promise.resolve()),
    };
  } catch (error) {
    if (owned) await database.close().catch(() => {});
    throw error;
  }
}

async function vectorVersion(database: Database): Promise<string> {
  const res = await database.pool.query<{ v: string | null }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'");
  const version = res.rows[0]?.v;
  if (!version) throw new EngineError('unavailable', 'the pgvector extension is not installed in this database');
  return version;
}

/** The configured dimension must match the column's on every start, not only when the table was adopted. */
async function checkDims(database: Database, tables: Tables, dims: number): Promise<void> {
  const res = await database.pool.query<{ typmod: number }>(
    "SELECT atttypmod AS typmod FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'vector'",
    [tables.memories],
  );
  const typmod = res.rows[0]?.typmod ?? -1;
  if (typmod > 0 && typmod !== dims) {
    throw new EngineError('store_config', `collection ${tables.memories} stores vector(${typmod}) but embedding_model_dims is ${dims}`);
  }
}

export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return a > major || (a === major && b >= minor);
}

export { parseStoreConfig, defaultStoreConfig } from './config.js';
export { claimShared, sharedOwner } from './embedded-home.js';
export { openDatabase, settleEmbeddedDir, withTransaction } from './pool.js';
export type { Database, PoolTuning } from './pool.js';
export type { StoreConfig, CollectionConfig } from './config.js';
export type { MemoryRecord, NewMemory, MemoryChange, HistoryEntry, SearchHit, SearchOptions, Scope } from './memories.js';

/** A memory store whose every query runs on `client` (a job's transaction client, or a pool bounded by a call's deadline). */
export function storeOnClient(store: Store, client: pg.PoolClient | pg.Pool): MemoryStore {
  const pool = 'release' in client ? transactionPool(client) : client;
  return new MemoryStore(pool, store.tables, store.collection.dims, { iterativeScan: versionAtLeast(store.pgvectorVersion, 0, 8) });
}
