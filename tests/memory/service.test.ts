/**
 * The memory service's logic: real mem0ai openai providers against the loopback fake, and an in-memory repository
 * (test-only) in place of the store.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isEngineError } from '../../src/shared/errors.js';
import type { EngineError } from '../../src/shared/errors.js';
import { createProviders } from '../../src/memory/providers.js';
import type { Providers } from '../../src/memory/providers.js';
import { hashText } from '../../src/memory/reconcile.js';
import { MemoryService } from '../../src/memory/service.js';
import { embedText } from '../helpers/fake-openai.js';
import { providersOn } from '../helpers/providers-on-fake.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { InMemoryRepository } from './in-memory-repository.js';

const DIMS = 16;
const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const fake = useFakeModel({ dims: DIMS, resetEach: true });
let providers: Providers;
let repo: InMemoryRepository;
let service: MemoryService;

beforeAll(async () => {
  providers = await providersOn(fake, 5000);
});
beforeEach(() => {
  repo = new InMemoryRepository(DIMS);
  service = new MemoryService({ repository: repo, providers, now: () => new Date('2026-03-01T12:00:00Z') });
});

async function seed(userId: string, ...texts: string[]): Promise<string[]> {
  const applied = await repo.apply({ userId }, { inserts: texts.map((data) => ({ data, vector: embedText(data, DIMS) })), updates: [], deletes: [] });
  return applied.inserted.map((r) => r.id);
}

async function failure(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!isEngineError(error)) throw new Error(`expected an EngineError, got ${String(error)}`);
  return error;
}

const facts = (...f: string[]): string => JSON.stringify({ facts: f });
const actions = (...a: unknown[]): string => JSON.stringify({ actions: a });

describe('add with inference', () => {
  it('empty store: extracts facts and adds them, one LLM call, no reconciliation needed', async () => {
    fake.reply(facts('Likes green tea', 'Lives in Bergen'));
    const events = await service.add({ user: 'I love green tea. I moved to Bergen.', assistant: 'Noted!', userId: 'u1', agentId: 'app1', runId: 'trace-1' });
    expect(events.map((e) => [e.event, e.memory])).toEqual([['ADD', 'Likes green tea'], ['ADD', 'Lives in Bergen']]);
    expect(events.every((e) => UUID_RE.test(e.id))).toBe(true);
    const [extraction] = fake.chatCalls();
    expect(fake.chatCalls()).toHaveLength(1);
    expect(extraction!.response_format).toEqual({ type: 'json_object' });
    expect(extraction!.messages[0]!.content).toContain('Today is 2026-03-01');
    expect(extraction!.messages[1]!.content).toContain('user: I love green tea. I moved to Bergen.\nassistant: Noted!');
    const stored = await repo.get(events[0]!.id);
    expect(stored).toMatchObject({ userId: 'u1', agentId: 'app1', runId: 'trace-1', hash: hashText('Likes green tea') });
    expect(await service.history({ memoryId: events[0]!.id })).toEqual([
      expect.objectContaining({ memory_id: events[0]!.id, old_memory: null, new_memory: 'Likes green tea', event: 'ADD', is_deleted: false }),
    ]);
  });

  it('reconciles against similar memories: the LLM sees handles, never UUIDs; handles map back to the right rows', async () => {
    const [teaId, osloId] = await seed('u1', 'Likes tea', 'Lives in Oslo');
    fake.reply(facts('Likes green tea', 'Lives in Bergen now'));
    fake.onChat((body) => {
      const prompt = body.messages.map((m) => m.content).join('\n');
      expect(prompt).not.toMatch(UUID_RE);
      const stored = JSON.parse(/Stored memories:\n(.*)\n/.exec(prompt)![1]!) as Array<{ id: number; text: string }>;
      const handleOf = (t: string): number => stored.find((m) => m.text === t)!.id;
      return actions(
        { event: 'UPDATE', id: handleOf('Likes tea'), text: 'Likes green tea' },
        { event: 'DELETE', id: handleOf('Lives in Oslo') },
        { event: 'ADD', text: 'Lives in Bergen now' },
      );
    });
    const events = await service.add({ user: 'I only drink green tea now, and I moved to Bergen.', userId: 'u1' });
    expect(events).toEqual([
      { id: expect.stringMatching(UUID_RE), memory: 'Lives in Bergen now', event: 'ADD' },
      { id: teaId, memory: 'Likes green tea', event: 'UPDATE', previous_memory: 'Likes tea' },
      { id: osloId, memory: 'Lives in Oslo', event: 'DELETE' },
    ]);
    expect(repo.texts()).toEqual(['Likes green tea', 'Lives in Bergen now']);
    expect(repo.applyCalls).toBe(2); // seed + one apply for the whole add
    expect((await service.history({ memoryId: osloId! })).map((h) => h.event)).toEqual(['ADD', 'DELETE']);
  });

  it('an invented id is rejected and the LLM is asked once more', async () => {
    await seed('u1', 'Likes tea');
    fake.reply(
      facts('Likes coffee'),
      actions({ event: 'DELETE', id: 42 }),
      actions({ event: 'ADD', text: 'Likes coffee' }),
    );
    const events = await service.add({ user: 'I like coffee', userId: 'u1' });
    expect(events.map((e) => e.event)).toEqual(['ADD']);
    const calls = fake.chatCalls();
    expect(calls).toHaveLength(3);
    expect(calls[2]!.messages.at(-1)!.content).toContain('id 42 is not in the stored list');
    expect(repo.texts()).toEqual(['Likes coffee', 'Likes tea']);
  });

  it('malformed JSON twice: the add fails with llm_output and nothing is written', async () => {
    await seed('u1', 'Likes tea');
    fake.reply(facts('Likes coffee'), 'sure, I will add it', '{"actions": [{"event": ');
    const error = await failure(service.add({ user: 'I like coffee', userId: 'u1' }));
    expect(error.code).toBe('llm_output');
    expect(error.message).toMatch(/^memory reconciliation:/);
    expect(repo.applyCalls).toBe(1);
    expect(repo.texts()).toEqual(['Likes tea']);
  });

  it('fenced / chatty JSON is repaired without a retry', async () => {
    fake.reply('Here are the facts:\n```json\n{"facts": ["Has a cat named Miso",]}\n```');
    const events = await service.add({ user: 'My cat Miso is 3', userId: 'u1' });
    expect(events.map((e) => e.memory)).toEqual(['Has a cat named Miso']);
    expect(fake.chatCalls()).toHaveLength(1);
  });

  it('identical facts are deduplicated by hash; facts already stored cost no reconciliation call', async () => {
    await seed('u1', 'Likes tea');
    fake.reply(facts('Likes tea', 'Likes tea', ' Likes tea '));
    expect(await service.add({ user: 'I like tea', userId: 'u1' })).toEqual([]);
    expect(fake.chatCalls()).toHaveLength(1);
    expect(fake.calls('/v1/embeddings')).toHaveLength(0);
  });

  it('Chinese conversation → Chinese facts, stored byte for byte', async () => {
    fake.reply(facts('喜欢喝乌龙茶', '住在上海'));
    const events = await service.add({ user: '我最喜欢喝乌龙茶，我住在上海。', assistant: '好的，记住了。', userId: 'u-zh' });
    expect(fake.chatCalls()[0]!.messages[1]!.content).toContain('user: 我最喜欢喝乌龙茶，我住在上海。');
    expect(events.map((e) => e.memory)).toEqual(['喜欢喝乌龙茶', '住在上海']);
    const stored = await repo.get(events[0]!.id);
    expect(stored!.data).toBe('喜欢喝乌龙茶');
    expect(stored!.hash).toBe(hashText('喜欢喝乌龙茶'));
  });

  it('nothing worth keeping → no events, no write', async () => {
    fake.reply(facts());
    expect(await service.add({ user: 'hi', userId: 'u1' })).toEqual([]);
    expect(repo.applyCalls).toBe(0);
  });

  it('metadata (JSON text) lands on the memory; reserved keys are refused', async () => {
    fake.reply(facts('Prefers email'));
    const [event] = await service.add({ user: 'email me please', userId: 'u1', metadata: '{"source": "crm", "priority": 2}' });
    expect((await service.get({ memoryId: event!.id })).metadata).toEqual({ source: 'crm', priority: 2 });
    const reserved = await failure(service.add({ user: 'x', userId: 'u1', metadata: { user_id: 'someone-else' } }));
    expect(reserved).toMatchObject({ code: 'invalid_params', message: "metadata key 'user_id' is reserved" });
    expect((await failure(service.add({ user: 'x', userId: 'u1', metadata: '[1,2]' }))).code).toBe('invalid_params');
  });

  it('a write failure surfaces (all-or-nothing apply)', async () => {
    fake.reply(facts('Likes tea'));
    repo.failNextApply = new Error('database went away');
    await expect(service.add({ user: 'I like tea', userId: 'u1' })).rejects.toThrow('database went away');
    expect(repo.texts()).toEqual([]);
  });
});

describe('add without inference', () => {
  it('stores each message as-is with its role, skips exact duplicates, calls no LLM', async () => {
    const first = await service.add({ user: 'Remember: door code 4711', assistant: 'Stored.', userId: 'u1', infer: false });
    expect(first.map((e) => [e.event, e.memory])).toEqual([['ADD', 'Remember: door code 4711'], ['ADD', 'Stored.']]);
    expect((await service.get({ memoryId: first[0]!.id })).metadata).toEqual({ role: 'user' });
    expect(await service.add({ user: 'Remember: door code 4711', userId: 'u1', infer: false })).toEqual([]);
    expect(fake.chatCalls()).toHaveLength(0);
  });
});

describe('parameters', () => {
  it('user_id is required; empty text is a no-op without provider calls', async () => {
    expect(await failure(service.add({ user: 'x', userId: ' ' }))).toMatchObject({ code: 'invalid_params', message: 'user_id is required' });
    expect(await service.add({ user: '   ', assistant: '', userId: 'u1' })).toEqual([]);
    expect(fake.requests).toHaveLength(0);
    expect((await failure(service.search({ query: '', userId: 'u1' }))).message).toBe('query is required');
    expect((await failure(service.search({ query: 'x', userId: 'u1', topK: -1 }))).code).toBe('invalid_params');
  });

  it('memory ids must be UUIDs; unknown ones are NOT_FOUND', async () => {
    for (const call of [
      service.get({ memoryId: 'abc' }),
      service.delete({ memoryId: '123' }),
      service.update({ memoryId: 'x', text: 't' }),
      service.history({ memoryId: '' }),
    ]) {
      expect((await failure(call)).code).toBe('invalid_params');
    }
    const missing = '5d6c0b8e-1111-4a2b-9c3d-000000000000';
    for (const call of [
      service.get({ memoryId: missing }),
      service.delete({ memoryId: missing }),
      service.update({ memoryId: missing, text: 'new' }),
      service.history({ memoryId: missing }),
    ]) {
      expect(await failure(call)).toMatchObject({ code: 'not_found', message: `no memory with id ${missing}` });
    }
  });
});

describe('reads and direct writes', () => {
  it('search: 0–1 scores, best first, seed shape with timestamp and score parts; nothing in common never fills top_k', async () => {
    await seed('u1', 'Likes green tea in the morning', 'Green tea again', 'Plays chess on Sundays', 'Owns a red bicycle');
    await seed('u2', 'Likes green tea too');
    const hits = (await service.search({ query: 'green tea', userId: 'u1', topK: 2 })).results;
    expect(hits).toHaveLength(2);
    expect(hits[0]).toEqual({
      id: expect.stringMatching(UUID_RE), memory: 'Green tea again', score: expect.any(Number), vector_score: expect.any(Number),
      keyword_score: 0, metadata: {}, timestamp: expect.any(String),
    });
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    // Memories that share nothing with the query (score 0 here: the in-memory repository is vector-only) stay out.
    const all = (await service.search({ query: 'green tea', userId: 'u1', topK: 4 })).results;
    expect(all.map((h) => h.memory)).toEqual(['Green tea again', 'Likes green tea in the morning']);
    for (const h of hits) {
      expect(h.score).toBeGreaterThanOrEqual(0);
      expect(h.score).toBeLessThanOrEqual(1);
    }
    expect(fake.calls('/v1/embeddings')[0]!.body).toMatchObject({ input: 'green tea' });
  });

  it('with a reranker, the rerank score wins and sets the order', async () => {
    const withReranker = await createProviders({
      llm: { provider: 'openai', config: { api_key: 'k', openai_base_url: fake.baseURL } },
      embedder: { provider: 'openai', config: { api_key: 'k', openai_base_url: fake.baseURL, embedding_dims: DIMS } },
      reranker: { provider: 'llm_reranker', config: { api_key: 'k', openai_base_url: fake.baseURL, model: 'judge' } },
    }, { timeoutMs: 5000 });
    const reranked = new MemoryService({ repository: repo, providers: withReranker });
    await seed('u1', 'Likes green tea', 'Drinks green coffee every morning');
    fake.onChat((body) => (body.messages.at(-1)!.content.includes('coffee') ? '0.95' : '0.2'));
    const hits = (await reranked.search({ query: 'green tea', userId: 'u1', topK: 2 })).results;
    expect(hits.map((h) => [h.memory, h.score, h.rerank_score])).toEqual([['Drinks green coffee every morning', 0.95, 0.95], ['Likes green tea', 0.2, 0.2]]);
    expect(fake.chatCalls().every((b) => b.model === 'judge')).toBe(true);
  });

  it('get_all / get: seed shapes, scope by user and agent', async () => {
    await repo.apply({ userId: 'u1', agentId: 'a1' }, { inserts: [{ data: 'in a1', vector: embedText('in a1', DIMS) }], updates: [], deletes: [] });
    await repo.apply({ userId: 'u1', agentId: 'a2' }, { inserts: [{ data: 'in a2', vector: embedText('in a2', DIMS) }], updates: [], deletes: [] });
    expect((await service.getAll({ userId: 'u1' })).map((m) => m.memory).sort()).toEqual(['in a1', 'in a2']);
    const scoped = await service.getAll({ userId: 'u1', agentId: 'a1' });
    expect(scoped).toEqual([{ id: expect.stringMatching(UUID_RE), memory: 'in a1', metadata: {}, created_at: expect.any(String), updated_at: expect.any(String) }]);
    expect(await service.get({ memoryId: scoped[0]!.id })).toEqual(scoped[0]);
    expect(await service.getAll({ userId: 'u1', limit: 1 })).toHaveLength(1);
  });

  it('update re-embeds the text and records history; delete returns the old text; delete_all counts', async () => {
    const [id] = await seed('u1', 'Likes tea');
    const updated = await service.update({ memoryId: id!.toUpperCase(), text: 'Likes oolong tea' });
    expect(updated).toEqual({ id, memory: 'Likes oolong tea', event: 'UPDATE', previous_memory: 'Likes tea' });
    expect(fake.calls('/v1/embeddings').at(-1)!.body).toMatchObject({ input: 'Likes oolong tea' });
    expect(await service.delete({ memoryId: id! })).toEqual({ id, memory: 'Likes oolong tea', event: 'DELETE' });
    const history = await service.history({ memoryId: id! });
    expect(history.map((h) => [h.event, h.old_memory, h.new_memory, h.is_deleted])).toEqual([
      ['ADD', null, 'Likes tea', false],
      ['UPDATE', 'Likes tea', 'Likes oolong tea', false],
      ['DELETE', 'Likes oolong tea', null, true],
    ]);
    await seed('u1', 'a', 'b');
    await seed('u2', 'c');
    expect(await service.deleteAll({ userId: 'u1' })).toEqual({ deleted_count: 2 });
    expect(repo.texts()).toEqual(['c']);
  });
});

describe('checkConnection (credential validation)', () => {
  it('passes when the embedder answers with the store dimension, without any LLM call', async () => {
    expect(await service.checkConnection()).toEqual({ pgvectorVersion: 'in-memory', dims: DIMS });
    expect(fake.chatCalls()).toHaveLength(0);
    expect(fake.calls('/v1/embeddings')).toHaveLength(1);
  });

  it('fails with a clear message when the dimensions differ', async () => {
    const other = new MemoryService({ repository: new InMemoryRepository(1536), providers });
    const error = await failure(other.checkConnection());
    expect(error).toMatchObject({ code: 'config', message: `the embedder returned ${DIMS} dimensions but the vector store expects 1536 (embedding_model_dims)` });
  });

  it('an embedder outage fails validation with the upstream status', async () => {
    fake.fail({ path: '/v1/embeddings', status: 401 });
    expect(await failure(service.checkConnection())).toMatchObject({ code: 'upstream', status: 401 });
  });
});
