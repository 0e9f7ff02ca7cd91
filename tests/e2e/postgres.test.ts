// The test database that .ci/run and scripts/test-db.sh provide: a real PostgreSQL with pgvector 0.8.x, and the
// schema-per-test helper the storage tests build on. If these fail, every storage test's failure means nothing.
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freshSchema, noDatabaseReason, schemaNameFor, testDatabaseUrl, urlWithSearchPath } from '../helpers/postgres.js';

const url = testDatabaseUrl();

describe.skipIf(!url)('test database (TEST_DATABASE_URL)', () => {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000 });
  afterAll(async () => {
    await pool.end();
  });

  it('listens on loopback and has pgvector 0.8.x installed', async () => {
    expect(new URL(url!).hostname).toBe('127.0.0.1');
    const { rows } = await pool.query<{ extversion: string }>(
      "select extversion from pg_extension where extname = 'vector'",
    );
    expect(rows[0]?.extversion).toMatch(/^0\.8\./);
  });

  it('accepts the iterative index scan settings of pgvector 0.8 and rejects bad values', async () => {
    const client = await pool.connect();
    try {
      await client.query("select '[1,2,3]'::vector"); // loads the library, so its settings are validated
      await client.query('SET hnsw.iterative_scan = relaxed_order');
      const { rows } = await client.query<{ v: string }>("SELECT current_setting('hnsw.iterative_scan') AS v");
      expect(rows[0]?.v).toBe('relaxed_order');
      await expect(client.query('SET hnsw.iterative_scan = sideways')).rejects.toThrow(/invalid value/);
    } finally {
      client.release();
    }
  });

  it('gives each test an empty schema of its own and drops it afterwards', async () => {
    const a = await freshSchema(pool, 'schema isolation a');
    const b = await freshSchema(pool, 'schema isolation b');
    expect(a.name).toBe(schemaNameFor('schema isolation a'));
    expect(a.name).not.toBe(b.name);
    await pool.query(`CREATE TABLE ${a.name}.items (id int primary key, embedding vector(3))`);
    await pool.query(`INSERT INTO ${a.name}.items VALUES (1, '[1,0,0]'), (2, '[0,1,0]')`);
    await expect(pool.query(`SELECT * FROM ${b.name}.items`)).rejects.toThrow(/does not exist/);

    // A leftover with the same key is replaced by an empty schema.
    const again = await freshSchema(pool, 'schema isolation a');
    await expect(pool.query(`SELECT * FROM ${again.name}.items`)).rejects.toThrow(/does not exist/);

    await again.drop();
    await b.drop();
    const { rows } = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = ANY($1)', [[a.name, b.name]]);
    expect(rows).toHaveLength(0);
  });

  it('points unqualified names at the test schema through urlWithSearchPath, with vector still resolving', async () => {
    const schema = await freshSchema(pool);
    const scoped = new pg.Pool({ connectionString: urlWithSearchPath(url!, schema.name), max: 1 });
    try {
      await scoped.query('CREATE TABLE memories (id int primary key, embedding vector(2))');
      await scoped.query("INSERT INTO memories VALUES (1, '[1,0]'), (2, '[0,1]')");
      await scoped.query('CREATE INDEX ON memories USING hnsw (embedding vector_cosine_ops)');
      const { rows } = await scoped.query<{ id: number }>(
        "SELECT id FROM memories ORDER BY embedding <=> '[0.9,0.1]' LIMIT 1",
      );
      expect(rows[0]?.id).toBe(1);
      const inSchema = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema.name}.memories`);
      expect(inSchema.rows[0]?.n).toBe(2);
    } finally {
      await scoped.end();
      await schema.drop();
    }
  });
});

describe.skipIf(Boolean(url))('test database (not configured)', () => {
  it.skip(noDatabaseReason, () => {});
});
