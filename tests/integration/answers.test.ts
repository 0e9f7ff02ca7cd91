// Issue 14 (writes and errors), through the BUILT bundle over stdio as Dify drives it: one number rule for every
// tool, warnings for clamps and undeclared parameters, delete_all `filters` + `dry_run`, queued writes observable
// (`job_id`, get_job_status), clear errors. Loopback fake OpenAI; embedded PGlite, and PostgreSQL when
// TEST_DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeDify } from '../helpers/use-fake-dify.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { PluginProcess, requestFrame } from '../helpers/plugin-process.js';
import { FakePluginStorage } from '../helpers/plugin-storage.js';
import { freePort } from '../helpers/ports.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { backends, credentials, DIMS, pgliteFolder, plainAnswer, plainModel, UUID_PATTERN } from './app.js';

interface Body {
  status: string;
  messages: string;
  results: unknown;
  warnings?: string[];
}

const fake = useFakeModel({ dims: DIMS, script: plainModel });
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
      const added = await add(text, lang);
      expect(added.status, added.messages).toBe('SUCCESS');
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

describe('queued writes are observable (get_job_status) and the model deadline follows its setting', () => {
  // plainModel's answers, each 2.5 s late.
  const slow = useFakeModel({
    dims: DIMS,
    script: (model) => model.onChat((body) => ({ delayMs: 2500, then: plainAnswer(body.messages[0]?.content ?? '', body.messages[1]?.content ?? '') })),
  });
  const refusing = useFakeModel({ dims: DIMS, script: (model) => model.onChat(() => ({ status: 400, error: 'model "gpt-4o-mini" does not exist' })) });
  let jobsPlugin: PluginProcess;

  beforeAll(() => {
    // Calls a tool waits on give a model 1 s; queued work 20 s.
    jobsPlugin = new PluginProcess({ env: { MEM0_MODEL_TIMEOUT_SECONDS: '1', MEM0_JOB_MODEL_TIMEOUT_SECONDS: '20' } });
    new FakePluginStorage().attach(jobsPlugin.frames, (frame) => jobsPlugin.send(frame));
  });
  afterAll(async () => {
    jobsPlugin.closeStdin();
    await jobsPlugin.stop(15_000);
  });

  const memoryStore = { provider: 'pglite', config: { path: 'memory://', embedding_model_dims: DIMS } };
  const status = (creds: Record<string, unknown>, jobId: string): Promise<Body> => invoke(jobsPlugin, creds, 'get_job_status', { job_id: jobId });
  const stateOf = (job: Body): string => (job.results as { state: string }).state;

  it('a model slower than the sync deadline fails a sync add, naming the deadline', async () => {
    const answer = await invoke(jobsPlugin, { ...credentials(slow, memoryStore), async_mode: 'false' }, 'add_memory', { user: 'I row on Sundays.', user_id: 'slow' });
    expect(answer.status).toBe('TIMEOUT');
    expect(answer.messages).toMatch(/did not answer within 1000 ms/);
  });

  it('the same model completes a queued add within the queued deadline; get_job_status names the memory it wrote', async () => {
    const creds = { ...credentials(slow, memoryStore), async_mode: 'true' };
    const accepted = await invoke(jobsPlugin, creds, 'add_memory', { user: 'I row on Sundays.', user_id: 'slow' });
    expect(accepted).toMatchObject({ status: 'SUCCESS', results: [{ id: null, event: 'ACCEPT', job_id: expect.stringMatching(UUID_PATTERN) }] });
    const jobId = (accepted.results as Array<{ job_id: string }>)[0]!.job_id;
    let job = await status(creds, jobId);
    expect(['queued', 'running']).toContain(stateOf(job));
    await until(async () => stateOf((job = await status(creds, jobId))) === 'completed', 'the queued add completed');
    expect(job).toMatchObject({
      status: 'SUCCESS',
      results: {
        job_id: jobId, kind: 'add', state: 'completed', attempts: 1, last_error: null, next_retry_at: null,
        memory_ids: { added: [expect.stringMatching(UUID_PATTERN)], updated: [], deleted: [] },
      },
    });
    const results = job.results as { created_at: string; finished_at: string; memory_ids: { added: string[] } };
    expect(new Date(results.finished_at).toISOString()).toBe(results.finished_at);
    expect(await invoke(jobsPlugin, creds, 'get_memory', { memory_id: results.memory_ids.added[0] })).toMatchObject({ status: 'SUCCESS', results: { memory: 'I row on Sundays.' } });
  }, 60_000);

  it('a queued add the model refuses ends failed, kept with its error; get_job_status answers ERROR saying why', async () => {
    const creds = { ...credentials(refusing, memoryStore), async_mode: 'true' };
    const accepted = await invoke(jobsPlugin, creds, 'add_memory', { user: 'I collect stamps.', user_id: 'refused' });
    const jobId = (accepted.results as Array<{ job_id: string }>)[0]!.job_id;
    let job = await status(creds, jobId);
    await until(async () => stateOf((job = await status(creds, jobId))) === 'failed', 'the queued add failed');
    expect(job).toMatchObject({ status: 'ERROR', results: { state: 'failed', attempts: 1, memory_ids: { added: [] }, last_error: { message: expect.stringContaining('HTTP 400') } } });
    expect(job.messages).toMatch(/^get_job_status: job .* \(add\) failed after 1 attempt\(s\): .*HTTP 400/);
  }, 60_000);

  it('an unknown job id is NOT_FOUND, said once; a malformed one an ERROR naming job_id', async () => {
    const creds = { ...credentials(slow, memoryStore), async_mode: 'true' };
    const unknown = await status(creds, '00000000-0000-4000-8000-000000000009');
    expect(unknown.status).toBe('NOT_FOUND');
    expect(unknown.messages).toBe('get_job_status: no queued write with job id 00000000-0000-4000-8000-000000000009 (finished jobs are kept for the retention period, 7 days by default)');
    expect(await status(creds, 'job-1')).toMatchObject({ status: 'ERROR', messages: expect.stringMatching(/^get_job_status: job_id must be a job id/) });
  });
});

describe('errors a person can act on', () => {
  /** What validating the credentials says, as the settings page shows it. */
  async function validationMessage(creds: Record<string, unknown>): Promise<string> {
    const id = `v${++sessions}`;
    plugin.send(requestFrame(id, { action: 'validate_tool_credentials', provider: 'mem0ai', credentials: creds }));
    const { error } = await plugin.frames.session(id, 60_000);
    if (!error) throw new Error('the credentials validated');
    return error.message;
  }

  it('a database that refuses connections gives the validation message at call time, not "unexpected error"', async () => {
    const port = await freePort();
    const creds = credentials(fake, { provider: 'pgvector', config: { host: '127.0.0.1', port, user: 'u', password: 'pw-SECRET-x', dbname: 'd', embedding_model_dims: DIMS } });
    const validated = await validationMessage(creds);
    expect(validated).toBe(`local_vector_db_json_secret: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
    const answer = await invoke(plugin, creds, 'search_memory', { query: 'cat', user_id: 'numbers' });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toContain(validated);
    expect(answer.messages).not.toMatch(/unexpected/);
    expect(JSON.stringify(answer)).not.toContain('pw-SECRET-x');
  });

  it('a memory that does not exist is NOT_FOUND, said once ("not found: memory X not found" before)', async () => {
    const missing = '00000000-0000-4000-8000-00000000abcd';
    const asyncCreds = { ...syncCreds, async_mode: 'true' };
    for (const [creds, tool] of [[syncCreds, 'get_memory'], [syncCreds, 'delete_memory'], [syncCreds, 'update_memory'], [asyncCreds, 'delete_memory'], [asyncCreds, 'update_memory']] as const) {
      const answer = await invoke(plugin, creds, tool, { memory_id: missing, ...(tool === 'update_memory' ? { text: 'new text' } : {}) });
      expect(answer.status, `${tool}: ${answer.messages}`).toBe('NOT_FOUND');
      expect(answer.messages.match(/not found|no memory/g), `${tool}: ${answer.messages}`).toHaveLength(1);
    }
  });

  it.runIf(testDatabaseUrl())('a database that refuses the password gives SQLSTATE 28P01 at call time, as validation does', async () => {
    const url = new URL(testDatabaseUrl()!);
    url.password = 'wrong-SECRET-pw';
    const creds = credentials(fake, { provider: 'pgvector', config: { connection_string: url.toString(), embedding_model_dims: DIMS } });
    const validated = await validationMessage(creds);
    expect(validated).toMatch(/password authentication failed.*\(SQLSTATE 28P01\)/);
    const answer = await invoke(plugin, creds, 'add_memory', { user: 'I like tea.', user_id: 'pw' });
    expect(answer.status).toBe('ERROR');
    expect(answer.messages).toContain(validated);
    expect(JSON.stringify(answer)).not.toContain('wrong-SECRET-pw');
  });
});

describe('extraction that fails says so', () => {
  const dify = useFakeDify();
  dify.addApp('app-x', 'app-KEY-x');

  const extract = (userIds: string): Promise<Body> =>
    invoke(plugin, { ...syncCreds, async_mode: 'false' }, 'extract_long_term_memory', { user_ids: userIds, app_id: 'app-x', dify_base_url: dify.baseUrl, dify_api_key: 'app-KEY-x' });

  it('some users failed: PARTIAL_SUCCESS with the count, the task completed', async () => {
    dify.inject({ kind: 'status', status: 400, path: '/conversations' });
    const answer = await extract('alice,bob');
    expect(answer.status).toBe('PARTIAL_SUCCESS');
    expect(answer.results).toMatchObject({ task_status: 'completed', failed_users: 1 });
    expect(answer.messages).toMatch(/1 of 2 users failed/);
    const again = await invoke(plugin, syncCreds, 'check_extraction_status', { task_id: (answer.results as { task_id: string }).task_id });
    expect(again.status).toBe('PARTIAL_SUCCESS');
  });

  it('every user failed (revoked key): the task is failed with the cause in error, and the tool says ERROR', async () => {
    dify.revokeKey('app-KEY-x');
    const answer = await extract('carol,dan');
    expect(answer.status).toBe('ERROR');
    const results = answer.results as { task_status: string; error: string | null; task_id: string };
    expect(results.task_status).toBe('failed');
    expect(results.error).toMatch(/every user failed \(2 of 2\).*401/);
    expect(answer.messages).toContain(results.error);
    expect((await invoke(plugin, syncCreds, 'check_extraction_status', { task_id: results.task_id })).status).toBe('ERROR');
  });
});

describe('credential validation reaches the LLM without spending tokens', () => {
  const llm = useFakeModel({ dims: DIMS, resetEach: true });

  async function validate(creds: Record<string, unknown>): Promise<string | null> {
    const id = `c${++sessions}`;
    plugin.send(requestFrame(id, { action: 'validate_tool_credentials', provider: 'mem0ai', credentials: creds }));
    const { error } = await plugin.frames.session(id, 60_000);
    return error?.message ?? null;
  }

  /** The embedder and the store as in the other tests, the LLM block given. */
  const withLlm = (block: Record<string, unknown>): Record<string, unknown> => ({ ...syncCreds, local_llm_json_secret: JSON.stringify(block) });
  const openai = (baseURL: string): Record<string, unknown> => ({ provider: 'openai', config: { api_key: 'sk-llm-SECRET-777', openai_base_url: baseURL, model: 'gpt-4o-mini' } });

  it('asks the model list, never the chat endpoint, and accepts a working LLM', async () => {
    expect(await validate(withLlm(openai(llm.baseURL)))).toBeNull();
    expect(llm.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models']);
    expect(llm.chatCalls()).toHaveLength(0);
  });

  it('refuses a dead LLM endpoint, naming local_llm_json_secret', async () => {
    const port = await freePort();
    const message = await validate(withLlm(openai(`http://127.0.0.1:${port}/v1`)));
    expect(message).toBe(`local_llm_json_secret: the llm (openai) is not reachable: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); check the base URL and that the server is running`);
  });

  it('refuses an LLM key the server refuses, without echoing it', async () => {
    llm.fail({ path: '/v1/models', status: 401 });
    const message = await validate(withLlm(openai(llm.baseURL)));
    expect(message).toBe('local_llm_json_secret: the llm (openai) refused the API key (HTTP 401); check api_key');
    expect(message).not.toContain('SECRET');
    expect(llm.chatCalls()).toHaveLength(0);
  });

  it('asks an Ollama server for its tags (and a dead one is refused)', async () => {
    const ollama = (host: string): Record<string, unknown> => ({ provider: 'ollama', config: { ollama_base_url: host, model: 'llama3.1:8b' } });
    const host = llm.baseURL.replace(/\/v1$/, '');
    expect(await validate(withLlm(ollama(host)))).toBeNull();
    expect(llm.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/tags']);
    const port = await freePort();
    expect(await validate(withLlm(ollama(`http://127.0.0.1:${port}`)))).toBe(
      `local_llm_json_secret: the llm (ollama) is not reachable: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); check the base URL and that the server is running`,
    );
  });

  it('an LLM with no free endpoint (anthropic) is not reached: validation does not fail on it', async () => {
    expect(await validate(withLlm({ provider: 'anthropic', config: { api_key: 'sk-ant-SECRET-1', anthropic_base_url: `http://127.0.0.1:${await freePort()}` } }))).toBeNull();
  });
});
