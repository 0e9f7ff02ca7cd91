// Issue 14 (writes and errors), through the BUILT bundle over stdio as Dify drives it: one number rule for every
// tool, warnings for clamps and undeclared parameters, delete_all `filters` + `dry_run`, queued writes observable
// (`job_id`, get_job_status), clear errors. Loopback fake OpenAI; embedded PGlite, and PostgreSQL when
// TEST_DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAI } from '../helpers/fake-openai.js';
import { PluginProcess, requestFrame } from '../helpers/plugin-process.js';
import { FakePluginStorage } from '../helpers/plugin-storage.js';
import { backends, credentials, DIMS, pgliteFolder, plainModel, UUID_PATTERN } from './app.js';

interface Body {
  status: string;
  messages: string;
  results: unknown;
  warnings?: string[];
}

let fake: FakeOpenAI;
let plugin: PluginProcess;
let sessions = 0;

/** One tool call over stdio; the JSON message's body. */
export async function invoke(process: PluginProcess, creds: Record<string, unknown>, tool: string, parameters: Record<string, unknown>): Promise<Body> {
  const id = `s${++sessions}`;
  process.send(requestFrame(id, { action: 'invoke_tool', provider: 'mem0ai', tool, tool_parameters: parameters, credentials: creds, credential_type: 'api-key' }));
  const { streams, error } = await process.frames.session(id, 60_000);
  if (error) throw new Error(`${tool}: error frame ${JSON.stringify(error)}`);
  const json = streams.find((s) => (s as { type?: string }).type === 'json') as { message: { json_object: Body } } | undefined;
  if (!json) throw new Error(`${tool}: no json message in ${JSON.stringify(streams).slice(0, 300)}`);
  return json.message.json_object;
}

let syncCreds: Record<string, unknown>;
const call = (tool: string, parameters: Record<string, unknown>): Promise<Body> => invoke(plugin, syncCreds, tool, parameters);

beforeAll(async () => {
  fake = await FakeOpenAI.start({ dims: DIMS });
  plainModel(fake);
  plugin = new PluginProcess();
  // The daemon's side of the workspace lookup (plugin storage).
  new FakePluginStorage().attach(plugin.frames, (frame) => plugin.send(frame));
  syncCreds = credentials(fake, { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } });
  for (const user of ['I live in Lisbon.', 'I have a cat named Miso.', 'My sister is called Ana.']) {
    expect((await call('add_memory', { user, user_id: 'numbers', timeout: 60 })).status).toBe('SUCCESS');
  }
}, 120_000);

afterAll(async () => {
  plugin.closeStdin();
  await plugin.stop(15_000);
  await fake.close();
});

describe('one number rule for every tool', () => {
  it.each([-5, 0, '-5', ' 0 '])('top_k %j (below the minimum 1) is an ERROR naming top_k, not one result', async (topK) => {
    const answer = await call('search_memory', { query: 'cat', user_id: 'numbers', top_k: topK });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toMatch(/top_k must be at least 1/);
    expect(answer.results).toEqual([]);
  });

  it.each([0, '-3'])('get_all_memories limit %j is an ERROR naming limit', async (limit) => {
    const answer = await call('get_all_memories', { user_id: 'numbers', limit });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toMatch(/limit must be at least 1/);
  });

  it.each([1000, '1000'])('top_k %j above the maximum is clamped to 100 and the clamp is reported', async (topK) => {
    const answer = await call('search_memory', { query: 'cat', user_id: 'numbers', top_k: topK });
    expect(answer.status).toBe('SUCCESS');
    expect(answer.warnings).toEqual([expect.stringMatching(/top_k.*1000.*100/)]);
  });

  it('extraction numbers follow the same rule: days_back 0 is an ERROR naming days_back', async () => {
    const answer = await call('extract_long_term_memory', { user_ids: 'a', app_id: 'app', days_back: 0, dify_base_url: 'http://127.0.0.1:9/v1', dify_api_key: 'app-x' });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toMatch(/days_back must be at least 1/);
  });

  it('a negative timeout is an ERROR naming timeout; 0 still means the default', async () => {
    const negative = await call('get_all_memories', { user_id: 'numbers', timeout: -1 });
    expect(negative.status).toBe('ERROR');
    expect(negative.messages).toMatch(/timeout must be at least 0/);
    const zero = await call('get_all_memories', { user_id: 'numbers', timeout: 0 });
    expect(zero.status).toBe('SUCCESS');
    expect(zero.warnings).toBeUndefined();
  });

  it('an answer with nothing to warn about has no warnings key', async () => {
    const answer = await call('search_memory', { query: 'cat', user_id: 'numbers', top_k: 2 });
    expect(answer.status).toBe('SUCCESS');
    expect('warnings' in answer).toBe(false);
  });
});

describe('undeclared parameters', () => {
  it('are reported as ignored in warnings, never silently dropped', async () => {
    const answer = await call('get_all_memories', { user_id: 'numbers', userid: 'x', top_k: 3 });
    expect(answer.status).toBe('SUCCESS');
    expect(answer.warnings).toEqual([expect.stringMatching(/"userid".*ignored/), expect.stringMatching(/"top_k".*ignored/)]);
  });
});

/** Polls `check` until it holds (the background worker is not timed, only waited for). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describe.each(backends())('delete_all_memories with filters and dry_run (%#)', (makeBackend) => {
  const backend = makeBackend();
  afterAll(() => backend.cleanup());

  it.each([false, true])('deletes only the memories matching filters (async_mode %s); dry_run deletes nothing', async (asyncMode) => {
    // Sync and async credential sets must see one database: an embedded one in a folder (memory:// is per set).
    const store = backend.name === 'pglite' ? { provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } } : await backend.store();
    const creds = { ...credentials(fake, store), async_mode: String(asyncMode) };
    const user = `filters-${backend.name}-${asyncMode}`;
    const add = (text: string, lang: string): Promise<Body> => invoke(plugin, { ...creds, async_mode: 'false' }, 'add_memory', { user: text, user_id: user, metadata: JSON.stringify({ lang }), timeout: 60 });
    for (const [text, lang] of [['I live in Lisbon.', 'en'], ['我住在上海。', 'zh'], ['我喜欢猫。', 'zh'], ['I like tea.', 'en']] as const) {
      expect((await add(text, lang)).status).toBe('SUCCESS');
    }
    const list = async (): Promise<string[]> => ((await invoke(plugin, creds, 'get_all_memories', { user_id: user })).results as Array<{ memory: string }>).map((m) => m.memory).sort();

    const preview = await invoke(plugin, creds, 'delete_all_memories', { user_id: user, filters: '{"lang": "zh"}', dry_run: true });
    expect(preview).toMatchObject({ status: 'SUCCESS', results: { dry_run: true, would_delete_count: 2, deleted_count: 0 } });
    expect(preview.messages).toBe(`delete_all_memories: dry run: 2 memories of ${user} would be deleted; nothing was deleted`);
    expect(await list()).toHaveLength(4);

    const bad = await invoke(plugin, creds, 'delete_all_memories', { user_id: user, filters: '{"lang": {"near": "zh"}}' });
    expect(bad.status).toBe('ERROR');
    expect(await list()).toHaveLength(4);

    const done = await invoke(plugin, creds, 'delete_all_memories', { user_id: user, filters: { lang: 'zh' } });
    expect(done.status).toBe('SUCCESS');
    if (asyncMode) {
      expect(done.results).toEqual({ deleted_count: null, accepted: true, job_id: expect.stringMatching(UUID_PATTERN) });
      await until(async () => (await list()).length === 2, 'the queued delete_all ran');
    } else {
      // Sync: the count, and no `accepted: false`.
      expect(done.results).toEqual({ deleted_count: 2 });
    }
    expect(await list()).toEqual(['I like tea.', 'I live in Lisbon.']);
  });
});
