/**
 * Our deadlines, cancellation and error statuses hold for every bundled provider SDK, not only OpenAI's: each case
 * runs the real SDK against a loopback fake of its API and injects a rate limit, a bad key, a hang and an abort.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../src/shared/errors.js';
import type { EngineError } from '../../src/shared/errors.js';
import { createProviders } from '../../src/memory/providers.js';
import type { CallOptions, Providers, ProviderSettings } from '../../src/memory/providers.js';
import { anthropicApi, azureApi, bedrockApi, cohereApi, FakeApi, geminiApi, groqApi, mistralApi, wordOverlap, zeroEntropyApi } from '../helpers/fake-provider-apis.js';
import { hold } from '../helpers/hold.js';

const KEY = 'sk-sdk-SECRET-5151';
const answer = (): string => '{"facts": []}';
const openai = { provider: 'openai', config: { api_key: 'unused', openai_base_url: 'http://127.0.0.1:9/v1' } };

interface Case {
  name: string;
  api: Parameters<typeof FakeApi.start>[0];
  http2?: boolean;
  path: string;
  settings: (url: string) => ProviderSettings;
  call: (p: Providers, options: CallOptions) => Promise<unknown>;
}

const azure = (url: string) => ({ api_key: KEY, azure_endpoint: url, azure_deployment: 'd', api_version: '2024-10-21' });
const aws = (url: string) => ({ aws_access_key_id: 'AKIDFAKE', aws_secret_access_key: KEY, base_url: url });
const ask = (p: Providers, options: CallOptions) => p.llm.completeJson([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }], options);

const CASES: Case[] = [
  { name: 'anthropic', api: anthropicApi(answer), path: '/v1/messages', settings: (url) => ({ llm: { provider: 'anthropic', config: { api_key: KEY, anthropic_base_url: url } }, embedder: openai }), call: ask },
  { name: 'groq', api: groqApi(answer), path: '/openai/v1/chat/completions', settings: (url) => ({ llm: { provider: 'groq', config: { api_key: KEY, base_url: url } }, embedder: openai }), call: ask },
  { name: 'mistral', api: mistralApi(answer), path: '/v1/chat/completions', settings: (url) => ({ llm: { provider: 'mistral', config: { api_key: KEY, base_url: url } }, embedder: openai }), call: ask },
  {
    name: 'gemini llm', api: geminiApi(answer, 8), path: '/v1beta/models/gemini-2.0-flash:generateContent',
    settings: (url) => ({ llm: { provider: 'gemini', config: { api_key: KEY, model: 'gemini-2.0-flash', base_url: url } }, embedder: openai }), call: ask,
  },
  {
    name: 'gemini embedder', api: geminiApi(answer, 8), path: '/v1beta/models/gemini-embedding-001:batchEmbedContents',
    settings: (url) => ({ llm: openai, embedder: { provider: 'gemini', config: { api_key: KEY, base_url: url, embedding_dims: 8 } } }),
    call: (p, options) => p.embedder.embed('hello', 'search', options),
  },
  {
    name: 'azure_openai llm', api: azureApi(answer, 8), path: '/openai/deployments/d/chat/completions',
    settings: (url) => ({ llm: { provider: 'azure_openai', config: { azure_kwargs: azure(url) } }, embedder: openai }), call: ask,
  },
  {
    name: 'aws_bedrock llm', api: bedrockApi(answer, 8), http2: true, path: '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse',
    settings: (url) => ({ llm: { provider: 'aws_bedrock', config: { ...aws(url) } }, embedder: openai }), call: ask,
  },
  {
    name: 'aws_bedrock embedder', api: bedrockApi(answer, 8), http2: true, path: '/model/amazon.titan-embed-text-v1/invoke',
    settings: (url) => ({ llm: openai, embedder: { provider: 'aws_bedrock', config: { ...aws(url) } } }),
    call: (p, options) => p.embedder.embed('hello', 'search', options),
  },
  {
    name: 'cohere reranker', api: cohereApi(wordOverlap), path: '/v1/rerank',
    settings: (url) => ({ llm: openai, embedder: openai, reranker: { provider: 'cohere', config: { api_key: KEY, base_url: url } } }),
    call: (p, options) => p.reranker!.rerank('bees in Porto', ['I keep bees', 'I drink tea'], 2, options),
  },
  {
    name: 'zero_entropy reranker', api: zeroEntropyApi(wordOverlap), path: '/v1/models/rerank',
    settings: (url) => ({ llm: openai, embedder: openai, reranker: { provider: 'zero_entropy', config: { api_key: KEY, base_url: `${url}/v1` } } }),
    call: (p, options) => p.reranker!.rerank('bees in Porto', ['I keep bees', 'I drink tea'], 2, options),
  },
];

async function failure(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!isEngineError(error)) throw new Error(`expected an EngineError, got ${String(error)}`);
  return error;
}

describe.each(CASES)('$name through its SDK', ({ api, http2, path, settings, call }) => {
  let fake: FakeApi;
  beforeAll(async () => {
    fake = await FakeApi.start(api, { http2 });
  });
  afterAll(() => fake.close());

  it('answers; a 429 keeps its status, is retryable, and the SDK does not retry on its own', async () => {
    const providers = await createProviders(settings(fake.url()), { timeoutMs: 10_000 });
    await call(providers, {});
    fake.reset();
    fake.fail(path, { status: 429 });
    const error = await failure(call(providers, {}));
    expect(error).toMatchObject({ code: 'upstream', status: 429, retryable: true });
    expect(fake.calls(path)).toHaveLength(1);
  });

  it('a 401 is not retryable and its message never carries the key', async () => {
    const providers = await createProviders(settings(fake.url()), { timeoutMs: 10_000 });
    fake.reset();
    fake.fail(path, { status: 401 });
    const error = await failure(call(providers, {}));
    expect(error).toMatchObject({ code: 'upstream', status: 401, retryable: false });
    expect(error.message).not.toContain(KEY);
  });

  it('a provider that does not answer hits our deadline (TIMEOUT)', async () => {
    const providers = await createProviders(settings(fake.url()), { timeoutMs: 300 });
    fake.reset();
    const answer = hold();
    try {
      // The answer is held until the finally below: a call that ends before it was ended by our deadline.
      fake.fail(path, { after: answer.released });
      const error = await failure(call(providers, {}));
      expect(error.code).toBe('timeout');
    } finally {
      answer.release();
    }
  });

  it('the caller can cancel a call in flight', async () => {
    const providers = await createProviders(settings(fake.url()), { timeoutMs: 60_000 });
    fake.reset();
    const answer = hold();
    try {
      fake.fail(path, { after: answer.released });
      const controller = new AbortController();
      const pending = failure(call(providers, { signal: controller.signal }));
      controller.abort();
      const error = await pending;
      expect(error.code).toBe('timeout');
      expect(error.message).toContain('cancelled');
    } finally {
      answer.release();
    }
  });
});
