// The AccessLogger's contract with the search path: record() sends nothing on the caller's turn; queued searches are
// written together (one statement per scope, folded in search order, exact counts and EMA); writes are bounded
// (writers at once, searches queued); close() waits for what was taken and refuses the rest. Real store (PGlite;
// PostgreSQL too with TEST_DATABASE_URL); the pool is only wrapped to count statements.
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AccessLogger } from '../../../src/memory/access-log.js';
import { selectAccess } from '../../../src/store/access-log.js';
import { nextAccess } from '../../../src/memory/retention.js';
import type { AccessRecord } from '../../../src/memory/retention.js';
import type { Store } from '../../../src/store/index.js';
import { backends, freshStores, vec } from '../../store/backends.js';

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
  const open = freshStores(backend);
  const seed = async (store: Store, userId: string, n: number) =>
    (await store.memories.insert({ userId }, Array.from({ length: n }, (_, i) => ({ data: `fact ${i}`, vector: vec(i) })))).map((m) => m.id);
  const access = async (store: Store, id: string) =>
    (await store.database.pool.query<{ recallCount: number; qualityEma: number }>(selectAccess(store.tables, id))).rows[0] ?? null;

  it('sends nothing on the caller\'s turn; searches queued together go as one statement, folded in order', async () => {
    const store = await open();
    const [a, b] = await seed(store, 'turn', 2);
    const db = counted(store.database.pool);
    const log = new AccessLogger(db.pool, store.tables, () => NOW);
    const qs = [0.9, 0.55, 1, 0.7, 0.3, 0.8, 0.65, 0.95];
    let expected: AccessRecord | undefined;
    for (const q of qs) {
      // b twice in one search counts once, with its best quality.
      log.record({ userId: 'turn' }, [{ id: a!, score: q }, { id: b!, score: 0.6 }, { id: b!, score: 0.7 }]);
      if (q >= 0.5) expected = nextAccess(expected, q, NOW);
    }
    await Promise.resolve();
    expect(db.sent()).toBe(0);
    await log.flush();
    expect(db.sent()).toBe(1);
    const row = await access(store, a!);
    expect(row?.recallCount).toBe(6);
    expect(row?.qualityEma).toBeCloseTo(expected!.qualityEma, 14);
    expect(await access(store, b!)).toMatchObject({ recallCount: 6, qualityEma: 0.7 });
  });

  it('one statement per scope in a batch; later searches apply on top of earlier writes', async () => {
    const store = await open();
    const users = ['s1', 's2', 's3'];
    const ids = await Promise.all(users.map(async (u) => (await seed(store, u, 1))[0]!));
    const db = counted(store.database.pool);
    const log = new AccessLogger(db.pool, store.tables, () => NOW);
    for (let round = 0; round < 2; round++) users.forEach((u, i) => log.record({ userId: u }, [{ id: ids[i]!, score: 0.6 }, { id: ids[(i + 1) % 3]!, score: 1 }]));
    await log.flush();
    expect(db.sent()).toBe(3);
    // Another user's memory in the results is never logged for the searcher: each row saw only its owner's searches.
    for (const id of ids) expect(await access(store, id)).toMatchObject({ recallCount: 2, qualityEma: 0.6 });
    log.record({ userId: 's1' }, [{ id: ids[0]!, score: 1 }]);
    await log.flush();
    expect((await access(store, ids[0]!))?.qualityEma).toBeCloseTo(0.3 * 1 + 0.7 * 0.6, 14);
  });

  it('at most `writers` statements at once; every recall lands', async () => {
    const store = await open();
    const [a] = await seed(store, 'busy', 1);
    const db = counted(store.database.pool);
    const log = new AccessLogger(db.pool, store.tables, () => NOW, { writers: 1, lingerMs: 0 });
    const scopes = Array.from({ length: 12 }, (_, i) => ({ userId: i === 0 ? 'busy' : `idle-${i}` }));
    for (let i = 0; i < 60; i++) {
      log.record(scopes[i % scopes.length]!, [{ id: a!, score: 0.9 }]);
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await log.flush();
    expect(db.maxInFlight()).toBe(1);
    expect(await access(store, a!)).toMatchObject({ recallCount: 5 });
  });

  it('skips searches with nothing that counts, drops beyond the queue bound, and refuses recalls after close()', async () => {
    const store = await open();
    const [a] = await seed(store, 'bound', 1);
    const db = counted(store.database.pool);
    const log = new AccessLogger(db.pool, store.tables, () => NOW, { maxQueued: 3 });
    log.record({ userId: 'bound' }, []);
    log.record({ userId: 'bound' }, [{ id: a!, score: 0.2 }]);
    await log.flush();
    expect(db.sent()).toBe(0);
    for (let i = 0; i < 5; i++) log.record({ userId: 'bound' }, [{ id: a!, score: 0.9 }]);
    await log.close();
    expect(db.sent()).toBe(1);
    expect((await access(store, a!))?.recallCount).toBe(3);
    log.record({ userId: 'bound' }, [{ id: a!, score: 0.9 }]);
    await log.flush();
    expect(db.sent()).toBe(1);
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
    expect((await access(store, a!))?.recallCount).toBe(1);
  });
});
