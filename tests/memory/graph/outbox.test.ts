// The outbox writer (memory/graph/outbox.ts) over a real graph backend (the PostgreSQL graph tables) on PGlite and
// PostgreSQL, with a real failure: a change the backend refuses (an entity embedding of zeros). The failing row holds
// back the newer rows of its graph, is retried later with its error kept, and does not stop other graphs' rows.
import { describe, expect, it } from 'vitest';
import { GraphOutbox } from '../../../src/memory/graph/outbox.js';
import { insertPendingGraph } from '../../../src/store/graph/outbox.js';
import { PostgresGraph } from '../../../src/store/graph/postgres.js';
import { graphTablesFor } from '../../../src/store/graph/tables.js';
import type { GraphChanges } from '../../../src/store/graph/types.js';
import { backends, DIMS, freshStores, vec } from '../../store/backends.js';

function adding(a: string, r: string, b: string, embedding: (name: string) => number[] = (name) => vec(name.length)): GraphChanges {
  const entity = (name: string) => ({ name, matchKey: ` ${name} `, type: '', embedding: embedding(name) });
  return { entities: [entity(a), entity(b)], add: [{ source: a, relationship: r, destination: b }], delete: [] };
}

describe.each(backends())('graph outbox writer on $name', (backend) => {
  const open = freshStores(backend);

  it('a refused change waits with its error and holds back its graph; other graphs are written', async () => {
    const store = await open();
    const { pool } = store.database;
    const graph = new PostgresGraph(pool, store.tables, DIMS);
    const outbox = new GraphOutbox(pool, store.tables, graph, undefined, { leaseMs: 60_000, settleMs: 0, retryMs: 60_000, maxRetryMs: 60_000 });
    const zeros = () => new Array<number>(DIMS).fill(0);
    const poison = await insertPendingGraph(pool, store.tables, { userId: 'u1' }, adding('u1', 'likes', 'void', zeros), []);
    const good = await insertPendingGraph(pool, store.tables, { userId: 'u1' }, adding('u1', 'likes', 'tea'), []);
    await insertPendingGraph(pool, store.tables, { userId: 'u2' }, adding('u2', 'likes', 'tea'), []);

    // The writer of `good` drains u1 in order: the refused row first, so `good` waits too; the caller is not failed.
    expect(await outbox.write({ userId: 'u1', agentId: '' }, good)).toBeNull();
    const rows = async () => (await pool.query<{ id: string; user_id: string; attempts: number; last_error: string | null }>(
      `SELECT id::text, user_id, attempts, last_error FROM ${graphTablesFor(store.tables).outbox} ORDER BY id`,
    )).rows;
    expect((await rows()).filter((r) => r.user_id === 'u1')).toEqual([
      { id: poison, user_id: 'u1', attempts: 1, last_error: expect.stringContaining('all zeros') as unknown },
      { id: good, user_id: 'u1', attempts: 0, last_error: null },
    ]);
    expect(await graph.listRelations({ userId: 'u1' }, 10)).toEqual([]);

    // The background drain skips u1 (waiting for its retry) and writes u2.
    expect(await outbox.drainDue()).toBe(1);
    expect((await rows()).map((r) => r.user_id)).toEqual(['u1', 'u1']);
    expect((await graph.listRelations({ userId: 'u2' }, 10)).map((t) => t.destination)).toEqual(['tea']);
  });
});
