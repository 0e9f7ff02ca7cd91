/**
 * How many statements the hot paths send: an add of new memories is one statement (duplicate check + memories +
 * history), an update one statement (merge + history), a search of a small scope one statement (settings were
 * applied when the connection opened); and what those statements guarantee (racing identical adds store one memory). The pool is the store's
 * real one, wrapped only to count the statements that pass through it.
 */
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { MemoryStore } from '../../src/store/memories.js';
import { md5, pythonIso } from '../../src/store/payload.js';
import { recordOwnedRecalls, selectAccess } from '../../src/store/access-log.js';
import type { Providers } from '../../src/memory/providers.js';
import { MemoryService } from '../../src/memory/service.js';
import { storeRepository } from '../../src/memory/store-repository.js';
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
    expect(memories.lastSearch).toEqual({ exactFallback: false, vectorHits: 7, smallScope: true });
    // All 7 rows when top_k asks for more; nothing (and no statistics row leaking out) for an empty scope.
    expect(await memories.search({ userId: 'small' }, { vector: randomVector(5), query: 'small', topK: 20 })).toHaveLength(7);
    expect(await memories.search({ userId: 'nobody' }, { vector: randomVector(5), query: 'small', topK: 5 })).toEqual([]);
    expect(sent).toHaveLength(3);
  });

  it('a small scope is searched by one prepared statement; a scope that grows past it is asked again, then moves back', async () => {
    const store = await open();
    const scope = { userId: 'grows' };
    const row = (i: number) => ({ data: `grows ${i % 7} row ${i}`, vector: randomVector(i), metadata: { odd: i % 2 === 1 } });
    await store.memories.insert(scope, Array.from({ length: 40 }, (_, i) => row(i)));
    await store.memories.insert({ userId: 'neighbour' }, Array.from({ length: 40 }, (_, i) => row(i)));
    // The store over one connection, so the statements it prepares can be read back from that connection.
    const client = await store.database.pool.connect();
    try {
      const one = { query: client.query.bind(client), connect: async () => ({ query: client.query.bind(client), release: () => {} }) };
      const { pool, sent } = counting(one as unknown as pg.Pool);
      const memories = new MemoryStore(pool, store.tables, DIMS, { iterativeScan: true });
      const search = (filters?: Record<string, unknown>) =>
        memories.search(scope, { vector: randomVector(3), query: 'grows 3', topK: 10, filters });
      const shape = (hits: Awaited<ReturnType<typeof search>>) => hits.map((h) => `${h.data} ${h.score.toFixed(9)}`);
      const statements = () => sent.filter((t) => t.startsWith('WITH')).length;
      // (PGlite's one backend also holds what earlier tests prepared: only this store's table counts.)
      const searches = () => client.query<{ generic: number; custom: number }>(
        `SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements
          WHERE strpos(statement, 'ts_match_vq') > 0 AND strpos(statement, $1) > 0`, [store.tables.memories]);
      const prepared = async () => (await searches()).rows.length;

      const first = await search();
      expect(memories.lastSearch?.smallScope).toBe(true);
      expect(first).toHaveLength(10);
      expect(first[0]?.data).toBe('grows 3 row 3');
      for (const h of first) expect(h.userId).toBe('grows');
      // The same answers from the same statement, past the five runs after which PostgreSQL may keep one generic plan.
      for (let i = 0; i < 7; i++) expect(shape(await search())).toEqual(shape(first));
      expect(statements()).toBe(8);
      expect(await prepared()).toBe(1);
      // Planned once, on its first run (the connection's plan_cache_mode), never per call.
      expect((await searches()).rows).toEqual([{ generic: 8, custom: 0 }]);
      // A filter changes the text: answered by the small statement too, unprepared.
      const odd = await search({ odd: true });
      expect(memories.lastSearch?.smallScope).toBe(true);
      expect(odd).toHaveLength(10);
      for (const h of odd) expect(h.metadata.odd).toBe(true);
      expect(odd[0]?.data).toBe('grows 3 row 3');
      expect(await prepared()).toBe(1);

      // The scope grows past the small threshold, with a closer row. Writes teach the search nothing (another
      // process's writes would look the same): the small statement only counts the scope, and the general one answers.
      await memories.insert(scope, [{ data: 'grows 3 nearest', vector: randomVector(3) }]);
      await memories.insert(scope, Array.from({ length: 480 }, (_, i) => row(1000 + i)));
      let before = statements();
      const grown = await search();
      expect(memories.lastSearch?.smallScope).toBe(false);
      expect(statements() - before).toBe(2);
      expect(grown[0]?.data).toBe('grows 3 nearest');
      expect(grown).toHaveLength(10);
      for (const h of grown) expect(h.userId).toBe('grows');
      // Remembered as big: one statement, the general one.
      before = statements();
      expect(shape(await search())).toEqual(shape(grown));
      expect(memories.lastSearch?.smallScope).toBe(false);
      expect(statements() - before).toBe(1);
      // Shrunk back under the threshold: the general statement counts it, and the small one answers again.
      await memories.deleteAll(scope, { odd: false });
      await search();
      expect(memories.lastSearch?.smallScope).toBe(false);
      const small = await search();
      expect(memories.lastSearch?.smallScope).toBe(true);
      expect(small[0]?.data).toBe('grows 3 nearest');
      for (const h of small) expect(h.metadata.odd).not.toBe(false);
    } finally {
      client.release();
    }
  });
});

describe.each(backends())('one-statement writes on $name', (backend) => {
  const open = freshStores(backend);

  it('an add checks for the exact text, inserts and writes history in one statement; racing identical adds store one memory', async () => {
    const store = await open();
    const { pool, sent } = counting(store.database.pool);
    const memories = new MemoryStore(pool, store.tables, DIMS, { iterativeScan: true });
    const scope = { userId: 'racer' };
    const first = await memories.apply(scope, { inserts: [{ data: 'likes rain', vector: vec(1) }, { data: 'likes snow', vector: vec(2) }] });
    expect(sent).toHaveLength(1);
    expect(first.inserted.map((m) => m.data)).toEqual(['likes rain', 'likes snow']);
    // A text the scope holds is skipped by the same statement; the new one next to it is written.
    const again = await memories.apply(scope, { inserts: [{ data: 'likes snow', vector: vec(2) }, { data: 'likes fog', vector: vec(3) }] });
    expect(sent).toHaveLength(2);
    expect(again.inserted.map((m) => m.data)).toEqual(['likes fog']);

    // Eight identical adds at once (separate connections on PostgreSQL): one memory, one ADD history row.
    const racing = await Promise.all(Array.from({ length: 8 }, () =>
      store.memories.apply(scope, { inserts: [{ data: 'likes hail', vector: vec(4) }] })));
    expect(racing.flatMap((r) => r.inserted)).toHaveLength(1);
    const hail = (await store.memories.list(scope, { limit: 100 })).filter((m) => m.data === 'likes hail');
    expect(hail).toHaveLength(1);
    expect((await store.memories.history(scope, hail[0]!.id)).map((h) => [h.event, h.newMemory])).toEqual([['ADD', 'likes hail']]);
    // The same text in another app of the user is another memory; a user-wide add sees every app's memories.
    expect((await store.memories.apply({ userId: 'racer', agentId: 'app-2' }, { inserts: [{ data: 'likes hail', vector: vec(4) }] })).inserted).toHaveLength(1);
    expect((await store.memories.apply({ userId: 'racer' }, { inserts: [{ data: 'likes hail', vector: vec(4) }] })).inserted).toEqual([]);

    // A row written by another program (no add guard on it) counts as stored too.
    await store.memories.insert(scope, [{ data: 'likes wind', vector: vec(5) }]);
    expect((await store.memories.apply(scope, { inserts: [{ data: 'likes wind', vector: vec(5) }] })).inserted).toEqual([]);
    // A text deleted by the same change set no longer counts as stored: it comes back as a new memory.
    const snow = first.inserted[1]!;
    const swapped = await store.memories.apply(scope, { deletes: [snow.id], inserts: [{ data: 'likes snow', vector: vec(2) }] });
    expect(swapped.deleted).toEqual([snow.id]);
    expect(swapped.inserted.map((m) => m.data)).toEqual(['likes snow']);
    expect(await store.memories.count(scope)).toBe(6);
  });

  it('a change set (adds, updates, deletes) is one statement plus the access-log cleanup, in one transaction', async () => {
    const store = await open();
    const scope = { userId: 'planner' };
    const [keep, change, drop] = await store.memories.insert(scope, [
      { data: 'drinks tea', vector: vec(1) }, { data: 'lives in Oslo', vector: vec(2), metadata: { city: 'Oslo' } }, { data: 'owns a cat', vector: vec(3) },
    ]);
    const [foreign] = await store.memories.insert({ userId: 'stranger' }, [{ data: 'owns a dog', vector: vec(4) }]);
    const { pool, sent } = counting(store.database.pool);
    const memories = new MemoryStore(pool, store.tables, DIMS, { iterativeScan: true });
    const applied = await memories.apply(scope, {
      inserts: [{ data: 'drinks tea', vector: vec(1) }, { data: 'owns a cat', vector: vec(3) }, { data: 'plays piano', vector: vec(5) }],
      updates: [{ id: change!.id, data: 'lives in Bergen', vector: vec(6), metadata: { city: 'Bergen' } }, { id: foreign!.id, data: 'hijacked', vector: vec(7) }],
      deletes: [drop!.id, foreign!.id],
    });
    expect(sent.filter((t) => !['BEGIN', 'COMMIT'].includes(t))).toHaveLength(2);
    // 'drinks tea' is stored already; 'owns a cat' comes back (its memory is deleted by the same set); the stranger's
    // memory is neither updated nor deleted.
    expect(applied.inserted.map((m) => m.data)).toEqual(['owns a cat', 'plays piano']);
    expect(applied.updated.map((m) => [m.id, m.data, m.metadata])).toEqual([[change!.id, 'lives in Bergen', { city: 'Bergen' }]]);
    expect(applied.deleted).toEqual([drop!.id]);
    expect(await store.memories.get(null, foreign!.id)).toMatchObject({ data: 'owns a dog' });
    expect((await store.memories.history(scope, change!.id)).map((h) => [h.event, h.oldMemory, h.newMemory])).toEqual([
      ['ADD', null, 'lives in Oslo'], ['UPDATE', 'lives in Oslo', 'lives in Bergen'],
    ]);
    expect((await store.memories.history(scope, drop!.id)).map((h) => [h.event, h.oldMemory, h.isDeleted])).toEqual([
      ['ADD', null, false], ['DELETE', 'owns a cat', true],
    ]);
    expect((await store.memories.list(scope)).map((m) => m.data).sort()).toEqual(['drinks tea', 'lives in Bergen', 'owns a cat', 'plays piano']);
    expect(keep).toBeDefined();
    // A bad part refuses the whole set: nothing of it is written.
    await expect(memories.apply(scope, {
      inserts: [{ data: 'never stored', vector: vec(1) }],
      updates: [{ id: change!.id, data: 'never updated', vector: [1, 2] }],
    })).rejects.toThrow(/dimensions/);
    expect((await store.memories.list(scope)).map((m) => m.data)).not.toContain('never stored');
  });

  it('racing identical adds through the memory service store one memory', async () => {
    const store = await open();
    const providers: Providers = {
      llm: { provider: 'none', completeJson: () => Promise.reject(new Error('no LLM here')) },
      embedder: { provider: 'fixed', dims: DIMS, embed: () => Promise.resolve(vec(6)), embedBatch: (texts) => Promise.resolve(texts.map(() => vec(6))) },
      reranker: null,
    };
    const service = new MemoryService({ repository: storeRepository(store), providers });
    const events = await Promise.all(Array.from({ length: 6 }, () =>
      service.add({ userId: 'twin', messages: [{ role: 'user', content: 'I keep bees' }], infer: false })));
    expect(events.flat().map((e) => e.event)).toEqual(['ADD']);
    expect((await store.memories.list({ userId: 'twin' })).map((m) => m.data)).toEqual(['I keep bees']);
  });

  it('an update merges the payload and writes its history row in one statement, building on a concurrent one', async () => {
    const store = await open();
    const scope = { userId: 'editor' };
    const [m] = await store.memories.insert(scope, [{ data: 'plays chess', vector: vec(1), metadata: { level: 'club', keep: 1, gone: 'x' }, actorId: 'a1', role: 'user' }]);
    const { pool, sent } = counting(store.database.pool);
    const memories = new MemoryStore(pool, store.tables, DIMS, { iterativeScan: true });
    const updated = await memories.update(scope, m!.id, { data: 'plays go', vector: vec(2), metadata: { level: 'dan', gone: null } });
    expect(sent).toHaveLength(1);
    expect(updated.data).toBe('plays go');
    expect(updated.payload).toMatchObject({ hash: md5('plays go'), user_id: 'editor', actor_id: 'a1', role: 'user', created_at: m!.payload.created_at });
    expect(updated.metadata).toEqual({ level: 'dan', keep: 1 });
    expect(updated.payload.updated_at).toBe(pythonIso(new Date(updated.updatedAt)));
    // Metadata alone: the text, its hash and its keywords stay.
    const tagged = await memories.update(scope, m!.id, { metadata: { tag: 't' } });
    expect(tagged.data).toBe('plays go');
    expect(tagged.metadata).toEqual({ level: 'dan', keep: 1, tag: 't' });
    expect((await store.memories.search(scope, { vector: vec(7), query: 'go', topK: 1 }))[0]?.keywordScore).toBeGreaterThan(0);
    // Two edits at once: the second waits for the first and records the first's text as its old one.
    await Promise.all([
      store.memories.update(scope, m!.id, { data: 'plays shogi', vector: vec(3) }),
      store.memories.update(scope, m!.id, { data: 'plays xiangqi', vector: vec(4) }),
    ]);
    const history = await store.memories.history(scope, m!.id);
    expect(history.map((h) => h.event)).toEqual(['ADD', 'UPDATE', 'UPDATE', 'UPDATE', 'UPDATE']);
    expect(history[1]).toMatchObject({
      oldMemory: 'plays chess', newMemory: 'plays go', isDeleted: false, actorId: 'a1', role: 'user',
      createdAt: m!.createdAt, updatedAt: updated.updatedAt,
    });
    const [, , , third, fourth] = history;
    expect(fourth!.oldMemory).toBe(third!.newMemory);
    expect(third!.oldMemory).toBe('plays go');
    // Outside the scope: not found, nothing written.
    await expect(memories.update({ userId: 'someone-else' }, m!.id, { data: 'hijacked', vector: vec(5) })).rejects.toMatchObject({ code: 'not_found' });
    expect(await store.memories.history(scope, m!.id)).toHaveLength(5);
  });

  it('a delete drops the memory, writes its history row and drops its access-log row; another scope’s row stays', async () => {
    const store = await open();
    const [mine] = await store.memories.insert({ userId: 'owner' }, [{ data: 'owns a boat', vector: vec(1) }]);
    const [theirs] = await store.memories.insert({ userId: 'neighbour' }, [{ data: 'owns a car', vector: vec(2) }]);
    const db = store.database.pool;
    await db.query(recordOwnedRecalls(store.tables, [
      { id: mine!.id, userId: 'owner', appId: null, q: 0.9 }, { id: theirs!.id, userId: 'neighbour', appId: null, q: 0.9 },
    ], new Date()));
    await expect(store.memories.delete({ userId: 'owner' }, theirs!.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await db.query(selectAccess(store.tables, theirs!.id))).rows).toHaveLength(1);
    await store.memories.delete({ userId: 'owner' }, mine!.id);
    expect((await db.query(selectAccess(store.tables, mine!.id))).rows).toHaveLength(0);
    expect((await store.memories.history(null, mine!.id)).map((h) => [h.event, h.oldMemory, h.isDeleted])).toEqual([
      ['ADD', null, false], ['DELETE', 'owns a boat', true],
    ]);
    expect(await store.memories.get(null, theirs!.id)).not.toBeNull();
  });
});
