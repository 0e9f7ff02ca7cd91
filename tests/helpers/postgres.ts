/**
 * Test helpers for a real PostgreSQL with pgvector.
 *
 * The server comes from `scripts/test-db.sh start` (CI's `.ci/run` starts it and exports `TEST_DATABASE_URL`, e.g.
 * `postgres://postgres:<pw>@127.0.0.1:<port>/mem0_test`; the `vector` extension already exists in that database).
 * Each test gets its own schema, as pg-boss's tests do, so tests can run side by side and leave nothing behind:
 *
 * ```ts
 * const url = testDatabaseUrl();
 * describe.skipIf(!url)('store on PostgreSQL', () => {
 *   const pool = new pg.Pool({ connectionString: url });
 *   let schema: TestSchema;
 *   beforeEach(async (ctx) => { schema = await freshSchema(pool, ctx.task.name); });
 *   afterEach(async () => { await schema.drop(); });
 *   afterAll(async () => { await pool.end(); });
 *   // use schema.name in SQL (it is a plain lowercase identifier), or a pool on urlWithSearchPath(url!, schema.name)
 * });
 * ```
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';

/** Anything with pg's `query(text)`: a `pg.Pool`, a `pg.Client`, or PGlite's node-postgres adapter. */
export interface Queryable {
  query(text: string): Promise<unknown>;
}

export interface TestSchema {
  /** Schema name: `t_` + 24 hex digits, safe to use unquoted. */
  readonly name: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/**
 * The URL of the test server, or undefined when none was started (tests then skip).
 * In CI (`CI` set) a missing URL throws instead: storage tests must never skip silently there.
 */
export function testDatabaseUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL?.trim();
  if (url) return url;
  if (process.env.CI) {
    throw new Error('TEST_DATABASE_URL is not set in CI: .ci/run should have started scripts/test-db.sh');
  }
  return undefined;
}

/** Why database tests are skipped here, for skip messages. */
export const noDatabaseReason =
  'TEST_DATABASE_URL not set (start a server with: export TEST_DATABASE_URL="$(scripts/test-db.sh start)")';

/** Schema name for a key: the same key always gives the same name, so a crashed run's leftover is replaced. */
export function schemaNameFor(key: string): string {
  return `t_${createHash('sha1').update(key).digest('hex').slice(0, 24)}`;
}

/**
 * Creates an empty schema for one test (dropping a leftover of the same key first) and returns it.
 * Without a key the name is random; pass the test's name to make leftovers easy to find.
 */
export async function freshSchema(db: Queryable, key: string = randomUUID()): Promise<TestSchema> {
  const name = schemaNameFor(key);
  await db.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
  await db.query(`CREATE SCHEMA ${name}`);
  return {
    name,
    drop: async () => {
      await db.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    },
  };
}

/**
 * The same URL with `search_path` set to `schema, public` for every connection made from it (pg reads the
 * `options` parameter), so unqualified table names land in the test's schema and `vector` still resolves.
 */
export function urlWithSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema},public`);
  return parsed.toString();
}
