// Issue 6 end to end through createPluginApp (real YAML declarations, coercion, services factory, engine, store):
// searches record recalls, forget_memories dry run vs real run on the same data, scope isolation, TTLs, checkpoint
// cleaning, deletes dropping access-log rows. Embedded PGlite always (in a mkdtemp folder, shared in-process with a
// side engine used to arrange old data and read the access log); PostgreSQL too when TEST_DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { CheckpointStore } from '../../src/store/extraction-checkpoints.js';
import { extractionTables } from '../../src/store/extraction-tables.js';
import { emptyUserCheckpoint } from '../../src/jobs/extraction/user.js';
import { accessLogTable, selectAccess } from '../../src/store/access-log.js';
import { parseCredentials } from '../../src/memory/config/credentials.js';
import { openEngine } from '../../src/memory/engine.js';
import type { Engine } from '../../src/memory/engine.js';
import { embedText } from '../helpers/fake-openai.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { AppDriver, credentials, DIMS, pgliteFolderBackend, plainModel, postgresBackend } from './app.js';
import type { Backend } from './app.js';

interface Hit { id: string; memory: string; score: number }
interface Figures {
  recall_count: number; quality_ema: number; recall_strength: number; stability_days: number; age_days: number;
  age_since_created_days: number; retention: number; ttl_expired: boolean; memory_subtype: string | null; s0_used: number;
  forget: boolean; reason: string | null;
}
interface ForgetResults {
  deleted_count: number; retained_count: number; checkpoints_cleaned: number; dry_run: boolean;
  would_delete?: Array<{ id: string; memory: string; retention_info: Figures }>; would_delete_truncated?: boolean;
}
interface AccessRow { memoryId: string; userId: string; appId: string | null; recallCount: number; qualityEma: number; lastRecalledAt: Date }

const DAY = 86_400_000;
const url = testDatabaseUrl();
const BACKENDS: Array<[string, () => Backend]> = [['pglite', pgliteFolderBackend]];
if (url) BACKENDS.push(['postgres', () => postgresBackend(url)]);

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(BACKENDS)('forgetting end to end on %s', (_name, makeBackend) => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let backend: Backend;

  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(() => backend.cleanup());

  /** The app over a fresh collection, and a side engine on the same database (PGlite is shared in-process). */
  async function setup(context: TestContext, extra: Record<string, unknown> = {}): Promise<{ driver: AppDriver; engine: Engine; creds: Record<string, unknown> }> {
    const creds = credentials(fake, await backend.store(), { async_mode: 'false', ...extra });
    const engine = await openEngine(parseCredentials(creds));
    const driver = new AppDriver(creds);
    context.onTestFinished(async () => {
      await driver.close();
      await engine.close();
    });
    return { driver, engine, creds };
  }

  /** Memories written straight into the store, with the embedding the fake gives their text and a chosen age. */
  async function seed(engine: Engine, scope: { userId: string; agentId?: string }, items: Array<{ data: string; ageDays?: number; subtype?: string }>): Promise<string[]> {
    const now = Date.now();
    const ids: string[] = [];
    for (const item of items) {
      const [m] = await engine.store.memories.insert(scope, [{
        data: item.data, vector: embedText(item.data, DIMS), createdAt: new Date(now - (item.ageDays ?? 0) * DAY),
        ...(item.subtype ? { metadata: { memory_subtype: item.subtype } } : {}),
      }]);
      ids.push(m!.id);
    }
    return ids;
  }

  const access = async (engine: Engine, id: string): Promise<AccessRow | null> =>
    (await engine.store.database.pool.query<AccessRow>(selectAccess(engine.store.tables, id))).rows[0] ?? null;
  const logRows = async (engine: Engine): Promise<string[]> =>
    (await engine.store.database.pool.query<{ id: string }>(`SELECT memory_id::text AS id FROM ${accessLogTable(engine.store.tables)} ORDER BY 1`)).rows.map((r) => r.id);
  const snapshot = async (engine: Engine) => {
    const t = engine.store.tables;
    const pool = engine.store.database.pool;
    const [memories, history, log] = await Promise.all([
      pool.query(`SELECT id::text, payload FROM ${t.memories} ORDER BY id`),
      pool.query(`SELECT memory_id::text, event FROM ${t.history} ORDER BY memory_id, event`),
      pool.query(`SELECT * FROM ${accessLogTable(t)} ORDER BY memory_id`),
    ]);
    return { memories: memories.rows, history: history.rows, log: log.rows };
  };

  it.for([['sync', 'false'], ['async', 'true']] as const)('search_memory records recalls (%s mode): q ≥ 0.5 only, EMA 0.3 q + 0.7 previous, count capped at 6', async ([, asyncMode], context) => {
    const { driver, engine } = await setup(context, { async_mode: asyncMode });
    const scope = { userId: 'alex', agentId: 'app-1' };
    const [food, dog] = await seed(engine, scope, [{ data: 'I love Italian food' }, { data: 'My dog is called Rex' }]);
    const queries = ['I love Italian food', 'Italian food please', 'I love Italian food', 'love food', 'I love Italian food', 'Italian', 'I love Italian food'];
    const expected = new Map<string, { count: number; ema: number }>();
    for (const query of queries) {
      const before = Date.now();
      const hits = await driver.ok<Hit[]>('search_memory', { query, user_id: 'alex', agent_id: 'app-1', top_k: 5 });
      // The dog memory shares nothing with these queries: it may not come back at all (score 0 never fills top_k).
      expect(hits.map((h) => h.id)).toContain(food!);
      expect(hits.every((h) => h.id === food || h.id === dog)).toBe(true);
      for (const hit of hits) {
        if (hit.score < 0.5) continue;
        const prev = expected.get(hit.id);
        expected.set(hit.id, prev ? { count: Math.min(prev.count + 1, 6), ema: 0.3 * hit.score + 0.7 * prev.ema } : { count: 1, ema: hit.score });
      }
      // Written in the background: wait for this search's row before the next search (the EMA depends on order).
      for (const [id, want] of expected) {
        const row = await waitFor(() => access(engine, id), (r) => r?.recallCount === want.count && Math.abs(r.qualityEma - want.ema) < 1e-9, `recall of ${id}`);
        if (row && hits.some((h) => h.id === id && h.score >= 0.5)) {
          expect(row.lastRecalledAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
          expect(row.lastRecalledAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
        }
      }
    }
    // Some counted recalls scored below 1, so the EMA really moved (not only q = 1 throughout).
    expect([...expected.values()].some((e) => e.ema < 0.999)).toBe(true);
    // The exact query scores 1 seven times: the count stops at 6.
    expect(expected.get(food!)?.count).toBe(6);
    expect(await access(engine, food!)).toMatchObject({ userId: 'alex', appId: 'app-1', recallCount: 6 });
    // Whatever never reached 0.5 was never logged.
    if (!expected.has(dog!)) expect(await access(engine, dog!)).toBeNull();
  });

  it('forget_memories: a dry run lists exactly what the real run then deletes, changes nothing, and other scopes are untouched', async (context) => {
    const { driver, engine } = await setup(context);
    const mine = { userId: 'alice', agentId: 'app-1' };
    const [fresh, old200, old201, semantic, recalled] = await seed(engine, mine, [
      { data: 'fresh note about tea' },
      { data: 'old note about a concert', ageDays: 200 },
      { data: 'old note about a bicycle', ageDays: 201 },
      { data: 'semantic fact about chemistry', ageDays: 60, subtype: 'semantic' },
      { data: 'recalled old note about gardening', ageDays: 400 },
    ]);
    const [otherApp] = await seed(engine, { userId: 'alice', agentId: 'app-2' }, [{ data: 'other app old note', ageDays: 300 }]);
    const [otherUser] = await seed(engine, { userId: 'bob', agentId: 'app-1' }, [{ data: 'other user old note', ageDays: 300 }]);
    // A recall through the tool keeps the 400-day-old memory alive.
    const hits = await driver.ok<Hit[]>('search_memory', { query: 'recalled old note about gardening', user_id: 'alice', agent_id: 'app-1', top_k: 1 });
    expect(hits[0]).toMatchObject({ id: recalled, score: 1 });
    await waitFor(() => access(engine, recalled!), (r) => r !== null, 'the recall');

    const before = await snapshot(engine);
    const dry = await driver.call('forget_memories', { user_id: 'alice', app_id: 'app-1', dry_run: true });
    expect(dry.status).toBe('SUCCESS');
    expect(dry.messages).toContain('would forget 2 memories and keep 3');
    const dryResults = dry.results as ForgetResults;
    expect(Object.keys(dryResults).sort()).toEqual(['checkpoints_cleaned', 'deleted_count', 'dry_run', 'retained_count', 'would_delete', 'would_delete_truncated']);
    expect(dryResults).toMatchObject({ deleted_count: 2, retained_count: 3, checkpoints_cleaned: 0, dry_run: true, would_delete_truncated: false });
    expect(dryResults.would_delete!.map((w) => w.id).sort()).toEqual([old200!, old201!].sort());
    const concert = dryResults.would_delete!.find((w) => w.id === old200)!;
    expect(concert.memory).toBe('old note about a concert');
    expect(Object.keys(concert.retention_info).sort()).toEqual([
      'age_days', 'age_since_created_days', 'forget', 'memory_subtype', 'quality_ema', 'reason', 'recall_count', 'recall_strength',
      'retention', 's0_used', 'stability_days', 'ttl_expired',
    ]);
    expect(concert.retention_info).toMatchObject({ recall_count: 0, quality_ema: 0, s0_used: 30, ttl_expired: false, forget: true, reason: 'low_retention', memory_subtype: null });
    expect(concert.retention_info.age_days).toBeCloseTo(200, 2);
    expect(concert.retention_info.retention).toBeCloseTo(Math.exp(-200 / 30), 6);
    expect(await snapshot(engine)).toEqual(before);

    const real = await driver.call('forget_memories', { user_id: 'alice', app_id: 'app-1' });
    expect(real.status).toBe('SUCCESS');
    expect(real.messages).toContain('forgot 2 memories, kept 3');
    expect(real.results).toEqual({ deleted_count: 2, retained_count: 3, checkpoints_cleaned: 0, dry_run: false });
    for (const id of [old200!, old201!]) {
      expect((await driver.call('get_memory', { memory_id: id })).status).toBe('NOT_FOUND');
      const history = await driver.ok<Array<{ event: string; is_deleted: boolean }>>('get_memory_history', { memory_id: id });
      expect(history.map((h) => h.event)).toEqual(['ADD', 'DELETE']);
    }
    for (const id of [fresh!, semantic!, recalled!, otherApp!, otherUser!]) expect((await driver.call('get_memory', { memory_id: id })).status).toBe('SUCCESS');
    expect(await logRows(engine)).toEqual([recalled!]);

    // Without app_id the whole user is in scope: the other app's old memory goes; the other user's never.
    expect((await driver.ok<ForgetResults>('forget_memories', { user_id: 'alice' }))).toEqual({ deleted_count: 1, retained_count: 3, checkpoints_cleaned: 0, dry_run: false });
    expect((await driver.call('get_memory', { memory_id: otherApp! })).status).toBe('NOT_FOUND');
    expect((await driver.call('get_memory', { memory_id: otherUser! })).status).toBe('SUCCESS');
    // A second run has nothing left to forget.
    expect((await driver.ok<ForgetResults>('forget_memories', { user_id: 'alice' })).deleted_count).toBe(0);
  });

  it('memory_ttl_days forgets by age even when just recalled; empty, zero or invalid means no TTL', { timeout: 180_000 }, async (context) => {
    for (const [ttl, expectTtl] of [['10', true], ['', false], ['0', false], ['abc', false], ['-3', false]] as const) {
      const { driver, engine } = await setup(context, { memory_ttl_days: ttl });
      const scope = { userId: 'tina', agentId: 'app-t' };
      const [eleven, nine] = await seed(engine, scope, [{ data: 'eleven days old fact about hiking', ageDays: 11 }, { data: 'nine days old fact about sailing', ageDays: 9 }]);
      await driver.ok('search_memory', { query: 'eleven days old fact about hiking', user_id: 'tina', agent_id: 'app-t', top_k: 1 });
      await waitFor(() => access(engine, eleven!), (r) => r !== null, 'the recall');
      const dry = await driver.ok<ForgetResults>('forget_memories', { user_id: 'tina', app_id: 'app-t', dry_run: true });
      if (expectTtl) {
        expect(dry.would_delete!.map((w) => w.id), `ttl ${ttl}`).toEqual([eleven!]);
        expect(dry.would_delete![0]!.retention_info).toMatchObject({ ttl_expired: true, reason: 'ttl_expired', recall_count: 1 });
      } else {
        expect(dry.deleted_count, `ttl ${JSON.stringify(ttl)}`).toBe(0);
      }
      const real = await driver.ok<ForgetResults>('forget_memories', { user_id: 'tina', app_id: 'app-t' });
      expect(real.deleted_count).toBe(expectTtl ? 1 : 0);
      expect((await driver.call('get_memory', { memory_id: nine! })).status).toBe('SUCCESS');
      expect(await logRows(engine)).toEqual(expectTtl ? [] : [eleven!]);
    }
  });

  it('cleans extraction checkpoints older than checkpoint_ttl_days (default 90, invalid → 90) in scope; a dry run only counts', { timeout: 180_000 }, async (context) => {
    const ages: Array<[string, string, number]> = [['carl', 'app-1', 100], ['carl', 'app-2', 50], ['dora', 'app-1', 100]];
    const arrange = async (engine: Engine) => {
      const checkpoints = new CheckpointStore(engine.store.database.pool, engine.store.tables);
      const table = extractionTables(engine.store.tables).checkpoints;
      for (const [userId, appId, days] of ages) {
        await checkpoints.save({ userId, appId, checkpoint: emptyUserCheckpoint(), expected: 0, holder: null });
        await engine.store.database.pool.query(
          `UPDATE ${table} SET updated_at = now() - make_interval(days => $3) WHERE user_id = $1 AND app_id = $2`, [userId, appId, days]);
      }
      return async () => (await engine.store.database.pool.query<{ k: string }>(`SELECT user_id || '/' || app_id AS k FROM ${table} ORDER BY 1`)).rows.map((r) => r.k);
    };

    for (const ttl of [undefined, 'abc', '0']) {
      const { driver, engine } = await setup(context, ttl === undefined ? {} : { checkpoint_ttl_days: ttl });
      const left = await arrange(engine);
      expect((await driver.ok<ForgetResults>('forget_memories', { user_id: 'carl', dry_run: true })).checkpoints_cleaned).toBe(1);
      expect(await left()).toEqual(['carl/app-1', 'carl/app-2', 'dora/app-1']);
      expect((await driver.ok<ForgetResults>('forget_memories', { user_id: 'carl', app_id: 'app-2' })).checkpoints_cleaned).toBe(0);
      expect((await driver.ok<ForgetResults>('forget_memories', { user_id: 'carl', app_id: 'app-1' })).checkpoints_cleaned).toBe(1);
      expect(await left(), `checkpoint_ttl_days ${String(ttl)}`).toEqual(['carl/app-2', 'dora/app-1']);
    }
    const { driver, engine } = await setup(context, { checkpoint_ttl_days: '30' });
    const left = await arrange(engine);
    expect((await driver.ok<ForgetResults>('forget_memories', { user_id: 'carl' })).checkpoints_cleaned).toBe(2);
    expect(await left()).toEqual(['dora/app-1']);
  });

  it.for([['sync', 'false'], ['async', 'true']] as const)('delete_memory and delete_all_memories drop the access-log rows of what they delete (%s mode); other scopes keep theirs', async ([, asyncMode], context) => {
    const { driver, engine } = await setup(context, { async_mode: asyncMode });
    const texts = ['first remembered fact about owls', 'second remembered fact about owls', 'third remembered fact about owls'];
    const ids = await seed(engine, { userId: 'erin', agentId: 'app-d' }, texts.map((data) => ({ data })));
    const [theirs] = await seed(engine, { userId: 'finn', agentId: 'app-d' }, [{ data: texts[0]! }]);
    for (const query of texts) await driver.ok('search_memory', { query, user_id: 'erin', agent_id: 'app-d', top_k: 1 });
    await driver.ok('search_memory', { query: texts[0], user_id: 'finn', agent_id: 'app-d', top_k: 1 });
    await waitFor(() => logRows(engine), (rows) => rows.length === 4, 'four log rows');

    // Async mode answers ACCEPT and a worker applies the delete (inside the job's transaction): wait for it.
    await driver.ok('delete_memory', { memory_id: ids[0] });
    await waitFor(() => logRows(engine), (rows) => rows.length === 3, 'the delete');
    expect(await logRows(engine)).toEqual([ids[1]!, ids[2]!, theirs!].sort());
    expect((await driver.call('get_memory', { memory_id: ids[0]! })).status).toBe('NOT_FOUND');
    const all = await driver.ok<{ deleted_count: number | null }>('delete_all_memories', { user_id: 'erin', agent_id: 'app-d' });
    if (asyncMode === 'false') expect(all).toMatchObject({ deleted_count: 2 });
    await waitFor(() => logRows(engine), (rows) => rows.length === 1, 'the delete-all');
    expect(await logRows(engine)).toEqual([theirs!]);
    expect(await driver.ok<unknown[]>('get_all_memories', { user_id: 'erin', agent_id: 'app-d' })).toEqual([]);
  });

  it('recording is off the caller\'s path: a blocked or failing access log neither delays nor fails search_memory', async (context) => {
    const { driver, engine } = await setup(context);
    const [id] = await seed(engine, { userId: 'gail' }, [{ data: 'blocked log fact about kites' }]);
    const pool = engine.store.database.pool;
    const log = accessLogTable(engine.store.tables);
    await driver.ok('search_memory', { query: 'warm up', user_id: 'gail' });
    if (backend.name === 'postgres') {
      // Another session holds the log table: the background upsert waits, the search does not.
      const blocker = await pool.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`LOCK TABLE ${log} IN EXCLUSIVE MODE`);
        // The lock is held until after the answer: a search that waited for the log would never answer here.
        const hits = await driver.ok<Hit[]>('search_memory', { query: 'blocked log fact about kites', user_id: 'gail', top_k: 1 });
        expect(hits[0]?.id).toBe(id);
        expect(await access(engine, id!)).toBeNull();
        await blocker.query('COMMIT');
      } finally {
        blocker.release();
      }
      await waitFor(() => access(engine, id!), (r) => r?.recallCount === 1, 'the delayed recall');
    }
    // The log table missing (renamed away): the upsert fails in the background, the search still answers.
    const aside = `renamed_${Date.now()}`;
    await pool.query(`ALTER TABLE ${log} RENAME TO "${aside}"`);
    try {
      const answer = await driver.call('search_memory', { query: 'blocked log fact about kites', user_id: 'gail', top_k: 1 });
      expect(answer.status).toBe('SUCCESS');
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await pool.query(`ALTER TABLE ${engine.store.tables.schema}."${aside}" RENAME TO ${log.split('.')[1]!}`);
    }
    expect((await driver.call('search_memory', { query: 'blocked log fact about kites', user_id: 'gail', top_k: 1 })).status).toBe('SUCCESS');
  });

  it('forget_memories needs a user_id', async (context) => {
    const { driver } = await setup(context);
    const answer = await driver.call('forget_memories', { app_id: 'app-1' });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toContain('user_id');
  });
});
