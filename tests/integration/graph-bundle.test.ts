// Graph memory as an operator sees it: the BUILT plugin (dist/plugin.js) over stdio frames, embedded PGlite in a
// temporary folder with the graph beside the memories (`local_graph_db_json_secret: {}`), the loopback fake OpenAI
// scripted to state relations. What a workflow gets: the JSON message's `relations`, the `relations` variable and
// the text lines; and what a wrong graph block answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDify } from '../helpers/fake-dify.js';
import type { FakeOpenAI } from '../helpers/fake-openai.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { PluginProcess } from '../helpers/plugin-process.js';
import { credentials, DIMS, pgliteFolder } from './app.js';
import { callBundle } from './bundle-call.js';
import type { SeenAnswer } from './bundle-call.js';
import { graphAnswer, graphModel, isGraphPrompt } from './graph-model.js';

const fake = useFakeModel({ dims: DIMS, script: graphModel });
let proc: PluginProcess;
let creds: Record<string, unknown>;

/** Settings of a fresh embedded PGlite folder with the graph beside the memories, models from `model`. */
const embeddedGraphCredentials = (model: FakeOpenAI): Record<string, unknown> =>
  credentials(model, { provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } }, { local_graph_db_json_secret: '{}' });

const call = (tool: string, parameters: Record<string, unknown>, withCreds = creds, on = proc): Promise<SeenAnswer> => callBundle(on, withCreds, tool, parameters);

beforeAll(() => {
  proc = new PluginProcess({ env: { LOG_LEVEL: 'warn' } });
  creds = embeddedGraphCredentials(fake);
}, 180_000);

afterAll(async () => {
  proc?.closeStdin();
  await proc?.stop(15_000);
});

describe('graph memory through the built plugin', () => {
  it('add shows what it learnt; search and get_all show the relations, in the JSON, the variable and the text', async () => {
    const added = await call('add_memory', { user: 'anna lives_in shanghai. anna likes tea.', user_id: 'op' });
    expect(added.json.status, added.json.messages).toBe('SUCCESS');
    expect(added.json.relations).toEqual({
      added_entities: expect.arrayContaining([
        { source: 'anna', relationship: 'lives_in', target: 'shanghai' },
        { source: 'anna', relationship: 'likes', target: 'tea' },
      ]) as unknown,
      deleted_entities: [],
    });
    expect(added.variables.relations).toEqual(added.json.relations);
    expect(added.text).toContain('+ anna —lives_in→ shanghai');

    const moved = await call('add_memory', { user: 'anna lives_in beijing.', user_id: 'op' });
    expect(moved.json.relations).toEqual({
      added_entities: [{ source: 'anna', relationship: 'lives_in', target: 'beijing' }],
      deleted_entities: [{ source: 'anna', relationship: 'lives_in', target: 'shanghai' }],
    });
    expect(moved.text).toContain('− anna —lives_in→ shanghai');

    const found = await call('search_memory', { query: 'Is anna in beijing?', user_id: 'op', top_k: 2 });
    expect(found.json.status).toBe('SUCCESS');
    const relations = found.json.relations as Array<{ source: string; relationship: string; destination: string; score: number }>;
    expect(relations[0]).toMatchObject({ source: 'anna', relationship: 'lives_in', destination: 'beijing' });
    expect(relations.length).toBeLessThanOrEqual(2);
    expect(relations.map((r) => r.score)).toEqual(relations.map((r) => r.score).sort((a, b) => b - a));
    expect(found.variables.relations).toEqual(relations);
    expect(found.text).toMatch(/anna —lives_in→ beijing \(\d\.\d\d\)/);

    const listed = await call('get_all_memories', { user_id: 'op' });
    expect((listed.json.relations as unknown[]).length).toBe(2);
    expect(JSON.stringify(listed.json.relations)).not.toContain('shanghai');
  }, 240_000);

  it('a graph store this build does not run is an ERROR naming the field and what is supported', async () => {
    const wrong = { ...creds, local_graph_db_json_secret: '{"provider": "memgraph", "config": {"url": "bolt://127.0.0.1:7687"}}' };
    const answer = await call('search_memory', { query: 'anna', user_id: 'op' }, wrong);
    expect(answer.json.status).toBe('ERROR');
    expect(answer.json.messages).toContain('local_graph_db_json_secret.provider "memgraph" is not supported');
    expect(answer.json.messages).toContain('"postgres"');
    expect(answer.json.messages).toContain('"neo4j"');
  }, 120_000);
});

describe('queued graph work gets the queued model deadline (MEM0_JOB_MODEL_TIMEOUT_SECONDS)', () => {
  // The graph's prompts answer 2.5 s late: past the 1 s a tool call gives a model, within the 20 s of queued work.
  const slow = useFakeModel({
    dims: DIMS,
    script: (model) => model.onChat((body) => (isGraphPrompt(body) ? { delayMs: 2500, then: graphAnswer(body) } : graphAnswer(body))),
  });
  let jobs: PluginProcess;
  let slowCreds: Record<string, unknown>;
  beforeAll(() => {
    jobs = new PluginProcess({ env: { LOG_LEVEL: 'warn', MEM0_MODEL_TIMEOUT_SECONDS: '1', MEM0_JOB_MODEL_TIMEOUT_SECONDS: '20' } });
    slowCreds = embeddedGraphCredentials(slow);
  }, 180_000);
  afterAll(async () => {
    jobs?.closeStdin();
    await jobs?.stop(15_000);
  });

  it('a sync add times out on the slow graph model; a queued add completes at its first attempt with its relations', async () => {
    const sync = await call('add_memory', { user: 'anna likes tea.', user_id: 'slow-sync' }, { ...slowCreds, async_mode: 'false' }, jobs);
    expect(sync.json.status).toBe('TIMEOUT');
    const queued = { ...slowCreds, async_mode: 'true' };
    const accepted = await call('add_memory', { user: 'anna likes tea.', user_id: 'slow-queued' }, queued, jobs);
    const jobId = (accepted.json.results as Array<{ job_id: string }>)[0]!.job_id;
    let job = { state: 'queued', attempts: 0, last_error: null as unknown };
    // Until the job ends or is retried (a graph call cut at the sync deadline fails the attempt).
    for (let i = 0; i < 120 && ['queued', 'running'].includes(job.state) && job.attempts <= 1; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      job = (await call('get_job_status', { job_id: jobId }, queued, jobs)).json.results as typeof job;
    }
    expect(job, JSON.stringify(job.last_error)).toMatchObject({ state: 'completed', attempts: 1 });
    const listed = await call('get_all_memories', { user_id: 'slow-queued' }, queued, jobs);
    expect(listed.json.relations).toEqual([{ source: 'anna', relationship: 'likes', target: 'tea' }]);
  }, 240_000);

  it('extraction, queued work too, learns relations from a conversation through the same slow graph model', async () => {
    const dify = await FakeDify.start();
    try {
      dify.addApp('app-graph', 'app-KEY-graph');
      // Noon yesterday (UTC): inside the window [midnight − days_back, today's midnight) at any time of day. "20 hours
      // ago" fell into today after 20:00 UTC, and extraction never reads today.
      const yesterday = Math.floor(Date.now() / 86_400_000) * 86_400 - 12 * 3600;
      dify.addConversation('app-graph', 'slow-extract', { start: yesterday, turns: [{ query: 'anna likes tea.', answer: 'Noted.' }] });
      const extracted = await call('extract_long_term_memory', {
        user_ids: 'slow-extract', app_id: 'app-graph', days_back: 2, dify_base_url: dify.baseUrl, dify_api_key: 'app-KEY-graph',
      }, slowCreds, jobs);
      expect(extracted.json.status, extracted.json.messages).toBe('SUCCESS');
      const listed = await call('get_all_memories', { user_id: 'slow-extract' }, slowCreds, jobs);
      expect(listed.json.relations).toEqual([{ source: 'anna', relationship: 'likes', target: 'tea' }]);
    } finally {
      await dify.close();
    }
  }, 240_000);
});
