/**
 * The memory service over the real store (embedded PGlite with pgvector, through src/store) and the real mem0ai
 * openai providers against the loopback fake: the same engine logic as service.test.ts, end to end below the tools.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isEngineError } from '../../src/shared/errors.js';
import { hashText } from '../../src/memory/reconcile.js';
import { MemoryService } from '../../src/memory/service.js';
import { storeRepository } from '../../src/memory/store-repository.js';
import { openStore, parseStoreConfig } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { providersOn } from '../helpers/providers-on-fake.js';
import { useFakeModel } from '../helpers/use-fake-model.js';

const DIMS = 16;
const fake = useFakeModel({ dims: DIMS, resetEach: true });
let store: Store;
let service: MemoryService;
let user: string;

beforeAll(async () => {
  store = await openStore(parseStoreConfig({
    provider: 'pglite',
    config: { path: 'memory://', collection_name: `engine_${randomBytes(4).toString('hex')}`, embedding_model_dims: DIMS },
  }));
  const providers = await providersOn(fake, 5000);
  service = new MemoryService({ repository: storeRepository(store), providers });
});
afterAll(() => store?.close());
beforeEach(() => {
  user = `user-${randomBytes(3).toString('hex')}`;
});

const facts = (...f: string[]): string => JSON.stringify({ facts: f });

async function payloadOf(id: string): Promise<Record<string, unknown>> {
  const res = await store.database.pool.query<{ payload: Record<string, unknown> }>(`SELECT payload FROM ${store.tables.memories} WHERE id = $1`, [id]);
  return res.rows[0]!.payload;
}

describe('MemoryService on the PGlite store', () => {
  it('inference add writes Mem0-compatible rows with history', async () => {
    fake.reply(facts('Likes green tea', '住在上海'));
    const events = await service.add({ user: 'I like green tea. 我住在上海。', userId: user, agentId: 'app-1', metadata: { source: 'crm' } });
    expect(events.map((e) => [e.event, e.memory])).toEqual([['ADD', 'Likes green tea'], ['ADD', '住在上海']]);
    const payload = await payloadOf(events[1]!.id);
    expect(payload).toMatchObject({ data: '住在上海', hash: hashText('住在上海'), user_id: user, agent_id: 'app-1', source: 'crm' });
    expect((await service.history({ memoryId: events[0]!.id })).map((h) => h.event)).toEqual(['ADD']);
  });

  it('reconciliation maps handles back and applies UPDATE / DELETE / ADD together', async () => {
    fake.reply(facts('Likes tea', 'Lives in Oslo'));
    const [tea, oslo] = await service.add({ user: 'I like tea and live in Oslo', userId: user });
    fake.reply(facts('Likes oolong tea', 'Lives in Bergen'));
    fake.onChat((body) => {
      const prompt = body.messages.at(-1)!.content;
      const stored = JSON.parse(/Stored memories:\n(.*)\n/.exec(prompt)![1]!) as Array<{ id: number; text: string }>;
      const handle = (t: string): number => stored.find((m) => m.text === t)!.id;
      return JSON.stringify({ actions: [
        { event: 'UPDATE', id: handle('Likes tea'), text: 'Likes oolong tea' },
        { event: 'DELETE', id: handle('Lives in Oslo') },
        { event: 'ADD', text: 'Lives in Bergen' },
      ] });
    });
    const events = await service.add({ user: 'Oolong is my tea now; I moved to Bergen', userId: user });
    expect(events.map((e) => [e.event, e.id === tea!.id || e.id === oslo!.id ? 'old' : 'new', e.memory])).toEqual([
      ['ADD', 'new', 'Lives in Bergen'],
      ['UPDATE', 'old', 'Likes oolong tea'],
      ['DELETE', 'old', 'Lives in Oslo'],
    ]);
    expect((await service.getAll({ userId: user })).map((m) => m.memory).sort()).toEqual(['Likes oolong tea', 'Lives in Bergen']);
    expect((await service.history({ memoryId: oslo!.id })).map((h) => [h.event, h.is_deleted])).toEqual([['ADD', false], ['DELETE', true]]);
  });

  it('unusable LLM output fails the add and writes nothing', async () => {
    fake.reply('no json', 'still no json');
    const error = await service.add({ user: 'I like chess', userId: user }).catch((e: unknown) => e);
    expect(isEngineError(error, 'llm_output')).toBe(true);
    expect(await service.getAll({ userId: user })).toEqual([]);
  });

  it('search, get, update, delete, delete_all, NOT_FOUND', async () => {
    const added = await service.add({ user: 'Plays chess on Sundays', assistant: 'Owns a red bicycle', userId: user, infer: false });
    expect(added).toHaveLength(2);
    const hits = (await service.search({ query: 'chess Sundays', userId: user, topK: 2 })).results;
    expect(hits[0]!.memory).toBe('Plays chess on Sundays');
    for (const h of hits) expect(h.score >= 0 && h.score <= 1).toBe(true);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]?.score ?? -1);
    const id = added[0]!.id;
    expect(await service.update({ memoryId: id, text: 'Plays chess on Saturdays' })).toMatchObject({ event: 'UPDATE', previous_memory: 'Plays chess on Sundays' });
    expect((await service.get({ memoryId: id })).memory).toBe('Plays chess on Saturdays');
    expect(await service.delete({ memoryId: id })).toMatchObject({ event: 'DELETE', memory: 'Plays chess on Saturdays' });
    const gone = await service.get({ memoryId: id }).catch((e: unknown) => e);
    expect(isEngineError(gone, 'not_found')).toBe(true);
    expect((await service.history({ memoryId: id })).map((h) => h.event)).toEqual(['ADD', 'UPDATE', 'DELETE']);
    expect(await service.deleteAll({ userId: user })).toEqual({ deleted_count: 1 });
  });

  it('credential round trip: database, pgvector and the embedder dimension', async () => {
    const result = await service.checkConnection();
    expect(result.dims).toBe(DIMS);
    expect(result.pgvectorVersion).toMatch(/^\d+\.\d+/);
    expect(fake.chatCalls()).toHaveLength(0);
  });
});
