// Reads and sync writes are bounded by `timeout`: past it the tool answers TIMEOUT with empty results, a write
// whose provider calls ran late is never applied, and the app keeps serving afterwards. The slow upstream is held
// until the test releases it, so "TIMEOUT in time" is checked by order (answered while held), not by a clock.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { eventually } from '../helpers/fake-providers.js';
import { hold } from '../helpers/hold.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { session } from '../helpers/session.js';
import { AppDriver, credentials, DIMS, plainModel, postgresBackend } from './app.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('tool timeouts (PGlite)', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel, resetEach: true });
  let driver: AppDriver;
  beforeAll(async () => {
    driver = new AppDriver(credentials(fake, { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } }));
    await driver.ok('get_all_memories', { user_id: 'warm-up' });
  });
  afterAll(() => driver.close());

  it('add: the LLM answers after the timeout → TIMEOUT at the deadline, and the late answer writes nothing', async () => {
    const llm = hold();
    try {
      fake.reply({ after: llm.released, then: JSON.stringify({ facts: ['Late fact'] }) });
      const started = performance.now();
      const answer = await driver.call('add_memory', { user: 'Something to remember.', user_id: 'slow', timeout: 1 });
      // Answered while the LLM still held its answer (it is let go only below): the deadline ended the call. The
      // lower bound (not flaky under load) shows the call waited for its 1 s rather than giving up early.
      expect(answer).toMatchObject({ status: 'TIMEOUT', results: [], messages: 'add_memory: timed out: the operation did not finish within 1 s' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      llm.release();
    }
    // The LLM's answer now comes back late; give a write that would follow it time to land.
    await sleep(1000);
    expect(await driver.ok('get_all_memories', { user_id: 'slow' })).toEqual([]);
    // Only the extraction call was made: nothing went on after the deadline.
    expect(fake.chatCalls()).toHaveLength(1);
  });

  it('search: a slow embedder → TIMEOUT with empty results; the next call works', async () => {
    await driver.ok('add_memory', { user: 'I like green tea.', user_id: 'tea' });
    const embedder = hold();
    try {
      fake.fail({ path: '/v1/embeddings', after: embedder.released });
      const answer = await driver.call('search_memory', { query: 'tea', user_id: 'tea', timeout: '0.5' });
      // Answered while the embedder still held its answer: the deadline's doing.
      expect(answer).toMatchObject({ status: 'TIMEOUT', results: [], messages: 'search_memory: timed out: the operation did not finish within 0.5 s' });
    } finally {
      embedder.release();
    }
    const again = await driver.call('search_memory', { query: 'tea', user_id: 'tea' });
    expect(again).toMatchObject({ status: 'SUCCESS', results: [{ memory: 'I like green tea.' }] });
  });

  it('update: a slow embedder → TIMEOUT, and the memory keeps its old text', async () => {
    const [added] = await driver.ok<Array<{ id: string }>>('add_memory', { user: 'I live in Porto.', user_id: 'porto' });
    const embedder = hold();
    try {
      fake.fail({ path: '/v1/embeddings', after: embedder.released });
      const answer = await driver.call('update_memory', { memory_id: added!.id, text: 'Lives in Lisbon', timeout: 0.5 });
      expect(answer).toMatchObject({ status: 'TIMEOUT', results: {} });
    } finally {
      embedder.release();
    }
    // The embedding now comes back late; give a write that would follow it time to land.
    await sleep(1000);
    expect(await driver.ok('get_memory', { memory_id: added!.id })).toMatchObject({ memory: 'I live in Porto.' });
  });

  it('a timeout above 60 s is capped, not refused; a malformed one falls back to the default', async () => {
    expect((await driver.call('get_all_memories', { user_id: 'x', timeout: 600 })).status).toBe('SUCCESS');
    expect((await driver.call('get_all_memories', { user_id: 'x', timeout: 'soon' })).status).toBe('SUCCESS');
  });

  it('the session is aborted (plugin shutting down): the call ends at once as TIMEOUT', async () => {
    const llm = hold();
    try {
      fake.reply({ after: llm.released, then: JSON.stringify({ facts: ['x'] }) });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const answer = await driver.call('add_memory', { user: 'abort me', user_id: 'abort' }, session({ signal: controller.signal }));
      // Ended by the abort, while the LLM still held its answer (and long before the default timeout).
      expect(answer).toMatchObject({ status: 'TIMEOUT', messages: 'add_memory: timed out: the operation was cancelled' });
    } finally {
      llm.release();
    }
  });
});

const url = testDatabaseUrl();
describe.skipIf(!url)('tool timeouts on PostgreSQL: a statement blocked by a lock', () => {
  it('get_all answers TIMEOUT within the bound; the blocked statement is cancelled on the server and its connection returned', async () => {
    const fake = await FakeOpenAI.start({ dims: DIMS });
    plainModel(fake);
    const backend = postgresBackend(url!);
    const store = await backend.store();
    const driver = new AppDriver(credentials(fake, store));
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await driver.ok('add_memory', { user: 'I like rain.', user_id: 'lock' });
      const schema = (store.config as { schema_name: string }).schema_name;
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${schema}.mem0 IN ACCESS EXCLUSIVE MODE`);
      // The lock is held until after the answer: a TIMEOUT here was the deadline's doing, not the lock's release.
      const answer = await driver.call('get_all_memories', { user_id: 'lock', timeout: 1 });
      expect(answer).toMatchObject({ status: 'TIMEOUT', results: [] });
      // Issue 4: the work is really cancelled (statement_timeout of the time left), not left waiting on the lock,
      // which is still held: a statement left waiting would wait for good.
      const waiting = async () => Number((await locker.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'mem0-dify-plugin' AND wait_event_type = 'Lock'",
      )).rows[0]!.n);
      await eventually(async () => (await waiting()) === 0);
      await locker.query('ROLLBACK');
      expect(await driver.ok('get_all_memories', { user_id: 'lock' })).toHaveLength(1);
    } finally {
      await locker.end();
      await driver.close();
      await backend.cleanup();
      await fake.close();
    }
  });
});
