// The real providers over the fake OpenAI server, for tests of the logic below the tools. Kept apart from
// use-fake-model.ts so that tests which only need the fake do not load every provider SDK.
import { createProviders } from '../../src/memory/providers.js';
import type { Providers } from '../../src/memory/providers.js';
import type { FakeOpenAI } from './fake-openai.js';

/**
 * The real mem0ai openai LLM and embedder against a started fake, with vectors of the fake's own size: what the
 * service and graph tests run their logic over.
 */
export function providersOn(fake: FakeOpenAI, timeoutMs: number): Promise<Providers> {
  return createProviders({
    llm: { provider: 'openai', config: { api_key: 'sk-llm', openai_base_url: fake.baseURL, model: 'gpt-test' } },
    embedder: { provider: 'openai', config: { api_key: 'sk-emb', openai_base_url: fake.baseURL, model: 'emb', embedding_dims: fake.dims } },
  }, { timeoutMs });
}
