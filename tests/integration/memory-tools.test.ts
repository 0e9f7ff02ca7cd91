// The eight memory tools end to end through createPluginApp (real YAML declarations, coercion, engine, store) in
// sync mode, on embedded PGlite and, when TEST_DATABASE_URL is set, on PostgreSQL.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openEngine } from '../../src/memory/engine.js';
import { parseCredentials } from '../../src/memory/config/credentials.js';
import { useFakeModel } from '../helpers/use-fake-model.js';
import type { ChatRequestBody } from '../helpers/fake-openai.js';
import { testDatabaseUrl } from '../helpers/postgres.js';
import { AppDriver, credentials, DIMS, pgliteFolderBackend, plainModel, postgresBackend, UUID_PATTERN } from './app.js';
import type { Backend } from './app.js';

interface Event { id: string | null; memory: string; event: string; previous_memory?: string }
interface Hit { id: string; memory: string; score: number; metadata: Record<string, unknown>; timestamp: string }
interface Item { id: string; memory: string; metadata: Record<string, unknown>; created_at: string; updated_at: string }
interface HistoryEntry { memory_id: string; old_memory: string | null; new_memory: string | null; event: string; is_deleted: boolean }

const url = testDatabaseUrl();
const BACKENDS: Array<[string, () => Backend]> = [['pglite', pgliteFolderBackend]];
if (url) BACKENDS.push(['postgres', () => postgresBackend(url)]);

/** A reconciliation answer chosen by the stored memories' texts (the LLM only sees numeric handles). */
function reconcileBy(decide: (stored: Array<{ id: number; text: string }>, facts: string[]) => unknown[]) {
  return (body: ChatRequestBody): string => {
    const prompt = body.messages[1]?.content ?? '';
    const storedText = prompt.slice(prompt.indexOf('Stored memories:\n') + 'Stored memories:\n'.length, prompt.indexOf('\n\nNew facts:'));
    const facts = JSON.parse(prompt.slice(prompt.indexOf('New facts:\n') + 'New facts:\n'.length)) as string[];
    return JSON.stringify({ actions: decide(JSON.parse(storedText) as Array<{ id: number; text: string }>, facts) });
  };
}

describe.each(BACKENDS)('memory tools end to end on %s (sync mode)', (_name, makeBackend) => {
  const fake = useFakeModel({ dims: DIMS, script: plainModel, resetEach: true });
  let backend: Backend;
  let driver: AppDriver;

  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(() => backend.cleanup());
  beforeEach(async (context) => {
    driver = new AppDriver(credentials(fake, await backend.store()));
    context.onTestFinished(() => driver.close());
  });

  it('add_memory with infer false stores the message as given, with no model call; "false" as text works too', async () => {
    // timeout 60: this call opens the embedded database (slow on a loaded machine).
    const added = await driver.ok<Event[]>('add_memory', { user: 'Raw note: call Ana on Friday. Bring the keys.', user_id: 'verbatim', infer: false, timeout: 60 });
    expect(added).toEqual([{ id: expect.stringMatching(UUID_PATTERN), memory: 'Raw note: call Ana on Friday. Bring the keys.', event: 'ADD' }]);
    expect(fake.chatCalls()).toHaveLength(0);
    await driver.ok('add_memory', { user: 'Second raw note', user_id: 'verbatim', infer: 'false' });
    expect(fake.chatCalls()).toHaveLength(0);
    const all = await driver.ok<Item[]>('get_all_memories', { user_id: 'verbatim' });
    expect(all.map((m) => m.memory).sort()).toEqual(['Raw note: call Ana on Friday. Bring the keys.', 'Second raw note']);
    // The default still infers (extraction, then reconciliation with the two stored memories).
    await driver.ok('add_memory', { user: 'I like tea.', user_id: 'verbatim' });
    expect(fake.chatCalls().length).toBeGreaterThan(0);
   }, 120_000);

  it('add → search → get_all → get → update → history → delete → NOT_FOUND → delete_all', async () => {
    const added = await driver.ok<Event[]>('add_memory', {
      user: 'I love Italian food. My dog is called Rex.',
      assistant: 'Nice to meet you and Rex!',
      user_id: 'alex',
      agent_id: 'app-1',
      run_id: 'run-1',
      metadata: '{"topic": "intro"}',
    });
    expect(added).toEqual([
      { id: expect.stringMatching(UUID_PATTERN), memory: 'I love Italian food.', event: 'ADD' },
      { id: expect.stringMatching(UUID_PATTERN), memory: 'My dog is called Rex.', event: 'ADD' },
    ]);
    // Extraction saw the whole turn; with nothing stored yet no reconciliation call was needed.
    expect(fake.chatCalls()).toHaveLength(1);
    const food = added[0]!.id!;
    const dog = added[1]!.id!;

    const hits = await driver.ok<Hit[]>('search_memory', { query: 'Italian food', user_id: 'alex', agent_id: 'app-1', top_k: 5 });
    expect(hits[0]).toEqual({
      id: food, memory: 'I love Italian food.', score: expect.any(Number), vector_score: expect.any(Number), keyword_score: 1,
      metadata: { topic: 'intro' }, timestamp: expect.any(String),
    });
    expect(hits.every((h) => h.score >= 0 && h.score <= 1)).toBe(true);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]?.score ?? 0);

    const all = await driver.ok<Item[]>('get_all_memories', { user_id: 'alex' });
    expect(all.map((m) => m.id).sort()).toEqual([food, dog].sort());
    for (const item of all) {
      expect(Object.keys(item).sort()).toEqual(['created_at', 'id', 'memory', 'metadata', 'updated_at']);
      expect(item.metadata).toEqual({ topic: 'intro' });
    }
    // agent_id narrows the scope: another agent of the same user sees nothing.
    expect(await driver.ok('get_all_memories', { user_id: 'alex', agent_id: 'app-2' })).toEqual([]);

    const got = await driver.call('get_memory', { memory_id: food.toUpperCase() });
    expect(got).toMatchObject({ status: 'SUCCESS', results: { id: food, memory: 'I love Italian food.', metadata: { topic: 'intro' } } });
    const before = got.results as Item;

    await new Promise((resolve) => setTimeout(resolve, 20));
    const updated = await driver.call('update_memory', { memory_id: food, text: 'Loves Italian food, especially pasta' });
    expect(updated).toMatchObject({
      status: 'SUCCESS',
      messages: `update_memory: memory ${food} updated`,
      results: { id: food, memory: 'Loves Italian food, especially pasta', event: 'UPDATE', previous_memory: 'I love Italian food.' },
    });
    const after = await driver.ok<Item>('get_memory', { memory_id: food });
    expect(after.memory).toBe('Loves Italian food, especially pasta');
    expect(after.created_at).toBe(before.created_at);
    expect(Date.parse(after.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
    // search's timestamp is the later of created_at and updated_at.
    const [top] = await driver.ok<Hit[]>('search_memory', { query: 'pasta', user_id: 'alex' });
    expect(top).toMatchObject({ id: food, timestamp: after.updated_at });

    const history = await driver.ok<HistoryEntry[]>('get_memory_history', { memory_id: food });
    expect(history.map((h) => [h.event, h.old_memory, h.new_memory, h.is_deleted])).toEqual([
      ['ADD', null, 'I love Italian food.', false],
      ['UPDATE', 'I love Italian food.', 'Loves Italian food, especially pasta', false],
    ]);
    expect(history.every((h) => h.memory_id === food)).toBe(true);

    expect(await driver.call('delete_memory', { memory_id: food })).toMatchObject({
      status: 'SUCCESS',
      messages: `delete_memory: memory ${food} deleted`,
      results: { id: food, memory: 'Loves Italian food, especially pasta', event: 'DELETE' },
    });
    expect(await driver.call('get_memory', { memory_id: food })).toMatchObject({ status: 'NOT_FOUND', results: {}, messages: expect.stringContaining(food) });
    expect(await driver.call('delete_memory', { memory_id: food })).toMatchObject({ status: 'NOT_FOUND', results: {} });
    expect(await driver.call('update_memory', { memory_id: food, text: 'x' })).toMatchObject({ status: 'NOT_FOUND', results: {} });
    // The history outlives the memory and ends with the deletion.
    const afterDelete = await driver.call('get_memory_history', { memory_id: food });
    const events = afterDelete.results as Array<HistoryEntry & { created_at: string; updated_at: string | null }>;
    expect(events.at(-1)).toMatchObject({ event: 'DELETE', is_deleted: true });
    // The text: each event at its own time, and the DELETE shows the text it removed.
    const times = events.map((h) => h.updated_at ?? h.created_at);
    expect(new Set(times).size).toBe(3);
    expect(afterDelete.text.split('\n').slice(1)).toEqual([
      `${times[0]} ADD: I love Italian food.`,
      `${times[1]} UPDATE: I love Italian food. → Loves Italian food, especially pasta`,
      `${times[2]} DELETE: Loves Italian food, especially pasta`,
    ]);
    expect(await driver.call('get_memory_history', { memory_id: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ status: 'NOT_FOUND', results: [] });

    await driver.ok('add_memory', { user: 'Bo likes jazz.', user_id: 'bo' });
    expect(await driver.call('delete_all_memories', { user_id: 'alex' })).toMatchObject({
      status: 'SUCCESS',
      messages: 'delete_all_memories: memories deleted for alex: 1',
      results: { deleted_count: 1 },
    });
    expect(await driver.ok('get_all_memories', { user_id: 'alex' })).toEqual([]);
    expect(await driver.ok<Item[]>('get_all_memories', { user_id: 'bo' })).toHaveLength(1);
    expect(await driver.call('get_memory', { memory_id: dog })).toMatchObject({ status: 'NOT_FOUND' });
  });

  it('add with infer=false (stored as said, through the engine) is found by the tools; infer=true adds on top', async () => {
    const settings = parseCredentials(driver.creds);
    const engine = await openEngine(settings);
    try {
      const verbatim = await engine.service.add({ user: 'Remember: my locker code is on the blue card', userId: 'kim', infer: false });
      expect(verbatim).toEqual([{ id: expect.stringMatching(UUID_PATTERN), memory: 'Remember: my locker code is on the blue card', event: 'ADD' }]);
      expect(fake.chatCalls()).toHaveLength(0);
    } finally {
      await engine.close();
    }
    const hits = await driver.ok<Hit[]>('search_memory', { query: 'locker code', user_id: 'kim' });
    expect(hits.map((h) => h.memory)).toEqual(['Remember: my locker code is on the blue card']);
    const added = await driver.ok<Event[]>('add_memory', { user: 'I moved to Lisbon.', user_id: 'kim' });
    expect(added).toEqual([{ id: expect.any(String), memory: 'I moved to Lisbon.', event: 'ADD' }]);
    expect(await driver.ok<Item[]>('get_all_memories', { user_id: 'kim' })).toHaveLength(2);
  });

  it('sync add where the LLM decides UPDATE and DELETE', async () => {
    await driver.ok('add_memory', { user: 'My dog is called Rex. I love Italian food.', user_id: 'alex' });
    const [rex, food] = (await driver.ok<Item[]>('get_all_memories', { user_id: 'alex' })).sort((a, b) => a.memory.localeCompare(b.memory)).reverse();
    expect(rex!.memory).toBe('My dog is called Rex.');
    expect(food!.memory).toBe('I love Italian food.');

    fake.reset();
    fake.reply(JSON.stringify({ facts: ['My dog is now called Max', 'No longer eats Italian food'] }));
    fake.onChat(
      reconcileBy((stored) => [
        { event: 'UPDATE', id: stored.find((m) => m.text.includes('dog'))!.id, text: 'My dog is called Max (formerly Rex)' },
        { event: 'DELETE', id: stored.find((m) => m.text.includes('Italian'))!.id },
        { event: 'ADD', text: 'No longer eats Italian food' },
      ]),
    );
    const events = await driver.ok<Event[]>('add_memory', { user: 'I renamed my dog to Max, and I stopped eating Italian food.', user_id: 'alex' });
    expect(fake.chatCalls()).toHaveLength(2);
    expect(events).toEqual(
      expect.arrayContaining([
        { id: expect.any(String), memory: 'No longer eats Italian food', event: 'ADD' },
        { id: rex!.id, memory: 'My dog is called Max (formerly Rex)', event: 'UPDATE', previous_memory: 'My dog is called Rex.' },
        { id: food!.id, memory: 'I love Italian food.', event: 'DELETE' },
      ]),
    );
    expect(events).toHaveLength(3);
    expect(await driver.call('get_memory', { memory_id: food!.id })).toMatchObject({ status: 'NOT_FOUND' });
    expect(await driver.ok<Item>('get_memory', { memory_id: rex!.id })).toMatchObject({ memory: 'My dog is called Max (formerly Rex)' });
    const history = await driver.ok<HistoryEntry[]>('get_memory_history', { memory_id: rex!.id });
    expect(history.map((h) => h.event)).toEqual(['ADD', 'UPDATE']);
  });

  it('nothing new to remember: SUCCESS with no events; blank text: SKIP without any LLM call', async () => {
    await driver.ok('add_memory', { user: 'I like tea.', user_id: 'u1' });
    fake.reset();
    fake.reply(JSON.stringify({ facts: ['I like tea.'] }));
    const again = await driver.call('add_memory', { user: 'As I said, I like tea.', user_id: 'u1' });
    expect(again).toMatchObject({ status: 'SUCCESS', results: [], messages: 'add_memory: nothing new to remember; no memory changed' });
    const skipped = await driver.call('add_memory', { user: '   ', user_id: 'u1' });
    expect(skipped).toMatchObject({ status: 'SUCCESS', results: [{ id: null, memory: '', event: 'SKIP' }] });
    expect(fake.chatCalls()).toHaveLength(1);
  });

  it('async_mode=true (the default): writes answer ACCEPT with the job id and are applied in the background; reads unchanged', async () => {
    const asyncCreds = { ...driver.creds, async_mode: 'true' };
    const until = async (check: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 200 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    const added = await driver.call('add_memory', { user: 'I play chess.', user_id: 'ann' }, undefined, asyncCreds);
    expect(added).toMatchObject({
      status: 'SUCCESS',
      results: [{ id: null, job_id: expect.stringMatching(UUID_PATTERN), memory: 'I play chess.', event: 'ACCEPT' }],
    });
    const jobId = (added.results as Array<{ job_id: string }>)[0]!.job_id;
    expect(added.messages).toBe(`add_memory: accepted as job ${jobId}; the memories are saved in the background`);
    let items: Array<{ id: string; memory: string }> = [];
    await until(async () => (items = await driver.ok('get_all_memories', { user_id: 'ann' })).length === 1);
    expect(items.map((m) => m.memory)).toEqual(['I play chess.']);
    const id = items[0]!.id;
    const upd = await driver.call('update_memory', { memory_id: id, text: 'Plays chess weekly' }, undefined, asyncCreds);
    // The memory id in results, the job id under its own name.
    expect(upd).toMatchObject({ status: 'SUCCESS', results: { id, job_id: expect.stringMatching(UUID_PATTERN), event: 'ACCEPT', memory: 'Plays chess weekly' } });
    const del = await driver.call('delete_memory', { memory_id: id }, undefined, asyncCreds);
    expect(del).toMatchObject({ status: 'SUCCESS', results: { id, job_id: expect.stringMatching(UUID_PATTERN), event: 'ACCEPT' } });
    await until(async () => (await driver.call('get_memory', { memory_id: id })).status === 'NOT_FOUND');
    expect(await driver.call('get_memory', { memory_id: id })).toMatchObject({ status: 'NOT_FOUND' });
    // Applied in the order accepted: the update before the delete.
    const history = (await driver.call('get_memory_history', { memory_id: id })).results as Array<{ event: string }>;
    expect(history.map((h) => h.event)).toEqual(['ADD', 'UPDATE', 'DELETE']);
  });
});
