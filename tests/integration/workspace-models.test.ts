// The workspace's own models (settings-page pickers), through the BUILT bundle over stdio: the test plays the daemon,
// answering the plugin's backwards `llm` / `text_embedding` / `rerank` calls as the daemon does
// (tests/helpers/workspace-models.ts), and its `storage` calls (the embedded store's workspace namespace). No JSON
// model block is given (or one pointing nowhere, to show that the picker wins); the store is embedded PGlite with
// no vector size given: it is measured from the picked embedding model.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDify } from '../helpers/fake-dify.js';
import { PluginProcess, requestFrame } from '../helpers/plugin-process.js';
import { FakeWorkspaceModels } from '../helpers/workspace-models.js';
import { ScriptedLlm } from '../jobs/extraction/orchestration-fixture.js';
import { plainAnswer } from './app.js';

const DIMS = 24;
const LLM = { provider: 'langgenius/openai/openai', model: 'gpt-4o-mini', model_type: 'llm', mode: 'chat', completion_params: { temperature: 0.1 }, type: 'model-selector' };
const EMBEDDING = { provider: 'langgenius/openai/openai', model: 'text-embedding-3-small', model_type: 'text-embedding', type: 'model-selector' };
const RERANK = { provider: 'langgenius/jina/jina', model: 'jina-reranker-v2', model_type: 'rerank', type: 'model-selector' };

interface Body {
  status: string;
  messages: string;
  results: unknown;
  warnings?: string[];
}

const scripted = new ScriptedLlm();
// Extraction's classification as the extraction tests script it; fact extraction and reconciling as the other
// integration tests' plain model does (one fact per sentence, each one added).
const models = new FakeWorkspaceModels(DIMS, (system, user) => {
  if (!system.startsWith('You sort a conversation')) return plainAnswer(system, user);
  const reply = scripted.handler({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
  if (typeof reply !== 'string') throw new Error(`unexpected prompt: ${system.slice(0, 60)}`);
  return reply;
});
let dir: string;
let plugin: PluginProcess;
let sessions = 0;

function credentials(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    // Asked for, but writes needing a workspace model cannot wait in the queue (no session later): they run now.
    async_mode: true,
    llm_model: LLM,
    embedding_model: EMBEDDING,
    rerank_model: RERANK,
    local_vector_db_json_secret: JSON.stringify({ provider: 'pglite', config: { path: path.join(dir, 'db') } }),
    ...extra,
  };
}

async function invoke(tool: string, parameters: Record<string, unknown>, creds = credentials()): Promise<{ id: string; body: Body }> {
  const id = `wm${++sessions}`;
  plugin.send(requestFrame(id, { action: 'invoke_tool', provider: 'mem0ai', tool, tool_parameters: tool === 'extract_long_term_memory' ? parameters : { timeout: 60, ...parameters }, credentials: creds, credential_type: 'api-key' }));
  const { streams, error } = await plugin.frames.session(id, 90_000);
  if (error) throw new Error(`${tool}: error frame ${JSON.stringify(error)}`);
  const json = streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: Body } } | undefined;
  if (!json) throw new Error(`${tool}: no json message in ${JSON.stringify(streams).slice(0, 300)}; stderr ${plugin.stderr.slice(-1500)}`);
  return { id, body: json.message.json_object };
}

async function validate(creds: Record<string, unknown>): Promise<{ id: string; result: unknown; error: { message?: string } | null }> {
  const id = `wv${++sessions}`;
  plugin.send(requestFrame(id, { action: 'validate_tool_credentials', provider: 'mem0ai', credentials: creds }));
  const { streams, error } = await plugin.frames.session(id, 90_000);
  return { id, result: streams[0], error: error as { message?: string } | null };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mem0-workspace-models-'));
  plugin = new PluginProcess({ cwd: dir, models });
});

afterAll(async () => {
  plugin.closeStdin();
  await plugin.stop(15_000);
  rmSync(dir, { recursive: true, force: true });
});

describe('models picked on the settings page', () => {
  it('validates the credentials with one embedding of the picked model (its size measured) and no LLM call', async () => {
    const { id, result, error } = await validate(credentials());
    expect(error).toBeNull();
    expect(result).toEqual({ result: true });
    const mine = models.calls.filter((c) => c.sessionId === id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((c) => c.type === 'text_embedding')).toBe(true);
    expect(mine[0]!.request).toMatchObject({ provider: EMBEDDING.provider, model: EMBEDDING.model, model_type: 'text-embedding' });
  });

  it('adds with infer through the picked LLM and embedder, before answering, even in async mode', async () => {
    const before = models.calls.length;
    const { id, body } = await invoke('add_memory', { user: 'I play the cello on Sundays. My dog is called Biscuit.', user_id: 'ana' });
    expect(body.status, JSON.stringify(body)).toBe('SUCCESS');
    const events = (body.results as Array<{ event: string; memory: string }>).map((r) => [r.event, r.memory]);
    expect(events).toEqual([['ADD', 'I play the cello on Sundays.'], ['ADD', 'My dog is called Biscuit.']]);

    const calls = models.calls.slice(before).filter((c) => c.sessionId === id);
    const llm = calls.filter((c) => c.type === 'llm');
    expect(llm.length).toBeGreaterThanOrEqual(1);
    expect(llm[0]!.request).toMatchObject({ provider: LLM.provider, model: LLM.model, model_type: 'llm', mode: 'chat', completion_params: { temperature: 0.1 }, stream: true });
    const prompt = llm[0]!.request.prompt_messages as Array<{ role: string; content: string }>;
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user']);
    const embeddings = calls.filter((c) => c.type === 'text_embedding');
    expect(embeddings.some((c) => c.request.input_type === 'document')).toBe(true);

    const all = await invoke('get_all_memories', { user_id: 'ana' });
    expect((all.body.results as Array<{ memory: string }>).map((m) => m.memory).sort()).toEqual(['I play the cello on Sundays.', 'My dog is called Biscuit.']);
  });

  it('searches with the picked embedder (as a query) and orders by the picked reranker', async () => {
    const before = models.calls.length;
    const { id, body } = await invoke('search_memory', { query: 'what is my dog called', user_id: 'ana', top_k: 2 });
    expect(body.status, JSON.stringify(body)).toBe('SUCCESS');
    const results = body.results as Array<{ memory: string; score: number; rerank_score?: number }>;
    expect(results[0]!.memory).toBe('My dog is called Biscuit.');
    expect(results[0]!.rerank_score).toBeGreaterThan(0);
    // The score shown is the reranker's, and the order agrees with it.
    for (let i = 1; i < results.length; i += 1) expect(results[i - 1]!.score).toBeGreaterThanOrEqual(results[i]!.score);
    const calls = models.calls.slice(before).filter((c) => c.sessionId === id);
    expect(calls.find((c) => c.type === 'text_embedding')!.request.input_type).toBe('query');
    const rerank = calls.find((c) => c.type === 'rerank')!;
    expect(rerank.request).toMatchObject({ provider: RERANK.provider, model: RERANK.model, model_type: 'rerank', query: 'what is my dog called', top_n: 2 });
    expect(rerank.request.docs).toEqual(expect.arrayContaining(['My dog is called Biscuit.']));
  });

  it('routes model answers that come back out of order to the call that asked', async () => {
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let slowSession: string | undefined;
    models.policy = (call) => {
      if (call.type !== 'text_embedding' || slowSession !== undefined) return { do: 'answer' };
      slowSession = call.sessionId;
      return { do: 'answer', after: held };
    };
    try {
      const slow = invoke('search_memory', { query: 'cello on Sundays', user_id: 'ana', top_k: 1 });
      for (let i = 0; i < 500 && slowSession === undefined; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      // The second search is answered in full while the first one's embedding is still held back.
      const fast = await invoke('search_memory', { query: 'dog called Biscuit', user_id: 'ana', top_k: 1 });
      release();
      expect((fast.body.results as Array<{ memory: string }>)[0]!.memory).toBe('My dog is called Biscuit.');
      expect(((await slow).body.results as Array<{ memory: string }>)[0]!.memory).toBe('I play the cello on Sundays.');
    } finally {
      release();
      models.policy = () => ({ do: 'answer' });
    }
  });

  it('a picker wins over a JSON block given beside it (the block points nowhere and is never called)', async () => {
    const nowhere = JSON.stringify({ provider: 'openai', config: { api_key: 'sk-unused', openai_base_url: 'http://127.0.0.1:9/v1', model: 'gpt-4o-mini' } });
    const creds = credentials({ local_llm_json_secret: nowhere, local_embedder_json_secret: JSON.stringify({ provider: 'openai', config: { api_key: 'sk-unused', openai_base_url: 'http://127.0.0.1:9/v1', embedding_dims: 7 } }) });
    const { body } = await invoke('add_memory', { user: 'I grow tomatoes on the balcony.', user_id: 'ben' }, creds);
    expect(body.status, JSON.stringify(body)).toBe('SUCCESS');
    expect((body.results as Array<{ event: string }>)[0]!.event).toBe('ADD');
  });

  it('extracts memories from Dify conversations through the picked LLM (in the foreground, within the call)', async () => {
    const dify = await FakeDify.start();
    try {
      dify.addApp('app-1', 'app-key-1');
      // days_back 1 reads yesterday (UTC): the conversation is from yesterday noon.
      const yesterdayNoon = Math.floor(Date.now() / 86_400_000) * 86_400 - 12 * 3600;
      dify.addConversation('app-1', 'carla', { start: yesterdayNoon, turns: [{ query: 'I moved to Porto last year', answer: 'Nice city!' }] });
      const before = models.calls.length;
      const { id, body } = await invoke('extract_long_term_memory', { user_ids: 'carla', app_id: 'app-1', dify_base_url: dify.baseUrl, dify_api_key: 'app-key-1' });
      expect(body.status, JSON.stringify(body)).toBe('SUCCESS');
      expect((body.results as { task_status: string }).task_status, JSON.stringify(body)).toBe('completed');
      expect(models.calls.slice(before).filter((c) => c.sessionId === id && c.type === 'llm').length, JSON.stringify(body)).toBeGreaterThan(0);
      const all = await invoke('get_all_memories', { user_id: 'carla' });
      expect((all.body.results as Array<{ memory: string }>).map((m) => m.memory)).toContain('I moved to Porto last year');
    } finally {
      await dify.close();
    }
  });
});

describe('models picked in the workflow node (tool parameters)', () => {
  const nowhere = JSON.stringify({ provider: 'openai', config: { api_key: 'sk-unused', openai_base_url: 'http://127.0.0.1:9/v1', model: 'gpt-4o-mini' } });
  // Settings with no LLM picker (the LLM block points nowhere) and no reranker at all.
  const settings = () => credentials({ llm_model: null, rerank_model: null, local_llm_json_secret: nowhere });

  it('the node\'s LLM wins over the settings\' LLM block for this call', async () => {
    const before = models.calls.length;
    const { id, body } = await invoke('add_memory', { user: 'I bake sourdough bread.', user_id: 'eli', llm_model: { ...LLM, model: 'node-llm' } }, settings());
    expect(body.status, JSON.stringify(body)).toBe('SUCCESS');
    expect((body.results as Array<{ event: string }>)[0]!.event).toBe('ADD');
    const llm = models.calls.slice(before).filter((c) => c.sessionId === id && c.type === 'llm');
    expect(llm.length).toBeGreaterThan(0);
    expect(llm.every((c) => c.request.model === 'node-llm')).toBe(true);
  });

  it('the node\'s rerank model orders this search; without it the same settings rank by vectors alone', async () => {
    const before = models.calls.length;
    const reranked = await invoke('search_memory', { query: 'what bread do I bake', user_id: 'eli', rerank_model: RERANK }, settings());
    expect(reranked.body.status, JSON.stringify(reranked.body)).toBe('SUCCESS');
    expect((reranked.body.results as Array<{ rerank_score?: number }>)[0]!.rerank_score).toBeGreaterThan(0);
    expect(models.calls.slice(before).some((c) => c.sessionId === reranked.id && c.type === 'rerank')).toBe(true);
    const plain = await invoke('search_memory', { query: 'what bread do I bake', user_id: 'eli' }, settings());
    expect((plain.body.results as Array<{ rerank_score?: number }>)[0]!.rerank_score).toBeUndefined();
  });

  it('a node picker holding the wrong kind of model is an ERROR naming the parameter', async () => {
    const { body } = await invoke('add_memory', { user: 'x', user_id: 'eli', llm_model: EMBEDDING }, settings());
    expect(body.status).toBe('ERROR');
    expect(body.messages).toContain('llm_model');
    expect(body.messages).toContain('pick a llm model');
  });
});

describe('failures of a workspace model', () => {
  it('an error answer from Dify is an ERROR naming the LLM picker and Dify\'s reason; nothing is stored', async () => {
    models.policy = (call) => (call.type === 'llm' ? { do: 'error', reason: 'invoke llm model failed: quota exceeded' } : { do: 'answer' });
    try {
      const { body } = await invoke('add_memory', { user: 'I collect vinyl records.', user_id: 'dora' });
      expect(body.status).toBe('ERROR');
      expect(body.messages).toContain('picked in "LLM"');
      expect(body.messages).toContain('quota exceeded');
      expect(body.results).toEqual([]);
    } finally {
      models.policy = () => ({ do: 'answer' });
    }
    expect(((await invoke('get_all_memories', { user_id: 'dora' })).body.results as unknown[]).length).toBe(0);
  });

  it('no answer from the daemon is a TIMEOUT within the tool\'s own bound', async () => {
    models.policy = (call) => (call.type === 'text_embedding' ? { do: 'drop' } : { do: 'answer' });
    try {
      const { body } = await invoke('search_memory', { query: 'dog', user_id: 'ana', timeout: 3 });
      expect(body.status).toBe('TIMEOUT');
    } finally {
      models.policy = () => ({ do: 'answer' });
    }
  });

  it('a failing reranker leaves the search answered in vector order, with a warning naming the rerank picker', async () => {
    models.policy = (call) => (call.type === 'rerank' ? { do: 'error', reason: 'invoke rerank model failed: model not found' } : { do: 'answer' });
    try {
      const { body } = await invoke('search_memory', { query: 'what is my dog called', user_id: 'ana' });
      expect(body.status).toBe('SUCCESS');
      expect(JSON.stringify(body.warnings)).toContain('Rerank model (optional)');
      expect((body.results as Array<{ rerank_score?: number }>).every((r) => r.rerank_score === undefined)).toBe(true);
    } finally {
      models.policy = () => ({ do: 'answer' });
    }
  });

  it('a picker holding the wrong kind of model fails validation naming the picker', async () => {
    const { error } = await validate(credentials({ embedding_model: { ...LLM } }));
    expect(error?.message).toMatch(/^embedding_model: holds a llm model; pick a text-embedding model/);
  });

  it('neither a picker nor a JSON block for the LLM fails validation naming both', async () => {
    const { error } = await validate(credentials({ llm_model: null }));
    expect(error?.message).toContain('local_llm_json_secret is required (or pick a model in "LLM")');
  });
});
