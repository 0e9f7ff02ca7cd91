/**
 * The real `mem0ai` openai provider path, against the loopback fake of the OpenAI API.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../src/shared/errors.js';
import type { EngineError } from '../../src/shared/errors.js';
import { loadMem0, telemetryFlagAtLoad } from '../../src/memory/mem0.js';
import { createProviders } from '../../src/memory/providers.js';
import type { ProviderSettings } from '../../src/memory/providers.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { hold } from '../helpers/hold.js';

const fake = useFakeModel({ dims: 16, resetEach: true });
const outbound: string[] = [];
const realFetch = globalThis.fetch;

beforeAll(() => {
  // mem0ai's telemetry posts with the global fetch; record every non-loopback destination.
  globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!/^https?:\/\/127\.0\.0\.1[:/]/.test(url)) outbound.push(url);
    return realFetch(input, init);
  }) as typeof fetch;
});
afterAll(() => {
  globalThis.fetch = realFetch;
});

function settings(overrides: Partial<ProviderSettings> = {}): ProviderSettings {
  return {
    llm: { provider: 'openai', config: { api_key: 'sk-test-llm-key', openai_base_url: fake.baseURL, model: 'gpt-test', temperature: 0.1 } },
    embedder: { provider: 'openai', config: { api_key: 'sk-test-emb-key', openai_base_url: fake.baseURL, model: 'emb-test', embedding_dims: 32 } },
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<EngineError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!isEngineError(error)) throw new Error(`expected an EngineError, got ${String(error)}`);
  return error;
}

describe('openai provider through mem0ai', () => {
  it('LLM call: right model, key header and JSON response format', async () => {
    const { llm } = await createProviders(settings(), { timeoutMs: 5000 });
    fake.reply('{"facts": ["x"]}');
    const text = await llm.completeJson([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }]);
    expect(text).toBe('{"facts": ["x"]}');
    const [call] = fake.calls('/v1/chat/completions');
    expect(call!.headers.authorization).toBe('Bearer sk-test-llm-key');
    expect(call!.body).toMatchObject({
      model: 'gpt-test',
      response_format: { type: 'json_object' },
      messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }],
    });
  });

  it('embedding calls: model, key, dimensions; vectors of the configured size', async () => {
    const { embedder } = await createProviders(settings(), { timeoutMs: 5000 });
    expect(embedder.dims).toBe(32);
    const one = await embedder.embed('hello world', 'search');
    const many = await embedder.embedBatch(['a b', 'c d', 'e'], 'add');
    expect(one).toHaveLength(32);
    expect(many.map((v) => v.length)).toEqual([32, 32, 32]);
    const calls = fake.calls('/v1/embeddings');
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers.authorization).toBe('Bearer sk-test-emb-key');
    expect(calls[0]!.body).toMatchObject({ model: 'emb-test', input: 'hello world', dimensions: 32 });
    expect(calls[1]!.body).toMatchObject({ input: ['a b', 'c d', 'e'] });
  });

  it('429 keeps its status, is retryable, and the SDK does not retry on its own', async () => {
    const { llm } = await createProviders(settings(), { timeoutMs: 5000 });
    fake.reply({ status: 429 });
    const error = await failure(llm.completeJson([{ role: 'user', content: 'x' }]));
    expect(error).toMatchObject({ code: 'upstream', status: 429, role: 'llm', provider: 'openai' });
    expect(error.retryable).toBe(true);
    expect(fake.calls('/v1/chat/completions')).toHaveLength(1);
  });

  it('400 is not retryable; 500 from the embedder is', async () => {
    const { llm, embedder } = await createProviders(settings(), { timeoutMs: 5000 });
    fake.reply({ status: 400 });
    const bad = await failure(llm.completeJson([{ role: 'user', content: 'x' }]));
    expect(bad).toMatchObject({ code: 'upstream', status: 400 });
    expect(bad.retryable).toBe(false);
    fake.fail({ path: '/v1/embeddings', status: 503 });
    const down = await failure(embedder.embed('x', 'add'));
    expect(down).toMatchObject({ code: 'upstream', status: 503, role: 'embedder' });
    expect(down.retryable).toBe(true);
  });

  it('a slow provider hits the deadline', async () => {
    const { llm } = await createProviders(settings(), { timeoutMs: 300 });
    const answer = hold();
    try {
      fake.reply({ after: answer.released, then: '{}' });
      // Ends while the answer is held back (until the finally below): the deadline's doing.
      const error = await failure(llm.completeJson([{ role: 'user', content: 'x' }]));
      expect(error.code).toBe('timeout');
      expect(error.retryable).toBe(true);
    } finally {
      answer.release();
    }
  });

  it('the caller can abort a call', async () => {
    const { embedder } = await createProviders(settings(), { timeoutMs: 60_000 });
    const answer = hold();
    try {
      fake.fail({ path: '/v1/embeddings', after: answer.released, status: 500 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      // Ends while the 500 is held back (until the finally below), long before the 60 s deadline: the abort's doing.
      const error = await failure(embedder.embed('x', 'add', { signal: controller.signal }));
      expect(error.code).toBe('timeout');
    } finally {
      answer.release();
    }
  });

  it('error messages never echo the API key', async () => {
    const { llm } = await createProviders(settings(), { timeoutMs: 5000 });
    fake.reply({ status: 401, error: 'Incorrect API key provided: sk-test-llm-key' });
    const error = await failure(llm.completeJson([{ role: 'user', content: 'x' }]));
    expect(error.status).toBe(401);
    expect(error.message).not.toContain('sk-test-llm-key');
    expect(error.message).toContain('[secret]');
  });

  it('a malformed HTTP body is an upstream error, not a crash', async () => {
    const { llm } = await createProviders(settings(), { timeoutMs: 5000 });
    fake.reply({ rawBody: '{"choices": [' });
    const error = await failure(llm.completeJson([{ role: 'user', content: 'x' }]));
    expect(error.code).toBe('upstream');
    expect(error.status).toBeUndefined();
  });

  it('the llm_reranker scores documents through the same fake', async () => {
    const { reranker } = await createProviders(settings({
      reranker: { provider: 'llm_reranker', config: { llm: { provider: 'openai', config: { api_key: 'sk-rr', openai_base_url: fake.baseURL, model: 'rr-model' } } } },
    }), { timeoutMs: 5000 });
    fake.onChat((body) => (body.messages.at(-1)!.content.includes('tea') ? '0.9' : '0.1'));
    const ranked = await reranker!.rerank('what does the user drink', ['plays chess', 'drinks tea'], 2);
    expect(ranked).toEqual([{ index: 1, score: 0.9 }, { index: 0, score: 0.1 }]);
    expect(fake.chatCalls().every((b) => b.model === 'rr-model')).toBe(true);
  });
});

describe('ollama through its OpenAI-compatible API', () => {
  // Mem0 Python style: the host without /v1, no key, embedding_dims given.
  const ollama = (): ProviderSettings => {
    const host = fake.baseURL.replace(/\/v1$/, '');
    return {
      llm: { provider: 'ollama', config: { model: 'qwen2.5:7b', ollama_base_url: host, temperature: 0 } },
      embedder: { provider: 'ollama', config: { model: 'nomic-embed-text', ollama_base_url: `${host}/`, embedding_dims: 16 } },
    };
  };

  it('chat and embeddings go to <host>/v1 with the configured models, without dimensions', async () => {
    const { llm, embedder } = await createProviders(ollama(), { timeoutMs: 5000 });
    expect([llm.provider, embedder.provider, embedder.dims]).toEqual(['ollama', 'ollama', 16]);
    fake.reply('{"facts": []}');
    expect(await llm.completeJson([{ role: 'user', content: '你好' }])).toBe('{"facts": []}');
    expect(await embedder.embed('你好', 'search')).toHaveLength(16);
    const [chat] = fake.calls('/v1/chat/completions');
    expect(chat!.body).toMatchObject({ model: 'qwen2.5:7b', response_format: { type: 'json_object' } });
    const [embedding] = fake.calls('/v1/embeddings');
    expect(embedding!.body).toMatchObject({ model: 'nomic-embed-text', input: '你好' });
    expect(embedding!.body).not.toHaveProperty('dimensions');
    // Nothing asks Ollama to list or pull models.
    expect(fake.requests.map((r) => r.path).sort()).toEqual(['/v1/chat/completions', '/v1/embeddings']);
  });

  it('a host already ending in /v1 is used as it is; errors keep their status', async () => {
    const settings = ollama();
    settings.llm.config.ollama_base_url = fake.baseURL;
    const { llm } = await createProviders(settings, { timeoutMs: 5000 });
    fake.fail({ path: '/v1/chat/completions', status: 404, rawBody: JSON.stringify({ error: { message: 'model "qwen2.5:7b" not found, try pulling it first' } }) });
    const error = await failure(llm.completeJson([{ role: 'user', content: 'x' }]));
    expect(error).toMatchObject({ status: 404, retryable: false });
    expect(error.message).toContain('not found');
  });
});

describe('provider construction', () => {
  it('an unknown provider is a config error naming the field and the supported list', async () => {
    const error = await failure(createProviders(settings({ llm: { provider: 'nope', config: {} } }), { timeoutMs: 1000 }));
    expect(error).toMatchObject({ code: 'config', role: 'llm' });
    expect(error.message).toMatch(/^local_llm_json_secret\.provider "nope" is not a known llm provider; supported llm providers: openai, /);
  });

  it('a provider this build cannot run is refused before anything is called', async () => {
    const error = await failure(createProviders(settings({ embedder: { provider: 'vertexai', config: { model: 'text-embedding-004' } } }), { timeoutMs: 2000 }));
    expect(error).toMatchObject({ code: 'config', role: 'embedder', provider: 'vertexai' });
    expect(error.message).toContain('local_embedder_json_secret.provider "vertexai" cannot run in this build: Vertex AI needs @google-cloud/aiplatform');
    expect(fake.requests).toEqual([]);
  });
});

describe('telemetry', () => {
  it('MEM0_TELEMETRY was "false" when mem0ai loaded, and nothing went anywhere but loopback', async () => {
    await loadMem0();
    expect(telemetryFlagAtLoad()).toBe('false');
    expect(process.env.MEM0_TELEMETRY).toBe('false');
    expect(outbound).toEqual([]);
  });

  it('only src/memory/mem0.ts loads mem0ai at runtime (type-only imports elsewhere)', () => {
    const root = path.resolve(import.meta.dirname, '../../src');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (full.endsWith('.ts') && !full.endsWith(path.join('memory', 'mem0.ts'))) {
          const text = readFileSync(full, 'utf8');
          if (/(^|\n)\s*import\s+(?!type\b)[^;]*from\s+['"]mem0ai/.test(text) || /import\(\s*['"]mem0ai/.test(text)) offenders.push(full);
        }
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});
