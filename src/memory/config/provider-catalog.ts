/**
 * Which LLM, embedder and reranker providers this build can run, and how each is reached: the one table the
 * provider factory (providers.ts), the key mapping (provider-config.ts) and credential validation read. Pure: no
 * I/O, no SDK import.
 *
 * Provider names and defaults are Mem0 Python's (its factories and config classes), plus the names only `mem0ai`
 * knows (`mistral`, `google`). Three ways in:
 * - `sdk`: the provider's own SDK, bundled; `mem0ai`'s class where it reports errors faithfully, else our adapter.
 * - `openai-compatible`: the bundled OpenAI SDK at the provider's base URL (Mem0 Python does the same for these).
 * - `refused`: cannot run from this bundle; the reason says why.
 * @module
 */
import { BLOCK_FIELDS } from './settings.js';
import type { ProviderRole } from '../../shared/errors.js';

export interface SdkRoute {
  via: 'sdk';
  /** The npm package that talks to the provider (bundled). */
  sdk: string;
  /** `mem0ai` factory name whose class we use, or `adapter` for our own (see providers.ts). */
  mem0: string | 'adapter';
  /** The config key for the endpoint, when Mem0 Python has one (generic `base_url` is accepted too). */
  baseUrlKey?: string;
  /** Mem0 Python's default model where `mem0ai`'s differs or is missing. */
  defaultModel?: string;
}

export interface OpenAiCompatibleRoute {
  via: 'openai-compatible';
  /** Mem0 Python's key for the endpoint. */
  baseUrlKey: string;
  defaultBaseUrl: string;
  defaultModel: string;
  /** Sent when the block has no `api_key` (local servers ignore it; the SDK refuses to start without one). */
  defaultApiKey?: string;
  /** Ollama's OpenAI API lives under `<host>/v1`. */
  appendV1?: boolean;
  /** Embedders: whether OpenAI's `dimensions` field is sent for `embedding_dims` (Mem0 Python does not for these). */
  sendsDimensions?: false;
  /** The base URL key must be given (huggingface: without it Mem0 Python runs a local model). */
  requiresBaseUrl?: string;
}

export interface RefusedRoute {
  via: 'refused';
  reason: string;
}

export type ProviderRoute = SdkRoute | OpenAiCompatibleRoute | RefusedRoute;

const OPENAI: SdkRoute = { via: 'sdk', sdk: 'openai', mem0: 'openai', baseUrlKey: 'openai_base_url' };
const AZURE: SdkRoute = { via: 'sdk', sdk: 'openai', mem0: 'azure_openai' };
const GEMINI_LLM: SdkRoute = { via: 'sdk', sdk: '@google/genai', mem0: 'adapter' };
const GEMINI_EMBEDDER: SdkRoute = { via: 'sdk', sdk: '@google/genai', mem0: 'gemini', defaultModel: 'models/gemini-embedding-001' };
// AWS credentials come from the block only (aws_access_key_id + aws_secret_access_key): no profile, environment or
// instance role of the machine the plugin runs on.
const BEDROCK_LLM: SdkRoute = { via: 'sdk', sdk: '@aws-sdk/client-bedrock-runtime', mem0: 'adapter', defaultModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0' };
const BEDROCK_EMBEDDER: SdkRoute = { via: 'sdk', sdk: '@aws-sdk/client-bedrock-runtime', mem0: 'adapter', defaultModel: 'amazon.titan-embed-text-v1' };
const OLLAMA_BASE = { via: 'openai-compatible', baseUrlKey: 'ollama_base_url', defaultBaseUrl: 'http://localhost:11434', defaultApiKey: 'ollama', appendV1: true } as const;

const LANGCHAIN = 'it needs a LangChain model object, which a JSON block cannot carry';
const LOCAL_MODEL = 'it runs a model on this machine, downloaded from a model hub at run time, which the packaged plugin cannot do';

const ROUTES: Record<ProviderRole, Record<string, ProviderRoute>> = {
  llm: {
    openai: OPENAI,
    openai_structured: { ...OPENAI, mem0: 'openai_structured' },
    azure_openai: AZURE,
    azure_openai_structured: AZURE,
    anthropic: { via: 'sdk', sdk: '@anthropic-ai/sdk', mem0: 'anthropic', baseUrlKey: 'anthropic_base_url' },
    groq: { via: 'sdk', sdk: 'groq-sdk', mem0: 'groq', defaultModel: 'llama-3.3-70b-versatile' },
    gemini: GEMINI_LLM,
    google: GEMINI_LLM,
    mistral: { via: 'sdk', sdk: '@mistralai/mistralai', mem0: 'adapter', defaultModel: 'mistral-tiny-latest' },
    ollama: { ...OLLAMA_BASE, defaultModel: 'llama3.1:8b' },
    deepseek: { via: 'openai-compatible', baseUrlKey: 'deepseek_base_url', defaultBaseUrl: 'https://api.deepseek.com', defaultModel: 'deepseek-chat' },
    xai: { via: 'openai-compatible', baseUrlKey: 'xai_base_url', defaultBaseUrl: 'https://api.x.ai/v1', defaultModel: 'grok-4.3' },
    together: { via: 'openai-compatible', baseUrlKey: 'together_base_url', defaultBaseUrl: 'https://api.together.xyz/v1', defaultModel: 'MiniMaxAI/MiniMax-M3' },
    lmstudio: {
      via: 'openai-compatible', baseUrlKey: 'lmstudio_base_url', defaultBaseUrl: 'http://localhost:1234/v1', defaultApiKey: 'lm-studio',
      defaultModel: 'lmstudio-community/Meta-Llama-3.1-70B-Instruct-GGUF/Meta-Llama-3.1-70B-Instruct-IQ2_M.gguf',
    },
    vllm: { via: 'openai-compatible', baseUrlKey: 'vllm_base_url', defaultBaseUrl: 'http://localhost:8000/v1', defaultApiKey: 'vllm-api-key', defaultModel: 'Qwen/Qwen2.5-32B-Instruct' },
    // Mem0 Python calls the litellm library; here `litellm` means a LiteLLM proxy (OpenAI-compatible), as in mem0ai.
    litellm: { via: 'openai-compatible', baseUrlKey: 'litellm_base_url', defaultBaseUrl: 'http://localhost:4000', defaultApiKey: 'sk-anything', defaultModel: 'gpt-5-mini' },
    minimax: { via: 'openai-compatible', baseUrlKey: 'minimax_base_url', defaultBaseUrl: 'https://api.minimax.io/v1', defaultModel: 'MiniMax-M2.7' },
    sarvam: { via: 'openai-compatible', baseUrlKey: 'sarvam_base_url', defaultBaseUrl: 'https://api.sarvam.ai/v1', defaultModel: 'sarvam-m' },
    openrouter: { via: 'openai-compatible', baseUrlKey: 'openrouter_base_url', defaultBaseUrl: 'https://openrouter.ai/api/v1', defaultModel: 'gpt-5-mini' },
    aws_bedrock: BEDROCK_LLM,
    langchain: { via: 'refused', reason: LANGCHAIN },
  },
  embedder: {
    openai: OPENAI,
    azure_openai: AZURE,
    gemini: GEMINI_EMBEDDER,
    google: GEMINI_EMBEDDER,
    ollama: { ...OLLAMA_BASE, defaultModel: 'nomic-embed-text', sendsDimensions: false },
    lmstudio: {
      via: 'openai-compatible', baseUrlKey: 'lmstudio_base_url', defaultBaseUrl: 'http://localhost:1234/v1', defaultApiKey: 'lm-studio',
      defaultModel: 'nomic-ai/nomic-embed-text-v1.5-GGUF/nomic-embed-text-v1.5.f16.gguf', sendsDimensions: false,
    },
    together: {
      via: 'openai-compatible', baseUrlKey: 'together_base_url', defaultBaseUrl: 'https://api.together.xyz/v1',
      defaultModel: 'intfloat/multilingual-e5-large-instruct', sendsDimensions: false,
    },
    // A text-embeddings-inference server (OpenAI API); without the URL Mem0 Python runs sentence-transformers locally.
    huggingface: {
      via: 'openai-compatible', baseUrlKey: 'huggingface_base_url', defaultBaseUrl: '', defaultApiKey: 'tei', defaultModel: 'tei',
      sendsDimensions: false, requiresBaseUrl: `without huggingface_base_url ${LOCAL_MODEL}; give the URL of a text-embeddings-inference server`,
    },
    vertexai: { via: 'refused', reason: 'Vertex AI needs @google-cloud/aiplatform and a service-account file, which this build does not include' },
    aws_bedrock: BEDROCK_EMBEDDER,
    fastembed: { via: 'refused', reason: `${LOCAL_MODEL} (and needs the native ONNX runtime)` },
    langchain: { via: 'refused', reason: LANGCHAIN },
  },
  reranker: {
    cohere: { via: 'sdk', sdk: 'cohere-ai', mem0: 'adapter', defaultModel: 'rerank-v3.5' },
    zero_entropy: { via: 'sdk', sdk: 'zeroentropy', mem0: 'adapter', defaultModel: 'zerank-1' },
    // Scores with any LLM of the table above (its `llm` block, or the top-level keys).
    llm_reranker: { via: 'sdk', sdk: 'openai', mem0: 'adapter' },
    sentence_transformer: { via: 'refused', reason: LOCAL_MODEL },
    huggingface: { via: 'refused', reason: LOCAL_MODEL },
  },
};

export type ProviderSupport =
  | { supported: true; provider: string; route: SdkRoute | OpenAiCompatibleRoute }
  | { supported: false; provider: string; message: string };

/** The providers of a role that this build runs, for messages and docs. */
export function supportedProviders(role: ProviderRole): string[] {
  return Object.entries(ROUTES[role]).filter(([, r]) => r.via !== 'refused').map(([name]) => name);
}

/**
 * Whether this build can run `provider` as `role`, given the block's config (huggingface embeddings need their URL).
 * A refusal's message names the settings field, says why, and lists what is supported.
 */
export function providerSupport(role: ProviderRole, provider: string, config: Record<string, unknown> = {}): ProviderSupport {
  const name = provider.trim().toLowerCase();
  const field = BLOCK_FIELDS[role];
  const list = `supported ${role} providers: ${supportedProviders(role).join(', ')}`;
  const route = Object.hasOwn(ROUTES[role], name) ? ROUTES[role][name] : undefined;
  const shown = JSON.stringify(name.slice(0, 40));
  if (!route) return { supported: false, provider: name, message: `${field}.provider ${shown} is not a known ${role} provider; ${list}` };
  if (route.via === 'refused') return { supported: false, provider: name, message: `${field}.provider ${shown} cannot run in this build: ${route.reason}; ${list}` };
  if (route.via === 'openai-compatible' && route.requiresBaseUrl && !hasText(config[route.baseUrlKey])) {
    return { supported: false, provider: name, message: `${field}.provider ${shown}: ${route.requiresBaseUrl}` };
  }
  return { supported: true, provider: name, route };
}

function hasText(value: unknown): boolean {
  return typeof value === 'string' && value.trim() !== '';
}
