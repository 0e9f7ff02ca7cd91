// The AccessLogger's contract with the search path: record() sends nothing on the caller's turn, writes are bounded
// (writers at once, searches queued), close() waits for what was taken and refuses the rest. Real store (PGlite;
// PostgreSQL too with TEST_DATABASE_URL); the pool is only wrapped to count statements.
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { AccessLogger } from '../../../src/jobs/forgetting/access-log.js';
import { selectAccess } from '../../../src/jobs/forgetting/queries.js';
import type { Store } from '../../../src/store/index.js';
import { backends, vec } from '../../store/backends.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** The real pool, counting statements sent and the most in flight at once. */
function counted(pool: pg.Pool): { pool: Pick<pg.Pool, 'query'>; sent: () => number; maxInFlight: () => number } {
  let sent = 0;
  let inFlight = 0;
  let max = 0;
  const query = (async (...args: Parameters<pg.Pool['query']>) => {
    sent += 1;
    inFlight += 1;
    max = Math.max(max, inFlight);
    try {
      return await (pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
    } finally {
      inFlight -= 1;
    }
  }) as pg.Pool['query'];
  return { pool: { query }, sent: () => sent, maxInFlight: () => max };
}

describe.each(backends())('AccessLogger on $name', (backend) => {
  const opened: Store[] = [];
  const open = async () => {
    const store = await backend.open(await backend.freshConfig());
    opened.push(store);
    return store;
  };
  afterAll(async () => {
    for (const s of opened) await s.close();
    await backend.close();
  });
  const seed = async (store: Store, userId: string, n: number) =>
    (await store.memories.insert({ userId }, Array.from({ length: n }, (_, i) => ({ data: `fact ${i}`, vector: vec(i) })))).map((m) => m.id);
  const count = async (store: Store, id: string) =>
    (await store.database.pool.query<{ recallCount: number }>(selectAccess(store.tables, id))).rows[0]?.recallCount ?? 0;

  it('sends nothing during the caller\'s turn; one statement per search later, at most `writers` at once', async () => {
    const store = await open();
    const [a] = await seed(store, 'turn', 1);
    const db = counted(store.database.pool);
    const log = new AccessLogger(db.pool, store.tables, () => NOW, { writers: 2 });
    for (let i = 0; i < 20; i++) log.record({ userId: 'turn' }, [{ id: a!, score: 0.9 }]);
    await Promise.resolve();
    expect(db.sent()).toBe(0);
    await log.flush();
    expect(db.sent()).toBe(20);
    expect(db.maxInFlight()).toBeLessThanOrEqual(2);
    expect(await count(store, a!)).toBe(6);
  });

  it('skips searches with nothing that counts, drops beyond the queue bound, and refuses recalls after close()', async () => {
    const store = await open();
    const [a] = await seed(store, 'bound', 1);
    const db = counted(store.database.pool);
    const log = new AccessLogger(db.pool, store.tables, () => NOW, { writers: 1, maxQueued: 3 });
    log.record({ userId: 'bound' }, []);
    log.record({ userId: 'bound' }, [{ id: a!, score: 0.2 }]);
    await log.flush();
    expect(db.sent()).toBe(0);
    for (let i = 0; i < 5; i++) log.record({ userId: 'bound' }, [{ id: a!, score: 0.9 }]);
    await log.close();
    expect(db.sent()).toBe(3);
    expect(await count(store, a!)).toBe(3);
    log.record({ userId: 'bound' }, [{ id: a!, score: 0.9 }]);
    await log.flush();
    expect(db.sent()).toBe(3);
  });

  it('a failing write is logged, never thrown; later recalls still land', async () => {
    const store = await open();
    const [a] = await seed(store, 'fail', 1);
    let failNext = true;
    const pool = {
      query: ((...args: Parameters<pg.Pool['query']>) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection reset'));
        }
        return (store.database.pool.query as (...x: unknown[]) => Promise<unknown>)(...args);
      }) as pg.Pool['query'],
    };
    const log = new AccessLogger(pool, store.tables, () => NOW, { writers: 1 });
    log.record({ userId: 'fail' }, [{ id: a!, score: 0.9 }]);
    await expect(log.flush()).resolves.toBeUndefined();
    log.record({ userId: 'fail' }, [{ id: a!, score: 0.9 }]);
    await log.flush();
    expect(await count(store, a!)).toBe(1);
  });
});
