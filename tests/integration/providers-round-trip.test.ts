// Every provider this build runs, end to end through the plugin (createPluginApp, real YAML, engine, embedded PGlite):
// add_memory (the LLM extracts and reconciles) and search_memory (the embedder; the reranker where configured),
// each against a loopback fake of that provider's own HTTP API. The assertions are on the requests the bundled SDK
// really sent: path, key header, model, messages and the provider-specific fields.
import { describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import type { RecordedRequest } from '../helpers/fake-openai.js';
import { anthropicApi, azureApi, bedrockApi, cohereApi, FakeApi, geminiApi, groqApi, mistralApi, wordOverlap, zeroEntropyApi } from '../helpers/fake-provider-apis.js';
import type { ApiRequest } from '../helpers/fake-provider-apis.js';
import { AppDriver, DIMS, plainAnswer, plainModel } from './app.js';

interface Hit { id: string; memory: string; score: number }
interface Event { id: string | null; memory: string; event: string }

type Block = { provider: string; config: Record<string, unknown> };

const KEY = 'sk-provider-SECRET-7070';
/** Each round trip opens a database and loads an SDK; on a busy machine that takes a while (no timing is asserted). */
const SLOW = 120_000;
const SAID = 'I keep bees in Porto. My favourite tea is genmaicha.';
const QUERY = 'Where does she keep bees?';
/** The relevance the fake rerankers give the best hit. */
const BEST = wordOverlap(QUERY, 'I keep bees in Porto.');

// Every test starts from plainModel with no requests recorded (some read the calls the fake saw).
const openai = useFakeModel({ dims: DIMS, script: plainModel, resetEach: true });

/** The OpenAI fake as the embedder, for providers without one of their own. */
function openAiEmbedder(): Block {
  return { provider: 'openai', config: { api_key: 'sk-emb', openai_base_url: openai.baseURL, model: 'text-embedding-3-small', embedding_dims: DIMS } };
}

/** add_memory then search_memory through the plugin; returns the add events and the hits for "bees". */
async function roundTrip(blocks: { llm: Block; embedder?: Block; reranker?: Block }): Promise<{ added: Event[]; hits: Hit[] }> {
  const driver = new AppDriver({
    async_mode: 'false',
    local_llm_json_secret: JSON.stringify(blocks.llm),
    local_embedder_json_secret: JSON.stringify(blocks.embedder ?? openAiEmbedder()),
    local_vector_db_json_secret: JSON.stringify({ provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } }),
    ...(blocks.reranker && { local_reranker_json_secret: JSON.stringify(blocks.reranker) }),
  });
  try {
    // A generous bound: the first call of a file loads the SDKs and opens the database on a busy machine.
    const added = await driver.ok<Event[]>('add_memory', { user: SAID, user_id: 'ana', timeout: 60 });
    const hits = await driver.ok<Hit[]>('search_memory', { query: QUERY, user_id: 'ana', top_k: 2, timeout: 60 });
    return { added, hits };
  } finally {
    await driver.close();
  }
}

function expectRemembered(result: { added: Event[]; hits: Hit[] }): void {
  expect(result.added.map((e) => [e.memory, e.event])).toEqual([['I keep bees in Porto.', 'ADD'], ['My favourite tea is genmaicha.', 'ADD']]);
  expect(result.hits[0]!.memory).toBe('I keep bees in Porto.');
}

/** The add's one LLM call (nothing stored yet, so no reconciliation): the extraction prompt. */
function expectExtractionPrompts(system: string[], user: string[]): void {
  expect(system).toHaveLength(1);
  expect(system[0]).toContain('long-term notes');
  expect(user[0]).toContain(`user: ${SAID}`);
}

function header(request: ApiRequest | RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

describe('OpenAI-compatible providers through the OpenAI SDK at their base URL keys', { timeout: SLOW }, () => {
  it.each([
    ['deepseek', 'deepseek_base_url', 'deepseek-chat'],
    ['xai', 'xai_base_url', 'grok-4.3'],
    ['together', 'together_base_url', 'MiniMaxAI/MiniMax-M3'],
    ['vllm', 'vllm_base_url', 'Qwen/Qwen2.5-32B-Instruct'],
    ['litellm', 'litellm_base_url', 'gpt-5-mini'],
    ['minimax', 'minimax_base_url', 'MiniMax-M2.7'],
    ['sarvam', 'sarvam_base_url', 'sarvam-m'],
    ['openrouter', 'openrouter_base_url', 'gpt-5-mini'],
  ])('%s LLM (%s, default model %s)', async (provider, key, defaultModel) => {
    expectRemembered(await roundTrip({ llm: { provider, config: { api_key: KEY, [key]: openai.baseURL } } }));
    const chats = openai.calls('/v1/chat/completions');
    expect(chats.map((c) => header(c, 'authorization'))).toEqual([`Bearer ${KEY}`]);
    const bodies = openai.chatCalls();
    expect(bodies.map((b) => [b.model, b.response_format])).toEqual([[defaultModel, { type: 'json_object' }]]);
    expectExtractionPrompts(bodies.map((b) => b.messages[0]!.content), bodies.map((b) => b.messages[1]!.content));
  });

  it('lmstudio: no key needed (Mem0 sends "lm-studio"); lmstudio_response_format replaces json_object', async () => {
    const format = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } };
    const embedder = { provider: 'lmstudio', config: { lmstudio_base_url: openai.baseURL, embedding_dims: DIMS } };
    expectRemembered(await roundTrip({ llm: { provider: 'lmstudio', config: { lmstudio_base_url: openai.baseURL, model: 'qwen3-8b', lmstudio_response_format: format } }, embedder }));
    const [chat] = openai.calls('/v1/chat/completions');
    expect(header(chat!, 'authorization')).toBe('Bearer lm-studio');
    expect(chat!.body).toMatchObject({ model: 'qwen3-8b', response_format: format });
    const embeddings = openai.calls('/v1/embeddings');
    expect(embeddings.length).toBeGreaterThan(0);
    for (const e of embeddings) {
      expect(e.body).toMatchObject({ model: 'nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.f16.gguf' });
      expect(e.body).not.toHaveProperty('dimensions');
    }
  });

  it.each([
    ['together', 'together_base_url', 'intfloat/multilingual-e5-large-instruct', `Bearer ${KEY}`],
    ['huggingface', 'huggingface_base_url', 'tei', 'Bearer tei'],
  ])('%s embedder (%s, default model %s), no dimensions sent', async (provider, key, model, auth) => {
    const config: Record<string, unknown> = { [key]: openai.baseURL, embedding_dims: DIMS };
    if (provider === 'together') config.api_key = KEY;
    expectRemembered(await roundTrip({ llm: { provider: 'openai', config: { api_key: 'sk-l', openai_base_url: openai.baseURL } }, embedder: { provider, config } }));
    const embeddings = openai.calls('/v1/embeddings');
    expect(embeddings.length).toBeGreaterThan(0);
    for (const e of embeddings) {
      expect(header(e, 'authorization')).toBe(auth);
      expect(e.body).toMatchObject({ model });
      expect(e.body).not.toHaveProperty('dimensions');
    }
  });
});

describe('providers with their own SDK', { timeout: SLOW }, () => {
  it('anthropic (@anthropic-ai/sdk): Messages API with x-api-key, system apart, Mem0 defaults', async () => {
    const fake = await FakeApi.start(anthropicApi(plainAnswer));
    try {
      expectRemembered(await roundTrip({ llm: { provider: 'anthropic', config: { api_key: KEY, model: 'claude-test', anthropic_base_url: fake.url() } } }));
      const calls = fake.calls('/v1/messages');
      expect(calls).toHaveLength(1);
      for (const call of calls) {
        expect(header(call, 'x-api-key')).toBe(KEY);
        expect(header(call, 'anthropic-version')).toBeDefined();
        expect(call.body).toMatchObject({ model: 'claude-test', max_tokens: 2000, temperature: 0.1, messages: [{ role: 'user' }] });
      }
      const bodies = calls.map((c) => c.body as { system: string; messages: Array<{ content: string }> });
      expectExtractionPrompts(bodies.map((b) => b.system), bodies.map((b) => b.messages[0]!.content));
    } finally {
      await fake.close();
    }
  });

  it('groq (groq-sdk): chat completions under /openai/v1 with the bearer key and JSON mode', async () => {
    const fake = await FakeApi.start(groqApi(plainAnswer));
    try {
      expectRemembered(await roundTrip({ llm: { provider: 'groq', config: { api_key: KEY, base_url: fake.url() } } }));
      const calls = fake.calls('/openai/v1/chat/completions');
      expect(calls).toHaveLength(1);
      for (const call of calls) {
        expect(header(call, 'authorization')).toBe(`Bearer ${KEY}`);
        // Mem0 Python's default model (mem0ai's is a retired one).
        expect(call.body).toMatchObject({ model: 'llama-3.3-70b-versatile', response_format: { type: 'json_object' } });
      }
      const bodies = calls.map((c) => c.body as { messages: Array<{ content: string }> });
      expectExtractionPrompts(bodies.map((b) => b.messages[0]!.content), bodies.map((b) => b.messages[1]!.content));
    } finally {
      await fake.close();
    }
  });

  it('mistral (@mistralai/mistralai): chat completions with the bearer key and JSON mode', async () => {
    const fake = await FakeApi.start(mistralApi(plainAnswer));
    try {
      expectRemembered(await roundTrip({ llm: { provider: 'mistral', config: { api_key: KEY, model: 'mistral-small-latest', base_url: fake.url() } } }));
      const calls = fake.calls('/v1/chat/completions');
      expect(calls).toHaveLength(1);
      for (const call of calls) {
        expect(header(call, 'authorization')).toBe(`Bearer ${KEY}`);
        expect(call.body).toMatchObject({ model: 'mistral-small-latest', response_format: { type: 'json_object' } });
      }
    } finally {
      await fake.close();
    }
  });

  it('gemini (@google/genai): generateContent with a system instruction, and embeddings of output_dimensionality', async () => {
    const fake = await FakeApi.start(geminiApi(plainAnswer, 768));
    try {
      const result = await roundTrip({
        llm: { provider: 'gemini', config: { api_key: KEY, model: 'gemini-test', base_url: fake.url(), max_tokens: 500 } },
        embedder: { provider: 'gemini', config: { api_key: KEY, base_url: fake.url(), output_dimensionality: DIMS } },
      });
      expectRemembered(result);
      const chats = fake.calls('/v1beta/models/gemini-test:generateContent');
      expect(chats).toHaveLength(1);
      for (const call of chats) {
        expect(header(call, 'x-goog-api-key')).toBe(KEY);
        expect(call.body).toMatchObject({ generationConfig: { temperature: 0.1, maxOutputTokens: 500, responseMimeType: 'application/json' }, contents: [{ role: 'user' }] });
      }
      const bodies = chats.map((c) => c.body as { systemInstruction: { parts: Array<{ text: string }> }; contents: Array<{ parts: Array<{ text: string }> }> });
      expectExtractionPrompts(bodies.map((b) => b.systemInstruction.parts[0]!.text), bodies.map((b) => b.contents[0]!.parts[0]!.text));
      const embeds = fake.calls(/^\/v1beta\/models\/gemini-embedding-001:(batchEmbedContents|embedContent)$/);
      expect(embeds.length).toBeGreaterThan(0);
      for (const call of embeds) expect(header(call, 'x-goog-api-key')).toBe(KEY);
      expect(JSON.stringify(embeds[0]!.body)).toContain(`"outputDimensionality":${DIMS}`);
    } finally {
      await fake.close();
    }
  });

  it('azure_openai (openai AzureOpenAI): deployment path, api-version, api-key header, from azure_kwargs', async () => {
    const fake = await FakeApi.start(azureApi(plainAnswer, DIMS));
    try {
      const azure = (deployment: string) => ({ api_key: KEY, azure_endpoint: fake.url(), azure_deployment: deployment, api_version: '2024-10-21' });
      expectRemembered(await roundTrip({
        llm: { provider: 'azure_openai', config: { model: 'gpt-4o', azure_kwargs: azure('chat-dep') } },
        embedder: { provider: 'azure_openai', config: { model: 'text-embedding-3-small', embedding_dims: DIMS, azure_kwargs: azure('emb-dep') } },
      }));
      const chats = fake.calls('/openai/deployments/chat-dep/chat/completions');
      expect(chats).toHaveLength(1);
      const embeds = fake.calls('/openai/deployments/emb-dep/embeddings');
      expect(embeds.length).toBeGreaterThan(0);
      for (const call of [...chats, ...embeds]) {
        expect(header(call, 'api-key')).toBe(KEY);
        expect(call.query.get('api-version')).toBe('2024-10-21');
      }
      expect(chats[0]!.body).toMatchObject({ model: 'gpt-4o', response_format: { type: 'json_object' } });
      expect(embeds[0]!.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: DIMS });
    } finally {
      await fake.close();
    }
  });
});

describe('aws_bedrock (@aws-sdk/client-bedrock-runtime)', { timeout: SLOW }, () => {
  it('Converse for the LLM, InvokeModel (Titan) for embeddings, SigV4-signed with the block\'s keys and region', async () => {
    // HTTP/2 without TLS: the Bedrock runtime client's default transport.
    const fake = await FakeApi.start(bedrockApi(plainAnswer, DIMS), { http2: true });
    try {
      const aws = { aws_access_key_id: 'AKIDFAKE', aws_secret_access_key: KEY, aws_region: 'eu-central-1', base_url: fake.url() };
      expectRemembered(await roundTrip({
        llm: { provider: 'aws_bedrock', config: { model: 'anthropic.claude-3-haiku-20240307-v1:0', top_p: 0.9, ...aws } },
        embedder: { provider: 'aws_bedrock', config: { model: 'amazon.titan-embed-text-v2:0', embedding_dims: DIMS, ...aws } },
      }));
      const chats = fake.calls('/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
      expect(chats).toHaveLength(1);
      const embeds = fake.calls('/model/amazon.titan-embed-text-v2%3A0/invoke');
      expect(embeds.length).toBeGreaterThan(0);
      for (const call of [...chats, ...embeds]) {
        expect(header(call, 'authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFAKE\/\d{8}\/eu-central-1\/bedrock\/aws4_request, /);
        expect(JSON.stringify(call.headers)).not.toContain(KEY);
      }
      // Mem0's defaults; no topP beside temperature for the Anthropic family.
      expect(chats[0]!.body).toEqual({
        messages: [{ role: 'user', content: [{ text: expect.stringContaining(`user: ${SAID}`) }] }],
        system: [{ text: expect.stringContaining('long-term notes') }],
        inferenceConfig: { maxTokens: 2000, temperature: 0.1 },
      });
      expect(embeds[0]!.body).toEqual({ inputText: expect.any(String), dimensions: DIMS });
    } finally {
      await fake.close();
    }
  });
});

describe('rerankers', { timeout: SLOW }, () => {
  const llm = (): Block => ({ provider: 'openai', config: { api_key: 'sk-l', openai_base_url: openai.baseURL } });

  it('cohere (cohere-ai): v1 rerank with the bearer key, top_n; its scores order the hits', async () => {
    const fake = await FakeApi.start(cohereApi(wordOverlap));
    try {
      const result = await roundTrip({ llm: llm(), reranker: { provider: 'cohere', config: { api_key: KEY, base_url: fake.url(), top_n: 5 } } });
      expectRemembered(result);
      const [call] = fake.calls('/v1/rerank');
      expect(header(call!, 'authorization')).toBe(`Bearer ${KEY}`);
      expect(call!.body).toMatchObject({ model: 'rerank-v3.5', query: QUERY, top_n: 2 });
      // Only candidates that share something with the query reach the reranker (a score-0 memory never fills top_k);
      // the tea memory shares nothing with "Where does she keep bees?".
      expect((call!.body as { documents: string[] }).documents).toEqual(['I keep bees in Porto.']);
      expect(result.hits[0]!.score).toBeCloseTo(BEST);
    } finally {
      await fake.close();
    }
  });

  it('zero_entropy (zeroentropy): models/rerank with the bearer key', async () => {
    const fake = await FakeApi.start(zeroEntropyApi(wordOverlap));
    try {
      const result = await roundTrip({ llm: llm(), reranker: { provider: 'zero_entropy', config: { api_key: KEY, base_url: fake.url('/v1') } } });
      expectRemembered(result);
      const [call] = fake.calls('/v1/models/rerank');
      expect(header(call!, 'authorization')).toBe(`Bearer ${KEY}`);
      expect(call!.body).toMatchObject({ model: 'zerank-1', query: QUERY });
      expect(result.hits[0]!.score).toBeCloseTo(BEST);
    } finally {
      await fake.close();
    }
  });

  it('llm_reranker with an anthropic scoring LLM goes through the same Anthropic client', async () => {
    const scoring = (system: string, user: string): string => {
      const query = /Query: (.*)/.exec(user)?.[1] ?? '';
      const document = /Document: (.*)/.exec(user)?.[1] ?? '';
      return system.includes('relevance') ? wordOverlap(query, document).toFixed(2) : plainAnswer(system, user);
    };
    const fake = await FakeApi.start(anthropicApi(scoring));
    try {
      const reranker = { provider: 'llm_reranker', config: { llm: { provider: 'anthropic', config: { api_key: KEY, model: 'claude-rr', anthropic_base_url: fake.url() } } } };
      const result = await roundTrip({ llm: llm(), reranker });
      expectRemembered(result);
      const calls = fake.calls('/v1/messages');
      expect(calls).toHaveLength(1); // one scoring call per candidate; the tea memory shares nothing with the query
      // Mem0 Python's scoring defaults: temperature 0, max_tokens 100.
      for (const call of calls) expect(call.body).toMatchObject({ model: 'claude-rr', temperature: 0, max_tokens: 100 });
      expect(result.hits[0]!.score).toBeCloseTo(BEST);
    } finally {
      await fake.close();
    }
  });
});
