import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../../src/shared/errors.js';
import { providerSupport, supportedProviders } from '../../../src/memory/config/provider-catalog.js';
import { mapProviderConfig, secretValues } from '../../../src/memory/config/provider-config.js';

describe('mapProviderConfig: Mem0 Python keys → mem0ai config', () => {
  it('maps the common LLM keys and sets our timeout', () => {
    const mapped = mapProviderConfig('llm', {
      provider: 'OpenAI',
      config: { api_key: 'sk-abc', openai_base_url: 'https://llm.example/v1', model: 'gpt-4o-mini', temperature: 0.1, max_tokens: '2000', top_p: 0.5, top_k: 3 },
    }, 15_000);
    expect(mapped).toMatchObject({ provider: 'openai', factoryProvider: 'openai', route: { via: 'sdk', sdk: 'openai' }, ignored: [] });
    expect(mapped.config).toEqual({
        apiKey: 'sk-abc', baseURL: 'https://llm.example/v1', url: 'https://llm.example/v1', model: 'gpt-4o-mini',
        temperature: 0.1, maxTokens: 2000, topP: 0.5, topK: 3, timeout: 15_000,
    });
  });

  it.each([
    ['ollama', 'ollama_base_url'], ['deepseek', 'deepseek_base_url'], ['xai', 'xai_base_url'],
    ['lmstudio', 'lmstudio_base_url'], ['openai', 'base_url'], ['together', 'together_base_url'],
  ])('%s: %s becomes baseURL and url', (provider, key) => {
    const mapped = mapProviderConfig('llm', { provider, config: { api_key: 'k', [key]: 'http://h:1/v1' } });
    expect(mapped.config.baseURL).toBe('http://h:1/v1');
    expect(mapped.config.url).toBe('http://h:1/v1');
  });

  it('ollama is mapped onto the openai factory at <host>/v1, with default models and no dimensions sent', () => {
    const llm = mapProviderConfig('llm', { provider: 'Ollama', config: {} });
    expect(llm).toMatchObject({ provider: 'ollama', factoryProvider: 'openai', config: { baseURL: 'http://localhost:11434/v1', apiKey: 'ollama', model: 'llama3.1:8b' } });
    const emb = mapProviderConfig('embedder', { provider: 'ollama', config: { ollama_base_url: 'http://gpu:11434/', model: 'bge-m3', embedding_dims: 1024 } });
    expect(emb).toMatchObject({ factoryProvider: 'openai', embeddingDims: 1024, config: { baseURL: 'http://gpu:11434/v1', url: 'http://gpu:11434/v1', model: 'bge-m3' } });
    expect(emb.config).not.toHaveProperty('embeddingDims');
    // Inside llm_reranker too: the scoring LLM stays a Mem0 block, mapped like the main LLM when it is built.
    const rr = mapProviderConfig('reranker', { provider: 'llm_reranker', config: { llm: { provider: 'ollama', config: { model: 'qwen2.5:7b' } } } });
    expect(rr.scoringLlm).toEqual({ provider: 'ollama', config: { model: 'qwen2.5:7b', temperature: 0, max_tokens: 100 } });
    expect(mapProviderConfig('llm', rr.scoringLlm!).config).toMatchObject({ baseURL: 'http://localhost:11434/v1', model: 'qwen2.5:7b', temperature: 0, maxTokens: 100 });
  });

  // Mem0 Python's defaults (mem0/llms/*.py, mem0/embeddings/*.py) for the providers it reaches with the OpenAI client.
  it.each([
    ['llm', 'deepseek', 'https://api.deepseek.com', 'deepseek-chat', undefined],
    ['llm', 'xai', 'https://api.x.ai/v1', 'grok-4.3', undefined],
    ['llm', 'together', 'https://api.together.xyz/v1', 'MiniMaxAI/MiniMax-M3', undefined],
    ['llm', 'lmstudio', 'http://localhost:1234/v1', 'lmstudio-community/Meta-Llama-3.1-70B-Instruct-GGUF/Meta-Llama-3.1-70B-Instruct-IQ2_M.gguf', 'lm-studio'],
    ['llm', 'vllm', 'http://localhost:8000/v1', 'Qwen/Qwen2.5-32B-Instruct', 'vllm-api-key'],
    ['llm', 'litellm', 'http://localhost:4000', 'gpt-5-mini', 'sk-anything'],
    ['llm', 'minimax', 'https://api.minimax.io/v1', 'MiniMax-M2.7', undefined],
    ['llm', 'sarvam', 'https://api.sarvam.ai/v1', 'sarvam-m', undefined],
    ['llm', 'openrouter', 'https://openrouter.ai/api/v1', 'gpt-5-mini', undefined],
    ['embedder', 'lmstudio', 'http://localhost:1234/v1', 'nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.f16.gguf', 'lm-studio'],
    ['embedder', 'together', 'https://api.together.xyz/v1', 'intfloat/multilingual-e5-large-instruct', undefined],
  ] as const)('%s %s: OpenAI SDK at %s, model %s', (role, provider, baseURL, model, defaultKey) => {
    const mapped = mapProviderConfig(role, { provider, config: defaultKey ? {} : { api_key: 'k' } });
    expect(mapped).toMatchObject({ factoryProvider: 'openai', route: { via: 'openai-compatible' }, config: { baseURL, url: baseURL, model, apiKey: defaultKey ?? 'k' } });
    if (!defaultKey) {
      expect(() => mapProviderConfig(role, { provider, config: {} })).toThrow(`config.api_key is required for provider "${provider}"`);
    }
  });

  it('embedders Mem0 Python calls without dimensions do not send them; the configured size is kept', () => {
    for (const provider of ['lmstudio', 'together'] as const) {
      const mapped = mapProviderConfig('embedder', { provider, config: { api_key: 'k', embedding_dims: 1024 } });
      expect(mapped.embeddingDims).toBe(1024);
      expect(mapped.config).not.toHaveProperty('embeddingDims');
    }
    expect(mapProviderConfig('embedder', { provider: 'openai', config: { embedding_dims: 1024 } }).config.embeddingDims).toBe(1024);
  });

  it('huggingface embeddings need huggingface_base_url (a TEI server); without it the field and the reason are named', () => {
    expect(mapProviderConfig('embedder', { provider: 'huggingface', config: { huggingface_base_url: 'http://tei:80/v1' } }))
      .toMatchObject({ factoryProvider: 'openai', config: { baseURL: 'http://tei:80/v1', model: 'tei', apiKey: 'tei' } });
    expect(() => mapProviderConfig('embedder', { provider: 'huggingface', config: { model: 'BAAI/bge-small-en' } }))
      .toThrow('local_embedder_json_secret.provider "huggingface": without huggingface_base_url it runs a model on this machine');
  });

  it('SDK providers: their base URL keys, Mem0 Python default models, and a key that must be in the block', () => {
    expect(mapProviderConfig('llm', { provider: 'anthropic', config: { api_key: 'a', anthropic_base_url: 'http://a' } }))
      .toMatchObject({ factoryProvider: 'anthropic', config: { apiKey: 'a', baseURL: 'http://a' } });
    expect(mapProviderConfig('llm', { provider: 'groq', config: { api_key: 'g' } }).config.model).toBe('llama-3.3-70b-versatile');
    expect(mapProviderConfig('llm', { provider: 'google', config: { api_key: 'g' } })).toMatchObject({ provider: 'google', route: { sdk: '@google/genai' } });
    expect(() => mapProviderConfig('llm', { provider: 'gemini', config: { api_key: 'g', vertexai: true, project: 'p' } })).toThrow('local_llm_json_secret.config.vertexai is not supported in this build');
    // The plugin's environment never supplies a key (ANTHROPIC_API_KEY would be the operator's, for any workspace).
    expect(() => mapProviderConfig('llm', { provider: 'anthropic', config: {} })).toThrow('local_llm_json_secret.config.api_key is required for provider "anthropic"');
    expect(() => mapProviderConfig('reranker', { provider: 'cohere', config: {} })).toThrow('local_reranker_json_secret.config.api_key is required for provider "cohere"');
  });

  it('aws_bedrock: keys and region from the block only (region defaults to us-west-2), never the machine\'s', () => {
    const mapped = mapProviderConfig('embedder', { provider: 'aws_bedrock', config: { aws_access_key_id: 'AKID', aws_secret_access_key: 's', aws_profile: 'dev' } });
    expect(mapped).toMatchObject({ route: { sdk: '@aws-sdk/client-bedrock-runtime' }, config: { awsAccessKeyId: 'AKID', awsSecretAccessKey: 's', awsRegion: 'us-west-2', model: 'amazon.titan-embed-text-v1' }, ignored: ['aws_profile'] });
    expect(mapProviderConfig('llm', { provider: 'aws_bedrock', config: { aws_access_key_id: 'A', aws_secret_access_key: 's', aws_region: 'eu-west-1' } }).config)
      .toMatchObject({ awsRegion: 'eu-west-1', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' });
    expect(() => mapProviderConfig('llm', { provider: 'aws_bedrock', config: { aws_profile: 'dev' } }))
      .toThrow('local_llm_json_secret.config.aws_access_key_id and aws_secret_access_key are required for provider "aws_bedrock"');
  });

  it('gemini embeddings: output_dimensionality or embedding_dims, else Mem0 Python\'s 768', () => {
    const dims = (config: Record<string, unknown>) => mapProviderConfig('embedder', { provider: 'gemini', config: { api_key: 'k', ...config } }).embeddingDims;
    expect(dims({})).toBe(768);
    expect(dims({ output_dimensionality: 256 })).toBe(256);
    expect(dims({ embedding_dims: 1536, output_dimensionality: 256 })).toBe(1536);
  });

  it('azure_openai gets our timeout and no SDK retries in the client options', () => {
    const mapped = mapProviderConfig('embedder', { provider: 'azure_openai', config: { azure_kwargs: { api_key: 'k', azure_endpoint: 'https://x' } } }, 9000);
    expect(mapped.config.modelProperties).toEqual({ endpoint: 'https://x', timeout: 9000, maxRetries: 0 });
  });

  it('lmstudio_response_format is kept as the response format to send', () => {
    const format = { type: 'json_schema', json_schema: { name: 'x', schema: {} } };
    expect(mapProviderConfig('llm', { provider: 'lmstudio', config: { lmstudio_response_format: format } }).responseFormat).toEqual(format);
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

  it('maps reranker keys, including the nested llm of llm_reranker (Mem0 Python fills model, key, temperature 0, max_tokens 100)', () => {
    expect(mapProviderConfig('reranker', { provider: 'cohere', config: { api_key: 'co', top_n: 4, return_documents: true } }).config)
      .toEqual({ apiKey: 'co', model: 'rerank-v3.5', topK: 4, returnDocuments: true });
    const nested = mapProviderConfig('reranker', {
      provider: 'llm_reranker',
      config: { top_k: 3, api_key: 'top', llm: { provider: 'anthropic', config: { anthropic_base_url: 'http://l', model: 'm' } } },
    }, 5000);
    expect(nested).toMatchObject({ config: { topK: 3 }, scoringLlm: { provider: 'anthropic', config: { anthropic_base_url: 'http://l', model: 'm', api_key: 'top', temperature: 0, max_tokens: 100 } } });
  });

  it('llm_reranker without an llm block scores with the top-level provider, model, key and endpoint', () => {
    const mapped = mapProviderConfig('reranker', { provider: 'llm_reranker', config: { api_key: 'k', openai_base_url: 'http://l/v1', model: 'm', temperature: 0.2 } });
    expect(mapped.scoringLlm).toEqual({ provider: 'openai', config: { api_key: 'k', openai_base_url: 'http://l/v1', model: 'm', temperature: 0.2, max_tokens: 100 } });
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

describe('providerSupport: the one answer to "can this build run it?"', () => {
  it('lists what each role supports', () => {
    expect(supportedProviders('llm')).toEqual(expect.arrayContaining(['openai', 'anthropic', 'groq', 'gemini', 'mistral', 'azure_openai', 'ollama', 'deepseek', 'xai', 'together', 'lmstudio', 'vllm', 'litellm', 'openrouter', 'aws_bedrock']));
    expect(supportedProviders('embedder')).toEqual(expect.arrayContaining(['openai', 'gemini', 'azure_openai', 'aws_bedrock', 'ollama', 'lmstudio', 'together', 'huggingface']));
    expect(supportedProviders('reranker')).toEqual(['cohere', 'zero_entropy', 'llm_reranker']);
  });

  it('refuses what it cannot run, naming the field, the reason and the supported list', () => {
    const langchain = providerSupport('llm', 'LangChain');
    expect(langchain).toMatchObject({ supported: false, provider: 'langchain' });
    expect(langchain.supported === false && langchain.message).toBe(
      `local_llm_json_secret.provider "langchain" cannot run in this build: it needs a LangChain model object, which a JSON block cannot carry; supported llm providers: ${supportedProviders('llm').join(', ')}`,
    );
    const unknown = providerSupport('embedder', 'nope');
    expect(unknown.supported === false && unknown.message).toBe(`local_embedder_json_secret.provider "nope" is not a known embedder provider; supported embedder providers: ${supportedProviders('embedder').join(', ')}`);
    for (const [role, name] of [['embedder', 'fastembed'], ['embedder', 'vertexai'], ['reranker', 'sentence_transformer'], ['reranker', 'huggingface'], ['llm', 'langchain']] as const) {
      const answer = providerSupport(role, name);
      expect(answer.supported).toBe(false);
      expect(answer.supported === false && answer.message).toMatch(/^local_(embedder|reranker|llm)_json_secret\.provider ".*" cannot run in this build: .+; supported /);
    }
    // Object prototype names are not providers.
    expect(providerSupport('llm', 'constructor').supported).toBe(false);
  });

  it('mapping refuses with the same message as a config error', () => {
    try {
      mapProviderConfig('reranker', { provider: 'sentence_transformer', config: {} });
      expect.unreachable();
    } catch (error) {
      expect(isEngineError(error, 'config')).toBe(true);
      expect((error as Error).message).toContain('local_reranker_json_secret.provider "sentence_transformer" cannot run in this build');
    }
  });
});
