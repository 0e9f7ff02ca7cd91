/**
 * The engine behind the tools' MemoryService interface (sync mode), and openEngine/checkEngine from Settings.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkEngine, openEngine } from '../../../src/memory/engine.js';
import { isEngineError } from '../../../src/memory/errors.js';
import { createProviders } from '../../../src/memory/providers.js';
import { MemoryService } from '../../../src/memory/service.js';
import type { Settings } from '../../../src/memory/settings.js';
import { syncToolMemoryService } from '../../../src/memory/tool-services.js';
import { FakeOpenAI } from '../../helpers/fake-openai.js';
import { InMemoryRepository } from './in-memory-repository.js';

const DIMS = 16;
let fake: FakeOpenAI;
let repo: InMemoryRepository;
let tools: ReturnType<typeof syncToolMemoryService>;
const session = (): { timeoutSeconds: number; signal: AbortSignal } => ({ timeoutSeconds: 5, signal: new AbortController().signal });

function settings(): Settings {
  return {
    asyncMode: false,
    llm: { provider: 'openai', config: { api_key: 'sk-llm', openai_base_url: fake.baseURL } },
    embedder: { provider: 'openai', config: { api_key: 'sk-emb', openai_base_url: fake.baseURL, embedding_dims: DIMS } },
    vectorStore: { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS }, isDefault: false },
    graphStore: null,
    reranker: null,
    maxConcurrentMemoryOperations: 20,
    heartbeatIntervalSeconds: 120,
    memoryTtlDays: null,
    checkpointTtlDays: 90,
    logLevel: 'INFO',
    hash: 'test-hash',
  };
}

beforeAll(async () => {
  fake = await FakeOpenAI.start({ dims: DIMS });
});
afterAll(() => fake.close());
beforeEach(async () => {
  fake.reset();
  repo = new InMemoryRepository(DIMS);
  const providers = await createProviders(settings(), { timeoutMs: 5000 });
  tools = syncToolMemoryService(new MemoryService({ repository: repo, providers }));
});

describe('syncToolMemoryService', () => {
  it('passes scope and text through and answers the tools’ shapes', async () => {
    fake.reply(JSON.stringify({ facts: ['Likes tea'] }));
    const events = await tools.add({ scope: { userId: 'u1', agentId: 'app', runId: 'r1' }, user: 'I like tea' }, session());
    expect(events).toEqual([{ id: expect.any(String), memory: 'Likes tea', event: 'ADD' }]);
    const hits = await tools.search({ scope: { userId: 'u1', agentId: 'app' }, query: 'tea', topK: 5 }, session());
    expect(hits.map((h) => h.memory)).toEqual(['Likes tea']);
    expect(await tools.deleteAll({ scope: { userId: 'u1' } }, session())).toEqual({ deleted_count: 1, accepted: false });
  });

  it('past the tool timeout: TIMEOUT error, and the late LLM answer writes nothing', async () => {
    fake.reply({ delayMs: 1500, then: JSON.stringify({ facts: ['Late fact'] }) });
    const started = Date.now();
    const error = await tools.add({ scope: { userId: 'u1' }, user: 'something' }, { timeoutSeconds: 0.3, signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(isEngineError(error, 'timeout')).toBe(true);
    expect(Date.now() - started).toBeLessThan(1200);
    await new Promise((r) => setTimeout(r, 1600));
    expect(repo.applyCalls).toBe(0);
  });

  it('a session abort ends the call as a timeout', async () => {
    fake.reply({ delayMs: 1000, then: '{"facts": []}' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await tools.add({ scope: { userId: 'u1' }, user: 'x' }, { timeoutSeconds: 10, signal: controller.signal }).catch((e: unknown) => e);
    expect(isEngineError(error, 'timeout')).toBe(true);
  });
});

describe('openEngine / checkEngine', () => {
  it('builds providers and the PGlite store from Settings; the round trip spends no LLM tokens', async () => {
    expect(await checkEngine(settings())).toMatchObject({ dims: DIMS });
    expect(fake.chatCalls()).toHaveLength(0);
    const engine = await openEngine(settings());
    try {
      fake.reply(JSON.stringify({ facts: ['Works end to end'] }));
      const events = await engine.service.add({ user: 'it works', userId: 'u9' });
      expect(events.map((e) => e.memory)).toEqual(['Works end to end']);
    } finally {
      await engine.close();
    }
  });

  it('a wrong embedder dimension fails the check with a clear message', async () => {
    const s = settings();
    s.embedder = { provider: 'openai', config: { api_key: 'k', openai_base_url: fake.baseURL, embedding_dims: 8 } };
    const error = await checkEngine(s).catch((e: unknown) => e);
    expect(isEngineError(error, 'config')).toBe(true);
    expect((error as Error).message).toContain('expects 16');
  });
});
