/**
 * The workspace's own models (a settings-page picker, config/workspace-models.ts) as our LLM, embedder and reranker,
 * called through the daemon's backwards invocation. The wire (daemon: internal/core/io_tunnel/backwards_invocation/
 * task.go, internal/core/dify_invocation/types.go, pkg/entities/requests/model.go, model_entities/):
 * - `llm`: `{provider, model, model_type: "llm", mode, completion_params, prompt_messages: [{role, content}], tools,
 *   stop, stream}` → any number of `stream` responses, each an LLMResultChunk `{model, delta: {index, message:
 *   {role, content}, usage?, finish_reason?}}`; the text is the deltas' contents joined (collected whole).
 * - `text_embedding`: `{provider, model, model_type: "text-embedding", texts, input_type: "document" | "query"}` → one
 *   `struct` response `{model, embeddings: number[][], usage}`.
 * - `rerank`: `{provider, model, model_type: "rerank", query, docs, score_threshold, top_n}` → one `struct` response
 *   `{model, docs: [{index, text, score}]}`.
 * The daemon adds tenant and user itself and forwards to Dify's inner API, which bills the workspace.
 *
 * The daemon routes a backwards call only inside a live session, so the caller is bound per tool call
 * ({@link withWorkspaceModels}, by the tools layer, which owns the session) and looked up when a model is called.
 * Outside a call (a background job) there is none and the model fails with a message saying so.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EngineError } from '../shared/errors.js';
import type { ProviderRole } from '../shared/errors.js';
import { describeWorkspaceModel, PICKERS } from './config/workspace-models.js';
import type { WorkspaceModelConfig } from './config/workspace-models.js';
import type { ProviderBlock } from './config/settings.js';
import type { ChatMessage, EmbedAction } from './model-types.js';

/** One `response` event of a backwards call (`message` names the payload kind: `stream`, `struct`). */
export interface WorkspaceModelChunk {
  message: string;
  data: unknown;
}

/**
 * Calls into Dify within one session; runtime/backwards.ts's invoker has this shape (memory/ does not import it).
 * Failures carry a `code`: BACKWARDS_TIMEOUT (no answer in time), BACKWARDS_ERROR (Dify answered with an error),
 * BACKWARDS_SESSION_CLOSED (the session ended first).
 */
export interface WorkspaceModelCaller {
  stream(type: string, request: Record<string, unknown>, options: { timeoutMs: number; signal?: AbortSignal | undefined }): AsyncIterable<WorkspaceModelChunk>;
}

const current = new AsyncLocalStorage<WorkspaceModelCaller | undefined>();

/** Runs `work` with `caller` reaching the workspace's models (undefined: none reachable, e.g. no daemon). */
export function withWorkspaceModels<T>(caller: WorkspaceModelCaller | undefined, work: () => T): T {
  return current.run(caller, work);
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One picked model and how to call it; turns every failure into an EngineError naming the picker. */
class WorkspaceModel {
  readonly config: WorkspaceModelConfig;
  readonly who: string;

  constructor(
    readonly role: ProviderRole,
    block: ProviderBlock,
    private readonly timeoutMs: number,
  ) {
    this.config = block.config as WorkspaceModelConfig;
    this.who = describeWorkspaceModel(role, block);
  }

  async *call(type: string, request: Json, signal?: AbortSignal): AsyncGenerator<WorkspaceModelChunk> {
    const caller = current.getStore();
    if (!caller) {
      throw this.error('upstream', `${this.who} can only be reached through the Dify plugin daemon, within a tool call (the daemon routes calls to the workspace's models only inside a live session)`);
    }
    const base = { provider: this.config.provider, model: this.config.model, model_type: this.config.model_type };
    try {
      yield* caller.stream(type, { ...base, ...request }, { timeoutMs: this.timeoutMs, signal });
    } catch (error) {
      throw this.fromCall(error);
    }
  }

  async struct(type: string, request: Json, signal?: AbortSignal): Promise<Json> {
    let answer: unknown;
    for await (const chunk of this.call(type, request, signal)) if (chunk.message === 'struct') answer = chunk.data;
    if (!isObject(answer)) throw this.error('upstream', `${this.who} answered without a result`);
    return answer;
  }

  error(code: 'upstream' | 'timeout', message: string, cause?: unknown): EngineError {
    return new EngineError(code, message, { role: this.role, provider: this.who, field: PICKERS[this.role].field, cause });
  }

  private fromCall(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = error instanceof Error ? error.message : String(error);
    if (code === 'BACKWARDS_TIMEOUT') return this.error('timeout', `${this.who} did not answer within ${Math.round(this.timeoutMs / 1000)} s`, error);
    if (code === 'BACKWARDS_ERROR') return this.error('upstream', `${this.who} failed: ${reason}`, error);
    if (code === 'BACKWARDS_SESSION_CLOSED') return this.error('upstream', `${this.who} could not answer: ${reason}`, error);
    return error;
  }
}

/** The text of one LLMResultChunk delta: a string, or Dify's content parts (`{type: "text", data}`). */
function deltaText(chunk: unknown): string {
  const content = isObject(chunk) && isObject(chunk.delta) && isObject(chunk.delta.message) ? chunk.delta.message.content : undefined;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (isObject(part) && part.type === 'text' && typeof part.data === 'string' ? part.data : '')).join('');
  return '';
}

/** The workspace LLM, in the shape providers.ts wraps (`generateResponse`). The answer is collected whole. */
export class WorkspaceLlm {
  private readonly model: WorkspaceModel;

  constructor(block: ProviderBlock, timeoutMs: number) {
    this.model = new WorkspaceModel('llm', block, timeoutMs);
  }

  /**
   * `responseFormat` is not passed on: Dify's model plugins name JSON mode differently (or not at all), and an
   * unknown parameter can make a model refuse the call. Our prompts ask for JSON and the caller repairs and checks it.
   */
  async generateResponse(messages: ChatMessage[], _responseFormat?: Record<string, unknown>, signal?: AbortSignal): Promise<string> {
    const { mode, completion_params } = this.model.config;
    let text = '';
    let chunks = 0;
    const request = {
      mode: mode ?? 'chat',
      completion_params: completion_params ?? {},
      prompt_messages: messages.map((m) => ({ role: m.role, content: m.content })),
      tools: [],
      stop: [],
      stream: true,
    };
    for await (const chunk of this.model.call('llm', request, signal)) {
      chunks += 1;
      text += deltaText(chunk.data);
    }
    if (chunks === 0) throw this.model.error('upstream', `${this.model.who} answered with no text`);
    return text;
  }
}

/** The workspace embedder; `input_type` tells the model a stored text (`document`) from a search (`query`). */
export class WorkspaceEmbedder {
  private readonly model: WorkspaceModel;

  constructor(block: ProviderBlock, timeoutMs: number) {
    this.model = new WorkspaceModel('embedder', block, timeoutMs);
  }

  async embed(text: string, action?: EmbedAction, signal?: AbortSignal): Promise<number[]> {
    const [vector] = await this.embedBatch([text], action, signal);
    return vector ?? [];
  }

  async embedBatch(texts: string[], action?: EmbedAction, signal?: AbortSignal): Promise<number[][]> {
    const answer = await this.model.struct('text_embedding', { texts, input_type: action === 'search' ? 'query' : 'document' }, signal);
    const { embeddings } = answer;
    if (!Array.isArray(embeddings) || embeddings.length !== texts.length) {
      const got = Array.isArray(embeddings) ? embeddings.length : 'no';
      throw this.model.error('upstream', `${this.model.who} returned ${got} vectors for ${texts.length} texts`);
    }
    return embeddings as number[][];
  }
}

/** The workspace reranker: every document scored (`score_threshold` 0), the best `top_n` kept by Dify. */
export class WorkspaceReranker {
  private readonly model: WorkspaceModel;

  constructor(block: ProviderBlock, timeoutMs: number) {
    this.model = new WorkspaceModel('reranker', block, timeoutMs);
  }

  async rerank(query: string, documents: string[], topK?: number, signal?: AbortSignal): Promise<Array<{ index: number; rerankScore: number }>> {
    const answer = await this.model.struct('rerank', { query, docs: documents, score_threshold: 0, top_n: topK ?? documents.length }, signal);
    if (!Array.isArray(answer.docs)) throw this.model.error('upstream', `${this.model.who} answered without docs`);
    return answer.docs
      .filter(isObject)
      .map((doc) => ({ index: typeof doc.index === 'number' ? doc.index : -1, rerankScore: typeof doc.score === 'number' ? doc.score : Number.NaN }));
  }
}
