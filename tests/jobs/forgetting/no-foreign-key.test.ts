// The access log has no foreign key to the memories table (Mem0's Python store must be able to DROP it): our own
// delete paths drop log rows in the same transaction, and forgetting sweeps the rows whose memory went another way.
import { describe, expect, it } from 'vitest';
import { logRecalls } from '../../../src/memory/access-log.js';
import { forgetMemories } from '../../../src/jobs/forgetting/forget.js';
import { accessLogTable } from '../../../src/store/access-log.js';
import type { Store } from '../../../src/store/index.js';
import { backends, freshStores, vec } from '../../store/backends.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

describe.each(backends())('access log without a foreign key on $name', (backend) => {
  const open = freshStores(backend, backend.name === 'postgres' ? { maxconn: 12 } : {});

  const seed = async (store: Store, scope: { userId: string; agentId?: string }, n: number) =>
    (await store.memories.insert(scope, Array.from({ length: n }, (_, i) => ({ data: `fact ${i}`, vector: vec(i), createdAt: NOW })))).map((m) => m.id);
  const logged = async (store: Store) =>
    (await store.database.pool.query<{ id: string }>(`SELECT memory_id::text AS id FROM ${accessLogTable(store.tables)} ORDER BY 1`)).rows.map((r) => r.id);

  it('lets Mem0 Python reset the collection: DROP TABLE of the memories table succeeds with log rows present', async () => {
    const store = await open();
    const scope = { userId: 'py' };
    const ids = await seed(store, scope, 3);
    await logRecalls(store.database.pool, store.tables, scope, ids.map((id) => ({ id, score: 0.9 })), NOW);
    expect(await logged(store)).toHaveLength(3);
    // What mem0's PGVector.delete_col runs (no CASCADE).
    await store.database.pool.query(`DROP TABLE IF EXISTS ${store.tables.memories}`);
    const gone = await store.database.pool.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [store.tables.memories]);
    expect(gone.rows[0]?.oid).toBeNull();
  });

  it('sweeps the scope\'s orphaned log rows on a real run (dry run only counts them); other scopes keep theirs', async () => {
    const store = await open();
    const pool = store.database.pool;
    const mine = { userId: 'u', agentId: 'a1' };
    const otherApp = { userId: 'u', agentId: 'a2' };
    const otherUser = { userId: 'v', agentId: 'a1' };
    const [kept, orphan] = await seed(store, mine, 2);
    const [appOrphan] = await seed(store, otherApp, 1);
    const [userOrphan] = await seed(store, otherUser, 1);
    for (const [scope, ids] of [[mine, [kept!, orphan!]], [otherApp, [appOrphan!]], [otherUser, [userOrphan!]]] as const) {
      await logRecalls(pool, store.tables, scope, ids.map((id) => ({ id, score: 0.9 })), NOW);
    }
    // Deleted behind our back, as Mem0's Python store does: the memory row only.
    await pool.query(`DELETE FROM ${store.tables.memories} WHERE id = ANY($1::uuid[])`, [[orphan, appOrphan, userOrphan]]);
    expect(await logged(store)).toHaveLength(4);

    const dry = await forgetMemories(pool, store.tables, { scope: mine, dryRun: true, now: NOW });
    expect(dry.orphans).toBe(1);
    expect(await logged(store)).toHaveLength(4);

    const real = await forgetMemories(pool, store.tables, { scope: mine, dryRun: false, now: NOW });
    expect(real).toMatchObject({ deleted_count: 0, retained_count: 1, orphans: 1 });
    expect(await logged(store)).toEqual([kept!, appOrphan!, userOrphan!].sort());
    // Without app_id the whole user is in scope: the other app's orphan goes, the other user's stays.
    expect((await forgetMemories(pool, store.tables, { scope: { userId: 'u' }, dryRun: false, now: NOW })).orphans).toBe(1);
    expect(await logged(store)).toEqual([kept!, userOrphan!].sort());
  });

  it('forgetting deletes the log rows of the memories it forgets', async () => {
    const store = await open();
    const pool = store.database.pool;
    const scope = { userId: 'old' };
    const [stale] = await seed(store, scope, 1);
    const longAgo = new Date(NOW.getTime() - 3000 * 86_400_000);
    await logRecalls(pool, store.tables, scope, [{ id: stale!, score: 0.6 }], longAgo);
    const real = await forgetMemories(pool, store.tables, { scope, dryRun: false, now: NOW });
    expect(real).toMatchObject({ deleted_count: 1, orphans: 0 });
    expect(await logged(store)).toEqual([]);
  });

  it('deletes and updates racing recalls of the same memories never deadlock and leave no orphan', async () => {
    const store = await open();
    const pool = store.database.pool;
    const orphans = async (userId: string) => (await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${accessLogTable(store.tables)} l
        WHERE l.user_id = $1 AND NOT EXISTS (SELECT 1 FROM ${store.tables.memories} m WHERE m.id = l.memory_id)`,
      [userId],
    )).rows[0]?.n ?? 0;
    const racing: number[] = [];
    for (let round = 0; round < 40; round++) {
      const scope = { userId: `race-${round}` };
      const ids = await seed(store, scope, 4);
      // Several searches over all four memories, in shuffled orders, at once with a writer that locks them too.
      const recalls = Array.from({ length: 4 }, (_, k) =>
        logRecalls(pool, store.tables, scope, [...ids].sort(() => (k % 2 ? 1 : -1)).map((id) => ({ id, score: 0.8 })), NOW));
      const reversed = [...ids].reverse();
      const writer = [
        () => store.memories.delete(scope, ids[0]!).then(() => store.memories.delete(scope, ids[3]!)),
        () => store.memories.deleteAll(scope),
        () => store.memories.apply(scope, { deletes: reversed }),
        () => store.memories.apply(scope, {
          updates: reversed.slice(0, 2).map((id, n) => ({ id, data: `changed ${n}`, vector: vec(n + 5) })), deletes: reversed.slice(2),
        }),
      ][round % 4]!;
      await Promise.all([...recalls, writer()]);
      expect(await orphans(scope.userId), `round ${round}`).toBe(0);
      // The updated memories (round % 4 === 3) kept every recall: a recall does not skip a memory being edited.
      if (round % 4 === 3) {
        const counts = await pool.query<{ n: number }>(
          `SELECT recall_count AS n FROM ${accessLogTable(store.tables)} WHERE memory_id = ANY($1::uuid[])`, [reversed.slice(0, 2)]);
        racing.push(...counts.rows.map((r) => r.n));
      }
    }
    expect(racing).toEqual(Array.from({ length: 20 }, () => 4));
  });
});
