import { describe, expect, it } from 'vitest';
import { AccessLogger, logRecalls } from '../../../src/memory/access-log.js';
import { accessLogTable, selectAccess } from '../../../src/store/access-log.js';
import { nextAccess } from '../../../src/memory/retention.js';
import type { AccessRecord } from '../../../src/memory/retention.js';
import type { Store } from '../../../src/store/index.js';
import { backends, freshStores, vec } from '../../store/backends.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const later = (s: number) => new Date(NOW.getTime() + s * 1000);

describe.each(backends())('access log on $name', (backend) => {
  const open = freshStores(backend, backend.name === 'postgres' ? { maxconn: 20 } : {});

  const seed = async (store: Store, scope: { userId: string; agentId?: string }, n: number) =>
    (await store.memories.insert(scope, Array.from({ length: n }, (_, i) => ({ data: `fact ${i}`, vector: vec(i) })))).map((m) => m.id);

  const access = async (store: Store, id: string) => {
    const res = await store.database.pool.query<{
      memoryId: string; userId: string; appId: string | null; recallCount: number; qualityEma: number; lastRecalledAt: Date;
    }>(selectAccess(store.tables, id));
    return res.rows[0] ?? null;
  };

  it('first recall stores q; later ones 0.3 q + 0.7 previous with the count capped at 6; q < 0.5 is not logged', async () => {
    const store = await open();
    const scope = { userId: 'u1', agentId: 'app1' };
    const [a, b] = await seed(store, scope, 2);
    const pool = store.database.pool;
    expect(await logRecalls(pool, store.tables, scope, [{ id: a!, score: 0.8 }, { id: b!, score: 0.49999 }], NOW)).toBe(1);
    expect(await access(store, a!)).toEqual({
      memoryId: a, userId: 'u1', appId: 'app1', recallCount: 1, qualityEma: 0.8, lastRecalledAt: NOW,
    });
    expect(await access(store, b!)).toBeNull();

    let expected: AccessRecord = nextAccess(undefined, 0.8, NOW);
    const qs = [0.5, 0.9, 1, 0.6, 0.7, 0.95, 0.55];
    for (const [i, q] of qs.entries()) {
      // The rerank score wins over the similarity score.
      await logRecalls(pool, store.tables, scope, [{ id: a!, rerankScore: q, score: 0.1 }], later(i + 1));
      expected = nextAccess(expected, q, later(i + 1));
      const row = await access(store, a!);
      expect(row?.recallCount).toBe(expected.recallCount);
      expect(row?.qualityEma).toBeCloseTo(expected.qualityEma, 14);
      expect(row?.lastRecalledAt).toEqual(later(i + 1));
    }
    expect(expected.recallCount).toBe(6);
  });

  it('counts an id once per search, never moves last_recalled_at back, and ignores ids outside the scope', async () => {
    const store = await open();
    const pool = store.database.pool;
    const [mine] = await seed(store, { userId: 'me' }, 1);
    const [theirs] = await seed(store, { userId: 'them' }, 1);
    const missing = '00000000-0000-4000-8000-000000000000';
    await logRecalls(pool, store.tables, { userId: 'me' }, [
      { id: mine!, score: 0.6 }, { id: mine!, score: 0.9 }, { id: theirs!, score: 0.9 }, { id: missing, score: 0.9 },
    ], NOW);
    expect(await access(store, mine!)).toMatchObject({ recallCount: 1, qualityEma: 0.9 });
    expect(await access(store, theirs!)).toBeNull();
    expect(await access(store, missing)).toBeNull();
    await logRecalls(pool, store.tables, { userId: 'me' }, [{ id: mine!, score: 0.9 }], new Date(NOW.getTime() - 60_000));
    expect(await access(store, mine!)).toMatchObject({ recallCount: 2, lastRecalledAt: NOW });
  });

  it('50 concurrent searches over the same memories lose no update: counts and EMA exact', async () => {
    const store = await open();
    const pool = store.database.pool;
    const scope = { userId: 'busy' };
    const shared = await seed(store, scope, 5);
    const partial = await seed(store, scope, 10);
    // Shared memories start from a known row (count 1, ema 0) so every one of the 50 recalls shows in the EMA.
    await pool.query(
      `INSERT INTO ${accessLogTable(store.tables)} (memory_id, user_id, recall_count, quality_ema, last_recalled_at)
       SELECT id, 'busy', 1, 0, $2::timestamptz FROM unnest($1::uuid[]) AS id`,
      [shared, NOW.toISOString()],
    );
    const q = 0.9;
    // Search i recalls every shared memory, partial memory i % 10 (each gets exactly 5 recalls), in a shuffled order.
    const searches = Array.from({ length: 50 }, (_, i) => {
      const results = [...shared, partial[i % 10]!].map((id) => ({ id, score: q }));
      return i % 2 ? results.reverse() : results;
    });
    await Promise.all(searches.map((results, i) => logRecalls(pool, store.tables, scope, results, later(i))));

    let sharedExpected = 0;
    for (let i = 0; i < 50; i++) sharedExpected = 0.3 * q + 0.7 * sharedExpected;
    let partialExpected: AccessRecord | undefined;
    for (let i = 0; i < 5; i++) partialExpected = nextAccess(partialExpected, q, NOW);
    for (const id of shared) {
      const row = await access(store, id);
      expect(row?.recallCount).toBe(6);
      // A single lost update would leave the EMA 0.27 × 0.7^49 ≈ 6.9e-9 lower: 12 decimals catch it.
      expect(row?.qualityEma).toBeCloseTo(sharedExpected, 12);
      expect(row?.lastRecalledAt).toEqual(later(49));
    }
    for (const id of partial) {
      const row = await access(store, id);
      expect(row?.recallCount).toBe(5);
      expect(row?.qualityEma).toBeCloseTo(partialExpected!.qualityEma, 14);
    }
  });

  it('AccessLogger records in the background; flush() waits for it', async () => {
    const store = await open();
    const [a] = await seed(store, { userId: 'bg' }, 1);
    const logger = new AccessLogger(store.database.pool, store.tables, () => NOW);
    for (let i = 0; i < 3; i++) logger.record({ userId: 'bg' }, [{ id: a!, score: 0.7 }]);
    await logger.flush();
    expect(await access(store, a!)).toMatchObject({ recallCount: 3, lastRecalledAt: NOW });
  });

  it('delete_memory and delete_all_memories drop the access-log rows of what they delete', async () => {
    const store = await open();
    const pool = store.database.pool;
    const [one, two, three] = await seed(store, { userId: 'd' }, 3);
    const [other] = await seed(store, { userId: 'e' }, 1);
    await logRecalls(pool, store.tables, { userId: 'd' }, [one!, two!, three!].map((id) => ({ id, score: 0.8 })), NOW);
    await logRecalls(pool, store.tables, { userId: 'e' }, [{ id: other!, score: 0.8 }], NOW);
    await store.memories.delete({ userId: 'd' }, one!);
    expect(await access(store, one!)).toBeNull();
    expect(await access(store, two!)).not.toBeNull();
    expect(await store.memories.deleteAll({ userId: 'd' })).toBe(2);
    expect(await access(store, two!)).toBeNull();
    expect(await access(store, three!)).toBeNull();
    expect(await access(store, other!)).not.toBeNull();
  });
});
