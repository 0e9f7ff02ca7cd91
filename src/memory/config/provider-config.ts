/**
 * Mem0's Python config keys (snake_case, as users paste them into the credential page) mapped onto the
 * `mem0ai` TypeScript provider configs (camelCase). Pure: no I/O, no `mem0ai` import.
 *
 * | Python key                                         | mem0ai key                      |
 * |----------------------------------------------------|---------------------------------|
 * | api_key                                            | apiKey                          |
 * | model, temperature                                 | model, temperature              |
 * | max_tokens, top_p, top_k (reranker: top_n too)     | maxTokens, topP, topK           |
 * | embedding_dims                                     | embeddingDims                   |
 * | openai_base_url, base_url, ollama_base_url, …_base_url, api_base, url | baseURL and url (+ vllmBaseURL for vllm, huggingfaceBaseUrl for huggingface) |
 * | azure_kwargs {azure_endpoint, azure_deployment, api_version, api_key, default_headers} | modelProperties {endpoint, deployment, apiVersion, defaultHeaders} (+ apiKey) |
 * | model_kwargs                                       | modelProperties                 |
 * | llm (llm_reranker: {provider, config})             | llm {provider, config: mapped}  |
 * | any other snake_case key (aws_region, vertex_credentials_json, return_documents, …) | camelCase (awsRegion, …) |
 * | http_client_proxies, enable_vision, vision_details, site_url, app_name, models, route | ignored (reported) |
 * @module
 */
import { z } from 'zod';
import { EngineError } from '../../errors.js';
import type { ProviderRole } from '../../errors.js';
import type { ProviderBlock } from './settings.js';

export type { ProviderBlock };

/** A nested `{"provider": "...", "config": {...}}` (the llm_reranker's `llm`). */
const NestedBlockSchema = z.object({
  provider: z.string().trim().min(1, 'provider is required'),
  config: z.record(z.string(), z.unknown()).nullish().transform((c) => c ?? {}),
});

export interface MappedProvider {
  /** The provider the user named (lower case), for messages. */
  provider: string;
  /** The `mem0ai` factory provider that serves it, when that is another one (ollama → openai). */
  factoryProvider?: string;
  /** The `embedding_dims` the user configured, also when it is not passed on to the provider. */
  embeddingDims?: number;
  config: Record<string, unknown>;
  /** Keys we accepted but cannot use with `mem0ai` (names only; never values). */
  ignored: string[];
}

/** Every key that names a provider endpoint in Mem0's Python configs. */
const BASE_URL_KEYS = [
  'openai_base_url', 'base_url', 'ollama_base_url', 'deepseek_base_url', 'xai_base_url', 'lmstudio_base_url',
  'together_base_url', 'vllm_base_url', 'anthropic_base_url', 'openrouter_base_url', 'sarvam_base_url',
  'minimax_base_url', 'litellm_base_url', 'huggingface_base_url', 'api_base', 'url', 'baseURL',
];

const RENAMED: Record<string, string> = {
  api_key: 'apiKey',
  max_tokens: 'maxTokens',
  top_p: 'topP',
  top_k: 'topK',
  embedding_dims: 'embeddingDims',
  model_kwargs: 'modelProperties',
};

const NUMERIC = new Set(['temperature', 'maxTokens', 'topP', 'topK', 'embeddingDims', 'maxLength', 'maxChunksPerDoc', 'batchSize']);

/** Python-only knobs with no counterpart in `mem0ai`. */
const IGNORED = new Set(['http_client_proxies', 'enable_vision', 'vision_details', 'site_url', 'app_name', 'models', 'route']);

const AZURE_KEYS: Record<string, string> = {
  azure_endpoint: 'endpoint',
  azure_deployment: 'deployment',
  api_version: 'apiVersion',
  default_headers: 'defaultHeaders',
};

export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Maps one provider block. `timeoutMs` becomes the provider client's own request timeout where `mem0ai`
 * passes one through (OpenAI-family clients); our wrappers enforce it on every call regardless.
 */
export function mapProviderConfig(role: ProviderRole, block: ProviderBlock, timeoutMs?: number): MappedProvider {
  const provider = block.provider.trim().toLowerCase();
  const source = block.config;
  const config: Record<string, unknown> = {};
  const ignored: string[] = [];

  const baseKey = BASE_URL_KEYS.find((k) => typeof source[k] === 'string' && (source[k] as string).trim() !== '');
  if (baseKey) {
    const url = (source[baseKey] as string).trim();
    config.baseURL = url;
    config.url = url;
    if (provider === 'vllm') config.vllmBaseURL = url;
    if (provider === 'huggingface') config.huggingfaceBaseUrl = url;
  }

  for (const [key, value] of Object.entries(source)) {
    if (value === null || value === undefined) continue;
    if (BASE_URL_KEYS.includes(key)) continue;
    if (IGNORED.has(key)) {
      ignored.push(key);
      continue;
    }
    if (key === 'azure_kwargs') {
      Object.assign(config, mapAzure(value, role));
      continue;
    }
    if (key === 'llm' && role === 'reranker') {
      const nested = NestedBlockSchema.safeParse(value);
      if (!nested.success) throw new EngineError('config', 'reranker.config.llm must be {"provider": ..., "config": {...}}', { role });
      const mapped = mapProviderConfig('llm', nested.data, timeoutMs);
      config.llm = { provider: mapped.factoryProvider ?? mapped.provider, config: mapped.config };
      ignored.push(...mapped.ignored.map((k) => `llm.${k}`));
      continue;
    }
    if (key === 'top_n' && role === 'reranker') {
      config.topK = value;
      continue;
    }
    const target = RENAMED[key] ?? camelCase(key);
    config[target] = NUMERIC.has(target) ? toNumber(target, value, role) : value;
  }

  if (role === 'reranker' && provider === 'llm_reranker' && config.llm === undefined && config.baseURL !== undefined) {
    // mem0ai builds the scoring LLM from top-level keys without the endpoint; pass it on as a nested block.
    const llm: Record<string, unknown> = { baseURL: config.baseURL, url: config.url };
    for (const k of ['apiKey', 'model', 'temperature', 'maxTokens']) if (config[k] !== undefined) llm[k] = config[k];
    if (timeoutMs !== undefined) llm.timeout = timeoutMs;
    config.llm = { provider: typeof config.provider === 'string' ? config.provider : 'openai', config: llm };
  }
  if (timeoutMs !== undefined && config.timeout === undefined && role !== 'reranker') config.timeout = timeoutMs;
  if (config.embeddingDims !== undefined && !(Number.isInteger(config.embeddingDims) && (config.embeddingDims as number) > 0)) {
    throw new EngineError('config', 'embedding_dims must be a positive integer', { role, provider });
  }
  if (provider === 'ollama' && (role === 'llm' || role === 'embedder')) return ollamaOverOpenAi(role, config, ignored);
  return { provider, config, ignored, ...(config.embeddingDims !== undefined && { embeddingDims: config.embeddingDims as number }) };
}

/**
 * Ollama is served through its OpenAI-compatible API (`<host>/v1`) by the bundled OpenAI SDK, so it needs no extra
 * package, our deadlines and error mapping apply, and no model is pulled behind the user's back (mem0ai's own Ollama
 * path downloads a missing model). `embedding_dims` is not sent (Ollama's API may refuse `dimensions`); it is still
 * compared with real embeddings by the credential check.
 */
function ollamaOverOpenAi(role: ProviderRole, config: Record<string, unknown>, ignored: string[]): MappedProvider {
  const host = typeof config.baseURL === 'string' ? config.baseURL.replace(/\/+$/, '') : 'http://localhost:11434';
  const baseURL = host.endsWith('/v1') ? host : `${host}/v1`;
  const { embeddingDims, ...rest } = config;
  return {
    provider: 'ollama',
    factoryProvider: 'openai',
    config: {
      ...rest, baseURL, url: baseURL,
      // Ollama ignores the key, but the SDK refuses to start without one.
      apiKey: rest.apiKey ?? 'ollama',
      model: rest.model ?? (role === 'llm' ? 'llama3.1:8b' : 'nomic-embed-text'),
    },
    ignored,
    ...(embeddingDims !== undefined && { embeddingDims: embeddingDims as number }),
  };
}

function mapAzure(value: unknown, role: ProviderRole): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EngineError('config', 'azure_kwargs must be an object', { role });
  }
  const props: Record<string, unknown> = {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    if (k === 'api_key') out.apiKey = v;
    else props[AZURE_KEYS[k] ?? camelCase(k)] = v;
  }
  out.modelProperties = props;
  return out;
}

function toNumber(key: string, value: unknown, role: ProviderRole): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new EngineError('config', `${key} must be a number`, { role });
  return n;
}

/** Values that must never appear in a message or log: every string under a key that looks like a secret. */
export function secretValues(block: ProviderBlock | null | undefined): string[] {
  const found: string[] = [];
  const visit = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (/key|secret|token|password|credential/i.test(key) && value.length >= 4) found.push(value);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  if (block) visit(block.config, '');
  return found;
}
