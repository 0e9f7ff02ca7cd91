import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store, StoreConfig } from '../../src/store/index.js';
import { md5 } from '../../src/store/payload.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { tablesFor } from '../../src/store/tables.js';
import { backends, DIMS, vec } from './backends.js';

describe.each(backends())('migrations on $name', (backend) => {
  const opened: Store[] = [];
  const open = async (config: StoreConfig) => {
    const store = await backend.open(config);
    opened.push(store);
    return store;
  };
  afterAll(async () => {
    for (const s of opened) await s.close();
    await backend.close();
  });

  const versions = async (config: StoreConfig) => {
    const t = tablesFor(config);
    const res = await (await backend.pool()).query<{ version: number; name: string }>(
      `SELECT version, name FROM ${t.migrations} WHERE collection = $1 ORDER BY version`,
      [config.collectionName],
    );
    return res.rows;
  };

  it('applies every migration once and is a no-op the second time', async () => {
    const config = await backend.freshConfig();
    const first = await open(config);
    expect(first.migration.applied).toEqual(MIGRATIONS.map((m) => m.version));
    const second = await open(config);
    expect(second.migration).toEqual({ applied: [], version: MIGRATIONS.length });
    expect(await versions(config)).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    await first.memories.insert({ userId: 'x' }, [{ data: 'still works', vector: vec(0) }]);
    expect(await second.memories.count({ userId: 'x' })).toBe(1);
  });

  it('is safe when several processes start at once', async () => {
    const config = await backend.freshConfig();
    // PostgreSQL: four separate pools racing; PGlite: four opens racing on the one embedded database.
    const stores = await Promise.all([0, 1, 2, 3].map(() => open(config)));
    const applied = stores.flatMap((s) => s.migration.applied).sort((a, b) => a - b); // numeric: there are ten and more
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    for (const s of stores) expect(s.migration.version).toBe(MIGRATIONS.length);
    expect(await versions(config)).toHaveLength(MIGRATIONS.length);
  });

  it('refuses to run when the recorded versions are missing, out of order or newer', async () => {
    const config = await backend.freshConfig();
    await open(config);
    const pool = await backend.pool();
    const t = tablesFor(config);
    await pool.query(`INSERT INTO ${t.migrations} (collection, version, name) VALUES ($1, 99, 'from_the_future')`, [config.collectionName]);
    await expect(open(config)).rejects.toThrow(/at migration 99 \(from_the_future\), newer than this plugin knows/);
    await pool.query(`DELETE FROM ${t.migrations} WHERE collection = $1 AND version IN (2, 99)`, [config.collectionName]);
    await expect(open(config)).rejects.toThrow(/out of order or missing .*refusing to run/);
  });

  it('refuses a configured dimension that differs from the table’s', async () => {
    const config = await backend.freshConfig();
    await open(config);
    await expect(open({ ...config, dims: DIMS * 2 })).rejects.toThrow(`stores vector(${DIMS}) but embedding_model_dims is ${DIMS * 2}`);
  });

  describe('a collection written by Mem0’s Python pgvector store', () => {
    /** Creates the table and index exactly as mem0/vector_stores/pgvector.py create_col() does, and inserts as insert() does. */
    async function mem0Collection(config: StoreConfig) {
      const pool = await backend.pool();
      const t = tablesFor(config);
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${t.schema}`);
      await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
      await pool.query(`CREATE TABLE IF NOT EXISTS ${t.memories} (id UUID PRIMARY KEY, vector vector(${DIMS}), payload JSONB)`);
      await pool.query(
        `CREATE INDEX IF NOT EXISTS "${config.collectionName}_hnsw_idx" ON ${t.memories} USING hnsw (vector vector_cosine_ops)`,
      );
      const pyInsert = async (id: string, vector: number[], payload: Record<string, unknown>) =>
        // json.dumps (ensure_ascii) + the vector's text form, as psycopg sends them.
        pool.query(`INSERT INTO ${t.memories} (id, vector, payload) VALUES ($1, $2, $3)`, [
          id, `[${vector.join(', ')}]`, JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
        ]);
      return { pool, t, pyInsert };
    }

    it('is adopted: rows readable, searchable by vector and keyword, timestamps parsed, one HNSW index', async () => {
      const config = await backend.freshConfig();
      const { pool, t, pyInsert } = await mem0Collection(config);
      const sushi = randomUUID();
      const hiking = randomUUID();
      await pyInsert(sushi, vec(0), {
        user_id: 'alice', data: '我喜欢吃寿司', hash: md5('我喜欢吃寿司'), created_at: '2024-05-01T10:00:00.123456-07:00',
      });
      await pyInsert(hiking, vec(4), {
        user_id: 'alice', agent_id: 'app1', data: 'Goes hiking every Sunday', hash: md5('Goes hiking every Sunday'),
        created_at: '2024-06-01T08:00:00.000000+00:00', updated_at: '2024-06-02T08:00:00.000000+00:00', category: 'hobby',
      });
      await pyInsert(randomUUID(), vec(1), { user_id: 'bob', data: 'Bob likes sushi too', hash: md5('Bob likes sushi too') });

      const store = await open(config);
      expect(store.migration.applied).toEqual(MIGRATIONS.map((m) => m.version));
      const alice = { userId: 'alice' };
      const got = await store.memories.get(alice, sushi);
      expect(got).toMatchObject({ data: '我喜欢吃寿司', userId: 'alice', createdAt: '2024-05-01T17:00:00.123Z' });
      expect((await store.memories.list(alice)).map((m) => m.id)).toEqual([hiking, sushi]);
      expect((await store.memories.list(alice, { filters: { category: 'hobby' } })).map((m) => m.id)).toEqual([hiking]);
      expect((await store.memories.list({ userId: 'alice', agentId: 'app1' })).map((m) => m.id)).toEqual([hiking]);
      const byKeyword = await store.memories.search(alice, { vector: vec(7, 6, 0), query: '寿司', topK: 1 });
      expect(byKeyword[0]?.id).toBe(sushi);
      const byVector = await store.memories.search(alice, { vector: vec(4), topK: 2 });
      expect(byVector[0]).toMatchObject({ id: hiking });
      expect(byVector[0]?.score).toBeCloseTo(1, 5);
      const hnsw = await pool.query(
        `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexdef ILIKE '%USING hnsw%'`,
        [config.schemaName, config.collectionName],
      );
      expect(hnsw.rows[0].n).toBe(1);
      // Mem0's three columns are untouched.
      const cols = await pool.query(`SELECT id, vector, payload FROM ${t.memories} WHERE id = $1`, [sushi]);
      expect(cols.rows[0].payload.data).toBe('我喜欢吃寿司');
    });

    it('stays readable by Mem0 after we write, and picks up rows Mem0 writes or rewrites later', async () => {
      const config = await backend.freshConfig();
      const { pool, t, pyInsert } = await mem0Collection(config);
      const store = await open(config);
      const scope = { userId: 'carol', agentId: 'app9' };
      const [ours] = await store.memories.insert(scope, [{ data: 'Prefers window seats', vector: vec(2), metadata: { topic: 'travel' }, runId: 'run-1' }]);

      // Mem0's search() and list() SQL, verbatim in shape: payload->>key = str(value), ORDER BY distance.
      const pySearch = await pool.query(
        `SELECT id, vector <=> $1::vector AS distance, payload FROM ${t.memories}
          WHERE payload->>$2 = $3 AND payload->>$4 = $5 ORDER BY distance LIMIT $6`,
        [`[${vec(2).join(', ')}]`, 'user_id', 'carol', 'agent_id', 'app9', 5],
      );
      expect(pySearch.rows).toHaveLength(1);
      expect(pySearch.rows[0].payload).toMatchObject({
        data: 'Prefers window seats', hash: md5('Prefers window seats'), user_id: 'carol', agent_id: 'app9',
        run_id: 'run-1', topic: 'travel',
      });
      expect(pySearch.rows[0].payload.created_at).toMatch(/\+00:00$/);
      expect(Number(pySearch.rows[0].distance)).toBeCloseTo(0, 6);

      // Mem0 inserts a row (only id, vector, payload) and rewrites ours (UPDATE ... SET payload).
      const theirs = randomUUID();
      await pyInsert(theirs, vec(5), { user_id: 'carol', agent_id: 'app9', data: 'Allergic to peanuts', hash: md5('Allergic to peanuts'), created_at: '2025-01-01T00:00:00+00:00' });
      await pool.query(`UPDATE ${t.memories} SET payload = $1 WHERE id = $2`, [
        JSON.stringify({ ...ours!.payload, data: 'Prefers aisle seats', hash: md5('Prefers aisle seats') }), ours!.id,
      ]);
      expect(await store.memories.count(scope)).toBe(2);
      expect(await store.refreshDerived()).toBe(2);
      const away = vec(7, 6, 0);
      expect((await store.memories.search(scope, { vector: away, query: 'peanuts', topK: 1 }))[0]?.id).toBe(theirs);
      expect((await store.memories.search(scope, { vector: away, query: 'aisle', topK: 1 }))[0]?.id).toBe(ours!.id);
      const window = await store.memories.search(scope, { vector: away, query: 'window', topK: 2 });
      expect(window.every((h) => h.keywordScore === 0)).toBe(true);
      expect((await store.memories.get(scope, theirs))?.createdAt).toBe('2025-01-01T00:00:00.000Z');
      expect(await store.refreshDerived()).toBe(0);
    });

    it('is adopted again after Mem0 Python reset() dropped and re-created it', async () => {
      const config = await backend.freshConfig();
      const { pool, t, pyInsert } = await mem0Collection(config);
      const first = await open(config);
      await first.memories.insert({ userId: 'dave' }, [{ data: 'gone with the reset', vector: vec(3) }]);
      await first.close();
      opened.splice(opened.indexOf(first), 1);
      // reset(): delete_col() is a plain DROP TABLE, create_col() makes a bare Mem0 table again.
      await pool.query(`DROP TABLE ${t.memories}`);
      await mem0Collection(config);
      const after = randomUUID();
      await pyInsert(after, vec(6), { user_id: 'dave', data: '重置之后的新记忆', hash: md5('重置之后的新记忆') });

      const store = await open(config);
      expect(store.migration).toEqual({ applied: [], version: MIGRATIONS.length });
      expect((await store.memories.list({ userId: 'dave' })).map((m) => m.id)).toEqual([after]);
      expect((await store.memories.search({ userId: 'dave' }, { vector: vec(7, 6, 0), query: '记忆', topK: 1 }))[0]?.id).toBe(after);
      const indexes = await pool.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname',
        [config.schemaName, config.collectionName],
      );
      expect(indexes.rows.map((r) => r.indexname).sort()).toEqual(
        [`${config.collectionName}_added_hash_idx`, `${config.collectionName}_hnsw_idx`, `${config.collectionName}_keywords_idx`,
          `${config.collectionName}_pkey`, `${config.collectionName}_scope_id_idx`, `${config.collectionName}_scope_idx`].sort(),
      );
      const [written] = await store.memories.insert({ userId: 'dave' }, [{ data: 'and ours work again', vector: vec(2) }]);
      expect(await store.memories.history(null, written!.id)).toHaveLength(1);
      // The add's duplicate guard came back with the table: the same text is not stored twice.
      const added = await store.memories.apply({ userId: 'dave' }, { inserts: [{ data: 'added after the reset', vector: vec(3) }] });
      expect(added.inserted).toHaveLength(1);
      expect((await store.memories.apply({ userId: 'dave' }, { inserts: [{ data: 'added after the reset', vector: vec(3) }] })).inserted).toEqual([]);
    });
  });
});
