/**
 * One `pg.Pool` for everything, whichever database is behind it:
 * - PostgreSQL: TCP keep-alive, connect / statement / idle-in-transaction timeouts, `maxconn` clients.
 * - PGlite (embedded, WASM): the pgvector extension loaded, reached through PGlite's node-postgres adapter with a
 *   pool of exactly one client (PGlite is a single backend; one client keeps transactions from interleaving).
 * The rest of the store only ever sees `pg.Pool` / `pg.PoolClient`, so the same SQL runs on both.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PglitePgConnection } from '@electric-sql/pglite/node-postgres';
import { vector } from '@electric-sql/pglite-pgvector';
import { logger } from '../shared/log.js';
import type { StoreConfig } from './config.js';
import { EngineError } from '../shared/errors.js';
import { acquireDataLock } from './data-lock.js';
import type { DataLock } from './data-lock.js';
import { adoptLegacyData, legacyCandidates } from './embedded-home.js';

/** Timeouts and keep-alive for the PostgreSQL pool; every one has a default. */
export interface PoolTuning {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveInitialDelayMs: number;
  applicationName: string;
}

export const DEFAULT_POOL_TUNING: PoolTuning = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
  keepAliveInitialDelayMs: 10_000,
  applicationName: 'mem0-dify-plugin',
};

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly pool: pg.Pool;
  /** Ends the pool (and shuts PGlite down). Safe to call twice. */
  close(): Promise<void>;
}

/** Opens the pool for `config`. For PGlite this also starts the embedded database (a few seconds on first use). */
export async function openDatabase(config: StoreConfig, tuning: Partial<PoolTuning> = {}): Promise<Database> {
  const t = { ...DEFAULT_POOL_TUNING, ...tuning };
  return config.kind === 'pglite' ? openPglite(config) : openPostgres(config, t);
}

function openPostgres(config: Extract<StoreConfig, { kind: 'postgres' }>, t: PoolTuning): Database {
  const c = config.connection;
  const pool = new pg.Pool({
    ...(c.connectionString !== undefined ? { connectionString: c.connectionString } : {}),
    ...(c.host !== undefined ? { host: c.host } : {}),
    ...(c.port !== undefined ? { port: c.port } : {}),
    ...(c.database !== undefined ? { database: c.database } : {}),
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.ssl !== undefined ? { ssl: c.ssl } : {}),
    min: config.minConnections,
    max: config.maxConnections,
    keepAlive: true,
    keepAliveInitialDelayMillis: t.keepAliveInitialDelayMs,
    connectionTimeoutMillis: t.connectTimeoutMs,
    idleTimeoutMillis: t.idleTimeoutMs,
    statement_timeout: t.statementTimeoutMs,
    idle_in_transaction_session_timeout: t.idleInTransactionTimeoutMs,
    // Client-side backstop for a server that stops answering (statement_timeout needs a live server).
    query_timeout: t.statementTimeoutMs + 5_000,
    application_name: t.applicationName,
    // Statements queued on one client go out without waiting for each answer (node-postgres pipeline mode). Code
    // that awaits each query behaves exactly as before; the queue sends a few statements together on purpose
    // (src/jobs/queue/pipeline.ts) and so saves round trips.
    pipeline: true,
    // Awaited by pg-pool before the client is handed out, so the settings never overlap the caller's first query.
    onConnect: applySessionSettings,
  } as pg.PoolConfig);
  // An idle client can die (server restart, network): pg emits 'error' on the pool; without a listener Node exits.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle PostgreSQL client failed; it will be replaced'));
  // A checked-out client can fail between two queries (backend terminated, server restart): pg then emits 'error' on
  // the client itself, and without a listener Node exits. The holder sees the failure on its next query and the
  // broken client is discarded when released.
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn({ err: error.message }, 'PostgreSQL connection failed while in use; it will be replaced'));
  });
  return onceClosable('postgres', pool, async () => {});
}

/**
 * An empty data directory made by the build next to the bundle (scripts/build.mjs). Unpacking it on a first start
 * replaces PGlite's initdb, which runs in a second WASM instance and roughly doubles the start's peak memory.
 * Running from sources there is none, and PGlite runs initdb as usual.
 */
export const PGLITE_TEMPLATE = new URL('./pglite-template.tar.gz', import.meta.url);

async function newDatabaseTemplate(dataDir: string): Promise<Blob | undefined> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory && existsSync(path.join(dataDir, 'PG_VERSION'))) return undefined;
  try {
    return new Blob([await readFile(PGLITE_TEMPLATE)]);
  } catch {
    return undefined;
  }
}

/**
 * Takes the directory's lock (one process at a time) and moves an older version's data into place on first use.
 * A `memory://` database needs neither.
 */
async function claimDataDir(config: Extract<StoreConfig, { kind: 'pglite' }>): Promise<DataLock | undefined> {
  const { dataDir, legacy } = config;
  if (dataDir.startsWith('memory://')) return undefined;
  await mkdir(path.dirname(dataDir), { recursive: true });
  const lock = await acquireDataLock(dataDir, { logger });
  try {
    if (legacy) await adoptLegacyData(dataDir, await legacyCandidates(legacy.path, legacy.cwd), logger);
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    await lock.release();
    throw new EngineError('unavailable', `could not prepare the embedded data directory ${dataDir}: ${(error as Error).message}`, { cause: error });
  }
  return lock;
}

/**
 * Moves an older version's data into place now, if the directory does not exist yet, without opening it: callers
 * that decide something from files beside the data (memory/workspace.ts) must see them where they will be.
 */
export async function settleEmbeddedDir(config: StoreConfig): Promise<void> {
  if (config.kind !== 'pglite' || config.dataDir.startsWith('memory://') || existsSync(config.dataDir) || !config.legacy) return;
  const lock = await claimDataDir(config);
  await lock?.release();
}

async function openPglite(config: Extract<StoreConfig, { kind: 'pglite' }>): Promise<Database> {
  const { dataDir } = config;
  const lock = await claimDataDir(config);
  let db: PGlite;
  try {
    const template = await newDatabaseTemplate(dataDir);
    logger.debug({ dataDir, from: template ? 'template' : 'existing or initdb' }, 'starting the embedded database');
    db = await PGlite.create(dataDir, { extensions: { vector }, ...(template ? { loadDataDir: template } : {}) });
  } catch (error) {
    await lock?.release();
    throw new EngineError('unavailable', `embedded database failed to start in ${dataDir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // Each pg client gets its own adapter connection object over the one PGlite instance (a shared one would be
  // reused after `end()` if the pool ever replaced its client). But PGlite is ONE server session: a named statement
  // prepared through one client still exists when the pool replaces that client (after an error or a timeout). So
  // node-postgres' record of what is prepared is shared by every client of this instance; a fresh record would parse
  // the name again and the session would refuse it (42P05, "prepared statement … already exists").
  const prepared = { parsedStatements: {}, submittedNamedStatements: {} };
  class PgliteClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      const connection = Object.assign(new PglitePgConnection({ pglite: db }), prepared);
      super({ ...config, connection } as pg.ClientConfig);
    }
  }
  // One client: callers queue for it; the wait is bounded like a PostgreSQL connect so nothing hangs forever.
  const pool = new pg.Pool({
    Client: PgliteClient, max: 1, idleTimeoutMillis: 0, connectionTimeoutMillis: 60_000, onConnect: applySessionSettings,
  } as pg.PoolConfig);
  pool.on('error', (error) => logger.warn({ err: error.message }, 'embedded database client failed'));
  // The lock goes last, once PGlite has written everything and let go of the directory.
  return onceClosable('pglite', pool, () => db.close().finally(() => lock?.release()));
}

function onceClosable(kind: Database['kind'], pool: pg.Pool, after: () => Promise<void>): Database {
  let closing: Promise<void> | null = null;
  return {
    kind,
    pool,
    close() {
      closing ??= pool.end().then(after);
      return closing;
    },
  };
}

/**
 * Session settings, set once per connection (not per statement):
 * - `hnsw.iterative_scan = relaxed_order`, so a filtered HNSW scan keeps going until enough rows pass the filter.
 *   Only where pgvector is at least 0.8 (older versions reject the name); a connection opened before the extension
 *   exists gets nothing, and searches stay correct without it (they fall back to per-transaction settings and an
 *   exact scan).
 * - `plan_cache_mode = force_generic_plan`: our named statements (sql.ts `prepared`: writes by id or unique key, the
 *   access log, the small-scope search) are planned once per connection. Left to choose, PostgreSQL re-plans the
 *   small-scope search on every call in a collection where one user holds most rows (the generic row estimate looks
 *   worse than a small user's own), and its plan is the scope index either way. Unnamed statements, i.e. everything
 *   else, are planned per call as before.
 * Session level, not `SET LOCAL`: plain values that outlive transactions, so the queue's job transactions and
 * PGlite's one client keep them.
 */
export const SESSION_SETTINGS_SQL = `SELECT set_config('plan_cache_mode', 'force_generic_plan', false),
  (SELECT set_config('hnsw.iterative_scan', 'relaxed_order', false)
    FROM pg_extension
    WHERE extname = 'vector' AND (regexp_match(extversion, '^(\\d+)\\.(\\d+)'))::int[] >= ARRAY[0, 8])`;

/**
 * Applies {@link SESSION_SETTINGS_SQL} on `db`. A failure is logged, not thrown (the settings only make searches
 * faster), so the returned promise always resolves.
 */
export async function applySessionSettings(db: Queryable): Promise<void> {
  try {
    await db.query(SESSION_SETTINGS_SQL);
  } catch (error) {
    logger.debug({ err: (error as Error).message }, 'search session settings not applied');
  }
}

/** Anything that runs a query: the pool or a checked-out client. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** The cheapest round trip that proves a connection works (the keep-alive's database probe). */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}

/**
 * Runs `fn` inside BEGIN/COMMIT on one client, rolling back on any error. Everything inside must use the client it
 * is given (never the pool: with PGlite's single client that would wait forever).
 */
export function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  });
}

/**
 * Runs `fn` on one client of its own, which opens and ends its transaction itself. When `fn` fails, whatever it
 * left open is rolled back; a client that cannot even do that is destroyed instead of going back to the pool.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    return await fn(client);
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
