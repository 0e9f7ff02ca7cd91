/**
 * The daemon's side of backwards MODEL calls, for tests: listens to the plugin's frames and answers each `invoke` of
 * type `llm`, `text_embedding` or `rerank` the way the daemon does (internal/core/io_tunnel/backwards_invocation/
 * task.go): an LLM answer as `stream` responses (one LLMResultChunk each, the text split over several), an embedding
 * or a rerank as one `struct` response, then `end`; a failure as an `error` event, then `end`.
 * Embeddings are the fake OpenAI's hashed bag-of-words (texts sharing words are near); reranking scores by shared
 * words; the LLM answers with `llm` (default: the plain extraction model of tests/integration/app.ts).
 * `policy` lets a test hold an answer back, answer with an error, or never answer.
 * @module
 */
import { embedText } from './fake-openai.js';
import { answerBackwards, backwardsInvoke } from './backwards-double.js';
import type { BackwardsDecision } from './backwards-double.js';
import type { Frame } from './plugin-process.js';

export type ModelInvokeType = 'llm' | 'text_embedding' | 'rerank';

export interface ModelCall {
  sessionId: string;
  type: ModelInvokeType;
  requestId: string;
  request: Record<string, unknown> & { provider?: string; model?: string; model_type?: string };
}

export type ModelPolicy = (call: ModelCall) => BackwardsDecision;

/** The LLM's answer to a system + user prompt. */
export type LlmAnswer = (system: string, user: string) => string;

const TYPES: readonly string[] = ['llm', 'text_embedding', 'rerank'];

function words(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

const PRICES = { unit_price: '0', price_unit: '0', total_price: '0', currency: 'USD', latency: 0.01 };
const LLM_USAGE = {
  prompt_tokens: 10, prompt_unit_price: '0', prompt_price_unit: '0', prompt_price: '0', completion_tokens: 5, completion_unit_price: '0',
  completion_price_unit: '0', completion_price: '0', total_tokens: 15, total_price: '0', currency: 'USD', latency: 0.01,
};

/**
 * What Dify answers a model call with, as `[message, payload]` responses (the daemon's kinds): an embedding or a
 * rerank as one `struct` (TextEmbeddingResult / RerankResult), an LLM answer as `stream` LLMResultChunks (the text in
 * three non-empty pieces, usage on the last). Shaped to pass the daemon's own validation of Dify's answers.
 */
export function answerModelCall(type: ModelInvokeType, request: Record<string, unknown>, dims: number, llm: LlmAnswer): Array<[string, unknown]> {
  const model = String(request.model);
  switch (type) {
    case 'text_embedding': {
      const texts = (request.texts as string[] | undefined) ?? [];
      return [['struct', { model, embeddings: texts.map((t) => embedText(t, dims)), usage: { tokens: texts.length, total_tokens: texts.length, ...PRICES } }]];
    }
    case 'rerank': {
      const query = words(String(request.query));
      const docs = ((request.docs as string[] | undefined) ?? []).map((text, index) => {
        const shared = [...words(text)].filter((w) => query.has(w)).length;
        return { index, text, score: Math.min(1, shared / Math.max(1, query.size)) };
      });
      const topN = typeof request.top_n === 'number' && request.top_n > 0 ? request.top_n : docs.length;
      return [['struct', { model, docs: docs.sort((a, b) => b.score - a.score).slice(0, topN) }]];
    }
    case 'llm': {
      const messages = (request.prompt_messages as Array<{ role: string; content: string }> | undefined) ?? [];
      const text = llm(messages.find((m) => m.role === 'system')?.content ?? '', messages.find((m) => m.role === 'user')?.content ?? '');
      const cut = [0, Math.floor(text.length / 3), Math.floor((2 * text.length) / 3), text.length];
      const pieces = [0, 1, 2].map((i) => text.slice(cut[i], cut[i + 1])).filter((piece) => piece !== '');
      return pieces.map((content, i) => [
        'stream',
        { model, delta: { index: i, message: { role: 'assistant', content }, ...(i === pieces.length - 1 ? { usage: LLM_USAGE, finish_reason: 'stop' } : {}) } },
      ]);
    }
  }
}

export class FakeWorkspaceModels {
  readonly calls: ModelCall[] = [];
  policy: ModelPolicy = () => ({ do: 'answer' });

  constructor(
    readonly dims: number,
    private readonly llm: LlmAnswer,
  ) {}

  attach(frames: { listeners: ((frame: Frame) => void)[] }, send: (frame: Frame) => void): void {
    frames.listeners.push((frame) => this.onFrame(frame, send));
  }

  callsOf(type: ModelInvokeType): ModelCall[] {
    return this.calls.filter((c) => c.type === type);
  }

  private onFrame(frame: Frame, send: (frame: Frame) => void): void {
    const invoke = backwardsInvoke(frame);
    if (!invoke || !TYPES.includes(invoke.type)) return;
    const call: ModelCall = { ...invoke, type: invoke.type as ModelInvokeType };
    this.calls.push(call);
    answerBackwards(send, call, this.policy(call), () => answerModelCall(call.type, call.request, this.dims, this.llm));
  }
}
