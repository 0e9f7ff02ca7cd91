/**
 * Numbered, forward-only migrations for one collection.
 *
 * The version table `<schema>.mem0_ts_migrations` is keyed by (collection, version): the collection name comes from
 * config, so each collection (memories table + its history table) has its own version history. Every migration runs
 * in its own transaction under one `pg_advisory_xact_lock`, re-reading the applied versions after taking the lock, so
 * two processes starting at once apply each migration exactly once (the second waits, then finds nothing to do).
 * Before applying anything the applied versions must be exactly a prefix of {@link MIGRATIONS} (same numbers, same
 * names): a missing, renamed or unknown (newer) version stops start-up with a clear error.
 *
 * A table created earlier by Mem0's Python pgvector store (`id uuid, vector vector(n), payload jsonb`) is adopted:
 * migration 1 checks its columns and dimension instead of creating it, later ones add our columns and indexes and
 * backfill them, and Mem0's three columns stay as they are.
 * @module
 */
import type pg from 'pg';
import { extractionMigration } from './migrations/extraction.js';
import { accessLogMigration } from './migrations/access-log.js';
import { jobQueueMigration } from './migrations/jobs.js';
import { jobPlansMigration } from './migrations/job-plans.js';
import type { CollectionConfig } from './config.js';
import { HNSW_MAX_DIMS } from './migration.js';
import type { Migration } from './migration.js';
import { EngineError } from '../shared/errors.js';
import { graphMigration } from './migrations/graph.js';
import { graphHistoryMigration } from './migrations/graph-history.js';
import { graphOutboxMigration } from './migrations/graph-outbox.js';
import { withTransaction } from './pool.js';
import { refreshDerivedColumns } from './refresh.js';
import type { Tables } from './sql.js';
import { indexName, tablesFor } from './tables.js';

/** One key for every migration of every collection: DDL is rare, and one lock keeps CREATE EXTENSION serial too. */
const MIGRATION_LOCK_KEY = '7236828793451218944';


/** Migrations 1–3 and 11 build the memories table itself, so putting them back is running them again. */
function onMemoriesTable(migration: Migration): Migration {
  return { ...migration, readopt: migration.up };
}

export const MIGRATIONS: readonly Migration[] = [
  onMemoriesTable({
    version: 1,
    name: 'memories_table',
    async up({ client, tables, collection }) {
      await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      const exists = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [tables.memories]);
      if (exists.rows[0]?.oid) {
        await checkMem0Table(client, tables, collection.dims);
        return;
      }
      await client.query(
        `CREATE TABLE ${tables.memories} (id uuid PRIMARY KEY, vector vector(${collection.dims}), payload jsonb)`,
      );
    },
  }),
  onMemoriesTable({
    version: 2,
    name: 'derived_columns',
    async up({ client, tables }) {
      // Scope columns follow the payload by themselves (Mem0's Python store writes payload only); the timestamps
      // and keyword tokens are filled by us on write and by refreshDerivedColumns for rows written by others.
      await client.query(`ALTER TABLE ${tables.memories}
        ADD COLUMN user_id text GENERATED ALWAYS AS (payload->>'user_id') STORED,
        ADD COLUMN agent_id text GENERATED ALWAYS AS (payload->>'agent_id') STORED,
        ADD COLUMN run_id text GENERATED ALWAYS AS (payload->>'run_id') STORED,
        ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN keywords tsvector,
        ADD COLUMN keywords_hash text`);
      await refreshDerivedColumns(client, tables);
    },
  }),
  onMemoriesTable({
    version: 3,
    name: 'memory_indexes',
    async up({ client, tables, collection }) {
      const t = tables.memories;
      await client.query(
        `CREATE INDEX ${indexName(tables, 'scope_idx')} ON ${t} (user_id, agent_id, updated_at DESC)`,
      );
      await client.query(`CREATE INDEX ${indexName(tables, 'keywords_idx')} ON ${t} USING gin (keywords)`);
      if (collection.hnsw && collection.dims <= HNSW_MAX_DIMS) {
        // Mem0's Python store names its index `<collection>_hnsw_idx` and creates it IF NOT EXISTS: using the same
        // name means one index whichever side created the table first.
        await client.query(
          `CREATE INDEX IF NOT EXISTS ${indexName(tables, 'hnsw_idx', true)} ON ${t} USING hnsw (vector vector_cosine_ops)`,
        );
      }
    },
  }),
  {
    version: 4,
    name: 'history_table',
    async up({ client, tables }) {
      await client.query(`CREATE TABLE ${tables.history} (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        memory_id uuid NOT NULL,
        old_memory text,
        new_memory text,
        event text NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
        created_at timestamptz,
        updated_at timestamptz,
        is_deleted boolean NOT NULL DEFAULT false,
        actor_id text,
        role text,
        user_id text,
        agent_id text,
        recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
      await client.query(
        `CREATE INDEX ${indexName(tables, 'history_memory_idx')} ON ${tables.history} (memory_id, recorded_at)`,
      );
    },
  },
  // 5: the recall log forgetting reads (defined next to its SQL in jobs/forgetting).
  accessLogMigration,
  // 6: the durable write queue of async mode (defined next to its SQL in jobs/queue).
  jobQueueMigration,
  // 7: extraction checkpoints, per-(user, app) leases and task records (defined next to their SQL in jobs/extraction).
  extractionMigration,
  // 8: write-ahead plans of queued jobs over an external vector store (defined next to their SQL in memory/).
  jobPlansMigration,
  {
    version: 9,
    name: 'keyword_terms',
    async up({ client, tables }) {
      // The keyword column now holds stemmed terms (tokens.ts): mark every row stale and derive it again. Mem0's own
      // columns are untouched, so its Python store reads the rows as before.
      await client.query(`UPDATE ${tables.memories} SET keywords_hash = NULL`);
      await refreshDerivedColumns(client, tables);
    },
  },
  // 10: the graph memory's entity and relation tables (tables named in store/graph/tables.ts).
  graphMigration,
  onMemoriesTable({
    version: 11,
    name: 'added_hash',
    async up({ client, tables }) {
      // The text's hash as an add wrote it (cleared when the memory is updated): unique per scope, so two identical
      // adds racing each other store one memory (the add's ON CONFLICT DO NOTHING). Rows written by Mem0's Python
      // store, imports and updates leave it NULL and are outside the index; the add's exact-duplicate check finds
      // them by `payload->>'hash'`, as before.
      await client.query(`ALTER TABLE ${tables.memories} ADD COLUMN IF NOT EXISTS added_hash text`);
      await client.query(
        `CREATE UNIQUE INDEX IF NOT EXISTS ${indexName(tables, 'added_hash_idx')}
           ON ${tables.memories} (user_id, (coalesce(agent_id, '')), added_hash) WHERE added_hash IS NOT NULL`,
      );
    },
  }),
  // 12: the graph's change log per memory written (store/graph/history.ts).
  graphHistoryMigration,
  {
    version: 13,
    name: 'history_seq',
    async up({ client, tables }) {
      // History rows in the order they were written when their times tie: PGlite's clock has millisecond resolution,
      // so two writes of one memory within a millisecond tied on recorded_at and updated_at, and the random id put
      // them in either order. Existing rows are numbered in their stored order.
      await client.query(`ALTER TABLE ${tables.history} ADD COLUMN IF NOT EXISTS seq bigint GENERATED ALWAYS AS IDENTITY`);
    },
  },
  // 14: graph changes waiting to be written to a graph outside the memories' transaction (store/graph/outbox.ts).
  graphOutboxMigration,
];

export interface MigrationResult {
  /** Versions applied by this call (empty when another process or an earlier start already did them). */
  applied: number[];
  /** The collection's version after the call. */
  version: number;
}

/** Brings `collection` up to the latest version. Safe to call from several processes at once. */
export async function migrate(
  pool: pg.Pool,
  collection: CollectionConfig,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const tables = tablesFor(collection);
  const applied: number[] = [];
  let readopted = false;
  for (;;) {
    const step = await withTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await bootstrap(client, tables);
      const done = await client.query<{ version: number; name: string }>(
        `SELECT version, name FROM ${tables.migrations} WHERE collection = $1 ORDER BY version`,
        [collection.collectionName],
      );
      assertPrefix(done.rows, migrations, collection.collectionName);
      // From version 2 on the table has our columns; without them it was re-created (readopted at most once per call).
      if (!readopted && done.rows.length >= 2 && !(await memoriesTableIntact(client, tables))) {
        // Dropped and re-created (or just dropped) outside the plugin, e.g. by Mem0 Python's reset(): adopt it again.
        for (const migration of migrations.slice(0, done.rows.length)) await migration.readopt?.({ client, tables, collection });
        return { version: done.rows.length, ran: null, readopted: true };
      }
      const next = migrations[done.rows.length];
      if (!next) return { version: done.rows.length, ran: null, readopted: false };
      await next.up({ client, tables, collection });
      await client.query(`INSERT INTO ${tables.migrations} (collection, version, name) VALUES ($1, $2, $3)`, [
        collection.collectionName,
        next.version,
        next.name,
      ]);
      return { version: next.version, ran: next.version, readopted: false };
    });
    if (step.readopted) {
      readopted = true;
      continue; // re-read under the lock: later versions may still be missing
    }
    if (step.ran === null) return { applied, version: step.version };
    applied.push(step.ran);
  }
}

/**
 * Whether the memories table still carries our columns (migration 2's `keywords` stands for them all). After migration
 * 2 it always should; a missing table or a bare Mem0 one means someone else re-created it.
 */
async function memoriesTableIntact(client: pg.PoolClient, tables: Tables): Promise<boolean> {
  const res = await client.query<{ intact: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'keywords' AND NOT attisdropped) AS intact`,
    [tables.memories],
  );
  return res.rows[0]?.intact === true;
}

/** The version table is the mechanism itself, so it alone is created on demand (under the lock). */
async function bootstrap(client: pg.PoolClient, tables: Tables): Promise<void> {
  if (tables.schema !== '"public"') await client.query(`CREATE SCHEMA IF NOT EXISTS ${tables.schema}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${tables.migrations} (
    collection text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, version)
  )`);
}

function assertPrefix(done: { version: number; name: string }[], known: readonly Migration[], collection: string): void {
  done.forEach((row, i) => {
    const expected = known[i];
    if (!expected) {
      throw new EngineError(
        'migration',
        `collection '${collection}' is at migration ${row.version} (${row.name}), newer than this plugin knows (${known.length}); upgrade the plugin`,
      );
    }
    if (row.version !== expected.version || row.name !== expected.name) {
      throw new EngineError(
        'migration',
        `collection '${collection}': applied migrations are out of order or missing (found ${row.version} ${row.name} where ${expected.version} ${expected.name} was expected); refusing to run`,
      );
    }
  });
}

/** An existing table must look like Mem0's: uuid id, vector(dims) vector, jsonb payload. */
async function checkMem0Table(client: pg.PoolClient, tables: Tables, dims: number): Promise<void> {
  const cols = await client.query<{ attname: string; type: string; typmod: number }>(
    `SELECT attname, format_type(atttypid, NULL) AS type, atttypmod AS typmod
       FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [tables.memories],
  );
  const byName = new Map(cols.rows.map((c) => [c.attname, c]));
  const id = byName.get('id');
  const vec = byName.get('vector');
  const payload = byName.get('payload');
  if (id?.type !== 'uuid' || vec?.type !== 'vector' || payload?.type !== 'jsonb') {
    throw new EngineError(
      'migration',
      `table ${tables.memories} exists but is not a Mem0 pgvector collection (needs id uuid, vector vector(n), payload jsonb)`,
    );
  }
  if (vec.typmod > 0 && vec.typmod !== dims) {
    throw new EngineError(
      'migration',
      `collection ${tables.memories} stores vector(${vec.typmod}) but embedding_model_dims is ${dims}`,
    );
  }
}
