import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/shared/errors.js';
import { md5, pythonIso } from '../../src/store/payload.js';
import { backends, DIMS, freshStores, randomVector, vec } from './backends.js';

describe.each(backends())('memories on $name', (backend) => {
  const open = freshStores(backend);

  it('writes Mem0-shaped payloads and an ADD history row per memory', async () => {
    const store = await open();
    const [m] = await store.memories.insert({ userId: 'alice', agentId: 'app1' }, [
      { data: 'Likes green tea', vector: vec(0), metadata: { category: 'food', score: 3 }, runId: 'r1', role: 'user' },
    ]);
    expect(m).toBeDefined();
    const p = m!.payload;
    expect(p.data).toBe('Likes green tea');
    expect(p.hash).toBe(md5('Likes green tea'));
    expect(p).toMatchObject({ user_id: 'alice', agent_id: 'app1', run_id: 'r1', role: 'user', category: 'food', score: 3 });
    expect(p.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    expect(p.updated_at).toBe(p.created_at);
    expect(m!.metadata).toEqual({ category: 'food', score: 3 });
    const history = await store.memories.history({ userId: 'alice' }, m!.id);
    expect(history).toMatchObject([{ event: 'ADD', oldMemory: null, newMemory: 'Likes green tea', isDeleted: false, role: 'user' }]);
  });

  it('updates text, vector and metadata with an UPDATE history row; deletes with a DELETE row', async () => {
    const store = await open();
    const scope = { userId: 'bob' };
    const [m] = await store.memories.insert(scope, [{ data: 'Lives in Paris', vector: vec(1), metadata: { city: 'Paris', keep: true } }]);
    const updated = await store.memories.update(scope, m!.id, {
      data: 'Lives in Berlin', vector: vec(2), metadata: { city: 'Berlin', keep: null },
    });
    expect(updated.data).toBe('Lives in Berlin');
    expect(updated.hash).toBe(md5('Lives in Berlin'));
    expect(updated.metadata).toEqual({ city: 'Berlin' });
    expect(updated.payload.created_at).toBe(m!.payload.created_at);
    expect(updated.payload.updated_at).not.toBe(m!.payload.updated_at);
    const hits = await store.memories.search(scope, { vector: vec(2), topK: 1 });
    expect(hits[0]?.id).toBe(m!.id);
    expect(hits[0]?.score).toBeCloseTo(1, 5);

    await store.memories.delete(scope, m!.id);
    expect(await store.memories.get(scope, m!.id)).toBeNull();
    const history = await store.memories.history(scope, m!.id);
    expect(history.map((h) => [h.event, h.oldMemory, h.newMemory, h.isDeleted])).toEqual([
      ['ADD', null, 'Lives in Paris', false],
      ['UPDATE', 'Lives in Paris', 'Lives in Berlin', false],
      ['DELETE', 'Lives in Berlin', null, true],
    ]);
    await expect(store.memories.delete(scope, m!.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('keeps a memory’s history in the order it was written, however fast the writes come', async () => {
    const store = await open();
    const scope = { userId: 'quick' };
    const [m] = await store.memories.insert(scope, [{ data: 'v0', vector: vec(0) }]);
    // Four at a time, queued on the connection back to back: on PGlite (a millisecond clock) some share recorded_at
    // and updated_at. Whatever order they ran in, each row's old text is the text the row before it wrote.
    for (let round = 0; round < 40; round++) {
      await Promise.all([1, 2, 3, 4].map((k) => store.memories.update(scope, m!.id, { data: `v${round}.${k}`, vector: vec(k) })));
    }
    const history = await store.memories.history(scope, m!.id);
    expect(history).toHaveLength(161);
    const chain = history.map((h) => `${h.oldMemory} -> ${h.newMemory}`);
    for (const [i, h] of history.entries()) if (i > 0) expect(h.oldMemory, chain.join('\n')).toBe(history[i - 1]!.newMemory);
    expect(history.at(-1)!.newMemory).toBe((await store.memories.get(scope, m!.id))?.data);
  });

  it('rolls back the change when its history row cannot be written (same transaction)', async () => {
    const store = await open();
    const scope = { userId: 'carol' };
    const [m] = await store.memories.insert(scope, [{ data: 'original', vector: vec(3) }]);
    const pool = await backend.pool();
    // Make the history insert fail for one specific text; the memory update must not survive it.
    await pool.query(`ALTER TABLE ${store.tables.history} ADD CONSTRAINT no_boom CHECK (new_memory IS DISTINCT FROM 'boom')`);
    await expect(store.memories.update(scope, m!.id, { data: 'boom', vector: vec(4) })).rejects.toThrow(/no_boom/);
    const after = await store.memories.get(scope, m!.id);
    expect(after?.data).toBe('original');
    expect((await store.memories.history(scope, m!.id)).map((h) => h.event)).toEqual(['ADD']);
    // Batch insert: one bad history row rolls back every memory of the batch.
    await expect(
      store.memories.insert(scope, [{ data: 'fine', vector: vec(5) }, { data: 'boom', vector: vec(6) }]),
    ).rejects.toThrow(/no_boom/);
    expect(await store.memories.count(scope)).toBe(1);
  });

  it('applies a change set (inserts, updates, deletes) in one transaction, skipping ids outside the scope', async () => {
    const store = await open();
    const scope = { userId: 'fay', agentId: 'app' };
    const [keep, change, remove] = await store.memories.insert(scope, [
      { data: 'keep me', vector: vec(0) }, { data: 'change me', vector: vec(1) }, { data: 'remove me', vector: vec(2) },
    ]);
    const [foreign] = await store.memories.insert({ userId: 'gus' }, [{ data: 'not yours', vector: vec(3) }]);
    const result = await store.memories.apply(scope, {
      inserts: [{ data: 'new fact', vector: vec(4), metadata: { source: 'chat' } }],
      updates: [{ id: change!.id, data: 'changed', vector: vec(5) }, { id: foreign!.id, data: 'stolen', vector: vec(5) }],
      deletes: [remove!.id, foreign!.id, '00000000-0000-4000-8000-000000000000'],
    });
    expect(result.inserted.map((m) => m.data)).toEqual(['new fact']);
    expect(result.updated.map((m) => m.id)).toEqual([change!.id]);
    expect(result.deleted).toEqual([remove!.id]);
    expect((await store.memories.list(scope)).map((m) => m.data).sort()).toEqual(['changed', 'keep me', 'new fact']);
    expect((await store.memories.get(null, foreign!.id))?.data).toBe('not yours');
    expect(keep).toBeDefined();

    // One failing history row undoes the whole set.
    const pool = await backend.pool();
    await pool.query(`ALTER TABLE ${store.tables.history} ADD CONSTRAINT no_boom2 CHECK (new_memory IS DISTINCT FROM 'boom')`);
    await expect(store.memories.apply(scope, {
      inserts: [{ data: 'would be added', vector: vec(6) }],
      updates: [{ id: keep!.id, data: 'boom', vector: vec(6) }],
      deletes: [change!.id],
    })).rejects.toThrow(/no_boom2/);
    expect((await store.memories.list(scope)).map((m) => m.data).sort()).toEqual(['changed', 'keep me', 'new fact']);
    expect(await store.ping()).toEqual({ pgvectorVersion: store.pgvectorVersion, dims: DIMS });
  });

  it('delete-all removes only the scope, with history', async () => {
    const store = await open();
    await store.memories.insert({ userId: 'u', agentId: 'a1' }, [{ data: 'one', vector: vec(0) }, { data: 'two', vector: vec(1) }]);
    await store.memories.insert({ userId: 'u', agentId: 'a2' }, [{ data: 'three', vector: vec(2) }]);
    await store.memories.insert({ userId: 'v', agentId: 'a1' }, [{ data: 'four', vector: vec(3) }]);
    expect(await store.memories.deleteAll({ userId: 'u', agentId: 'a1' })).toBe(2);
    expect(await store.memories.count({ userId: 'u' })).toBe(1);
    expect(await store.memories.count({ userId: 'v' })).toBe(1);
    expect(await store.memories.deleteAll({ userId: 'u' })).toBe(1);
    expect(await store.memories.count({ userId: 'v' })).toBe(1);
  });

  it('lists newest first with a limit, and finds by hash within the scope only', async () => {
    const store = await open();
    const scope = { userId: 'dan' };
    const base = Date.parse('2025-01-01T00:00:00Z');
    await store.memories.insert(scope, [0, 1, 2, 3].map((i) => ({
      data: `fact ${i}`, vector: vec(i), createdAt: new Date(base + i * 60_000),
    })));
    const listed = await store.memories.list(scope, { limit: 3 });
    expect(listed.map((m) => m.data)).toEqual(['fact 3', 'fact 2', 'fact 1']);
    expect(listed[0]?.createdAt).toBe('2025-01-01T00:03:00.000Z');
    expect(listed[0]?.payload.created_at).toBe(pythonIso(new Date(base + 3 * 60_000)));
    expect((await store.memories.findByHash(scope, md5('fact 2')))?.data).toBe('fact 2');
    expect(await store.memories.findByHash({ userId: 'someone-else' }, md5('fact 2'))).toBeNull();
  });

  it('rejects bad input with clear errors', async () => {
    const store = await open();
    const scope = { userId: 'erin' };
    await expect(store.memories.insert(scope, [{ data: 'x', vector: [1, 2] }])).rejects.toThrow(`collection expects ${DIMS}`);
    await expect(store.memories.insert(scope, [{ data: 'x', vector: vec(0).map(() => Number.NaN) }])).rejects.toThrow(/non-finite/);
    await expect(store.memories.insert({ userId: '' }, [{ data: 'x', vector: vec(0) }])).rejects.toThrow('user_id is required');
    await expect(store.memories.insert(scope, [{ data: 'x', vector: vec(0), metadata: { "a'); DROP TABLE x; --": 1 } }]))
      .rejects.toThrow(/invalid metadata key/);
    await expect(store.memories.insert(scope, [{ data: 'x', vector: vec(0), metadata: { user_id: 'mallory' } }]))
      .rejects.toThrow(/reserved/);
    await expect(store.memories.get(scope, "1' OR '1'='1")).rejects.toThrow('memory_id must be a UUID');
    await expect(store.memories.search(scope, { vector: vec(0), topK: -1 })).rejects.toThrow(/top_k/);
    await expect(store.memories.update(scope, '00000000-0000-4000-8000-000000000000', { data: 'y', vector: vec(0) }))
      .rejects.toMatchObject({ code: 'not_found' });
    await expect(store.memories.update(scope, '00000000-0000-4000-8000-000000000000', { data: 'y' }))
      .rejects.toThrow(/embedding/);
    const err = await store.memories.get(scope, 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
  });

  it('never lets one user see or touch another user’s memories (random operations)', async () => {
    const store = await open();
    const users = ['u0', 'u1', 'u2', 'u3'];
    const agents = ['a0', 'a1', null];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // The model: memory id → owner.
    const owner = new Map<string, { userId: string; agentId: string | null; data: string }>();
    for (let step = 0; step < 120; step += 1) {
      const userId = users[rand(users.length)]!;
      const agentId = agents[rand(agents.length)]!;
      const scope = { userId, agentId };
      const ids = [...owner.keys()];
      const someId = ids.length ? ids[rand(ids.length)]! : null;
      const op = rand(7);
      if (op <= 1 || !someId) {
        const data = `memo ${step} of ${userId}`;
        const [m] = await store.memories.insert(scope, [{ data, vector: randomVector(step), metadata: { step } }]);
        owner.set(m!.id, { userId, agentId, data });
      } else if (op === 2) {
        const o = owner.get(someId)!;
        const mine = o.userId === userId && (agentId === null || o.agentId === agentId);
        const result = await store.memories.update(scope, someId, { data: `changed ${step}`, vector: randomVector(step) })
          .then(() => 'ok', (e: EngineError) => e.code);
        expect(result).toBe(mine ? 'ok' : 'not_found');
        if (mine) o.data = `changed ${step}`;
      } else if (op === 3) {
        const o = owner.get(someId)!;
        const mine = o.userId === userId && (agentId === null || o.agentId === agentId);
        const result = await store.memories.delete(scope, someId).then(() => 'ok', (e: EngineError) => e.code);
        expect(result).toBe(mine ? 'ok' : 'not_found');
        if (mine) owner.delete(someId);
      } else if (op === 4) {
        const got = await store.memories.get(scope, someId);
        const o = owner.get(someId)!;
        const mine = o.userId === userId && (agentId === null || o.agentId === agentId);
        expect(got?.data ?? null).toBe(mine ? o.data : null);
        const history = await store.memories.history(scope, someId);
        if (o.userId !== userId) expect(history).toEqual([]);
      } else if (op === 5) {
        // A filter that tries to widen the scope to everyone must not.
        const hits = await store.memories.search(scope, {
          vector: randomVector(step), query: 'memo changed', topK: 50,
          filters: { OR: [{ user_id: { ne: userId } }, { user_id: userId }] },
        });
        const expected = [...owner.entries()].filter(([, o]) => o.userId === userId && (agentId === null || o.agentId === agentId));
        expect(hits.map((h) => h.id).sort()).toEqual(expected.map(([id]) => id).sort());
        for (const h of hits) expect(h.score).toBeGreaterThanOrEqual(0);
      } else {
        const listed = await store.memories.list(scope, { limit: 1000, filters: { user_id: { in: users } } });
        const expected = [...owner.entries()].filter(([, o]) => o.userId === userId && (agentId === null || o.agentId === agentId));
        expect(listed.map((m) => m.id).sort()).toEqual(expected.map(([id]) => id).sort());
        for (const m of listed) expect(m.userId).toBe(userId);
      }
    }
    expect(owner.size).toBeGreaterThan(10);
  });
});
