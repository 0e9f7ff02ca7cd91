/**
 * LLM, embedder and reranker behind our own tiny interfaces, built by `mem0ai`'s factories from the user's
 * provider blocks. Every call has a deadline (and honours the caller's AbortSignal); every failure becomes an
 * {@link EngineError} that keeps the HTTP status, so callers can tell a rate limit (429) or outage (5xx) from a bad
 * request (400) or a bad key (401).
 * @module
 */
import { EngineError, isEngineError } from '../shared/errors.js';
import type { ProviderRole } from '../shared/errors.js';
import { loadMem0 } from './mem0.js';
import type { Mem0Module } from './mem0.js';
// Types only (erased): the SDKs themselves are loaded with import() when their provider is configured.
import type { GoogleGenAI as GeminiClient } from '@google/genai';
import type { Mistral as MistralClient } from '@mistralai/mistralai';
import type * as BedrockRuntime from '@aws-sdk/client-bedrock-runtime';
import type { CohereClient } from 'cohere-ai';
import type { ZeroEntropy as ZeroEntropyClient } from 'zeroentropy';
import { mapProviderConfig, secretValues } from './config/provider-config.js';
import type { MappedProvider } from './config/provider-config.js';
import type { ProviderBlock, Settings } from './config/settings.js';
import { describeWorkspaceModel, isWorkspaceModel } from './config/workspace-models.js';
import { WorkspaceEmbedder, WorkspaceLlm, WorkspaceReranker } from './workspace-models.js';

import type { ChatMessage, EmbedAction } from './model-types.js';

export type { ChatMessage, EmbedAction };

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface Llm {
  readonly provider: string;
  /** Asks for a JSON object (`response_format: json_object`) and returns the raw text of the answer. */
  completeJson(messages: ChatMessage[], options?: CallOptions): Promise<string>;
}

export interface Embedder {
  readonly provider: string;
  /** The configured `embedding_dims`, when the user set one. */
  readonly dims: number | undefined;
  embed(text: string, action: EmbedAction, options?: CallOptions): Promise<number[]>;
  embedBatch(texts: string[], action: EmbedAction, options?: CallOptions): Promise<number[][]>;
}

export interface RerankScore {
  /** Index into the documents passed in. */
  index: number;
  /** 0–1 relevance. */
  score: number;
}

export interface Reranker {
  readonly provider: string;
  rerank(query: string, documents: string[], topK?: number, options?: CallOptions): Promise<RerankScore[]>;
}

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

/** The slice of `mem0ai`'s instances we call (our adapters have the same shape). */
interface Mem0Llm {
  generateResponse(messages: ChatMessage[], responseFormat?: Record<string, unknown>): Promise<unknown>;
}
interface Mem0Embedder {
  embed(text: string, memoryAction?: EmbedAction): Promise<number[]>;
  embedBatch(texts: string[], memoryAction?: EmbedAction): Promise<number[][]>;
}
interface Mem0Reranker {
  rerank(query: string, documents: string[], topK?: number): Promise<Array<{ index: number; rerankScore: number }>>;
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
    return new BedrockLlm(await bedrock(build, 'llm', mapped), mapped.config);
  }
  const instance = construct('llm', mapped, () => build.mem0.LLMFactory.create(mapped.factoryProvider, mapped.config), build.secrets) as Mem0Llm;
  if (mapped.route.via === 'sdk' && mapped.route.sdk !== 'openai') {
    (instance as unknown as { client: unknown }).client = await sdkClient(build, 'llm', mapped);
  }
  return instance;
}

async function buildEmbedder(build: Builder, mapped: MappedProvider): Promise<Mem0Embedder> {
  if (mapped.route.via === 'sdk' && mapped.route.sdk === '@aws-sdk/client-bedrock-runtime') {
    return new BedrockEmbedder(await bedrock(build, 'embedder', mapped), mapped.config);
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
  if (mapped.provider === 'cohere') return new CohereReranker(client as CohereClient, model, topK, mapped.config);
  return new ZeroEntropyReranker(client as ZeroEntropyClient, model, topK);
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


/** Gemini's generateContent the way Mem0 Python calls it: system messages as the system instruction. */
class GeminiLlm implements Mem0Llm {
  constructor(
    private readonly client: unknown,
    private readonly config: Record<string, unknown>,
  ) {}

  async generateResponse(messages: ChatMessage[], responseFormat?: Record<string, unknown>): Promise<string> {
    const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const contents = messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
    const { model, temperature, maxTokens, topP } = this.config;
    const response = await (this.client as GeminiClient).models.generateContent({
      model: String(model),
      contents,
      config: {
        temperature: typeof temperature === 'number' ? temperature : 0.1,
        maxOutputTokens: typeof maxTokens === 'number' ? maxTokens : 2000,
        ...(typeof topP === 'number' && { topP }),
        ...(system && { systemInstruction: system }),
        ...(responseFormat?.type === 'json_object' && { responseMimeType: 'application/json' }),
      },
    });
    return response.text ?? '';
  }
}

/** Mistral's chat completion in JSON mode, with the generation settings the block gives. */
class MistralLlm implements Mem0Llm {
  constructor(
    private readonly client: unknown,
    private readonly config: Record<string, unknown>,
  ) {}

  async generateResponse(messages: ChatMessage[], responseFormat?: Record<string, unknown>): Promise<string> {
    const { model, temperature, maxTokens, topP } = this.config;
    const response = await (this.client as MistralClient).chat.complete({
      model: String(model),
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      ...(typeof temperature === 'number' && { temperature }),
      ...(typeof maxTokens === 'number' && { maxTokens }),
      ...(typeof topP === 'number' && { topP }),
      ...(responseFormat?.type === 'json_object' && { responseFormat: { type: 'json_object' as const } }),
    });
    const content = response.choices?.[0]?.message?.content;
    if (typeof content === 'string') return content;
    return Array.isArray(content) ? content.map((chunk) => ('text' in chunk && typeof chunk.text === 'string' ? chunk.text : '')).join('') : '';
  }
}

interface BedrockSdk {
  sdk: typeof BedrockRuntime;
  client: InstanceType<typeof BedrockRuntime.BedrockRuntimeClient>;
}

/** The Bedrock runtime client with the block's keys and region (never the machine's), our deadline, one attempt. */
async function bedrock(build: Builder, role: ProviderRole, mapped: MappedProvider): Promise<BedrockSdk> {
  const { config } = mapped;
  try {
    const sdk = await import('@aws-sdk/client-bedrock-runtime');
    const client = new sdk.BedrockRuntimeClient({
      region: String(config.awsRegion),
      credentials: {
        accessKeyId: String(config.awsAccessKeyId),
        secretAccessKey: String(config.awsSecretAccessKey),
        ...(typeof config.awsSessionToken === 'string' && { sessionToken: config.awsSessionToken }),
      },
      ...(typeof config.baseURL === 'string' && { endpoint: config.baseURL }),
      maxAttempts: 1,
      requestHandler: { requestTimeout: build.timeoutMs, connectionTimeout: build.timeoutMs },
    });
    return { sdk, client };
  } catch (error) {
    throw toEngineError(role, mapped.provider, error, build.secrets);
  }
}

/**
 * Bedrock's Converse API the way `mem0ai` and Mem0 Python call it (system prompts apart; topP left out for the
 * Anthropic and MiniMax families, which refuse it beside temperature). Ours because `mem0ai`'s rethrows every
 * failure as a new Error, losing the HTTP status.
 */
class BedrockLlm implements Mem0Llm {
  constructor(
    private readonly bedrock: BedrockSdk,
    private readonly config: Record<string, unknown>,
  ) {}

  async generateResponse(messages: ChatMessage[]): Promise<string> {
    const { model, temperature, maxTokens, topP } = this.config;
    const modelId = String(model);
    const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
    const turns = messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role === 'assistant' ? ('assistant' as const) : ('user' as const), content: [{ text: m.content }] }));
    const family = /\b(anthropic|minimax)\b/.test(modelId);
    const response = await this.bedrock.client.send(
      new this.bedrock.sdk.ConverseCommand({
        modelId,
        messages: turns.length > 0 ? turns : [{ role: 'user', content: [{ text: '' }] }],
        ...(system && { system: [{ text: system }] }),
        inferenceConfig: {
          maxTokens: typeof maxTokens === 'number' ? maxTokens : 2000,
          temperature: typeof temperature === 'number' ? temperature : 0.1,
          ...(typeof topP === 'number' && !family && { topP }),
        },
      }),
    );
    const block = response.output?.message?.content?.find((b) => typeof b.text === 'string');
    return block?.text ?? '';
  }
}

/** Bedrock embeddings through InvokeModel: Titan (one text per call) and Cohere (batches, input types), as Mem0. */
class BedrockEmbedder implements Mem0Embedder {
  constructor(
    private readonly bedrock: BedrockSdk,
    private readonly config: Record<string, unknown>,
  ) {}

  async embed(text: string, action?: EmbedAction): Promise<number[]> {
    const [vector] = await this.invoke([text], action);
    return vector ?? [];
  }

  async embedBatch(texts: string[], action?: EmbedAction): Promise<number[][]> {
    if (this.cohere) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += 96) out.push(...(await this.invoke(texts.slice(i, i + 96), action)));
      return out;
    }
    return Promise.all(texts.map((text) => this.embed(text, action)));
  }

  private get model(): string {
    return String(this.config.model);
  }

  private get cohere(): boolean {
    return this.model.startsWith('cohere.');
  }

  private async invoke(texts: string[], action?: EmbedAction): Promise<number[][]> {
    const dims = typeof this.config.embeddingDims === 'number' ? this.config.embeddingDims : undefined;
    const body = this.cohere
      ? {
          texts,
          input_type: action === 'search' ? 'search_query' : 'search_document',
          ...(this.model.includes('embed-v4') && { embedding_types: ['float'], ...(dims !== undefined && { output_dimension: dims }) }),
        }
      : { inputText: texts[0], ...(dims !== undefined && this.model.includes('titan-embed-text-v2') && { dimensions: dims }) };
    const response = await this.bedrock.client.send(
      new this.bedrock.sdk.InvokeModelCommand({ modelId: this.model, contentType: 'application/json', accept: 'application/json', body: new TextEncoder().encode(JSON.stringify(body)) }),
    );
    const payload = JSON.parse(new TextDecoder().decode(response.body)) as { embedding?: number[]; embeddings?: number[][] | { float?: number[][] } };
    if (this.cohere) return Array.isArray(payload.embeddings) ? payload.embeddings : (payload.embeddings?.float ?? []);
    return payload.embedding ? [payload.embedding] : [];
  }
}

/** Cohere's rerank endpoint with Mem0 Python's arguments (top_n, return_documents, max_chunks_per_doc). */
class CohereReranker implements Mem0Reranker {
  constructor(
    private readonly client: CohereClient,
    private readonly model: string,
    private readonly topK: number | undefined,
    private readonly config: Record<string, unknown>,
  ) {}

  async rerank(query: string, documents: string[], topK?: number): Promise<Array<{ index: number; rerankScore: number }>> {
    const { returnDocuments, maxChunksPerDoc } = this.config;
    const response = await this.client.rerank({
      model: this.model,
      query,
      documents,
      topN: topK ?? this.topK ?? documents.length,
      ...(typeof returnDocuments === 'boolean' && { returnDocuments }),
      ...(typeof maxChunksPerDoc === 'number' && { maxChunksPerDoc }),
    });
    return response.results.map((r) => ({ index: r.index, rerankScore: r.relevanceScore }));
  }
}

/** ZeroEntropy's rerank endpoint (it scores every document; we keep the best top_k). */
class ZeroEntropyReranker implements Mem0Reranker {
  constructor(
    private readonly client: ZeroEntropyClient,
    private readonly model: string,
    private readonly topK: number | undefined,
  ) {}

  async rerank(query: string, documents: string[], topK?: number): Promise<Array<{ index: number; rerankScore: number }>> {
    const response = await this.client.models.rerank({ model: this.model, query, documents });
    const scored = response.results.map((r) => ({ index: r.index, rerankScore: r.relevance_score })).sort((a, b) => b.rerankScore - a.rerankScore);
    const keep = topK ?? this.topK;
    return keep ? scored.slice(0, keep) : scored;
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

/** An embedder whose calls can be cancelled (the workspace's); mem0ai's are adapted to it without a signal. */
interface SignalledEmbedder {
  embed(text: string, action: EmbedAction, signal?: AbortSignal): Promise<number[]>;
  embedBatch(texts: string[], action: EmbedAction, signal?: AbortSignal): Promise<number[][]>;
}

type Generate = (messages: ChatMessage[], signal: AbortSignal | undefined) => Promise<unknown>;
type Rank = (query: string, documents: string[], topK: number | undefined, signal: AbortSignal | undefined) => Promise<Array<{ index: number; rerankScore: number }>>;

function wrapLlm(provider: string, generate: Generate, guard: CallGuard): Llm {
  return {
    provider,
    completeJson: (messages, options) =>
      guard.run('llm', provider, options?.signal, async () => {
        const answer = await generate(messages, options?.signal);
        if (typeof answer === 'string') return answer;
        if (answer && typeof answer === 'object' && typeof (answer as { content?: unknown }).content === 'string') {
          return (answer as { content: string }).content;
        }
        throw new EngineError('llm_output', `llm provider ${provider} returned no text`, { role: 'llm', provider });
      }),
  };
}

function wrapEmbedder(provider: string, dims: number | undefined, inner: SignalledEmbedder, guard: CallGuard): Embedder {
  return {
    provider,
    dims,
    embed: (text, action, options) =>
      guard.run('embedder', provider, options?.signal, async () => checkVector(await inner.embed(text, action, options?.signal), provider)),
    embedBatch: (texts, action, options) =>
      guard.run('embedder', provider, options?.signal, async () => {
        if (texts.length === 0) return [];
        const vectors = await inner.embedBatch(texts, action, options?.signal);
        if (!Array.isArray(vectors) || vectors.length !== texts.length) {
          throw new EngineError('upstream', `embedder ${provider} returned ${Array.isArray(vectors) ? vectors.length : 'no'} vectors for ${texts.length} texts`, { role: 'embedder', provider });
        }
        return vectors.map((v) => checkVector(v, provider));
      }),
  };
}

/** `swallowsFailures`: the reranker hides its own failures as uniform scores (mem0ai's do; see below). */
function wrapReranker(provider: string, rank: Rank, guard: CallGuard, swallowsFailures: boolean): Reranker {
  return {
    provider,
    rerank: (query, documents, topK, options) =>
      guard.run('reranker', provider, options?.signal, async () => {
        if (documents.length === 0) return [];
        const ranked = (await rank(query, documents, topK, options?.signal))
          .filter((r) => Number.isInteger(r.index) && r.index >= 0 && r.index < documents.length)
          .map((r) => ({ index: r.index, score: clamp01(r.rerankScore) }));
        // mem0ai's rerankers catch their own failures (a missing SDK, an HTTP error) and answer with every document
        // scored alike: 0 in the original order (cohere, zero_entropy, sentence_transformer, huggingface) or 0.5
        // (llm_reranker, per failed document). An answer that does not tell the documents apart is no ranking.
        const first = ranked[0]?.score;
        if (swallowsFailures && first !== undefined && (first === 0 || first === 0.5) && ranked.every((r) => r.score === first)) {
          throw new EngineError('upstream', `reranker ${provider} scored every result ${first}, which is how mem0ai answers when the reranker call failed (the cause is in the plugin log)`, { role: 'reranker', provider });
        }
        return ranked;
      }),
  };
}

function checkVector(vector: unknown, provider: string): number[] {
  if (!Array.isArray(vector) || vector.length === 0 || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new EngineError('upstream', `embedder ${provider} returned an invalid vector`, { role: 'embedder', provider });
  }
  return vector as number[];
}

function clamp01(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** Runs provider calls under a deadline and turns whatever they throw into an {@link EngineError}. */
class CallGuard {
  constructor(
    private readonly timeoutMs: number,
    private readonly secrets: string[],
  ) {}

  async run<T>(role: ProviderRole, provider: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new EngineError('timeout', `${role} call cancelled before it started`, { role, provider });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new EngineError('timeout', `${role} provider ${provider} did not answer within ${this.timeoutMs} ms`, { role, provider })),
        this.timeoutMs,
      );
      onAbort = () => reject(new EngineError('timeout', `${role} call cancelled`, { role, provider }));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const work = call();
    // The work may still settle after the deadline; keep its rejection from surfacing as unhandled.
    work.catch(() => {});
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      throw toEngineError(role, provider, error, this.secrets);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** Maps SDK, HTTP and module-loading failures onto our error codes. Exported for tests. */
export function toEngineError(role: ProviderRole, provider: string, error: unknown, secrets: string[] = []): EngineError {
  if (isEngineError(error)) return error;
  const chain = causes(error);
  const missing = chain.map(missingPackage).find((p) => p !== undefined);
  if (missing) {
    return new EngineError('missing_package', `${role} provider ${provider} needs package ${missing} which this build does not include`, { role, provider, cause: error });
  }
  const status = chain.map(statusOf).find((s) => s !== undefined);
  const names = chain.map((e) => (e instanceof Error ? e.name : ''));
  if (status === undefined && names.some((n) => TIMEOUT_ERRORS.has(n))) {
    return new EngineError('timeout', `${role} provider ${provider} timed out`, { role, provider, cause: error });
  }
  const first = chain[0];
  const text = scrub(first instanceof Error ? first.message : String(first), secrets).slice(0, 300);
  const prefix = status === undefined ? '' : `HTTP ${status}: `;
  return new EngineError('upstream', `${role} provider ${provider} failed: ${prefix}${text}`, { role, provider, status, cause: error });
}

/** The names SDKs give a request that ran out of time or was aborted (OpenAI-family, Mistral, Cohere, fetch). */
const TIMEOUT_ERRORS = new Set(['APIConnectionTimeoutError', 'APIUserAbortError', 'AbortError', 'TimeoutError', 'RequestTimeoutError', 'RequestAbortedError', 'CohereTimeoutError']);

function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && out.length < 5 && !out.includes(current)) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

function statusOf(error: unknown): number | undefined {
  if (!error || typeof error !== 'object') return undefined;
  // AWS SDK errors keep it in $metadata.
  const e = error as { status?: unknown; statusCode?: unknown; response?: { status?: unknown }; $metadata?: { httpStatusCode?: unknown } };
  for (const candidate of [e.status, e.statusCode, e.response?.status, e.$metadata?.httpStatusCode]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
  }
  return undefined;
}

function missingPackage(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const message = error instanceof Error ? error.message : '';
  const code = (error as { code?: unknown }).code;
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(message);
  const named = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1] ?? /npm install ([@\w./-]+)/.exec(message)?.[1];
  if (notFound && named) return packageName(named);
  if (/package is required|is not installed|npm install /i.test(message) && named) return packageName(named);
  return undefined;
}

/** `ollama/browser` → `ollama`; `@scope/pkg/sub` → `@scope/pkg`; absolute paths are left alone. */
function packageName(spec: string): string {
  if (spec.startsWith('/') || spec.startsWith('.')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec);
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[secret]');
  return out.replace(/\b(sk|pk|rk)-[A-Za-z0-9_*-]{6,}/g, '[secret]');
}
