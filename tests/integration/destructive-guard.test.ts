// The tools that delete or overwrite, as an operator meets them: the BUILT plugin (dist/plugin.js) over stdio frames
// on embedded PGlite, sync and async mode. A call carrying a parameter the tool does not take (a misspelt dry_run or
// filters, another tool's scope key) or a filter the store cannot apply is refused with an ERROR naming it, and every
// memory, text and history entry is still there afterwards; the same calls spelt right do act.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeModel } from '../helpers/use-fake-model.js';
import { PluginProcess } from '../helpers/plugin-process.js';
import { credentials, DIMS, pgliteFolder, plainModel } from './app.js';
import { callBundle } from './bundle-call.js';

const fake = useFakeModel({ dims: DIMS, script: plainModel });
let proc: PluginProcess;

beforeAll(() => {
  proc = new PluginProcess({ env: { LOG_LEVEL: 'warn' } });
}, 120_000);

afterAll(async () => {
  proc?.closeStdin();
  await proc?.stop(15_000);
});

describe.each([['sync', 'false'], ['async', 'true']])('%s mode', (_mode, asyncMode) => {
  let creds: Record<string, unknown>;
  const call = (tool: string, parameters: Record<string, unknown>) => callBundle(proc, creds, tool, parameters);
  /** What the user has: each memory's text, and the events of its history. */
  const state = async () => {
    const listed = await call('get_all_memories', { user_id: 'op' });
    const memories = (listed.json.results as Array<{ id: string; memory: string }>).sort((a, b) => a.memory.localeCompare(b.memory));
    const histories = await Promise.all(memories.map(async (m) => (await call('get_memory_history', { memory_id: m.id })).json.results as Array<{ event: string }>));
    return memories.map((m, i) => ({ memory: m.memory, events: histories[i]!.map((h) => h.event) }));
  };
  /** The queued write has run (async mode answers ACCEPT first). */
  const settled = async (answer: Awaited<ReturnType<typeof call>>) => {
    const jobId = (answer.json.results as { job_id?: string } | Array<{ job_id?: string }>);
    const id = Array.isArray(jobId) ? jobId[0]?.job_id : jobId.job_id;
    if (!id) return;
    for (let i = 0; i < 300; i++) {
      const job = await call('get_job_status', { job_id: id });
      if ((job.json.results as { state: string }).state === 'completed') return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`job ${id} did not complete`);
  };

  beforeAll(async () => {
    creds = credentials(fake, { provider: 'pglite', config: { path: pgliteFolder(), embedding_model_dims: DIMS } }, { async_mode: asyncMode });
    for (const [user, topic] of [['I like tea.', 'drinks'], ['I keep bees.', 'hobby']]) {
      const added = await call('add_memory', { user, user_id: 'op', metadata: JSON.stringify({ topic }), infer: false });
      expect(added.json.status, added.json.messages).toBe('SUCCESS');
      await settled(added);
    }
  }, 120_000);

  it('refuses what it would half-obey, naming it, and changes nothing', async () => {
    const before = await state();
    expect(before).toEqual([{ memory: 'I keep bees.', events: ['ADD'] }, { memory: 'I like tea.', events: ['ADD'] }]);
    const bees = ((await call('get_all_memories', { user_id: 'op', filters: '{"topic": "hobby"}' })).json.results as Array<{ id: string }>)[0]!.id;
    const refused: Array<[string, Record<string, unknown>, string]> = [
      ['delete_all_memories', { user_id: 'op', filter: '{"topic": "hobby"}' }, '"filter" is not a parameter of this tool; nothing was done'],
      ['delete_all_memories', { user_id: 'op', dryrun: true }, '"dryrun" is not a parameter of this tool; nothing was done'],
      ['delete_all_memories', { user_id: 'op', filters: '{"topic": {"$regex": ".*"}}' }, 'unknown filter operator "$regex"'],
      ['delete_all_memories', { user_id: 'op', filters: '{"topic": {"$regex": ".*"}}', dry_run: true }, 'unknown filter operator "$regex"'],
      ['forget_memories', { user_id: 'op', agent_id: 'app-1' }, '"agent_id" is not a parameter of this tool; nothing was done'],
      ['delete_memory', { memory_id: bees, user_id: 'op' }, '"user_id" is not a parameter of this tool; nothing was done'],
      ['update_memory', { memory_id: bees, text: 'I keep wasps.', metadata: '{"topic": "insects"}' }, '"metadata" is not a parameter of this tool; nothing was done'],
    ];
    for (const [tool, parameters, message] of refused) {
      const answer = await call(tool, parameters);
      expect(answer.json.status, `${tool} ${JSON.stringify(parameters)}: ${answer.json.messages}`).toBe('ERROR');
      expect(answer.json.messages).toContain(message);
      expect(answer.variables.status).toBe('ERROR');
    }
    expect(await state()).toEqual(before);

    // Spelt right, the same calls act: the filter picks the one memory, the update replaces the text.
    const deleted = await call('delete_all_memories', { user_id: 'op', filters: '{"topic": "drinks"}' });
    expect(deleted.json.status, deleted.json.messages).toBe('SUCCESS');
    await settled(deleted);
    const updated = await call('update_memory', { memory_id: bees, text: 'I keep wasps.' });
    expect(updated.json.status, updated.json.messages).toBe('SUCCESS');
    await settled(updated);
    expect(await state()).toEqual([{ memory: 'I keep wasps.', events: ['ADD', 'UPDATE'] }]);
  }, 240_000);
});
