/**
 * Mem0's Python config keys (snake_case, as users paste them into the credential page) mapped onto the
 * `mem0ai` TypeScript provider configs (camelCase), after provider-catalog.ts has said the provider runs here and
 * how. Pure: no I/O, no `mem0ai` import.
 *
 * | Python key                                         | mem0ai key                      |
 * |----------------------------------------------------|---------------------------------|
 * | api_key                                            | apiKey (required for SDK providers other than OpenAI's) |
 * | model, temperature                                 | model (else Mem0 Python's default), temperature |
 * | max_tokens, top_p, top_k (reranker: top_n too)     | maxTokens, topP, topK           |
 * | embedding_dims (gemini: output_dimensionality, default 768) | embeddingDims          |
 * | the provider's own `<name>_base_url` first, then openai_base_url, base_url, api_base, url, … | baseURL and url |
 * | azure_kwargs {azure_endpoint, azure_deployment, api_version, api_key, default_headers} | modelProperties {endpoint, deployment, apiVersion, defaultHeaders} (+ apiKey) |
 * | lmstudio_response_format                           | the response format sent instead of json_object |
 * | model_kwargs                                       | modelProperties                 |
 * | llm (llm_reranker: {provider, config})             | scoringLlm: a Mem0 block, mapped as an LLM when built |
 * | any other snake_case key (aws_region, return_documents, …) | camelCase (awsRegion, …) |
 * | http_client_proxies, enable_vision, vision_details, site_url, app_name, models, route, scoring_prompt, enable_sampling_parameters | ignored (reported) |
 * @module
 */
import { z } from 'zod';
import { EngineError } from '../../shared/errors.js';
import type { ProviderRole } from '../../shared/errors.js';
import { BLOCK_FIELDS } from './settings.js';
import { providerSupport } from './provider-catalog.js';
import type { OpenAiCompatibleRoute, SdkRoute } from './provider-catalog.js';
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
  /** How this build reaches it (provider-catalog.ts). */
  route: SdkRoute | OpenAiCompatibleRoute;
  /** The `mem0ai` factory provider that serves it (`openai` for OpenAI-compatible ones), or `adapter` for ours. */
  factoryProvider: string;
  /** The `embedding_dims` the user configured (or the provider's Mem0 default), also when it is not sent. */
  embeddingDims?: number;
  config: Record<string, unknown>;
  /** LM Studio's `lmstudio_response_format`: sent instead of `{"type": "json_object"}`. */
  responseFormat?: Record<string, unknown>;
  /** llm_reranker: the scoring LLM, as a Mem0 block (its `llm`, or built from the top-level keys as Mem0 does). */
  scoringLlm?: ProviderBlock;
  /** Keys we accepted but cannot use with `mem0ai` (names only; never values). */
  ignored: string[];
}

/** Every key that names a provider endpoint in Mem0's Python configs (the provider's own key is tried first). */
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
const IGNORED = new Set(['http_client_proxies', 'enable_vision', 'vision_details', 'site_url', 'app_name', 'models', 'route', 'scoring_prompt', 'enable_sampling_parameters', 'aws_profile']);

const AZURE_KEYS: Record<string, string> = {
  azure_endpoint: 'endpoint',
  azure_deployment: 'deployment',
  api_version: 'apiVersion',
  default_headers: 'defaultHeaders',
};

/** Mem0 Python's gemini embedder sends `output_dimensionality` = `embedding_dims` or this. */
const GEMINI_DEFAULT_DIMS = 768;

export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Maps one provider block. `timeoutMs` becomes the provider client's own request timeout where `mem0ai`
 * passes one through (OpenAI-family clients); our wrappers enforce it on every call regardless.
 * @throws EngineError('config') naming the field when this build cannot run the provider.
 */
export function mapProviderConfig(role: ProviderRole, block: ProviderBlock, timeoutMs?: number): MappedProvider {
  const source = block.config;
  const support = providerSupport(role, block.provider, source);
  if (!support.supported) throw new EngineError('config', support.message, { role, provider: support.provider });
  const { provider, route } = support;
  const geminiEmbedder = role === 'embedder' && route.via === 'sdk' && route.mem0 === 'gemini';
  const config: Record<string, unknown> = {};
  const ignored: string[] = [];

  const keys = route.baseUrlKey ? [route.baseUrlKey, ...BASE_URL_KEYS.filter((k) => k !== route.baseUrlKey)] : BASE_URL_KEYS;
  const baseKey = keys.find((k) => typeof source[k] === 'string' && (source[k] as string).trim() !== '');
  if (baseKey) {
    const url = (source[baseKey] as string).trim();
    config.baseURL = url;
    config.url = url;
  }

  let responseFormat: Record<string, unknown> | undefined;
  let scoringLlm: ProviderBlock | undefined;
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
    if (key === 'lmstudio_response_format' && provider === 'lmstudio') {
      if (typeof value !== 'object' || Array.isArray(value)) throw new EngineError('config', `${BLOCK_FIELDS[role]}.config.lmstudio_response_format must be an object`, { role, provider });
      responseFormat = value as Record<string, unknown>;
      continue;
    }
    if (key === 'vertexai' && route.via === 'sdk' && route.sdk === '@google/genai') {
      // Vertex AI authenticates with the machine's Google credentials, which the plugin does not use.
      if (value === true || value === 'true') throw new EngineError('config', `${BLOCK_FIELDS[role]}.config.vertexai is not supported in this build: use an api_key for the Gemini API`, { role, provider });
      continue;
    }
    if (key === 'output_dimensionality' && geminiEmbedder) {
      if (source.embedding_dims === undefined || source.embedding_dims === null) config.embeddingDims = toNumber('embeddingDims', value, role);
      continue;
    }
    if (key === 'llm' && provider === 'llm_reranker') {
      const nested = NestedBlockSchema.safeParse(value);
      if (!nested.success) throw new EngineError('config', `${BLOCK_FIELDS.reranker}.config.llm must be {"provider": ..., "config": {...}}`, { role });
      scoringLlm = nested.data;
      continue;
    }
    if (key === 'top_n' && role === 'reranker') {
      config.topK = value;
      continue;
    }
    const target = RENAMED[key] ?? camelCase(key);
    config[target] = NUMERIC.has(target) ? toNumber(target, value, role) : value;
  }

  if (provider === 'llm_reranker') return llmReranker(route, source, config, scoringLlm, ignored);
  if (timeoutMs !== undefined && config.timeout === undefined && role !== 'reranker') config.timeout = timeoutMs;
  if (geminiEmbedder && config.embeddingDims === undefined) config.embeddingDims = GEMINI_DEFAULT_DIMS;
  if (config.embeddingDims !== undefined && !(Number.isInteger(config.embeddingDims) && (config.embeddingDims as number) > 0)) {
    throw new EngineError('config', 'embedding_dims must be a positive integer', { role, provider });
  }
  if (route.defaultModel !== undefined && config.model === undefined) config.model = route.defaultModel;
  if (route.via === 'sdk' && route.sdk === '@aws-sdk/client-bedrock-runtime') {
    if (!hasText(config.awsAccessKeyId) || !hasText(config.awsSecretAccessKey)) {
      throw new EngineError('config', `${BLOCK_FIELDS[role]}.config.aws_access_key_id and aws_secret_access_key are required for provider "aws_bedrock" (the plugin does not use the machine's AWS profile, environment or role)`, { role, provider });
    }
    if (!hasText(config.awsRegion)) config.awsRegion = 'us-west-2';
  } else if (route.via === 'sdk' && route.sdk !== 'openai' && !hasText(config.apiKey)) {
    // Never fall back to a key in the plugin's environment: that would spend the operator's key for any workspace.
    throw new EngineError('config', `${BLOCK_FIELDS[role]}.config.api_key is required for provider "${provider}"`, { role, provider });
  }
  if (route.via === 'sdk' && route.mem0 === 'azure_openai' && timeoutMs !== undefined) {
    // mem0ai hands modelProperties to the AzureOpenAI client as its options.
    config.modelProperties = { timeout: timeoutMs, ...(config.modelProperties as Record<string, unknown> | undefined), maxRetries: 0 };
  }
  const mapped: MappedProvider = {
    provider, route, factoryProvider: route.via === 'sdk' ? route.mem0 : 'openai', config, ignored,
    ...(config.embeddingDims !== undefined && { embeddingDims: config.embeddingDims as number }),
    ...(responseFormat && { responseFormat }),
  };
  return route.via === 'openai-compatible' ? overOpenAi(role, mapped, route) : mapped;
}

/**
 * Mem0 Python reaches these providers with the OpenAI client at their base URL (Ollama: its OpenAI API at
 * `<host>/v1`, so no model is pulled behind the user's back as mem0ai's own Ollama client would). Defaults are Mem0
 * Python's. Where Mem0 Python sends no `dimensions` (Ollama, LM Studio, Together, TEI) neither do we; the size is
 * still compared with real embeddings by the credential check.
 */
function overOpenAi(role: ProviderRole, mapped: MappedProvider, route: OpenAiCompatibleRoute): MappedProvider {
  const { embeddingDims, ...rest } = mapped.config;
  let base = (typeof rest.baseURL === 'string' ? rest.baseURL : route.defaultBaseUrl).replace(/\/+$/, '');
  if (route.appendV1 && !base.endsWith('/v1')) base = `${base}/v1`;
  const apiKey = rest.apiKey ?? route.defaultApiKey;
  if (apiKey === undefined || apiKey === '') {
    throw new EngineError('config', `${BLOCK_FIELDS[role]}.config.api_key is required for provider "${mapped.provider}"`, { role, provider: mapped.provider });
  }
  const config = { ...rest, baseURL: base, url: base, apiKey, ...(route.sendsDimensions !== false && embeddingDims !== undefined && { embeddingDims }) };
  return { ...mapped, config };
}

/**
 * Mem0 Python's llm_reranker: the scoring LLM is its `llm` block, else built from the top-level provider, model and
 * api_key; either way temperature 0 and max_tokens 100 unless given. (A top-level endpoint is passed on too.)
 */
function llmReranker(route: SdkRoute | OpenAiCompatibleRoute, source: Record<string, unknown>, config: Record<string, unknown>, nested: ProviderBlock | undefined, ignored: string[]): MappedProvider {
  const inner: Record<string, unknown> = { ...(nested?.config ?? {}) };
  const fill = (key: string, value: unknown): void => {
    if (inner[key] === undefined && value !== undefined && value !== null) inner[key] = value;
  };
  if (!nested) for (const key of BASE_URL_KEYS) fill(key, source[key]);
  fill('model', source.model);
  fill('api_key', source.api_key);
  fill('temperature', source.temperature ?? 0);
  fill('max_tokens', source.max_tokens ?? 100);
  const provider = nested?.provider ?? (typeof source.provider === 'string' ? source.provider : 'openai');
  const topK = config.topK;
  return {
    provider: 'llm_reranker',
    route,
    factoryProvider: 'adapter',
    config: topK === undefined ? {} : { topK },
    scoringLlm: { provider, config: inner },
    ignored,
  };
}

function hasText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
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
