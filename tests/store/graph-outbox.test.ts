// The graph outbox's SQL (store/graph/outbox.ts) on PGlite and PostgreSQL: a row commits with its memories or not at
// all, a scope is claimed whole and in order, a claim keeps other holders out until it is settled or released, a
// settled row records its graph history exactly once, and delete_all / forgetting drop what must never land.
import { describe, expect, it } from 'vitest';
import {
  claimScope, dropPendingGraph, dueScopes, forgetPendingGraph, insertPendingGraph, pendingGraphStats,
  releasePendingGraph, settlePendingGraph,
} from '../../src/store/graph/outbox.js';
import { selectGraphHistory } from '../../src/store/graph/history.js';
import { graphTablesFor } from '../../src/store/graph/tables.js';
import type { GraphChanges } from '../../src/store/graph/types.js';
import { withTransaction } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { backends, freshStores, vec } from './backends.js';

const LEASE = { leaseMs: 60_000, limit: 50 };

/** Changes that add one relation `a -[r]-> b`. */
function adding(a: string, r: string, b: string): GraphChanges {
  const entity = (name: string) => ({ name, matchKey: ` ${name} `, type: '', embedding: vec(name.length) });
  return { entities: [entity(a), entity(b)], add: [{ source: a, relationship: r, destination: b }], delete: [] };
}

async function rows(store: Store): Promise<Array<{ id: string; user_id: string; attempts: number; last_error: string | null; memory_ids: string[] }>> {
  const res = await store.database.pool.query(
    `SELECT id::text, user_id, attempts, last_error, memory_ids::text[] FROM ${graphTablesFor(store.tables).outbox} ORDER BY id`,
  );
  return res.rows as never;
}

describe.each(backends())('graph outbox on $name', (backend) => {
  const open = freshStores(backend);

  it('commits with the memories it was learnt with, naming them, or not at all', async () => {
    const store = await open();
    const scope = { userId: 'anna' };
    const applied = await store.memories.apply(scope, {
      inserts: [{ data: 'anna likes tea', vector: vec(1) }], pendingGraph: { scope: { userId: 'anna', agentId: '' }, changes: adding('anna', 'likes', 'tea') },
    });
    expect(applied.pendingGraph).toMatch(/^\d+$/);
    const [row] = await rows(store);
    expect(row).toMatchObject({ id: applied.pendingGraph, user_id: 'anna', attempts: 0, memory_ids: [applied.inserted[0]!.id] });
    // A memory write that fails (a metadata key the store refuses) leaves no outbox row behind.
    await expect(store.memories.apply(scope, {
      inserts: [{ data: 'x', vector: vec(2), metadata: { user_id: 'mallory' } }], pendingGraph: { scope: { userId: 'anna', agentId: '' }, changes: adding('anna', 'likes', 'x') },
    })).rejects.toThrow(/reserved/);
    // A rolled-back transaction takes its row with it.
    await expect(withTransaction(store.database.pool, async (client) => {
      await insertPendingGraph(client, store.tables, { userId: 'anna' }, adding('anna', 'likes', 'y'), []);
      throw new Error('rolled back');
    })).rejects.toThrow('rolled back');
    expect(await rows(store)).toHaveLength(1);
    // Relations learnt while no memory changed: the row alone.
    const alone = await store.memories.apply(scope, { pendingGraph: { scope: { userId: 'anna', agentId: '' }, changes: adding('anna', 'knows', 'bob') } });
    expect(alone).toMatchObject({ inserted: [], updated: [], deleted: [] });
    expect((await rows(store)).map((r) => r.id)).toEqual([applied.pendingGraph, alone.pendingGraph]);
  });

  it('claims a scope whole and oldest first; another holder waits until it is settled or released', async () => {
    const store = await open();
    const { pool } = store.database;
    const t = store.tables;
    const ids = [];
    for (const what of ['tea', 'coffee', 'cocoa']) ids.push(await insertPendingGraph(pool, t, { userId: 'u' }, adding('u', 'likes', what), []));
    const other = await insertPendingGraph(pool, t, { userId: 'u', agentId: 'travel' }, adding('u', 'visits', 'paris'), []);
    const scope = { userId: 'u', agentId: '' };

    const first = await claimScope(pool, t, scope, 'holder-a', LEASE);
    expect(first.map((p) => p.id)).toEqual(ids);
    expect(first[0]!.changes.add).toEqual([{ source: 'u', relationship: 'likes', destination: 'tea' }]);
    // While a's lease runs, b gets nothing of the scope, not even a row written after a's claim.
    const later = await insertPendingGraph(pool, t, { userId: 'u' }, adding('u', 'likes', 'milk'), []);
    expect(await claimScope(pool, t, scope, 'holder-b', LEASE)).toEqual([]);
    // The agent's graph is another scope.
    expect((await claimScope(pool, t, { userId: 'u', agentId: 'travel' }, 'holder-b', LEASE)).map((p) => p.id)).toEqual([other]);

    // a writes the first row, then the second fails: it and the rows after it are released together.
    const memory = '00000000-0000-4000-8000-0000000000a1';
    expect(await settlePendingGraph(pool, t, { ...first[0]!, memoryIds: [memory] }, 'holder-a', { added: first[0]!.changes.add, deleted: [] })).toBe(true);
    await releasePendingGraph(pool, t, [ids[1]!, ids[2]!], 'holder-a', { id: ids[1]!, error: 'graph store down' }, 0);
    const left = await rows(store);
    expect(left.map((r) => r.id)).toEqual([ids[1], ids[2], other, later]);
    expect(left[0]).toMatchObject({ attempts: 1, last_error: 'graph store down' });
    expect(left[1]).toMatchObject({ attempts: 0, last_error: null });
    // The history has the settled row once.
    expect((await selectGraphHistory(pool, t, memory)).map((h) => h.added)).toEqual([[{ source: 'u', relationship: 'likes', destination: 'tea' }]]);

    // Released with no wait: b now takes what is left of the scope, still in order (the newer row last).
    const second = await claimScope(pool, t, scope, 'holder-b', LEASE);
    expect(second.map((p) => p.id)).toEqual([ids[1], ids[2], later]);
    // a's lease is gone: settling a row it no longer holds records nothing.
    expect(await settlePendingGraph(pool, t, { ...second[0]!, memoryIds: [memory] }, 'holder-a', { added: second[0]!.changes.add, deleted: [] })).toBe(false);
    expect(await selectGraphHistory(pool, t, memory)).toHaveLength(1);
  });

  it('a row waiting for its retry holds back the newer rows of its scope; due scopes skip rows younger than the settle time', async () => {
    const store = await open();
    const { pool } = store.database;
    const t = store.tables;
    const old = await insertPendingGraph(pool, t, { userId: 'w' }, adding('w', 'likes', 'tea'), []);
    const [claimed] = await claimScope(pool, t, { userId: 'w', agentId: '' }, 'h', LEASE);
    await releasePendingGraph(pool, t, [claimed!.id], 'h', { id: old, error: 'down' }, 60_000);
    await insertPendingGraph(pool, t, { userId: 'w' }, adding('w', 'likes', 'coffee'), []);
    expect(await claimScope(pool, t, { userId: 'w', agentId: '' }, 'h2', LEASE)).toEqual([]);
    expect(await dueScopes(pool, t, { minAgeMs: 0, limit: 10 })).toEqual([]);
    await insertPendingGraph(pool, t, { userId: 'x' }, adding('x', 'likes', 'tea'), []);
    expect(await dueScopes(pool, t, { minAgeMs: 0, limit: 10 })).toEqual([{ userId: 'x', agentId: '' }]);
    expect(await dueScopes(pool, t, { minAgeMs: 60_000, limit: 10 })).toEqual([]);
    expect(await claimScope(pool, t, { userId: 'x', agentId: '' }, 'h2', { ...LEASE, minAgeMs: 60_000 })).toEqual([]);
    expect(await pendingGraphStats(pool, t)).toMatchObject({ pending: 3 });
  });

  it('delete_all drops the scope’s waiting rows; forgetting drops rows learnt only from forgotten memories', async () => {
    const store = await open();
    const { pool } = store.database;
    const t = store.tables;
    const [m1, m2, m3] = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
    await insertPendingGraph(pool, t, { userId: 'f' }, adding('f', 'likes', 'tea'), [m1]);
    const both = await insertPendingGraph(pool, t, { userId: 'f' }, adding('f', 'likes', 'rain'), [m1, m2]);
    const none = await insertPendingGraph(pool, t, { userId: 'f' }, adding('f', 'knows', 'bob'), []);
    const elsewhere = await insertPendingGraph(pool, t, { userId: 'g' }, adding('g', 'likes', 'tea'), [m1]);
    await forgetPendingGraph(pool, t, { userId: 'f' }, [m1, m3]);
    const left = await rows(store);
    expect(left.map((r) => [r.id, r.memory_ids])).toEqual([[both, [m2]], [none, []], [elsewhere, [m1]]]);

    await insertPendingGraph(pool, t, { userId: 'f', agentId: 'travel' }, adding('f', 'visits', 'paris'), []);
    expect(await dropPendingGraph(pool, t, { userId: 'f', agentId: 'travel' })).toBe(1);
    expect(await dropPendingGraph(pool, t, { userId: 'f' })).toBe(2);
    expect((await rows(store)).map((r) => r.id)).toEqual([elsewhere]);
  });
});
