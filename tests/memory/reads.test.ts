// The engine's reads (src/memory/reads.ts): run now, never queued, and bounded by the tool's deadline — a slow
// embedder or a locked table answers TIMEOUT instead of hanging the workflow, and leaves nothing waiting behind.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryReads } from '../../src/memory/reads.js';
import type { CallOptions } from '../../src/memory/api.js';
import { backends } from '../store/backends.js';
import { eventually, fakeProviders } from '../helpers/fake-providers.js';
import { hold } from '../helpers/hold.js';

const all = backends();
afterAll(async () => {
  for (const b of all) await b.close();
});

const call = (timeoutSeconds = 15): CallOptions => ({ timeoutSeconds, signal: new AbortController().signal });

describe.each(all.map((b) => [b.name, b] as const))('reads on %s', (_name, backend) => {
  it('a slow embedder answers TIMEOUT at the deadline (an embedding held back, a 0.5 s bound), then reads work again', async () => {
    const store = await backend.open(await backend.freshConfig());
    const embedding = hold();
    try {
      const providers = fakeProviders();
      const reads = memoryReads({ store, providers, maxConcurrent: 4 });
      providers.embedHold = () => embedding.released;
      await expect(reads.search({ scope: { userId: 'z' }, query: 'anything', topK: 5 }, call(0.5))).rejects.toMatchObject({ code: 'timeout' });
      providers.embedHold = null;
      expect(await reads.getAll({ scope: { userId: 'z' }, limit: 5 }, call())).toEqual({ results: [] });
    } finally {
      embedding.release();
      await store.close();
    }
  });
});

it.skipIf(!process.env.TEST_DATABASE_URL)('reads blocked by LOCK TABLE answer TIMEOUT, their statements are cancelled and every connection comes back', async () => {
  const pgBackend = all.find((b) => b.name === 'postgres')!;
  const store = await pgBackend.open(await pgBackend.freshConfig({ maxconn: 3 }));
  const reads = memoryReads({ store, providers: fakeProviders(), maxConcurrent: 2 });
  const locker = await (await pgBackend.pool()).connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${store.tables.memories} IN ACCESS EXCLUSIVE MODE`);
    // Without the bound these would wait for the lock forever (and the test would time out).
    const answers = await Promise.allSettled([
      reads.getAll({ scope: { userId: 'l' }, limit: 5 }, call(1)),
      reads.search({ scope: { userId: 'l' }, query: 'x', topK: 5 }, call(1)),
      reads.get({ memoryId: randomUUID() }, call(1)),
    ]);
    for (const a of answers) expect(a).toMatchObject({ status: 'rejected', reason: { code: 'timeout' } });
    await eventually(async () => {
      const waiting = await locker.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()");
      const pool = store.database.pool;
      return waiting.rows[0].n === 0 && pool.waitingCount === 0 && pool.idleCount === pool.totalCount && pool.totalCount <= 3;
    }, 3000);
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
  expect(await reads.getAll({ scope: { userId: 'l' }, limit: 5 }, call(1))).toEqual({ results: [] });
  await store.close();
});
