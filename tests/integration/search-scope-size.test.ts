// search_memory across the small-scope line, as an operator sees it: the BUILT plugin (dist/plugin.js) over stdio
// frames on embedded PGlite, the loopback fake OpenAI as embedder. The store answers a scope of at most 500 memories
// with its prepared small-scope statement; a bigger one is counted, asked again with the general statement and
// remembered as big by the process. One user grows past the line and shrinks back beside a small user and an app
// scope in the same collection: every answer holds only the caller's scope, is sorted by score, finds the memory
// whose text is the query first, and after the shrink is exactly what it was before the growth.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { PluginProcess } from '../helpers/plugin-process.js';
import { credentials, DIMS, pgliteFolder, plainModel } from './app.js';
import { callBundle } from './bundle-call.js';

interface Hit { id: string; memory: string; score: number }

const fake = useFakeModel({ dims: DIMS, script: plainModel });
let proc: PluginProcess;
let creds: Record<string, unknown>;

const ANIMALS = ['otter', 'heron', 'badger', 'lynx', 'gecko', 'walrus', 'magpie'];
const PLACES = ['harbour', 'orchard', 'quarry', 'meadow', 'glacier'];
const note = (i: number) => `Note ${i}: the ${ANIMALS[i % 7]} near the ${PLACES[i % 5]} counted ${i * 7} pebbles.`;

const call = async (tool: string, parameters: Record<string, unknown>) => {
  const answer = await callBundle(proc, creds, tool, parameters);
  expect(answer.json.status, `${tool}: ${answer.json.messages}`).toBe('SUCCESS');
  return answer.json.results;
};
const add = (userId: string, text: string, extra: Record<string, unknown> = {}) =>
  call('add_memory', { user: text, user_id: userId, infer: false, ...extra });
const search = async (query: string, userId: string, agentId?: string) =>
  (await call('search_memory', { query, user_id: userId, top_k: 10, ...(agentId ? { agent_id: agentId } : {}) })) as Hit[];

beforeAll(async () => {
  proc = new PluginProcess({ env: { LOG_LEVEL: 'warn' } });
  creds = credentials(fake, { provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } });
}, 120_000);

afterAll(async () => {
  proc?.closeStdin();
  await proc?.stop(15_000);
});

it('answers stay in scope, sorted and exact while a user grows past 500 memories and shrinks back', async () => {
  const limit = pLimit(8);
  await Promise.all([
    ...Array.from({ length: 30 }, (_, i) => limit(() => add('many', note(i)))),
    ...Array.from({ length: 8 }, (_, i) => limit(() => add('few', note(i)))),
    ...Array.from({ length: 5 }, (_, i) => limit(() => add('many', note(100 + i), { agent_id: 'app' }))),
  ]);
  const owned = async (userId: string, agentId?: string) =>
    new Set(((await call('get_all_memories', { user_id: userId, limit: 1000, ...(agentId ? { agent_id: agentId } : {}) })) as Hit[]).map((m) => m.id));
  const queries = [0, 7, 13, 29].map(note);

  /** Every query's answer for `many`, checked for scope, order and the exact text first. */
  const answers = async (scopeIds: Set<string>): Promise<Hit[][]> => {
    const out: Hit[][] = [];
    for (const query of queries) {
      const hits = await search(query, 'many');
      expect(hits).toHaveLength(10);
      expect(hits[0]!.memory).toBe(query);
      for (const h of hits) expect(scopeIds.has(h.id), `${h.memory} is not the caller's`).toBe(true);
      expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
      out.push(hits);
    }
    // The neighbours in the same collection answer from their own scopes all along.
    const few = await search(note(3), 'few');
    expect(few).toHaveLength(8);
    expect(few[0]!.memory).toBe(note(3));
    const fewIds = await owned('few');
    for (const h of few) expect(fewIds.has(h.id)).toBe(true);
    const app = await search(note(102), 'many', 'app');
    expect(app.map((h) => h.memory).sort()).toEqual([100, 101, 102, 103, 104].map(note).sort());
    expect(app[0]!.memory).toBe(note(102));
    return out;
  };

  const before = await answers(await owned('many'));
  // 480 more (with the app's 5, the user holds 515): past the line.
  await Promise.all(Array.from({ length: 480 }, (_, i) => limit(() => add('many', note(1000 + i), { metadata: JSON.stringify({ batch: 'late' }) }))));
  expect((await owned('many')).size).toBe(515);
  await answers(await owned('many'));
  await answers(await owned('many'));
  // Back under it: the very answers of before, score for score.
  expect(await call('delete_all_memories', { user_id: 'many', filters: JSON.stringify({ batch: 'late' }) })).toMatchObject({ deleted_count: 480 });
  const after = await answers(await owned('many'));
  expect(after).toEqual(before);
}, 300_000);
