// The repository over a mem0ai vector store, on mem0ai's real "memory" store (SQLite through better-sqlite3, from
// node_modules) with the state tables in embedded PGlite: scope, filters, scores, top_k, history, update/delete,
// Mem0's payload keys, forgetting, and async exactly-once across a crash between the external write and the job's
// completion. The LLM and embedder are the loopback fake OpenAI server.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLogTable } from '../../../src/store/access-log.js';
import { memoryJobHandler } from '../../../src/jobs/queue/handlers.js';
import { JobQueue } from '../../../src/jobs/queue/queue.js';
import type { ClaimedJob } from '../../../src/jobs/queue/queue.js';
import { openForgetting } from '../../../src/jobs/forgetting/index.js';
import { extractionCleaners } from '../../../src/jobs/extraction/service.js';
import { parseCredentials } from '../../../src/memory/config/credentials.js';
import { openEngine } from '../../../src/memory/engine.js';
import type { Engine } from '../../../src/memory/engine.js';
import { storeRepository } from '../../../src/memory/store-repository.js';
import { plansTable, savePlan } from '../../../src/store/job-plans.js';
import { planningRepository } from '../../../src/memory/external/repository.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { credentials, DIMS, plainModel } from '../../integration/app.js';

interface Row { id: string; payload: string }
interface Statement { all(...args: unknown[]): unknown[]; get(...args: unknown[]): unknown; run(...args: unknown[]): unknown }
/** The native SQLite module mem0ai's "memory" store writes with, used here to read what it stored. */
const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string, options?: { readonly?: boolean }) => {
  prepare(sql: string): Statement;
  close(): void;
};

describe('vector store repository over mem0ai "memory" (SQLite) + PGlite state', () => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel });
  let engine: Engine;
  let dbPath: string;
  let creds: Record<string, unknown>;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mem0-vs-'));
    dbPath = path.join(dir, 'vectors.db');
    creds = credentials(fake, {
      provider: 'memory',
      config: { db_path: dbPath, embedding_model_dims: DIMS, collection_name: 'vs_test' },
      state_store: { provider: 'pglite', config: { path: path.join(dir, 'state') } },
    });
    engine = await openEngine(parseCredentials(creds));
  });
  afterAll(() => engine?.close());

  const raw = (): Row[] => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return db.prepare('SELECT id, payload FROM vectors').all() as Row[];
    } finally {
      db.close();
    }
  };

  async function addVerbatim(userId: string, agentId: string | undefined, text: string, metadata?: Record<string, unknown>): Promise<string> {
    const events = await engine.service.add({ userId, agentId, user: text, infer: false, metadata });
    expect(events).toHaveLength(1);
    return events[0]!.id;
  }

  it('writes Mem0 payload keys into the external store and keeps the state tables elsewhere', async () => {
    const id = await addVerbatim('pay-u', 'pay-a', 'I like green tea', { topic: 'drinks' });
    const row = raw().find((r) => r.id === id)!;
    const payload = JSON.parse(row.payload) as Record<string, unknown>;
    expect(Object.keys(payload).sort()).toEqual(['agent_id', 'created_at', 'data', 'hash', 'role', 'topic', 'updated_at', 'user_id']);
    expect(payload.data).toBe('I like green tea');
    expect(payload.hash).toMatch(/^[0-9a-f]{32}$/);
    expect(payload.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    // The state store's own memories table stays empty; its history has the ADD.
    const count = await engine.store.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${engine.store.tables.memories}`);
    expect(count.rows[0]!.n).toBe(0);
    const history = await engine.service.history({ memoryId: id });
    expect(history.map((h) => h.event)).toEqual(['ADD']);
    expect(engine.store.tables.memories).toContain('vs_test_memory');
  });

  it('enforces the scope: user_id required, agent_id narrows, a filter cannot widen it', async () => {
    await addVerbatim('scope-u1', 'app-1', 'Scope test alpha');
    await addVerbatim('scope-u1', 'app-2', 'Scope test beta');
    await addVerbatim('scope-u2', 'app-1', 'Scope test gamma');
    const mine = (await engine.service.search({ userId: 'scope-u1', query: 'Scope test', topK: 10 })).results;
    expect(mine.map((h) => h.memory).sort()).toEqual(['Scope test alpha', 'Scope test beta']);
    const narrowed = (await engine.service.search({ userId: 'scope-u1', agentId: 'app-1', query: 'Scope test', topK: 10 })).results;
    expect(narrowed.map((h) => h.memory)).toEqual(['Scope test alpha']);
    for (const filters of [{ user_id: 'scope-u2' }, { OR: [{ user_id: 'scope-u2' }, { user_id: 'scope-u1' }] }, { NOT: { user_id: 'scope-u1' } }]) {
      const widened = (await engine.service.search({ userId: 'scope-u1', query: 'Scope test', topK: 10, filters })).results;
      expect(widened.every((h) => !h.memory.includes('gamma'))).toBe(true);
    }
    const listed = await engine.service.getAll({ userId: 'scope-u1', filters: { agent_id: 'app-2' } });
    expect(listed.map((m) => m.memory)).toEqual(['Scope test beta']);
    await expect(engine.service.search({ userId: '', query: 'x' })).rejects.toThrow(/user_id is required/);
  });

  it('filters with every operator and AND/OR/NOT, and refuses an invalid filter clearly', async () => {
    const user = 'filter-u';
    const items = [
      { text: 'Filter memory one', meta: { n: 1, color: 'Red', tags: ['a', 'b'] } },
      { text: 'Filter memory two', meta: { n: 2, color: 'green', tags: ['b'] } },
      { text: 'Filter memory three', meta: { n: 3, color: 'blue' } },
    ];
    for (const i of items) await addVerbatim(user, undefined, i.text, i.meta);
    const names = async (filters: unknown): Promise<string[]> =>
      (await engine.service.getAll({ userId: user, filters })).map((m) => m.memory.replace('Filter memory ', '')).sort();
    expect(await names({ n: 2 })).toEqual(['two']);
    expect(await names({ n: { eq: 2 } })).toEqual(['two']);
    expect(await names({ n: { ne: 2 } })).toEqual(['one', 'three']);
    expect(await names({ n: { gt: 1 } })).toEqual(['three', 'two']);
    expect(await names({ n: { gte: 2, lte: 2 } })).toEqual(['two']);
    expect(await names({ n: { lt: 2 } })).toEqual(['one']);
    expect(await names({ color: { in: ['Red', 'blue'] } })).toEqual(['one', 'three']);
    expect(await names({ color: { nin: ['Red', 'blue'] } })).toEqual(['two']);
    expect(await names({ color: ['green'] })).toEqual(['two']);
    expect(await names({ tags: { contains: 'a' } })).toEqual(['one']);
    expect(await names({ color: { icontains: 'RE' } })).toEqual(['one', 'two']);
    expect(await names({ color: { contains: 'Re' } })).toEqual(['one']);
    expect(await names({ tags: '*' })).toEqual(['one', 'two']);
    expect(await names({ AND: [{ n: { gte: 2 } }, { color: 'blue' }] })).toEqual(['three']);
    expect(await names({ OR: [{ n: 1 }, { color: 'blue' }] })).toEqual(['one', 'three']);
    expect(await names({ NOT: { n: 1 } })).toEqual(['three', 'two']);
    expect(await names({ NOT: [{ n: { gte: 2 } }, { color: 'green' }] })).toEqual(['one', 'three']);
    expect(await names('{"n": {"lte": 1}}')).toEqual(['one']);
    await expect(engine.service.getAll({ userId: user, filters: { n: { like: 1 } } })).rejects.toThrow(/unknown filter operator "like"/);
    await expect(engine.service.search({ userId: user, query: 'x', filters: { and: [] } })).rejects.toThrow(/must be written 'AND'/);
    await expect(engine.service.search({ userId: user, query: 'x', filters: '{not json' })).rejects.toThrow(/filters is not valid JSON/);
  });

  it('returns top_k results whenever at least top_k memories match, best first, scores 0-1', async () => {
    const user = 'topk-u';
    // 30 memories; only those with n >= 25 match the filter, and they are not the nearest to the query.
    for (let n = 0; n < 30; n++) {
      const text = n < 25 ? `Coffee beans roast number ${n}` : `Mountain hiking trail number ${n}`;
      await addVerbatim(user, undefined, text, { n });
    }
    // The query shares "number" with the filtered memories: a memory sharing nothing with it would never be returned.
    const hits = (await engine.service.search({ userId: user, query: 'Coffee beans roast number', topK: 4, filters: { n: { gte: 25 } } })).results;
    expect(hits).toHaveLength(4);
    expect(hits.every((h) => (h.metadata.n as number) >= 25)).toBe(true);
    const all = (await engine.service.search({ userId: user, query: 'Coffee beans roast number 3', topK: 10 })).results;
    expect(all).toHaveLength(10);
    expect(all[0]!.memory).toBe('Coffee beans roast number 3');
    expect(all[0]!.score).toBeGreaterThan(0.99);
    for (let i = 0; i < all.length; i++) {
      expect(all[i]!.score).toBeGreaterThanOrEqual(0);
      expect(all[i]!.score).toBeLessThanOrEqual(1);
      if (i > 0) expect(all[i]!.score).toBeLessThanOrEqual(all[i - 1]!.score);
    }
    expect(await engine.service.getAll({ userId: user, limit: 7 })).toHaveLength(7);
    expect(await engine.service.getAll({ userId: user, limit: 100, filters: { n: { lt: 3 } } })).toHaveLength(3);
  });

  it('update and delete keep history in the state database', async () => {
    const id = await addVerbatim('hist-u', undefined, 'My car is blue');
    const updated = await engine.service.update({ memoryId: id, text: 'My car is red' });
    expect(updated).toMatchObject({ event: 'UPDATE', memory: 'My car is red', previous_memory: 'My car is blue' });
    expect((await engine.service.get({ memoryId: id })).memory).toBe('My car is red');
    const payload = JSON.parse(raw().find((r) => r.id === id)!.payload) as Record<string, unknown>;
    expect(payload.data).toBe('My car is red');
    await engine.service.delete({ memoryId: id });
    await expect(engine.service.get({ memoryId: id })).rejects.toThrow(/no memory with id/);
    const history = await engine.service.history({ memoryId: id });
    expect(history.map((h) => [h.event, h.old_memory, h.new_memory, h.is_deleted])).toEqual([
      ['ADD', null, 'My car is blue', false],
      ['UPDATE', 'My car is blue', 'My car is red', false],
      ['DELETE', 'My car is red', null, true],
    ]);
    await addVerbatim('hist-u', 'x', 'One');
    await addVerbatim('hist-u', 'y', 'Two');
    expect((await engine.service.deleteAll({ userId: 'hist-u', agentId: 'x' })).deleted_count).toBe(1);
    expect((await engine.service.getAll({ userId: 'hist-u' })).map((m) => m.memory)).toEqual(['Two']);
  });

  it('the access log gets the own app of each recalled memory even when another search ran before the recalls were noted', async () => {
    const id = await addVerbatim('owner-u', 'owner-app', 'I sail on weekends');
    await addVerbatim('owner-other', 'other-app', 'I sail on weekdays');
    const repo = storeRepository(engine.store);
    const vector = await engine.providers.embedder.embed('I sail on weekends', 'search');
    // A search without agent_id finds the memory of app "owner-app"; a second search (another user) runs before the
    // first one's recalls are noted, as it does when a reranker is awaited in between.
    const hits = await repo.search({ userId: 'owner-u' }, { vector, query: 'sail', topK: 5 });
    expect(hits.map((h) => h.id)).toEqual([id]);
    await repo.search({ userId: 'owner-other' }, { vector, query: 'sail', topK: 5 });
    repo.recordRecalls!({ userId: 'owner-u' }, hits.map((h) => ({ id: h.id, score: 0.9 })));
    await (engine.store.accessLog as unknown as { flush(): Promise<void> }).flush();
    const log = await engine.store.database.pool.query<{ user: string; app: string | null }>(
      `SELECT user_id AS user, app_id AS app FROM ${accessLogTable(engine.store.tables)} WHERE memory_id = $1::uuid`, [id],
    );
    expect(log.rows).toEqual([{ user: 'owner-u', app: 'owner-app' }]);
  });

  it('the credential round trip reaches the vector store and the state database', async () => {
    await expect(engine.service.checkConnection()).resolves.toMatchObject({ dims: DIMS });
  });

  it('forget_memories lists, evaluates and deletes through the repository (dry run first)', async () => {
    const user = 'forget-u';
    const old = await addVerbatim(user, 'app', 'An old episodic thing', { memory_subtype: 'episodic' });
    const fresh = await addVerbatim(user, 'app', 'A fresh semantic thing', { memory_subtype: 'semantic' });
    // Age the first memory by rewriting its payload's created_at straight in the store.
    const db = new Database(dbPath);
    const row = db.prepare('SELECT payload FROM vectors WHERE id = ?').get(old) as { payload: string };
    const payload = JSON.parse(row.payload) as Record<string, unknown>;
    payload.created_at = '2020-01-01T00:00:00.000000+00:00';
    db.prepare('UPDATE vectors SET payload = ? WHERE id = ?').run(JSON.stringify(payload), old);
    db.close();
    // A recall of the fresh one is logged in the access log (SQL).
    await engine.service.search({ userId: user, agentId: 'app', query: 'A fresh semantic thing', topK: 1 });
    await (engine.store.accessLog as unknown as { flush(): Promise<void> }).flush();
    const log = await engine.store.database.pool.query<{ id: string; n: number; app: string | null }>(
      `SELECT memory_id::text AS id, recall_count AS n, app_id AS app FROM ${accessLogTable(engine.store.tables)} WHERE user_id = $1`, [user],
    );
    expect(log.rows).toEqual([{ id: fresh, n: 1, app: 'app' }]);

    const forgetting = openForgetting(engine, { memoryTtlDays: null, checkpointTtlDays: 90 }, extractionCleaners(engine.store.database.pool, engine.store.tables));
    const dry = await forgetting.forget({ userId: user, appId: 'app', dryRun: true }, new AbortController().signal);
    expect(dry).toMatchObject({ deleted_count: 1, retained_count: 1, dry_run: true });
    expect(dry.would_delete?.map((w) => w.id)).toEqual([old]);
    expect(await engine.service.get({ memoryId: old })).toBeTruthy();
    const real = await forgetting.forget({ userId: user, appId: 'app', dryRun: false }, new AbortController().signal);
    expect(real).toMatchObject({ deleted_count: 1, retained_count: 1, dry_run: false });
    await expect(engine.service.get({ memoryId: old })).rejects.toThrow(/no memory with id/);
    expect((await engine.service.history({ memoryId: old })).map((h) => h.event)).toEqual(['ADD', 'DELETE']);
  });

  it('async jobs: a crash between the external write and the completion re-applies the stored plan, exactly once', async () => {
    const queue = new JobQueue(engine.store.database.pool, engine.store.tables, { retryDelayMs: 0, retryDelayMaxMs: 0 });
    const handler = memoryJobHandler({ store: engine.store, providers: engine.providers });
    const accepted = await queue.enqueue({
      id: '6f1d7a3c-1111-4222-8333-444455556666', kind: 'add', scope: { userId: 'job-u', agentId: 'job-a' },
      payload: { userId: 'job-u', agentId: 'job-a', user: 'I live in Lisbon. I play the cello.', assistant: null, metadata: {} },
    }, 100);
    expect(accepted.id).not.toBeNull();
    const chatsBefore = fake.requests.filter((r) => r.path === '/v1/chat/completions').length;

    // Attempt 1: the plan is stored and applied to the vector store, then the completion commit "crashes".
    const [first] = await queue.claim(1);
    const crash = handler(first!, {
      signal: new AbortController().signal,
      commit: () => Promise.reject(new Error('simulated crash before COMMIT')),
    });
    await expect(crash).rejects.toThrow(/simulated crash/);
    const afterCrash = await storeRepository(engine.store).list({ userId: 'job-u', agentId: 'job-a' }, { limit: 10 });
    expect(afterCrash.map((m) => m.data).sort()).toEqual(['I live in Lisbon.', 'I play the cello.']);
    const planRows = await engine.store.database.pool.query(`SELECT job_id FROM ${plansTable(engine.store.tables)}`);
    expect(planRows.rowCount).toBe(1);
    await queue.fail(first!, { code: 'crash', message: 'simulated', retryable: true });
    const chatsAfterFirst = fake.requests.filter((r) => r.path === '/v1/chat/completions').length;
    expect(chatsAfterFirst).toBeGreaterThan(chatsBefore);

    // Attempt 2 (the re-run): the stored plan is applied again (no new LLM call) and completes with its history.
    const [second] = await waitClaim(queue);
    expect(second!.id).toBe(first!.id);
    await handler(second!, {
      signal: new AbortController().signal,
      commit: (effect, out) => queue.commitWith(second!, effect, out),
    });
    expect(fake.requests.filter((r) => r.path === '/v1/chat/completions').length).toBe(chatsAfterFirst);
    const after = await storeRepository(engine.store).list({ userId: 'job-u', agentId: 'job-a' }, { limit: 10 });
    expect(after.map((m) => m.id).sort()).toEqual(afterCrash.map((m) => m.id).sort());
    expect(raw().filter((r) => (JSON.parse(r.payload) as { user_id: string }).user_id === 'job-u')).toHaveLength(2);
    for (const m of after) expect((await engine.service.history({ memoryId: m.id })).map((h) => h.event)).toEqual(['ADD']);
    expect((await engine.store.database.pool.query(`SELECT 1 FROM ${plansTable(engine.store.tables)}`)).rowCount).toBe(0);
    const job = await queue.get(first!.id);
    expect(job?.state).toBe('completed');
    expect((job?.output as { inserted: string[]; replayed?: boolean }).inserted.sort()).toEqual(after.map((m) => m.id).sort());
    expect((job?.output as { replayed?: boolean }).replayed).toBe(true);
  });
  /** Runs a job whose completion "crashes" after its external write, then `between`, then the re-run (which completes). */
  async function crashThenRerun(job: { id: string; kind: 'add' | 'update' | 'delete' | 'delete_all'; scope: { userId: string; agentId?: string }; payload: Record<string, unknown> }, between: () => Promise<void>): Promise<void> {
    const queue = new JobQueue(engine.store.database.pool, engine.store.tables, { retryDelayMs: 0, retryDelayMaxMs: 0 });
    const handler = memoryJobHandler({ store: engine.store, providers: engine.providers });
    expect((await queue.enqueue(job, 100)).id).toBe(job.id);
    const [first] = await waitClaim(queue);
    expect(first!.id).toBe(job.id);
    await expect(handler(first!, {
      signal: new AbortController().signal,
      commit: () => Promise.reject(new Error('simulated crash before COMMIT')),
    })).rejects.toThrow(/simulated crash/);
    await queue.fail(first!, { code: 'crash', message: 'simulated', retryable: true });
    await between();
    const [second] = await waitClaim(queue);
    expect(second!.id).toBe(job.id);
    await handler(second!, { signal: new AbortController().signal, commit: (effect, out) => queue.commitWith(second!, effect, out) });
    expect((await queue.get(job.id))?.state).toBe('completed');
  }

  it('an attempt that lost its lease writes nothing to the vector store, even when its LLM answers differently', async () => {
    const scope = { userId: 'stale-u', agentId: 'stale-a' };
    const queue = new JobQueue(engine.store.database.pool, engine.store.tables, { retryDelayMs: 0, retryDelayMaxMs: 0 });
    const handler = memoryJobHandler({ store: engine.store, providers: engine.providers });
    const job = { id: 'a1b2c3d4-5555-4666-8777-88889999aaaa', kind: 'add' as const, scope, payload: { userId: scope.userId, agentId: scope.agentId, user: 'I live in Porto.', assistant: null, metadata: {} } };
    await queue.enqueue(job, 100);
    // Attempt 1 is claimed, then loses its lease (here: its attempt is ended and the job claimed again as attempt 2).
    const [stale] = await waitClaim(queue);
    await queue.fail(stale!, { code: 'lease', message: 'lease expired', retryable: true });
    const [current] = await waitClaim(queue);
    await handler(current!, { signal: new AbortController().signal, commit: (effect, out) => queue.commitWith(current!, effect, out) });
    expect((await queue.get(job.id))?.state).toBe('completed');
    const before = raw().filter((r) => (JSON.parse(r.payload) as { user_id: string }).user_id === scope.userId).map((r) => r.id);
    expect(before).toHaveLength(1);
    // Attempt 1 wakes up and runs; its LLM now phrases the fact differently.
    fake.onChat((body) => {
      const system = body.messages[0]?.content ?? '';
      if (system.includes('long-term notes')) return JSON.stringify({ facts: ['I reside in Porto'] });
      const user = body.messages[1]?.content ?? '';
      const facts = JSON.parse(user.slice(user.indexOf('New facts:\n') + 'New facts:\n'.length)) as string[];
      return JSON.stringify({ actions: facts.map((text) => ({ event: 'ADD', text })) });
    });
    try {
      await expect(handler(stale!, { signal: new AbortController().signal, commit: (effect, out) => queue.commitWith(stale!, effect, out) }))
        .rejects.toThrow(/no longer held/);
    } finally {
      plainModel(fake);
    }
    const after = raw().filter((r) => (JSON.parse(r.payload) as { user_id: string }).user_id === scope.userId).map((r) => r.id);
    expect(after).toEqual(before);
    expect((await engine.store.database.pool.query(`SELECT 1 FROM ${plansTable(engine.store.tables)} WHERE job_id = $1`, [job.id])).rowCount).toBe(0);
  });

  it('update, delete and delete_all jobs are applied exactly once across a crash after their external write', async () => {
    const user = 'once-u';
    const scope = { userId: user, agentId: 'once-a' };
    const [kept, gone, a, b] = [await addVerbatim(user, 'once-a', 'I drink oolong'), await addVerbatim(user, 'once-a', 'I drink sencha'),
      await addVerbatim(user, 'once-b', 'I bake bread'), await addVerbatim(user, 'once-b', 'I bake pies')];
    await crashThenRerun({ id: 'd1000000-0000-4000-8000-000000000001', kind: 'update', scope, payload: { memoryId: kept, text: 'I drink puer' } }, async () => {});
    await crashThenRerun({ id: 'd1000000-0000-4000-8000-000000000002', kind: 'delete', scope, payload: { memoryId: gone } }, async () => {});
    await crashThenRerun({ id: 'd1000000-0000-4000-8000-000000000003', kind: 'delete_all', scope: { userId: user, agentId: 'once-b' }, payload: { userId: user, agentId: 'once-b' } }, async () => {});
    expect((await engine.service.getAll({ userId: user })).map((m) => m.memory)).toEqual(['I drink puer']);
    const events = async (id: string) => (await engine.service.history({ memoryId: id })).map((h) => `${h.event} ${h.new_memory ?? ''}`);
    expect(await events(kept)).toEqual(['ADD I drink oolong', 'UPDATE I drink puer']);
    for (const id of [gone, a, b]) expect((await events(id)).map((e) => e.split(' ')[0])).toEqual(['ADD', 'DELETE']);
  });

  it('a replayed plan does not resurrect a memory deleted meanwhile (delete_all of the whole user runs in another queue scope)', async () => {
    const scope = { userId: 'replay-u1', agentId: 'replay-a' };
    let added = '';
    await crashThenRerun({
      id: '7a2e0c4d-2222-4333-8444-555566667777', kind: 'add', scope,
      payload: { userId: scope.userId, agentId: scope.agentId, user: 'I collect stamps', assistant: null, metadata: {}, infer: false },
    }, async () => {
      const written = await storeRepository(engine.store).list(scope, { limit: 10 });
      expect(written.map((m) => m.data)).toEqual(['I collect stamps']);
      added = written[0]!.id;
      expect(await engine.service.deleteAll({ userId: scope.userId })).toEqual({ deleted_count: 1 });
    });
    expect(await storeRepository(engine.store).list(scope, { limit: 10 })).toEqual([]);
    expect(raw().some((r) => r.id === added)).toBe(false);
    expect((await engine.service.history({ memoryId: added })).map((h) => h.event).sort()).toEqual(['ADD', 'DELETE']);
  });

  it('a replayed update does not overwrite a later update, and keeps its own history row', async () => {
    const id = await addVerbatim('replay-u2', 'replay-a', 'My bike is green');
    await crashThenRerun({
      id: '8b3f1d5e-3333-4444-8555-666677778888', kind: 'update', scope: { userId: 'replay-u2', agentId: 'replay-a' },
      payload: { memoryId: id, text: 'My bike is black' },
    }, async () => {
      expect((await engine.service.get({ memoryId: id })).memory).toBe('My bike is black');
      await engine.service.update({ memoryId: id, text: 'My bike is white' });
    });
    expect((await engine.service.get({ memoryId: id })).memory).toBe('My bike is white');
    const history = await engine.service.history({ memoryId: id });
    expect(history.map((h) => `${h.event} ${h.old_memory ?? ''} -> ${h.new_memory ?? ''}`).sort()).toEqual([
      'ADD  -> My bike is green',
      'UPDATE My bike is black -> My bike is white',
      'UPDATE My bike is green -> My bike is black',
    ]);
  });

  it('a replayed delete does not record a second DELETE when someone else deleted the memory first', async () => {
    const id = await addVerbatim('replay-u3', 'replay-a', 'I own a kayak');
    // The plan is stored and the crash happens before the store is touched: the job's first attempt dies in executePlan.
    const queue = new JobQueue(engine.store.database.pool, engine.store.tables, { retryDelayMs: 0, retryDelayMaxMs: 0 });
    const handler = memoryJobHandler({ store: engine.store, providers: engine.providers });
    const job = { id: '9c4a2e6f-4444-4555-8666-777788889999', kind: 'delete' as const, scope: { userId: 'replay-u3', agentId: 'replay-a' }, payload: { memoryId: id } };
    await queue.enqueue(job, 100);
    const [first] = await waitClaim(queue);
    const plan = await planningRepository(engine.store.external!).planDelete(id);
    await savePlan(engine.store.database.pool, engine.store.tables, first!.id, plan!);
    await queue.fail(first!, { code: 'crash', message: 'simulated', retryable: true });
    await engine.service.delete({ memoryId: id });
    const [second] = await waitClaim(queue);
    await handler(second!, { signal: new AbortController().signal, commit: (effect, out) => queue.commitWith(second!, effect, out) });
    expect((await queue.get(job.id))?.state).toBe('completed');
    expect((await engine.service.history({ memoryId: id })).map((h) => h.event)).toEqual(['ADD', 'DELETE']);
  });

  it('lists in pages: offset skips that many of the most recently updated, as the SQL store does', async () => {
    const repo = storeRepository(engine.store);
    const scope = { userId: 'page-u', agentId: null };
    const vector = Array.from({ length: DIMS }, (_, i) => (i === 0 ? 1 : 0));
    for (const n of [1, 2, 3, 4, 5]) await repo.apply(scope, { inserts: [{ data: `page memory ${n}`, vector }], updates: [], deletes: [] });
    const all = await repo.list(scope, { limit: 10 });
    expect(all).toHaveLength(5);
    const pages = [await repo.list(scope, { limit: 2 }), await repo.list(scope, { limit: 2, offset: 2 }), await repo.list(scope, { limit: 2, offset: 4 })];
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat().map((m) => m.id)).toEqual(all.map((m) => m.id));
    expect(await repo.list(scope, { limit: 2, offset: 5 })).toEqual([]);
  });
});


async function waitClaim(queue: JobQueue): Promise<ClaimedJob[]> {
  for (let i = 0; i < 100; i++) {
    const jobs = await queue.claim(1);
    if (jobs.length > 0) return jobs;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the failed job was not claimable again');
}
