/**
 * Graph memory over a mem0ai vector store (issue 12): the memories in a REAL Chroma server, the graph beside them in
 * the state database. What a person sees through the tools: add answers its relations, search and get_all answer
 * them, the history says what the write changed, delete_all's dry run counts them and delete_all clears them.
 */
import { describe, expect, it } from 'vitest';
import { addThrough, chromaGraphTarget, graphToolsOn, newUser, sortedText, text } from './graph-targets.js';
import type { Found, Relation } from './graph-targets.js';

const target = chromaGraphTarget();

describe.skipIf(target.skip !== undefined)(`graph memory over ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`, { timeout: 120_000 }, () => {
  const tools = graphToolsOn(target);
  const relationsOf = async (userId: string): Promise<Relation[]> => {
    const answer = await tools.driver.call('get_all_memories', { timeout: 60, user_id: userId });
    expect(answer.status, answer.messages).toBe('SUCCESS');
    return answer.relations as Relation[];
  };

  it('add, search, get_all, history, delete_all dry run and delete_all all carry the graph', async () => {
    const u = newUser();
    const added = await addThrough(tools.driver, u, 'anna lives_in shanghai. anna likes tea.');
    expect(added.results.map((r) => r.event)).toEqual(['ADD', 'ADD']);
    expect(sortedText(added.relations.added_entities)).toEqual(['anna likes tea', 'anna lives_in shanghai']);
    const moved = await addThrough(tools.driver, u, 'anna lives_in beijing.');
    expect(moved.relations).toEqual({
      added_entities: [{ source: 'anna', relationship: 'lives_in', target: 'beijing' }],
      deleted_entities: [{ source: 'anna', relationship: 'lives_in', target: 'shanghai' }],
    });

    const found = await tools.driver.call('search_memory', { timeout: 60, query: 'Is anna in beijing?', user_id: u, top_k: 2 });
    expect(found.status, found.messages).toBe('SUCCESS');
    expect(text((found.relations as Found[])[0]!)).toBe('anna lives_in beijing');
    expect(sortedText(await relationsOf(u))).toEqual(['anna likes tea', 'anna lives_in beijing']);
    expect(await relationsOf(newUser())).toEqual([]);

    const history = await tools.driver.call('get_memory_history', { memory_id: moved.results[0]!.id });
    expect((history.relations as Array<{ added_entities: unknown; deleted_entities: unknown }>).map(({ added_entities, deleted_entities }) => ({ added_entities, deleted_entities }))).toEqual([moved.relations]);

    const dry = await tools.driver.call('delete_all_memories', { user_id: u, dry_run: true });
    expect(dry.results).toMatchObject({ dry_run: true, would_delete_count: 3, would_delete_relations: 2 });
    expect(await relationsOf(u)).toHaveLength(2);
    const done = await tools.driver.call('delete_all_memories', { user_id: u });
    expect(done.results).toMatchObject({ deleted_count: 3 });
    expect(await relationsOf(u)).toEqual([]);
    expect((await tools.driver.call('search_memory', { timeout: 60, query: 'anna', user_id: u })).relations).toEqual([]);
  });
});

const queuedTarget = chromaGraphTarget();

describe.skipIf(queuedTarget.skip !== undefined)(`graph memory over ${queuedTarget.name}, async mode`, { timeout: 120_000 }, () => {
  const tools = graphToolsOn(queuedTarget, { async_mode: 'true' });

  it('a queued add writes its memory to Chroma and its relation to the graph, and logs it in the history', async () => {
    const u = newUser();
    const accepted = await tools.driver.call('add_memory', { timeout: 60, user: 'anna likes tea.', user_id: u });
    const [job] = accepted.results as Array<{ event: string; job_id: string }>;
    expect(job!.event).toBe('ACCEPT');
    // Done when the job says so: Chroma and the graph show the add a moment before the job logs it (no shared
    // transaction with a mem0ai store), so the reads wait for the job, not for the first sign of the add.
    const state = async () => ((await tools.driver.call('get_job_status', { job_id: job!.job_id })).results as { state: string }).state;
    for (let i = 0; i < 120 && (await state()) !== 'completed'; i++) await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await state()).toBe('completed');
    const listed = await tools.driver.call('get_all_memories', { timeout: 60, user_id: u });
    expect(listed.relations).toEqual([{ source: 'anna', relationship: 'likes', target: 'tea' }]);
    const memories = listed.results as Array<{ id: string; memory: string }>;
    expect(memories.map((m) => m.memory)).toEqual(['anna likes tea.']);
    const history = await tools.driver.call('get_memory_history', { memory_id: memories[0]!.id });
    expect((history.relations as Array<{ added_entities: unknown }>).map((r) => r.added_entities)).toEqual([[{ source: 'anna', relationship: 'likes', target: 'tea' }]]);
  });
});
