/**
 * LLM, embedder and reranker behind our own tiny interfaces (model-types.ts), built from the user's provider blocks
 * by `mem0ai`'s factories or our SDK adapters (provider-adapters.ts), or from the workspace's models. Every call has
 * a deadline (and honours the caller's AbortSignal); every failure becomes an {@link EngineError} that keeps the HTTP
 * status, so callers can tell a rate limit (429) or outage (5xx) from a bad request (400) or a bad key (401)
 * (provider-calls.ts).
 * @module
 */
import { EngineError } from '../shared/errors.js';
import type { ProviderRole } from '../shared/errors.js';
import { loadMem0 } from './mem0.js';
import type { Mem0Module } from './mem0.js';
import { mapProviderConfig, secretValues } from './config/provider-config.js';
import type { MappedProvider } from './config/provider-config.js';
import type { ProviderBlock, Settings } from './config/settings.js';
import { describeWorkspaceModel, isWorkspaceModel } from './config/workspace-models.js';
import { WorkspaceEmbedder, WorkspaceLlm, WorkspaceReranker } from './workspace-models.js';
import { bedrock, BedrockEmbedder, BedrockLlm, CohereReranker, GeminiLlm, MistralLlm, ZeroEntropyReranker } from './provider-adapters.js';
import type { Mem0Embedder, Mem0Llm, Mem0Reranker } from './provider-adapters.js';
import { CallGuard, scrub, toEngineError, wrapEmbedder, wrapLlm, wrapReranker } from './provider-calls.js';
import type { SignalledEmbedder } from './provider-calls.js';
import type { Embedder, Llm, Reranker } from './model-types.js';

export type { CallOptions, ChatMessage, EmbedAction, Embedder, Llm, Reranker, RerankScore } from './model-types.js';

export type ProviderSettings = Pick<Settings, 'llm' | 'embedder'> & { reranker?: ProviderBlock | null | undefined };

export interface ProviderOptions {
  /** Deadline of one provider call, in milliseconds. */
  timeoutMs: number;
}

export interface Providers {
  llm: Llm;
  embedder: Embedder;
  reranker: Reranker | null;
}

export const DEFAULT_PROVIDER_TIMEOUT_MS = 30_000;
/** Queued work (async writes, extraction) waits longer per model call: nobody is blocked on it, and a slow local model must be able to finish. */
export const DEFAULT_QUEUED_PROVIDER_TIMEOUT_MS = 120_000;

/**
 * The deadline of one model call (LLM, embedder, reranker), in ms: `MEM0_MODEL_TIMEOUT_SECONDS` (default 30) for
 * calls a tool waits on, `MEM0_JOB_MODEL_TIMEOUT_SECONDS` (default 120) for queued work. A malformed or non-positive
 * value is reported through `onMalformed` and the default applies.
 */
export function modelDeadlines(env: NodeJS.ProcessEnv = process.env, onMalformed: (variable: string) => void = () => {}): { syncMs: number; queuedMs: number } {
  const seconds = (name: string, fallbackMs: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallbackMs;
    const value = Number(raw);
    if (Number.isFinite(value) && value > 0) return Math.round(value * 1000);
    onMalformed(name);
    return fallbackMs;
  };
  return {
    syncMs: seconds('MEM0_MODEL_TIMEOUT_SECONDS', DEFAULT_PROVIDER_TIMEOUT_MS),
    queuedMs: seconds('MEM0_JOB_MODEL_TIMEOUT_SECONDS', DEFAULT_QUEUED_PROVIDER_TIMEOUT_MS),
  };
}

export async function createProviders(settings: ProviderSettings, options: ProviderOptions): Promise<Providers> {
  const mem0 = await loadMem0();
  const secrets = [...secretValues(settings.llm), ...secretValues(settings.embedder), ...secretValues(settings.reranker)];
  const guard = new CallGuard(options.timeoutMs, secrets);
  const build: Builder = { mem0, timeoutMs: options.timeoutMs, secrets };
  const { timeoutMs } = options;

  let llm: Llm;
  if (isWorkspaceModel(settings.llm)) {
    const workspace = new WorkspaceLlm(settings.llm, timeoutMs);
    llm = wrapLlm(describeWorkspaceModel('llm', settings.llm), (messages, signal) => workspace.generateResponse(messages, undefined, signal), guard);
  } else {
    const llmCfg = mapProviderConfig('llm', settings.llm, timeoutMs);
    const inner = await buildLlm(build, llmCfg);
    const format = llmCfg.responseFormat ?? { type: 'json_object' };
    llm = wrapLlm(llmCfg.provider, (messages) => inner.generateResponse(messages, format), guard);
  }

  let embedder: Embedder;
  if (isWorkspaceModel(settings.embedder)) {
    embedder = wrapEmbedder(describeWorkspaceModel('embedder', settings.embedder), undefined, new WorkspaceEmbedder(settings.embedder, timeoutMs), guard);
  } else {
    const embCfg = mapProviderConfig('embedder', settings.embedder, timeoutMs);
    const inner = await buildEmbedder(build, embCfg);
    // mem0ai's embedders take no signal: the guard's deadline and abort stand in for it.
    const unsignalled: SignalledEmbedder = { embed: (text, action) => inner.embed(text, action), embedBatch: (texts, action) => inner.embedBatch(texts, action) };
    embedder = wrapEmbedder(embCfg.provider, embCfg.embeddingDims, unsignalled, guard);
  }

  let reranker: Reranker | null = null;
  if (isWorkspaceModel(settings.reranker)) {
    const workspace = new WorkspaceReranker(settings.reranker!, timeoutMs);
    // Dify reports a failed rerank as an error, so an answer scoring every document alike is a real ranking.
    reranker = wrapReranker(describeWorkspaceModel('reranker', settings.reranker!), (q, d, k, signal) => workspace.rerank(q, d, k, signal), guard, false);
  } else if (settings.reranker) {
    const rrCfg = mapProviderConfig('reranker', settings.reranker, timeoutMs);
    const inner = await buildReranker(build, rrCfg);
    reranker = wrapReranker(rrCfg.provider, (q, d, k) => inner.rerank(q, d, k), guard, true);
  }
  return { llm, embedder, reranker };
}

interface Builder {
  mem0: Mem0Module;
  timeoutMs: number;
  secrets: string[];
}

/**
 * `mem0ai`'s class for the provider; for Anthropic and Groq we hand it an SDK client of our own (endpoint, our
 * timeout, no SDK retries) before its first call, as `mem0ai` would build one without them. Gemini and Mistral are
 * our adapters: `mem0ai`'s Gemini sends the system prompt as a model turn, and its Mistral passes `response_format`
 * in snake_case, which the Mistral SDK drops, so JSON mode never reaches the API.
 */
async function buildLlm(build: Builder, mapped: MappedProvider): Promise<Mem0Llm> {
  if (mapped.route.via === 'sdk' && mapped.route.sdk === '@google/genai') {
    return new GeminiLlm(await sdkClient(build, 'llm', mapped), mapped.config);
  }
  if (mapped.route.via === 'sdk' && mapped.route.sdk === '@mistralai/mistralai') {
    return new MistralLlm(await sdkClient(build, 'llm', mapped), mapped.config);
  }
  if (mapped.route.via === 'sdk' && mapped.route.sdk === '@aws-sdk/client-bedrock-runtime') {
    return new BedrockLlm(await bedrock('llm', mapped, build.timeoutMs, build.secrets), mapped.config);
  }
  const instance = construct('llm', mapped, () => build.mem0.LLMFactory.create(mapped.factoryProvider, mapped.config), build.secrets) as Mem0Llm;
  if (mapped.route.via === 'sdk' && mapped.route.sdk !== 'openai') {
    (instance as unknown as { client: unknown }).client = await sdkClient(build, 'llm', mapped);
  }
  return instance;
}

async function buildEmbedder(build: Builder, mapped: MappedProvider): Promise<Mem0Embedder> {
  if (mapped.route.via === 'sdk' && mapped.route.sdk === '@aws-sdk/client-bedrock-runtime') {
    return new BedrockEmbedder(await bedrock('embedder', mapped, build.timeoutMs, build.secrets), mapped.config);
  }
  const instance = construct('embedder', mapped, () => build.mem0.EmbedderFactory.create(mapped.factoryProvider, mapped.config), build.secrets) as Mem0Embedder;
  // mem0ai's Gemini embedder keeps its client in `google` and builds it on first use when unset.
  if (mapped.route.via === 'sdk' && mapped.route.sdk === '@google/genai') {
    (instance as unknown as { google: unknown }).google = await sdkClient(build, 'embedder', mapped);
  }
  return instance;
}

/**
 * Cohere and ZeroEntropy are our adapters: `mem0ai`'s swallow every failure into zero scores, which would hide a bad
 * key or an outage from the caller. llm_reranker is `mem0ai`'s scorer around an LLM built like the main one.
 */
async function buildReranker(build: Builder, mapped: MappedProvider): Promise<Mem0Reranker> {
  const topK = typeof mapped.config.topK === 'number' ? mapped.config.topK : undefined;
  if (mapped.provider === 'llm_reranker') {
    const scoring = mapProviderConfig('llm', mapped.scoringLlm ?? { provider: 'openai', config: {} }, build.timeoutMs);
    const llm = await buildLlm(build, scoring);
    return new build.mem0.LLMReranker({ topK }, llm as ConstructorParameters<Mem0Module['LLMReranker']>[1]) as Mem0Reranker;
  }
  const client = await sdkClient(build, 'reranker', mapped);
  const model = String(mapped.config.model);
  if (mapped.provider === 'cohere') return new CohereReranker(client as ConstructorParameters<typeof CohereReranker>[0], model, topK, mapped.config);
  return new ZeroEntropyReranker(client as ConstructorParameters<typeof ZeroEntropyReranker>[0], model, topK);
}

/** The provider's SDK client, pointed at the block's endpoint when it names one, with our deadline and no retries. */
async function sdkClient(build: Builder, role: ProviderRole, mapped: MappedProvider): Promise<unknown> {
  const { config } = mapped;
  const apiKey = String(config.apiKey);
  const baseURL = typeof config.baseURL === 'string' ? config.baseURL : undefined;
  const timeout = build.timeoutMs;
  try {
    switch (mapped.route.via === 'sdk' ? mapped.route.sdk : '') {
      case '@anthropic-ai/sdk': {
        const { default: Anthropic } = await import('@anthropic-ai/sdk');
        return new Anthropic({ apiKey, ...(baseURL && { baseURL }), timeout, maxRetries: 0 });
      }
      case 'groq-sdk': {
        const { Groq } = await import('groq-sdk');
        return new Groq({ apiKey, ...(baseURL && { baseURL }), timeout, maxRetries: 0 });
      }
      case '@mistralai/mistralai': {
        const { Mistral } = await import('@mistralai/mistralai');
        return new Mistral({ apiKey, ...(baseURL && { serverURL: baseURL }), timeoutMs: timeout, retryConfig: { strategy: 'none' } });
      }
      case '@google/genai': {
        const { GoogleGenAI } = await import('@google/genai');
        // No retryOptions: without them the SDK makes one attempt and throws ApiError with the HTTP status.
        return new GoogleGenAI({ apiKey, httpOptions: { ...(baseURL && { baseUrl: baseURL }), timeout } });
      }
      case 'cohere-ai': {
        const { CohereClient } = await import('cohere-ai');
        return new CohereClient({ token: apiKey, ...(baseURL && { baseUrl: baseURL }), timeoutInSeconds: Math.ceil(timeout / 1000), maxRetries: 0 });
      }
      case 'zeroentropy': {
        const { ZeroEntropy } = await import('zeroentropy');
        return new ZeroEntropy({ apiKey, ...(baseURL && { baseURL }), timeout, maxRetries: 0 });
      }
      default:
        throw new EngineError('config', `${role} provider "${mapped.provider}" has no SDK client here`, { role, provider: mapped.provider });
    }
  } catch (error) {
    throw toEngineError(role, mapped.provider, error, build.secrets);
  }
}


function construct(role: ProviderRole, mapped: MappedProvider, make: () => unknown, secrets: string[]): unknown {
  let instance: unknown;
  try {
    instance = make();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new EngineError('config', `${role} provider "${mapped.provider}": ${scrub(message, secrets)}`, { role, provider: mapped.provider });
  }
  disableSdkRetries(instance);
  return instance;
}

/**
 * The OpenAI SDK inside several `mem0ai` providers retries 429/5xx twice on its own. Retrying is the job queue's
 * decision (it knows the budget), so we turn the SDK's retries off where the client is reachable.
 */
function disableSdkRetries(instance: unknown): void {
  if (!instance || typeof instance !== 'object') return;
  for (const field of ['openai', 'client']) {
    const client = (instance as Record<string, unknown>)[field];
    if (client && typeof client === 'object' && typeof (client as { maxRetries?: unknown }).maxRetries === 'number') {
      (client as { maxRetries: number }).maxRetries = 0;
    }
  }
}
