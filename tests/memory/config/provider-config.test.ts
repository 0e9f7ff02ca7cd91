import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../../src/errors.js';
import { mapProviderConfig, secretValues } from '../../../src/memory/config/provider-config.js';

describe('mapProviderConfig: Mem0 Python keys → mem0ai config', () => {
  it('maps the common LLM keys and sets our timeout', () => {
    const mapped = mapProviderConfig('llm', {
      provider: 'OpenAI',
      config: { api_key: 'sk-abc', openai_base_url: 'https://llm.example/v1', model: 'gpt-4o-mini', temperature: 0.1, max_tokens: '2000', top_p: 0.5, top_k: 3 },
    }, 15_000);
    expect(mapped).toEqual({
      provider: 'openai',
      config: {
        apiKey: 'sk-abc', baseURL: 'https://llm.example/v1', url: 'https://llm.example/v1', model: 'gpt-4o-mini',
        temperature: 0.1, maxTokens: 2000, topP: 0.5, topK: 3, timeout: 15_000,
      },
      ignored: [],
    });
  });

  it.each([
    ['ollama', 'ollama_base_url'], ['deepseek', 'deepseek_base_url'], ['xai', 'xai_base_url'],
    ['lmstudio', 'lmstudio_base_url'], ['openai', 'base_url'], ['together', 'together_base_url'],
  ])('%s: %s becomes baseURL and url', (provider, key) => {
    const mapped = mapProviderConfig('llm', { provider, config: { [key]: 'http://h:1/v1' } });
    expect(mapped.config.baseURL).toBe('http://h:1/v1');
    expect(mapped.config.url).toBe('http://h:1/v1');
  });

  it('ollama is mapped onto the openai factory at <host>/v1, with default models and no dimensions sent', () => {
    const llm = mapProviderConfig('llm', { provider: 'Ollama', config: {} });
    expect(llm).toMatchObject({ provider: 'ollama', factoryProvider: 'openai', config: { baseURL: 'http://localhost:11434/v1', apiKey: 'ollama', model: 'llama3.1:8b' } });
    const emb = mapProviderConfig('embedder', { provider: 'ollama', config: { ollama_base_url: 'http://gpu:11434/', model: 'bge-m3', embedding_dims: 1024 } });
    expect(emb).toMatchObject({ factoryProvider: 'openai', embeddingDims: 1024, config: { baseURL: 'http://gpu:11434/v1', url: 'http://gpu:11434/v1', model: 'bge-m3' } });
    expect(emb.config).not.toHaveProperty('embeddingDims');
    // Inside llm_reranker too: the nested block names the factory that serves it.
    const rr = mapProviderConfig('reranker', { provider: 'llm_reranker', config: { llm: { provider: 'ollama', config: { model: 'qwen2.5:7b' } } } });
    expect(rr.config.llm).toMatchObject({ provider: 'openai', config: { baseURL: 'http://localhost:11434/v1', model: 'qwen2.5:7b' } });
  });

  it('vllm and huggingface get their own base URL keys too', () => {
    expect(mapProviderConfig('llm', { provider: 'vllm', config: { vllm_base_url: 'http://v/v1' } }).config.vllmBaseURL).toBe('http://v/v1');
    expect(mapProviderConfig('embedder', { provider: 'huggingface', config: { huggingface_base_url: 'http://t' } }).config.huggingfaceBaseUrl).toBe('http://t');
  });

  it('maps embedder keys, generic snake_case and ignores Python-only knobs', () => {
    const mapped = mapProviderConfig('embedder', {
      provider: 'openai',
      config: { model: 'text-embedding-3-small', embedding_dims: 1536, http_client_proxies: 'http://proxy', aws_region: 'eu-west-1', memory_add_embedding_type: 'RETRIEVAL_DOCUMENT' },
    });
    expect(mapped.config).toMatchObject({ model: 'text-embedding-3-small', embeddingDims: 1536, awsRegion: 'eu-west-1', memoryAddEmbeddingType: 'RETRIEVAL_DOCUMENT' });
    expect(mapped.config).not.toHaveProperty('httpClientProxies');
    expect(mapped.ignored).toEqual(['http_client_proxies']);
  });

  it('maps azure_kwargs onto modelProperties', () => {
    const mapped = mapProviderConfig('llm', {
      provider: 'azure_openai',
      config: { model: 'gpt-4o', azure_kwargs: { api_key: 'az-key', azure_endpoint: 'https://x.openai.azure.com', azure_deployment: 'dep', api_version: '2024-10-21' } },
    });
    expect(mapped.config).toMatchObject({
      apiKey: 'az-key', modelProperties: { endpoint: 'https://x.openai.azure.com', deployment: 'dep', apiVersion: '2024-10-21' },
    });
  });

  it('maps reranker keys, including the nested llm of llm_reranker', () => {
    expect(mapProviderConfig('reranker', { provider: 'cohere', config: { api_key: 'co', model: 'rerank-v3.5', top_n: 4, return_documents: true } }).config)
      .toEqual({ apiKey: 'co', model: 'rerank-v3.5', topK: 4, returnDocuments: true });
    const nested = mapProviderConfig('reranker', {
      provider: 'llm_reranker',
      config: { top_k: 3, llm: { provider: 'openai', config: { api_key: 'k', openai_base_url: 'http://l/v1', model: 'm' } } },
    }, 5000);
    expect(nested.config).toEqual({
      topK: 3, llm: { provider: 'openai', config: { apiKey: 'k', baseURL: 'http://l/v1', url: 'http://l/v1', model: 'm', timeout: 5000 } },
    });
  });

  it('llm_reranker with a top-level endpoint gets a nested llm so the endpoint is not lost', () => {
    const mapped = mapProviderConfig('reranker', { provider: 'llm_reranker', config: { api_key: 'k', openai_base_url: 'http://l/v1', model: 'm' } });
    expect(mapped.config.llm).toEqual({ provider: 'openai', config: { apiKey: 'k', baseURL: 'http://l/v1', url: 'http://l/v1', model: 'm' } });
  });

  it('rejects bad numbers with a config error naming the key', () => {
    expect(() => mapProviderConfig('embedder', { provider: 'openai', config: { embedding_dims: 'many' } })).toThrow(/embeddingDims must be a number/);
    try {
      mapProviderConfig('embedder', { provider: 'openai', config: { embedding_dims: -3 } });
      expect.unreachable();
    } catch (error) {
      expect(isEngineError(error, 'config')).toBe(true);
    }
  });

  it('collects secret values so they can be scrubbed from messages', () => {
    expect(secretValues({ provider: 'x', config: { api_key: 'sk-1234', model: 'm', azure_kwargs: { api_key: 'az-9999' } } }).sort()).toEqual(['az-9999', 'sk-1234']);
  });
});
