/**
 * How every model call runs, whoever serves it: under a deadline and the caller's AbortSignal ({@link CallGuard}),
 * its answer checked (text, finite vectors, scores in 0–1), and whatever it throws turned into an {@link EngineError}
 * that keeps the HTTP status and never a secret.
 * @module
 */
import { EngineError, isEngineError } from '../shared/errors.js';
import type { ProviderRole } from '../shared/errors.js';
import type { ChatMessage, EmbedAction, Embedder, Llm, Reranker } from './model-types.js';

/** An embedder whose calls can be cancelled (the workspace's); mem0ai's are adapted to it without a signal. */
export interface SignalledEmbedder {
  embed(text: string, action: EmbedAction, signal?: AbortSignal): Promise<number[]>;
  embedBatch(texts: string[], action: EmbedAction, signal?: AbortSignal): Promise<number[][]>;
}

type Generate = (messages: ChatMessage[], signal: AbortSignal | undefined) => Promise<unknown>;
type Rank = (query: string, documents: string[], topK: number | undefined, signal: AbortSignal | undefined) => Promise<Array<{ index: number; rerankScore: number }>>;

export function wrapLlm(provider: string, generate: Generate, guard: CallGuard): Llm {
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

export function wrapEmbedder(provider: string, dims: number | undefined, inner: SignalledEmbedder, guard: CallGuard): Embedder {
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
export function wrapReranker(provider: string, rank: Rank, guard: CallGuard, swallowsFailures: boolean): Reranker {
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
export class CallGuard {
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

/** Maps SDK, HTTP and module-loading failures onto our error codes. */
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

export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('[secret]');
  return out.replace(/\b(sk|pk|rk)-[A-Za-z0-9_*-]{6,}/g, '[secret]');
}
