/**
 * LLM, embedder and reranker behind our own tiny interfaces, built by `mem0ai`'s factories from the user's
 * provider blocks. Every call has a deadline (and honours the caller's AbortSignal); every failure becomes an
 * {@link EngineError} that keeps the HTTP status, so callers can tell a rate limit (429) or outage (5xx) from a bad
 * request (400) or a bad key (401).
 * @module
 */
import { EngineError, isEngineError } from '../errors.js';
import type { ProviderRole } from '../errors.js';
import { loadMem0 } from './mem0.js';
import { mapProviderConfig, secretValues } from './config/provider-config.js';
import type { MappedProvider } from './config/provider-config.js';
import type { ProviderBlock, Settings } from './config/settings.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export type EmbedAction = 'add' | 'update' | 'search';

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

/** The slice of `mem0ai`'s instances we call. */
interface Mem0Llm {
  generateResponse(messages: ChatMessage[], responseFormat?: { type: string }): Promise<unknown>;
}
interface Mem0Embedder {
  embed(text: string, memoryAction?: EmbedAction): Promise<number[]>;
  embedBatch(texts: string[], memoryAction?: EmbedAction): Promise<number[][]>;
}
interface Mem0Reranker {
  rerank(query: string, documents: string[], topK?: number): Promise<Array<{ index: number; rerankScore: number }>>;
}

export const DEFAULT_PROVIDER_TIMEOUT_MS = 30_000;

export async function createProviders(settings: ProviderSettings, options: ProviderOptions): Promise<Providers> {
  const mem0 = await loadMem0();
  const secrets = [...secretValues(settings.llm), ...secretValues(settings.embedder), ...secretValues(settings.reranker)];
  const guard = new CallGuard(options.timeoutMs, secrets);

  const llmCfg = mapProviderConfig('llm', settings.llm, options.timeoutMs);
  const llm = construct('llm', llmCfg, () => mem0.LLMFactory.create(llmCfg.factoryProvider ?? llmCfg.provider, llmCfg.config), secrets) as Mem0Llm;

  const embCfg = mapProviderConfig('embedder', settings.embedder, options.timeoutMs);
  const embedder = construct('embedder', embCfg, () => mem0.EmbedderFactory.create(embCfg.factoryProvider ?? embCfg.provider, embCfg.config), secrets) as Mem0Embedder;

  let reranker: Reranker | null = null;
  if (settings.reranker) {
    const rrCfg = mapProviderConfig('reranker', settings.reranker, options.timeoutMs);
    const inner = construct('reranker', rrCfg, () => mem0.RerankerFactory.create(rrCfg.provider, rrCfg.config), secrets) as Mem0Reranker;
    reranker = wrapReranker(rrCfg.provider, inner, guard);
  }
  return {
    llm: wrapLlm(llmCfg.provider, llm, guard),
    embedder: wrapEmbedder(embCfg.provider, embCfg.embeddingDims, embedder, guard),
    reranker,
  };
}

function construct(role: ProviderRole, mapped: MappedProvider, make: () => unknown, secrets: string[]): unknown {
  let instance: unknown;
  try {
    instance = make();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unsupported = /^Unsupported .* provider/i.test(message);
    throw new EngineError(
      'config',
      unsupported ? `${role} provider "${mapped.provider}" is not supported` : `${role} provider "${mapped.provider}": ${scrub(message, secrets)}`,
      { role, provider: mapped.provider },
    );
  }
  disableSdkRetries(instance);
  return instance;
}

/**
 * The OpenAI SDK inside several `mem0ai` providers retries 429/5xx twice on its own. Retrying is the job queue's
 * decision (it knows the budget), so we turn the SDK's retries off where the client is reachable.
 */
function disableSdkRetries(instance: unknown, depth = 0): void {
  if (!instance || typeof instance !== 'object' || depth > 1) return;
  // The llm_reranker keeps its own LLM instance.
  disableSdkRetries((instance as Record<string, unknown>).llm, depth + 1);
  for (const field of ['openai', 'client']) {
    const client = (instance as Record<string, unknown>)[field];
    if (client && typeof client === 'object' && typeof (client as { maxRetries?: unknown }).maxRetries === 'number') {
      (client as { maxRetries: number }).maxRetries = 0;
    }
  }
}

function wrapLlm(provider: string, inner: Mem0Llm, guard: CallGuard): Llm {
  return {
    provider,
    completeJson: (messages, options) =>
      guard.run('llm', provider, options?.signal, async () => {
        const answer = await inner.generateResponse(messages, { type: 'json_object' });
        if (typeof answer === 'string') return answer;
        if (answer && typeof answer === 'object' && typeof (answer as { content?: unknown }).content === 'string') {
          return (answer as { content: string }).content;
        }
        throw new EngineError('llm_output', `llm provider ${provider} returned no text`, { role: 'llm', provider });
      }),
  };
}

function wrapEmbedder(provider: string, dims: number | undefined, inner: Mem0Embedder, guard: CallGuard): Embedder {
  return {
    provider,
    dims,
    embed: (text, action, options) =>
      guard.run('embedder', provider, options?.signal, async () => checkVector(await inner.embed(text, action), provider)),
    embedBatch: (texts, action, options) =>
      guard.run('embedder', provider, options?.signal, async () => {
        if (texts.length === 0) return [];
        const vectors = await inner.embedBatch(texts, action);
        if (!Array.isArray(vectors) || vectors.length !== texts.length) {
          throw new EngineError('upstream', `embedder ${provider} returned ${Array.isArray(vectors) ? vectors.length : 'no'} vectors for ${texts.length} texts`, { role: 'embedder', provider });
        }
        return vectors.map((v) => checkVector(v, provider));
      }),
  };
}

function wrapReranker(provider: string, inner: Mem0Reranker, guard: CallGuard): Reranker {
  return {
    provider,
    rerank: (query, documents, topK, options) =>
      guard.run('reranker', provider, options?.signal, async () => {
        if (documents.length === 0) return [];
        const ranked = await inner.rerank(query, documents, topK);
        return ranked
          .filter((r) => Number.isInteger(r.index) && r.index >= 0 && r.index < documents.length)
          .map((r) => ({ index: r.index, score: clamp01(r.rerankScore) }));
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
  if (status === undefined && names.some((n) => n === 'APIConnectionTimeoutError' || n === 'APIUserAbortError' || n === 'AbortError' || n === 'TimeoutError')) {
    return new EngineError('timeout', `${role} provider ${provider} timed out`, { role, provider, cause: error });
  }
  const first = chain[0];
  const text = scrub(first instanceof Error ? first.message : String(first), secrets).slice(0, 300);
  const prefix = status === undefined ? '' : `HTTP ${status}: `;
  return new EngineError('upstream', `${role} provider ${provider} failed: ${prefix}${text}`, { role, provider, status, cause: error });
}

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
  const e = error as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } };
  for (const candidate of [e.status, e.statusCode, e.response?.status]) {
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
