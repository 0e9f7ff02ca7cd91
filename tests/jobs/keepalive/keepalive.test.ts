// Keep-alive: checks the pool, the embedder and the LLM endpoint without spending tokens (model listing, or no
// request at all when the provider answered recently), logs changes of state only, and recovers a dead pooled
// connection by itself.
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeepAlive, ProviderActivity } from '../../../src/jobs/keepalive/index.js';
import { modelsEndpoint } from '../../../src/memory/provider-probe.js';
import { openDatabase, parseStoreConfig } from '../../../src/store/index.js';
import type { Database } from '../../../src/store/index.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { testDatabaseUrl } from '../../helpers/postgres.js';

function capture(): { logger: pino.Logger; lines: () => Array<{ msg: string; check?: string }> } {
  const out: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { out.push(String(chunk)); done(); } });
  return { logger: pino({ level: 'info' }, stream), lines: () => out.flatMap((l) => l.trim().split('\n')).map((l) => JSON.parse(l) as { msg: string }) };
}

describe('keep-alive', () => {
  const fake = useFakeModel({ dims: 8 });
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase(parseStoreConfig({ provider: 'pglite', config: { path: 'memory://' } }));
  });
  afterAll(() => db.close());

  const block = (key: string) => ({ provider: 'openai', config: { api_key: key, openai_base_url: fake.baseURL, model: 'm' } });

  it('lists models instead of calling the LLM, skips a provider that answered recently, and logs only changes', async () => {
    fake.reset();
    const activity = new ProviderActivity();
    const log = capture();
    const keepAlive = new KeepAlive({ database: db, llm: block('sk-llm'), embedder: block('sk-emb'), activity, intervalSeconds: 30, logger: log.logger });
    expect(keepAlive.intervalMs).toBe(30_000);
    expect(await keepAlive.tick()).toEqual({ database: 'up', embedder: 'up', llm: 'up' });
    expect(fake.calls('/v1/models')).toHaveLength(2);
    expect(fake.calls('/v1/chat/completions')).toHaveLength(0);
    expect(fake.calls('/v1/embeddings')).toHaveLength(0);
    expect(fake.calls('/v1/models').map((r) => r.headers.authorization).sort()).toEqual(['Bearer sk-emb', 'Bearer sk-llm']);

    // A real call succeeded just now: nothing is sent for that provider.
    activity.record('llm', true);
    activity.record('embedder', true);
    await keepAlive.tick();
    expect(fake.calls('/v1/models')).toHaveLength(2);

    // The key is refused: down, logged once; up again, logged once.
    const refused = new KeepAlive({ database: db, llm: block('sk-bad'), embedder: block('sk-emb'), activity: new ProviderActivity(), intervalSeconds: 5, logger: log.logger });
    expect(refused.intervalMs).toBe(30_000); // minimum 30 s
    fake.fail({ path: '/v1/models', status: 401, times: 4 });
    await refused.tick();
    await refused.tick();
    expect(refused.state('llm')).toBe('down');
    await refused.tick();
    expect(refused.state('llm')).toBe('up');
    const messages = log.lines().map((l) => l.msg);
    expect(messages.filter((m) => m.includes('unreachable'))).toHaveLength(2); // llm and embedder, once each
    expect(messages.filter((m) => m.includes('reachable again'))).toHaveLength(2);
    expect(JSON.stringify(log.lines())).not.toContain('sk-bad');
  });

  it('knows free endpoints only for providers that have one', () => {
    expect(modelsEndpoint({ provider: 'openai', config: {} })?.url).toBe('https://api.openai.com/v1/models');
    expect(modelsEndpoint({ provider: 'ollama', config: { ollama_base_url: 'http://h:11434/' } })?.url).toBe('http://h:11434/api/tags');
    expect(modelsEndpoint({ provider: 'anthropic', config: {} })).toBeNull();
  });

  const url = testDatabaseUrl();
  it.skipIf(!url)('drops a pooled connection the server killed and answers up on a fresh one', async () => {
    const pgDb = await openDatabase(parseStoreConfig({ provider: 'pgvector', config: { connection_string: url, embedding_model_dims: 8, maxconn: 2 } }), { applicationName: 'keepalive-test' });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const pid = (await pgDb.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const keepAlive = new KeepAlive({ database: pgDb, llm: block('k'), embedder: block('k'), activity: new ProviderActivity(), intervalSeconds: 30, logger: pino({ level: 'silent' }) });
      expect((await keepAlive.tick()).database).toBe('up');
      expect(pgDb.pool.totalCount).toBeLessThanOrEqual(2);
    } finally {
      await admin.end();
      await pgDb.close();
    }
  });
});
