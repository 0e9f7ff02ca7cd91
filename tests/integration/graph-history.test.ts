/**
 * A memory's history says what its writes changed in the graph (issue 12): get_memory_history answers, beside the
 * memory's own entries, `relations`: one entry per write of that memory, in add_memory's shape, on every graph
 * backend and for a queued add.
 */
import { describe, expect, it } from 'vitest';
import type { AppDriver } from './app.js';
import { addThrough, graphTargets, newUser, graphToolsOn, sqlTargets } from './graph-targets.js';
import type { AddRelations } from './graph-targets.js';

interface GraphChange extends AddRelations { created_at: string }

async function graphHistory(driver: AppDriver, memoryId: string): Promise<{ events: string[]; relations: GraphChange[]; text: string }> {
  const answer = await driver.call('get_memory_history', { memory_id: memoryId });
  expect(answer.status, answer.messages).toBe('SUCCESS');
  return { events: (answer.results as Array<{ event: string }>).map((e) => e.event), relations: answer.relations as GraphChange[], text: answer.text };
}

const anna = (relationship: string, target: string) => ({ source: 'anna', relationship, target });

for (const target of graphTargets()) {
  describe.skipIf(target.skip !== undefined)(`graph changes in a memory's history on ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`, { timeout: 120_000 }, () => {
    const tools = graphToolsOn(target);

    it('each memory a write created shows the relations that write added and removed', async () => {
      const u = newUser();
      const first = await addThrough(tools.driver, u, 'anna lives_in shanghai. anna likes tea.');
      const [shanghai, tea] = first.results.map((r) => r.id);
      for (const id of [shanghai!, tea!]) {
        const h = await graphHistory(tools.driver, id);
        expect(h.events).toEqual(['ADD']);
        expect(h.relations).toHaveLength(1);
        expect(h.relations[0]!.added_entities).toEqual(expect.arrayContaining([anna('lives_in', 'shanghai'), anna('likes', 'tea')]));
        expect(h.relations[0]!.added_entities).toHaveLength(2);
        expect(h.relations[0]!.deleted_entities).toEqual([]);
        expect(Number.isNaN(Date.parse(h.relations[0]!.created_at))).toBe(false);
      }
      const moved = await addThrough(tools.driver, u, 'anna lives_in beijing.');
      const beijing = moved.results[0]!.id;
      const h = await graphHistory(tools.driver, beijing);
      expect(h.relations.map(({ added_entities, deleted_entities }) => ({ added_entities, deleted_entities }))).toEqual([moved.relations]);
      expect(moved.relations).toEqual({ added_entities: [anna('lives_in', 'beijing')], deleted_entities: [anna('lives_in', 'shanghai')] });
      expect(h.text).toContain('+ anna —lives_in→ beijing');
      expect(h.text).toContain('− anna —lives_in→ shanghai');
      // The earlier memory's history is its own write's, unchanged.
      expect((await graphHistory(tools.driver, shanghai!)).relations).toHaveLength(1);
    });

    it('a memory whose write changed no relation has an empty list', async () => {
      const u = newUser();
      const plain = await addThrough(tools.driver, u, 'I enjoy long walks by the sea.');
      const h = await graphHistory(tools.driver, plain.results[0]!.id);
      expect(h.events).toEqual(['ADD']);
      expect(h.relations).toEqual([]);
    });
  });
}

describe.each(sqlTargets())('graph changes in the history of a queued add on $name', (target) => {
  const tools = graphToolsOn(target, { async_mode: 'true' });

  it('the job that wrote the memory logged the relations it added', async () => {
    const u = newUser();
    const accepted = await tools.driver.call('add_memory', { timeout: 60, user: 'anna likes tea.', user_id: u });
    expect((accepted.results as Array<{ event: string }>)[0]!.event).toBe('ACCEPT');
    let ids: string[] = [];
    for (let i = 0; i < 120 && ids.length === 0; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      ids = ((await tools.driver.call('get_all_memories', { timeout: 60, user_id: u })).results as Array<{ id: string }>).map((m) => m.id);
    }
    expect(ids).toHaveLength(1);
    const h = await graphHistory(tools.driver, ids[0]!);
    expect(h.relations.map((r) => r.added_entities)).toEqual([[anna('likes', 'tea')]]);
  });
});
