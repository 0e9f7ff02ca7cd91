// The workspace-model adapters (src/memory/workspace-models.ts) built by the real providers factory, over the real
// backwards-call client (src/runtime/backwards.ts) whose frames the test answers as the daemon writes them: request
// shapes, the streamed LLM answer collected whole (string and content-part deltas), Dify's errors, no answer, a
// session that ends mid-call, and a call made outside any session.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/shared/errors.js';
import { parsePicker } from '../../src/memory/config/workspace-models.js';
import { createProviders } from '../../src/memory/providers.js';
import { withWorkspaceModels } from '../../src/memory/workspace-models.js';
import { BackwardsCalls } from '../../src/runtime/backwards.js';

type Sent = { type: string; backwards_request_id: string; request: Record<string, unknown> };

const LLM = parsePicker('llm', { provider: 'langgenius/openai/openai', model: 'gpt-4o-mini', model_type: 'llm', completion_params: { temperature: 0 } })!;
const EMB = parsePicker('embedder', { provider: 'langgenius/openai/openai', model: 'text-embedding-3-small', model_type: 'text-embedding' })!;
const RR = parsePicker('reranker', { provider: 'langgenius/jina/jina', model: 'jina-reranker-v2' })!;

/** A session's invoker whose calls the test answers with `answer` (frames as the daemon writes them). */
function daemon(answer: (call: Sent, reply: (event: string, message?: string, data?: unknown) => void) => void) {
  const calls = new BackwardsCalls(pino({ level: 'silent' }));
  const sent: Sent[] = [];
  const invoker = calls.forSession('s1', async (call) => {
    sent.push(call);
    const reply = (event: string, message = '', data: unknown = null) =>
      calls.route({ session_id: 's1', event: 'backwards_response', data: { backwards_request_id: call.backwards_request_id, event, message, data } });
    queueMicrotask(() => answer(call, reply));
  }, new AbortController().signal);
  return { calls, sent, invoker };
}

const providers = (timeoutMs = 5_000) => createProviders({ llm: LLM, embedder: EMB, reranker: RR }, { timeoutMs });

async function failure(work: Promise<unknown>): Promise<EngineError> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  }
  throw new Error('expected a failure');
}

describe('workspace models over backwards calls', () => {
  it('sends the LLM call as the daemon expects and joins the streamed deltas (text and content parts)', async () => {
    const d = daemon((call, reply) => {
      reply('response', 'stream', { model: 'gpt-4o-mini', delta: { index: 0, message: { role: 'assistant', content: '{"facts": ' } } });
      reply('response', 'stream', { model: 'gpt-4o-mini', delta: { index: 1, message: { role: 'assistant', content: [{ type: 'text', data: '["a"]}' }] }, finish_reason: 'stop' } });
      reply('end');
    });
    const { llm } = await providers();
    const text = await withWorkspaceModels(d.invoker, () => llm.completeJson([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }]));
    expect(text).toBe('{"facts": ["a"]}');
    expect(d.sent[0]).toMatchObject({
      type: 'llm',
      request: {
        provider: 'langgenius/openai/openai', model: 'gpt-4o-mini', model_type: 'llm', mode: 'chat', completion_params: { temperature: 0 },
        prompt_messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }], tools: [], stop: [], stream: true,
      },
    });
  });

  it('embeds stored text as documents and searches as queries; reranks with every document scored', async () => {
    const d = daemon((call, reply) => {
      if (call.type === 'text_embedding') {
        const texts = call.request.texts as string[];
        reply('response', 'struct', { model: 'e', embeddings: texts.map((_t, i) => [i + 1, 0.5]), usage: {} });
      } else {
        reply('response', 'struct', { model: 'r', docs: [{ index: 1, text: 'b', score: 0.9 }, { index: 0, text: 'a', score: 0.2 }] });
      }
      reply('end');
    });
    const p = await providers();
    await withWorkspaceModels(d.invoker, async () => {
      expect(await p.embedder.embedBatch(['x', 'y'], 'add')).toEqual([[1, 0.5], [2, 0.5]]);
      expect(await p.embedder.embed('q', 'search')).toEqual([1, 0.5]);
      expect(await p.reranker!.rerank('q', ['a', 'b'], 2)).toEqual([{ index: 1, score: 0.9 }, { index: 0, score: 0.2 }]);
    });
    expect(d.sent.map((s) => [s.type, s.request.input_type ?? null])).toEqual([['text_embedding', 'document'], ['text_embedding', 'query'], ['rerank', null]]);
    expect(d.sent[2]!.request).toMatchObject({ model_type: 'rerank', query: 'q', docs: ['a', 'b'], score_threshold: 0, top_n: 2 });
  });

  it('Dify\'s error answer names the picker and keeps Dify\'s reason', async () => {
    const d = daemon((_call, reply) => {
      reply('error', 'invoke text-embedding model failed: model not found');
      reply('end');
    });
    const { embedder } = await providers();
    const error = await failure(withWorkspaceModels(d.invoker, () => embedder.embed('x', 'add')));
    expect(error.code).toBe('upstream');
    expect(error.field).toBe('embedding_model');
    expect(error.message).toContain('picked in "Embedding model"');
    expect(error.message).toContain('model not found');
  });

  it('a vector count that does not match the texts is refused', async () => {
    const d = daemon((_call, reply) => {
      reply('response', 'struct', { model: 'e', embeddings: [[1]], usage: {} });
      reply('end');
    });
    const { embedder } = await providers();
    expect((await failure(withWorkspaceModels(d.invoker, () => embedder.embedBatch(['a', 'b'], 'add')))).message).toMatch(/returned 1 vectors for 2 texts/);
  });

  it('no answer is a timeout at the provider deadline, and the call is forgotten', async () => {
    const d = daemon(() => {});
    const { llm } = await providers(200);
    const error = await failure(withWorkspaceModels(d.invoker, () => llm.completeJson([{ role: 'user', content: 'U' }])));
    expect(error.code).toBe('timeout');
    // The backwards call has the same deadline: it is dropped too, so a late answer reaches nobody.
    for (let i = 0; i < 50 && d.calls.inFlight > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(d.calls.inFlight).toBe(0);
  });

  it('a session that ends mid-call fails the call naming the picker', async () => {
    const d = daemon(() => queueMicrotask(() => d.calls.closeSession('s1', 'the session ended')));
    const { reranker } = await providers();
    const error = await failure(withWorkspaceModels(d.invoker, () => reranker!.rerank('q', ['a'], 1)));
    expect(error.code).toBe('upstream');
    expect(error.message).toContain('picked in "Rerank model (optional)"');
    expect(error.message).toContain('the session ended');
  });

  it('outside a session (no daemon on the line) the model says where it can be reached', async () => {
    const { llm } = await providers();
    const error = await failure(llm.completeJson([{ role: 'user', content: 'U' }]));
    expect(error.field).toBe('llm_model');
    expect(error.message).toMatch(/can only be reached through the Dify plugin daemon, within a tool call/);
  });
});
