// Workers over the real store with fake providers: accepted writes applied exactly once and in order per scope,
// transient failures retried, permanent ones kept as `failed`, graceful stop hands running jobs back, the accept /
// overload / SKIP contract of the queued writes (reads are tested in tests/memory/reads.test.ts).
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openMemoryJobs } from '../../../src/jobs/queue/index.js';
import type { MemoryJobs } from '../../../src/jobs/queue/index.js';
import { EngineError, isEngineError, overloaded } from '../../../src/shared/errors.js';
import type { Store } from '../../../src/store/index.js';
import type { CallOptions } from '../../../src/memory/api.js';
import { backends } from '../../store/backends.js';
import { abortableSleep, echoFacts, eventually, fakeProviders } from '../../helpers/fake-providers.js';
import { hold } from '../../helpers/hold.js';
import type { FakeProviders } from '../../helpers/fake-providers.js';

const all = backends();
afterAll(async () => {
  for (const b of all) await b.close();
});

/** A producer that honours OVERLOAD: waits a little and tries again. */
async function untilAccepted<T>(send: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await send();
    } catch (error) {
      if (!isEngineError(error, 'overload')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const call = (timeoutSeconds = 15): CallOptions => ({ timeoutSeconds, signal: new AbortController().signal });

describe.each(all.map((b) => [b.name, b] as const))('workers on %s', (_name, backend) => {
  const opened: MemoryJobs[] = [];
  afterEach(async () => {
    for (const jobs of opened.splice(0)) await jobs.close(0);
  });

  async function setup(options: { maxConcurrent?: number; asyncMode?: boolean; providers?: FakeProviders; retryLimit?: number } = {}) {
    const store: Store = await backend.open(await backend.freshConfig());
    const providers = options.providers ?? fakeProviders();
    const jobs = openMemoryJobs({ store, providers }, {
      asyncMode: options.asyncMode ?? true,
      maxConcurrent: options.maxConcurrent ?? 4,
      queue: { retryDelayMs: 20, retryDelayMaxMs: 100, leaseMs: 2000, retryLimit: options.retryLimit ?? 10 },
      worker: { pollIntervalMs: 50, superviseIntervalMs: 500 },
    });
    opened.push(jobs);
    const drained = () => eventually(async () => (await jobs.queue.pending()) === 0, 30_000);
    return { store, providers, jobs, drained };
  }

  it('applies 200 accepted adds (half infer=false) exactly once, in acceptance order within each scope', async () => {
    const { store, jobs, drained } = await setup({ maxConcurrent: 4 });
    const accepted: string[] = [];
    for (let i = 0; i < 200; i++) {
      const user = `note number ${i} for user ${i % 7}`;
      if (i % 2 === 0) {
        const { results: [event] } = await untilAccepted(() => jobs.writes.add({ scope: { userId: `u${i % 7}` }, user }, call()));
        expect(event).toMatchObject({ event: 'ACCEPT', memory: user });
        accepted.push(event!.job_id!);
      } else {
        // infer=false is not a tool parameter: queue the verbatim path directly.
        const payload = { userId: `u${i % 7}`, user, infer: false };
        const job = await untilAccepted(async () => {
          const r = await jobs.queue.enqueue({ id: randomUUID(), kind: 'add', scope: { userId: `u${i % 7}` }, payload }, 8);
          if (r.id === null) throw overloaded(r.pending, 8);
          jobs.worker.notify();
          return r;
        });
        accepted.push(job.id);
      }
    }
    await drained();
    const counts = await jobs.queue.counts();
    expect(counts).toMatchObject({ completed: 200, failed: 0, created: 0, retry: 0, active: 0 });
    for (let u = 0; u < 7; u++) {
      const rows = await store.memories.list({ userId: `u${u}` }, { limit: 1000 });
      const expected = Array.from({ length: 200 }, (_x, i) => i).filter((i) => i % 7 === u);
      expect(rows.map((r) => r.data).sort()).toEqual(expected.map((i) => `note number ${i} for user ${u}`).sort());
      // Created in acceptance order: the scope's jobs ran one after the other.
      const byTime = [...rows].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
      const numbers = byTime.map((r) => Number(/note number (\d+)/.exec(r.data)![1]));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    }
    const job = await jobs.queue.get(accepted[0]!);
    expect(job).toMatchObject({ state: 'completed', output: { inserted: [expect.any(String)], updated: [], deleted: [] } });
  });

  it('retries transient LLM failures (half the calls fail with 503, seeded) until every job is done', async () => {
    const providers = fakeProviders();
    const base = providers.answer;
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    providers.answer = (messages) => {
      if (random() < 0.5) throw new EngineError('upstream', 'HTTP 503 from the LLM', { status: 503, role: 'llm' });
      return base(messages);
    };
    // An add makes up to two LLM calls, so an attempt succeeds with p ≈ 0.25: allow enough retries.
    const { store, jobs, drained } = await setup({ providers, maxConcurrent: 3, retryLimit: 40 });
    for (let i = 0; i < 12; i++) await untilAccepted(() => jobs.writes.add({ scope: { userId: `r${i % 3}` }, user: `fact ${i} about rain` }, call()));
    await drained();
    expect((await jobs.queue.list("failed")).map((j) => j.error)).toEqual([]);
    expect(await jobs.queue.counts()).toMatchObject({ completed: 12, failed: 0 });
    let total = 0;
    for (let u = 0; u < 3; u++) total += (await store.memories.list({ userId: `r${u}` }, { limit: 100 })).length;
    expect(total).toBe(12);
    expect(providers.llmCalls).toBeGreaterThan(12);
  });

  it('keeps a permanent failure (HTTP 400) as failed with its error, and runs the scope on', async () => {
    const providers = fakeProviders();
    const base = providers.answer;
    providers.answer = (messages) => {
      if (messages.some((m) => m.content.includes('poison'))) throw new EngineError('upstream', 'HTTP 400: bad request', { status: 400, role: 'llm' });
      return base(messages);
    };
    const { store, jobs, drained } = await setup({ providers });
    const { results: [bad] } = await jobs.writes.add({ scope: { userId: 'p' }, user: 'poison pill' }, call());
    await jobs.writes.add({ scope: { userId: 'p' }, user: 'a healthy fact' }, call());
    await drained();
    const failed = await jobs.queue.list('failed');
    expect(failed.map((j) => j.id)).toEqual([bad!.job_id]);
    expect(failed[0]).toMatchObject({ retryCount: 0, error: { code: 'upstream', status: 400, retryable: false, message: 'HTTP 400: bad request' } });
    expect((await store.memories.list({ userId: 'p' }, { limit: 10 })).map((m) => m.data)).toEqual(['a healthy fact']);
  });

  it('queues update / delete / delete_all in order with the adds of the same owner', async () => {
    const { store, jobs, drained } = await setup();
    await jobs.writes.add({ scope: { userId: 'o' }, user: 'I live in Porto' }, call());
    await drained();
    const [memory] = await store.memories.list({ userId: 'o' }, { limit: 10 });
    const update = await jobs.writes.update({ memoryId: memory!.id, text: 'I live in Lisbon' }, call());
    expect(update).toMatchObject({ event: 'ACCEPT', memory: 'I live in Lisbon' });
    await jobs.writes.add({ scope: { userId: 'o' }, user: 'I like trams' }, call());
    expect(await jobs.writes.deleteAll({ scope: { userId: 'o' }, dryRun: false }, call())).toEqual({ deleted_count: null, accepted: true, job_id: expect.any(String) });
    await jobs.writes.add({ scope: { userId: 'o' }, user: 'I moved to Faro' }, call());
    await drained();
    expect((await store.memories.list({ userId: 'o' }, { limit: 10 })).map((m) => m.data)).toEqual(['I moved to Faro']);
    const history = await store.memories.history(null, memory!.id);
    expect(history.map((h) => h.event)).toEqual(['ADD', 'UPDATE', 'DELETE']);
    await expect(jobs.writes.delete({ memoryId: memory!.id }, call())).rejects.toMatchObject({ code: 'not_found' });
  });

  it('orders a user-wide delete_all with the same user\'s jobs in an app, both ways', async () => {
    const providers = fakeProviders();
    providers.embedDelayMs = 200; // without the ordering, the delete_all would finish before the slower adds
    const { store, jobs, drained } = await setup({ providers });
    await jobs.writes.add({ scope: { userId: 'w', agentId: 'app-1' }, user: 'before the wipe' }, call());
    await jobs.writes.add({ scope: { userId: 'w', agentId: 'app-2' }, user: 'also before the wipe' }, call());
    await jobs.writes.deleteAll({ scope: { userId: 'w' }, dryRun: false }, call());
    await jobs.writes.add({ scope: { userId: 'w', agentId: 'app-1' }, user: 'after the wipe' }, call());
    await drained();
    expect((await store.memories.list({ userId: 'w' }, { limit: 10 })).map((m) => m.data)).toEqual(['after the wipe']);
  });

  it('answers SKIP for empty content and OVERLOAD beyond 2 × max_concurrent pending jobs, queueing nothing', async () => {
    const providers = fakeProviders();
    providers.embedDelayMs = 60_000; // the worker stays busy: jobs pile up
    const { jobs } = await setup({ providers, maxConcurrent: 2 });
    expect(await jobs.writes.add({ scope: { userId: 's' }, user: '   ' }, call())).toEqual({ results: [{ id: null, memory: '', event: 'SKIP' }] });
    expect(await jobs.queue.pending()).toBe(0);
    const answers = await Promise.allSettled(Array.from({ length: 10 }, (_x, i) => jobs.writes.add({ scope: { userId: `s${i}` }, user: `x ${i}` }, call())));
    const accepted = answers.filter((a) => a.status === 'fulfilled').length;
    const refused = answers.filter((a) => a.status === 'rejected' && isEngineError(a.reason, 'overload')).length;
    expect(accepted + refused).toBe(10);
    expect(accepted).toBeGreaterThanOrEqual(5);
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(await jobs.queue.pending()).toBe(accepted);
  });

  it('stops gracefully: a job running past the grace period is handed back and finished by the next worker', async () => {
    const providers = fakeProviders();
    const embedding = hold(); // the job runs until the test lets its embedding go: past any grace period
    providers.embedHold = () => embedding.released;
    const { store, jobs } = await setup({ providers });
    const { results: [event] } = await jobs.writes.add({ scope: { userId: 'g' }, user: 'slow to embed' }, call());
    await eventually(() => jobs.worker.active === 1, 20_000, 10);
    await jobs.close(100);
    expect(await jobs.queue.get(event!.job_id!)).toMatchObject({ state: 'retry', error: { code: 'released' } });
    providers.embedHold = null;
    embedding.release();
    const next = openMemoryJobs({ store, providers }, { asyncMode: true, maxConcurrent: 2, worker: { pollIntervalMs: 50 } });
    opened.push(next);
    await eventually(async () => (await next.queue.get(event!.job_id!))?.state === 'completed', 10_000);
    expect((await store.memories.list({ userId: 'g' }, { limit: 10 })).map((m) => m.data)).toEqual(['slow to embed']);
  });

  it('keeps one job claimed ahead while its slot is busy, starts it when the slot frees, and hands it back unstarted at stop', async () => {
    const providers = fakeProviders();
    const seen: string[] = [];
    providers.answer = (messages) => {
      seen.push(messages.at(-1)?.content ?? '');
      return echoFacts(messages);
    };
    // p1's and p2's embeddings are held until the test lets them go, so each state below stays put while checked.
    const first = hold();
    const second = hold();
    providers.embedHold = (texts) => (texts.some((t) => t.includes('p1')) ? first.released : texts.some((t) => t.includes('p2')) ? second.released : undefined);
    const { jobs } = await setup({ providers, maxConcurrent: 1 });
    const ids: string[] = [];
    for (const user of ['p1', 'p2', 'p3']) ids.push((await jobs.writes.add({ scope: { userId: user }, user: `prefetched ${user}` }, call())).results[0]!.job_id!);
    // One running, one ready (claimed: active with a lease), one still waiting.
    await eventually(async () => (await jobs.queue.counts()).active === 2, 20_000, 10);
    expect(jobs.worker.active).toBe(1);
    expect((await jobs.queue.counts()).created).toBe(1);
    // When the first is done the ready one runs (held in its turn) and the last one is claimed ahead.
    first.release();
    await eventually(async () => (await jobs.queue.get(ids[0]!))?.state === 'completed', 20_000, 10);
    await eventually(async () => (await jobs.queue.counts()).active === 2, 20_000, 10);
    await jobs.close(0);
    second.release();
    // Stopped at once: the running job and the ready one are handed back; the ready one never reached the LLM.
    expect(await jobs.queue.get(ids[2]!)).toMatchObject({ state: 'retry', error: { code: 'released' } });
    expect(seen.some((text) => text.includes('prefetched p2'))).toBe(true);
    expect(seen.some((text) => text.includes('prefetched p3'))).toBe(false);
    expect((await jobs.queue.counts()).active).toBe(0);
  });

  it('sync mode runs writes now, bounded the same way', async () => {
    const { store, jobs } = await setup({ asyncMode: false });
    const answer = await jobs.writes.add({ scope: { userId: 'sync' }, user: 'written right away' }, call());
    // No graph store: no `relations` key.
    expect(answer).toEqual({ results: [{ id: expect.any(String), memory: 'written right away', event: 'ADD' }] });
    expect(await store.memories.list({ userId: 'sync' }, { limit: 5 })).toHaveLength(1);
    expect(await jobs.queue.pending()).toBe(0);
  });
});

it('a handler honours its abort signal (sanity of the fake)', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  await expect(abortableSleep(5000, controller.signal)).rejects.toBeInstanceOf(EngineError);
});
