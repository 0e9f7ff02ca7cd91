// The queue's SQL on the real databases: acceptance with the overload guard, claim order and per-scope ordering,
// retry/backoff, permanent failure, lease expiry and fencing, the one-transaction effect+completion, retention.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { JobQueue, LeaseLostError } from '../../../src/jobs/queue/index.js';
import type { ClaimedJob } from '../../../src/jobs/queue/index.js';
import { jobsTable } from '../../../src/store/jobs.js';
import type { Store } from '../../../src/store/index.js';
import { backends } from '../../store/backends.js';
import { sleep } from '../../helpers/fake-providers.js';

const all = backends();
afterAll(async () => {
  for (const b of all) await b.close();
});

describe.each(all.map((b) => [b.name, b] as const))('job queue on %s', (_name, backend) => {
  async function fresh(options: ConstructorParameters<typeof JobQueue>[2] = {}): Promise<{ store: Store; queue: JobQueue }> {
    const store = await backend.open(await backend.freshConfig());
    return { store, queue: new JobQueue(store.database.pool, store.tables, { retryDelayMs: 0, retryDelayMaxMs: 0, ...options }) };
  }

  function add(queue: JobQueue, userId: string, n: number, maxPending = 1000) {
    return queue.enqueue({ id: randomUUID(), kind: 'add', scope: { userId }, payload: { n } }, maxPending);
  }

  it('accepts a job durably and hands it out once, active with a lease', async () => {
    const { store, queue } = await fresh();
    const accepted = await add(queue, 'u1', 1);
    expect(accepted.id).toMatch(/^[0-9a-f-]{36}$/);
    const row = await store.database.pool.query(`SELECT state::text AS state FROM ${jobsTable(store.tables)} WHERE id = $1`, [accepted.id]);
    expect(row.rows[0]?.state).toBe('created');
    const [job, ...rest] = await queue.claim(5);
    expect(rest).toHaveLength(0);
    expect(job).toMatchObject({ id: accepted.id, kind: 'add', payload: { n: 1 }, retryCount: 0 });
    expect(await queue.claim(5)).toHaveLength(0);
    const active = await queue.get(job!.id);
    expect(active?.state).toBe('active');
    expect(await queue.complete(job!, { ok: true })).toBe(true);
    expect(await queue.get(job!.id)).toMatchObject({ state: 'completed', output: { ok: true } });
    expect(await queue.complete(job!, {})).toBe(false);
  });

  it('refuses work beyond the pending limit in the same statement, and accepts again once jobs finish', async () => {
    const { queue } = await fresh();
    for (let i = 0; i < 3; i++) expect((await add(queue, `u${i}`, i, 2)).id).not.toBeNull();
    const refused = await add(queue, 'u9', 9, 2);
    expect(refused).toEqual({ id: null, pending: 3 });
    expect(await queue.pending()).toBe(3);
    for (const job of await queue.claim(10)) await queue.complete(job, null);
    expect((await add(queue, 'u9', 9, 2)).id).not.toBeNull();
  });

  it('claims in acceptance order, never two jobs of one scope together, the next one only after the first finished', async () => {
    const { queue } = await fresh();
    const a1 = await add(queue, 'alice', 1);
    const b1 = await add(queue, 'bob', 1);
    const a2 = await add(queue, 'alice', 2);
    // The same user in one app is the same scope: a user-wide delete_all must not pass (or be passed by) it.
    const inApp = randomUUID();
    await queue.enqueue({ id: inApp, kind: 'add', scope: { userId: 'alice', agentId: 'app' }, payload: {} }, 100);
    const first = await queue.claim(10);
    expect(first.map((j) => j.id)).toEqual([a1.id, b1.id]);
    expect(await queue.claim(10)).toHaveLength(0);
    // A failed (finished) job does not block its scope either.
    await queue.fail(first[0]!, { code: 'invalid_params', message: 'bad', retryable: false });
    const next = await queue.claim(10);
    expect(next.map((j) => j.id)).toEqual([a2.id]);
    await queue.complete(next[0]!, {});
    expect((await queue.claim(10)).map((j) => j.id)).toEqual([inApp]);
  });

  it('retries a transient failure after its backoff, counting the attempt, and fails a permanent one for good', async () => {
    const { queue } = await fresh({ retryDelayMs: 2000, retryDelayMaxMs: 2000, retryLimit: 2 });
    await add(queue, 'u', 1);
    const [job] = await queue.claim(1);
    const before = Date.now();
    const next = await queue.fail(job!, { code: 'upstream', message: 'HTTP 503', retryable: true, status: 503 });
    const after = Date.now();
    expect(next?.state).toBe('retry');
    // Jittered within [1000, 2000] ms of the moment the database failed it, which lies between `before` and
    // `after` whatever the load (1 ms for rounding to milliseconds).
    const retryAt = next!.startAfter.getTime();
    expect(retryAt - before).toBeGreaterThanOrEqual(999);
    expect(retryAt - after).toBeLessThanOrEqual(2001);
    expect(await queue.claim(1)).toHaveLength(0); // not before its time (a second away at least)
    await sleep(retryAt - Date.now() + 50);
    const [again] = await queue.claim(1);
    expect(again).toMatchObject({ id: job!.id, retryCount: 1 });
    // The first attempt is fenced off: it can no longer complete or fail the job.
    expect(await queue.complete(job!, {})).toBe(false);
    const permanent = await queue.fail(again!, { code: 'upstream', message: 'HTTP 400 bad request', retryable: false, status: 400 });
    expect(permanent?.state).toBe('failed');
    const failed = await queue.list('failed');
    expect(failed.map((j) => j.id)).toEqual([job!.id]);
    expect(failed[0]?.error).toMatchObject({ code: 'upstream', status: 400, message: 'HTTP 400 bad request' });
    expect(await queue.counts()).toMatchObject({ failed: 1, created: 0, retry: 0, active: 0 });
  });

  it('stops retrying at the retry limit', async () => {
    const { queue } = await fresh({ retryLimit: 1 });
    await add(queue, 'u', 1);
    const transient = { code: 'timeout', message: 'slow', retryable: true };
    expect((await queue.fail((await queue.claim(1))[0]!, transient))?.state).toBe('retry');
    expect((await queue.fail((await queue.claim(1))[0]!, transient))?.state).toBe('failed');
  });

  it('puts a job whose lease ran out back to retry, fences the old attempt, and fails it when out of retries', async () => {
    // 2 s leases: the steps between a claim or renewal and the next check must fit in one, even on a loaded machine.
    const { queue } = await fresh({ leaseMs: 2000, retryLimit: 1 });
    await add(queue, 'u', 1);
    const [old] = await queue.claim(1);
    expect((await queue.supervise(60_000))?.expired).toEqual([]);
    await sleep(2100);
    const swept = await queue.supervise(60_000);
    expect(swept?.expired).toEqual([{ id: old!.id, state: 'retry' }]);
    const [current] = await queue.claim(1);
    expect(current?.retryCount).toBe(1);
    // The dead attempt cannot write its effect any more, nor renew.
    await expect(queue.commitWith(old!, async () => 'effect', () => null)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await queue.renew([old!])).toEqual(new Set());
    expect(await queue.renew([current!])).toEqual(new Set([current!.id]));
    expect((await queue.supervise(60_000))?.expired).toEqual([]); // renewed: still held
    await sleep(2100);
    expect((await queue.supervise(60_000))?.expired).toEqual([{ id: old!.id, state: 'failed' }]);
    expect((await queue.get(old!.id))?.error).toMatchObject({ code: 'lease_expired' });
  });

  it('commits the effect and the completion together, or neither', async () => {
    const { store, queue } = await fresh();
    await store.database.pool.query(`CREATE TABLE ${store.tables.schema}."effects_${store.tables.collection}" (job uuid PRIMARY KEY)`);
    const effects = `${store.tables.schema}."effects_${store.tables.collection}"`;
    await add(queue, 'u', 1);
    await add(queue, 'v', 2);
    const [ok, bad] = await queue.claim(2);
    await queue.commitWith(ok!, (client) => client.query(`INSERT INTO ${effects} VALUES ($1)`, [ok!.id]), () => ({ wrote: 1 }));
    await expect(
      queue.commitWith(bad!, async (client) => {
        await client.query(`INSERT INTO ${effects} VALUES ($1)`, [bad!.id]);
        throw new Error('failed after writing');
      }, () => null),
    ).rejects.toThrow('failed after writing');
    const rows = await store.database.pool.query<{ job: string }>(`SELECT job::text AS job FROM ${effects}`);
    expect(rows.rows.map((r) => r.job)).toEqual([ok!.id]);
    expect(await queue.get(ok!.id)).toMatchObject({ state: 'completed', output: { wrote: 1 } });
    expect((await queue.get(bad!.id))?.state).toBe('active');
  });

  it('writes nothing when the lease was lost, even though the effect already ran in the transaction', async () => {
    const { store, queue } = await fresh({ leaseMs: 1000, retryLimit: 1 });
    await store.database.pool.query(`CREATE TABLE ${store.tables.schema}."effects_${store.tables.collection}" (job uuid PRIMARY KEY)`);
    const effects = `${store.tables.schema}."effects_${store.tables.collection}"`;
    await add(queue, 'u', 1);
    const [old] = await queue.claim(1);
    await sleep(1100);
    expect((await queue.supervise(60_000))?.expired).toEqual([{ id: old!.id, state: 'retry' }]);
    let ran = false;
    await expect(
      queue.commitWith(old!, async (client) => {
        await client.query(`INSERT INTO ${effects} VALUES ($1)`, [old!.id]);
        ran = true;
      }, () => null),
    ).rejects.toBeInstanceOf(LeaseLostError);
    // PostgreSQL pipelines: the effect was sent behind the lock without waiting for its answer, and rolled back.
    // PGlite waits for the lock's answer, so the effect never ran there.
    expect(ran).toBe(backend.name === 'postgres');
    expect((await store.database.pool.query(`SELECT count(*)::int AS n FROM ${effects}`)).rows[0].n).toBe(0);
    expect((await queue.get(old!.id))?.state).toBe('retry');
  });

  it('does not complete a job whose effect left the transaction aborted, even if the effect swallowed the error', async () => {
    const { store, queue } = await fresh();
    await store.database.pool.query(`CREATE TABLE ${store.tables.schema}."effects_${store.tables.collection}" (job uuid PRIMARY KEY)`);
    const effects = `${store.tables.schema}."effects_${store.tables.collection}"`;
    await add(queue, 'u', 1);
    const [job] = await queue.claim(1);
    await expect(
      queue.commitWith(job!, async (client) => {
        await client.query(`INSERT INTO ${effects} VALUES ($1)`, [job!.id]);
        await client.query('SELECT 1/0').catch(() => null);
        return 'looks fine';
      }, () => ({ done: true })),
    ).rejects.toThrow();
    expect((await store.database.pool.query(`SELECT count(*)::int AS n FROM ${effects}`)).rows[0].n).toBe(0);
    expect((await queue.get(job!.id))?.state).toBe('active');
    // The attempt still holds its job and can finish it properly.
    await queue.commitWith(job!, (client) => client.query(`INSERT INTO ${effects} VALUES ($1)`, [job!.id]), () => ({ done: true }));
    expect(await queue.get(job!.id)).toMatchObject({ state: 'completed', output: { done: true } });
  });

  it('hands a running job back at shutdown without spending a retry', async () => {
    const { queue } = await fresh({ retryLimit: 0 });
    await add(queue, 'u', 1);
    const [job] = await queue.claim(1);
    expect(await queue.release(job!)).toBe(true);
    const [again] = await queue.claim(1);
    expect(again?.id).toBe(job!.id);
  });

  it('deletes finished jobs after the retention period and keeps unfinished ones', async () => {
    const { store, queue } = await fresh();
    for (let i = 0; i < 3; i++) await add(queue, `u${i}`, i);
    const [a, b] = await queue.claim(2);
    await queue.complete(a!, null);
    await queue.fail(b!, { code: 'x', message: 'x', retryable: false });
    await store.database.pool.query(`UPDATE ${jobsTable(store.tables)} SET completed_on = now() - interval '2 hours' WHERE id = $1`, [a!.id]);
    expect((await queue.supervise(3600_000))?.pruned).toBe(1);
    expect(await queue.get(a!.id)).toBeNull();
    expect((await queue.get(b!.id))?.state).toBe('failed');
    expect(await queue.counts()).toMatchObject({ created: 1, failed: 1, completed: 0 });
  });

  it('can answer the ordering probe, the claim scan and the pending count from the partial indexes', async () => {
    const { store, queue } = await fresh();
    for (let i = 0; i < 50; i++) await add(queue, `u${i % 5}`, i);
    const t = jobsTable(store.tables);
    const client = await store.database.pool.connect();
    try {
      await client.query('BEGIN');
      // Tiny tables are cheaper to scan; forbid that to see which index each query can use.
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = async (sql: string) => (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(await plan(`SELECT 1 FROM ${t} e WHERE e.scope = 'x' AND e.seq < 10 AND e.state < 'completed'`)).toMatch(/jobs_scope_idx/);
      expect(await plan(`SELECT id FROM ${t} WHERE state < 'active' ORDER BY seq LIMIT 5`)).toMatch(/jobs_waiting_idx/);
      expect(await plan(`SELECT 1 FROM ${t} WHERE state = 'active' AND expire_at < now()`)).toMatch(/jobs_lease_idx/);
      expect(await plan(`SELECT 1 FROM ${t} WHERE state > 'active' AND completed_on < now()`)).toMatch(/jobs_finished_idx/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(await queue.pending()).toBe(50);
  });
});

it.skipIf(!process.env.TEST_DATABASE_URL)('two processes claiming at once never get the same job (SKIP LOCKED)', async () => {
  const pgBackend = all.find((b) => b.name === 'postgres')!;
  const config = await pgBackend.freshConfig({ maxconn: 6 });
  const a = await pgBackend.open(config);
  const b = await pgBackend.open(config);
  try {
    const qa = new JobQueue(a.database.pool, a.tables);
    const qb = new JobQueue(b.database.pool, b.tables);
    for (let i = 0; i < 300; i++) await qa.enqueue({ id: randomUUID(), kind: 'add', scope: { userId: `u${i}` }, payload: {} }, 10_000);
    const seen = new Map<string, number>();
    const drain = async (q: JobQueue) => {
      for (;;) {
        const jobs: ClaimedJob[] = await q.claim(7);
        if (jobs.length === 0) return;
        for (const j of jobs) {
          seen.set(j.id, (seen.get(j.id) ?? 0) + 1);
          await q.complete(j, null);
        }
      }
    };
    await Promise.all([drain(qa), drain(qb), drain(qa), drain(qb)]);
    expect(seen.size).toBe(300);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  } finally {
    await a.close();
    await b.close();
  }
});
