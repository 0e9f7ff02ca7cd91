/**
 * How many statements the hot paths send: an add of new memories is one statement (memories + history), a search
 * of a small scope is one statement (settings were applied when the connection opened). The pool is the store's
 * real one, wrapped only to count the statements that pass through it.
 */
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { MemoryStore } from '../../src/store/memories.js';
import { backends, DIMS, freshStores, randomVector, vec } from './backends.js';

/** The pool with every statement recorded (by its first line), through `query` and through checked-out clients. */
function counting(pool: pg.Pool): { pool: pg.Pool; sent: string[] } {
  const sent: string[] = [];
  const note = (args: unknown[]): void => {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text: string }).text;
    sent.push(text.trim().split('\n')[0]!);
  };
  const query = (...args: unknown[]) => {
    note(args);
    return (pool.query as (...a: unknown[]) => unknown)(...args);
  };
  const connect = async () => {
    const client = await pool.connect();
    return {
      query: (...args: unknown[]) => {
        note(args);
        return (client.query as (...a: unknown[]) => unknown)(...args);
      },
      release: (destroy?: boolean) => client.release(destroy),
    };
  };
  return { pool: { query, connect } as unknown as pg.Pool, sent };
}

describe.each(backends())('round trips on $name', (backend) => {
  const open = freshStores(backend);

  it('adds new memories with their history in one statement, atomically', async () => {
    const store = await open();
    const { pool, sent } = counting(store.database.pool);
    const memories = new MemoryStore(pool, store.tables, DIMS, { iterativeScan: true });
    const scope = { userId: 'adder' };
    const [one] = await memories.insert(scope, [{ data: 'likes tea', vector: vec(1) }]);
    expect(sent).toHaveLength(1);
    const applied = await memories.apply(scope, { inserts: [{ data: 'likes coffee', vector: vec(2) }, { data: 'runs', vector: vec(3) }] });
    expect(sent).toHaveLength(2);
    expect(applied.inserted.map((m) => m.data)).toEqual(['likes coffee', 'runs']);
    for (const m of [one!, ...applied.inserted]) {
      const history = await store.memories.history(scope, m.id);
      expect(history.map((h) => [h.event, h.newMemory])).toEqual([['ADD', m.data]]);
    }
    // A failing row (an id that exists) leaves neither the memories nor any history behind.
    const fresh = '5f0c7c52-3d8e-4a57-9a0e-2f7d5f1f0a11';
    await expect(memories.insert(scope, [
      { id: fresh, data: 'would be new', vector: vec(4) },
      { id: one!.id, data: 'duplicate id', vector: vec(5) },
    ])).rejects.toThrow();
    expect(await store.memories.get(scope, fresh)).toBeNull();
    expect(await store.memories.history(scope, fresh)).toEqual([]);
    expect(await store.memories.count(scope)).toBe(3);
  });

  it('searches a small scope in one statement, complete and isolated', async () => {
    const store = await open();
    await store.memories.insert({ userId: 'small' }, Array.from({ length: 7 }, (_, i) => ({ data: `small ${i}`, vector: randomVector(i) })));
    await store.memories.insert({ userId: 'other' }, Array.from({ length: 300 }, (_, i) => ({ data: `small other ${i}`, vector: randomVector(1000 + i) })));
    const { pool, sent } = counting(store.database.pool);
    const memories = new MemoryStore(pool, store.tables, DIMS, { iterativeScan: true });
    const hits = await memories.search({ userId: 'small' }, { vector: randomVector(5), query: '5', topK: 5 });
    expect(sent).toHaveLength(1);
    expect(hits).toHaveLength(5);
    expect(hits[0]?.data).toBe('small 5');
    for (const h of hits) expect(h.userId).toBe('small');
    expect(memories.lastSearch).toEqual({ exactFallback: false, vectorHits: 7 });
    // All 7 rows when top_k asks for more; nothing (and no statistics row leaking out) for an empty scope.
    expect(await memories.search({ userId: 'small' }, { vector: randomVector(5), query: 'small', topK: 20 })).toHaveLength(7);
    expect(await memories.search({ userId: 'nobody' }, { vector: randomVector(5), query: 'small', topK: 5 })).toEqual([]);
    expect(sent).toHaveLength(3);
  });
});
