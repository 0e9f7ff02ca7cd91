/**
 * The databases every storage test runs on: embedded PGlite always, and real PostgreSQL when TEST_DATABASE_URL is
 * set. Each test gets a fresh collection (PGlite: one shared instance per test file, since it takes seconds to
 * start) or a fresh schema (PostgreSQL).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { openDatabase, openStore, parseStoreConfig } from '../../src/store/index.js';
import type { Database, Store, StoreConfig } from '../../src/store/index.js';
import { freshSchema, testDatabaseUrl } from '../helpers/postgres.js';
import type { TestSchema } from '../helpers/postgres.js';
import { seededRandom } from '../helpers/random.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A config for a collection nobody else uses. */
  freshConfig(extra?: Record<string, unknown>): Promise<StoreConfig>;
  /** Opens a store for that config (on the shared database for PGlite). */
  open(config: StoreConfig): Promise<Store>;
  /** A raw pool on the same database, for arranging fixtures the way other programs would. */
  pool(): Promise<pg.Pool>;
  close(): Promise<void>;
}

export const DIMS = 8;

function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

function pgliteBackend(): Backend {
  let shared: Promise<Database> | null = null;
  const db = () => (shared ??= openDatabase(parseStoreConfig({ provider: 'pglite', config: { path: 'memory://' } })));
  return {
    name: 'pglite',
    async freshConfig(extra = {}) {
      return parseStoreConfig({
        provider: 'pglite',
        config: { path: 'memory://', collection_name: uniqueName('mem'), embedding_model_dims: DIMS, ...extra },
      });
    },
    async open(config) {
      return openStore(config, { database: await db() });
    },
    async pool() {
      return (await db()).pool;
    },
    async close() {
      if (shared) await (await shared).close();
      shared = null;
    },
  };
}

function postgresBackend(url: string): Backend {
  const admin = new pg.Pool({ connectionString: url, max: 4 });
  const schemas: TestSchema[] = [];
  return {
    name: 'postgres',
    async freshConfig(extra = {}) {
      const schema = await freshSchema(admin);
      schemas.push(schema);
      return parseStoreConfig({
        provider: 'pgvector',
        config: {
          connection_string: url, schema_name: schema.name, collection_name: uniqueName('mem'),
          embedding_model_dims: DIMS, maxconn: 4, ...extra,
        },
      });
    },
    open: (config) => openStore(config),
    async pool() {
      return admin;
    },
    async close() {
      for (const s of schemas) await s.drop();
      await admin.end();
    },
  };
}

/** The backends available in this run (PGlite first). */
export function backends(): Backend[] {
  const list: Backend[] = [pgliteBackend()];
  const url = testDatabaseUrl();
  if (url) list.push(postgresBackend(url));
  return list;
}

/** A deterministic unit vector pointing mostly along axis `i` (plus a little of `j`). */
export function vec(i: number, j = (i + 1) % DIMS, mix = 0.1): number[] {
  const v = Array.from({ length: DIMS }, () => 0);
  v[i % DIMS] = 1;
  v[j % DIMS] = (v[j % DIMS] ?? 0) + mix;
  return v;
}

/** A pseudo-random vector from a seed (mulberry32), reproducible across runs. */
export function randomVector(seed: number): number[] {
  const next = seededRandom(seed);
  return Array.from({ length: DIMS }, () => next() * 2 - 1);
}

/**
 * Opens a store on a fresh collection per call (`defaults` and `extra` go into its config); every store it opened,
 * and then the backend, are closed after the tests of the enclosing describe.
 */
export function freshStores(backend: Backend, defaults: Record<string, unknown> = {}): (extra?: Record<string, unknown>) => Promise<Store> {
  const opened: Store[] = [];
  afterAll(async () => {
    for (const s of opened) await s.close();
    await backend.close();
  });
  return async (extra = {}) => {
    const store = await backend.open(await backend.freshConfig({ ...defaults, ...extra }));
    opened.push(store);
    return store;
  };
}
