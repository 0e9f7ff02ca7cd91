/**
 * The orchestration under concurrency and failure, on PGlite (and PostgreSQL when TEST_DATABASE_URL is set): two
 * orchestrators (two pools, two process ids: two "processes") racing for one user's lease, compare-and-set conflicts
 * on checkpoint saves, lease fencing, a process that dies mid-task and the next start, and the cleaners
 * forget_memories plugs in.
 */
import type pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointConflictError, CheckpointStore } from '../../../src/store/extraction-checkpoints.js';
import { LeaseStore } from '../../../src/store/extraction-leases.js';
import { extractionCleaners } from '../../../src/jobs/extraction/service.js';
import { extractionTables } from '../../../src/store/extraction-tables.js';
import { emptyCounters, INTERRUPTED_ERROR } from '../../../src/store/extraction-tasks.js';
import { emptyUserCheckpoint } from '../../../src/jobs/extraction/user.js';
import type { UserCheckpoint } from '../../../src/store/extraction-checkpoints.js';
import type { CleanupRequest } from '../../../src/jobs/forgetting/service.js';
import { useFakeDify } from '../../helpers/use-fake-dify.js';
import { useFakeModel } from '../../helpers/use-fake-model.js';
import { hold } from '../../helpers/hold.js';
import { backends } from '../../store/backends.js';
import { DAY, makeWorld, MIDNIGHT, turns, until } from './orchestration-fixture.js';
import type { World } from './orchestration-fixture.js';

const dify = useFakeDify();
// Each world scripts the model anew; the reset before every test drops the last test's requests and answers.
const openai = useFakeModel({ dims: 8, resetEach: true });

const checkpointWith = (ids: string[]): UserCheckpoint => ({
  ...emptyUserCheckpoint(),
  conversations: Object.fromEntries(ids.map((id) => [id, { last_processed_message_id: `${id}-m`, processed_range_start: 1, processed_range_end: 2 }])),
});

/** A pool whose connection can be cut, as when the process holding it is killed: every later query fails. */
function severable(pool: pg.Pool): { pool: pg.Pool; cut(): void } {
  let cut = false;
  const proxy = {
    query: (...args: unknown[]) => (cut ? Promise.reject(new Error('connection lost (process killed)')) : (pool.query as (...a: unknown[]) => Promise<unknown>)(...args)),
  };
  return { pool: proxy as unknown as pg.Pool, cut: () => (cut = true) };
}

describe.each(backends())('extraction concurrency on $name', (backend) => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld(backend, dify, openai);
    return () => w.close();
  });
  afterAll(() => backend.close());

  it('lease: racing acquirers, exactly one wins; renew/release are fenced by the holder; expiry frees it', async () => {
    const leases = new LeaseStore(w.store.database.pool, w.store.tables);
    const other = new LeaseStore(w.store.database.pool, w.store.tables);
    // A lease of 2 s: the race and the checks below must fit in it (a short one let a loaded machine's late
    // acquirer take an expired lease), then the test waits it out.
    const got = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? leases : other).acquire('ana', w.app, `t${i}`, 2000)));
    const winners = got.filter((l) => l !== null);
    expect(winners).toHaveLength(1);
    const first = winners[0]!;
    expect(await leases.acquire('ana', w.app, 'late', 2000)).toBeNull();
    // Another user or app is independent.
    expect(await leases.acquire('ana', `${w.app}-2`, 'x', 2000)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 2100));
    const second = await other.acquire('ana', w.app, 'takeover', 60_000);
    expect(second).not.toBeNull();
    expect(second!.holder).not.toBe(first.holder);
    // The first holder's lease is gone: it can neither renew nor release the new one.
    expect(await leases.renew(first, 60_000)).toBe(false);
    await leases.release(first);
    expect(await leases.acquire('ana', w.app, 'third', 60_000)).toBeNull();
    expect(await other.renew(second!, 60_000)).toBe(true);
    await other.release(second!);
    expect(await leases.acquire('ana', w.app, 'fourth', 60_000)).not.toBeNull();
  });

  it('checkpoint CAS: a save from a stale version is refused (no lost update), racing first saves have one winner', async () => {
    const store = new CheckpointStore(w.store.database.pool, w.store.tables);
    const inserts = await Promise.allSettled([1, 2, 3, 4].map((n) =>
      store.save({ userId: 'ana', appId: w.app, checkpoint: checkpointWith([`c${n}`]), expected: 0, holder: null })));
    expect(inserts.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of inserts) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(CheckpointConflictError);

    // Two runs load version 1; the first save wins, the second is told, and the first's data is what is stored.
    const a = await store.load('ana', w.app);
    const b = await store.load('ana', w.app);
    expect(a.version).toBe(1);
    expect(await store.save({ userId: 'ana', appId: w.app, checkpoint: checkpointWith(['from-a']), expected: a.version, holder: null })).toBe(2);
    const lost = await store.save({ userId: 'ana', appId: w.app, checkpoint: checkpointWith(['from-b']), expected: b.version, holder: null }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(CheckpointConflictError);
    expect(lost).toMatchObject({ reason: 'version' });
    const now = await store.find('ana', w.app);
    expect(Object.keys(now!.checkpoint.conversations)).toEqual(['from-a']);
    expect(now!.version).toBe(2);
  });

  it('checkpoint saves are fenced by the lease: a run whose lease was taken over cannot write', async () => {
    const store = new CheckpointStore(w.store.database.pool, w.store.tables);
    const leases = new LeaseStore(w.store.database.pool, w.store.tables);
    // 2 s: the first save must come within it, even on a loaded machine; then the test waits it out.
    const old = (await leases.acquire('ana', w.app, 'slow-run', 2000))!;
    expect(await store.save({ userId: 'ana', appId: w.app, checkpoint: checkpointWith(['a']), expected: 0, holder: old.holder })).toBe(1);
    await new Promise((r) => setTimeout(r, 2100));
    const fresh = (await leases.acquire('ana', w.app, 'new-run', 60_000))!;
    const refused = await store.save({ userId: 'ana', appId: w.app, checkpoint: checkpointWith(['stale']), expected: 1, holder: old.holder }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'CheckpointConflictError', reason: 'lease' });
    expect(await store.save({ userId: 'ana', appId: w.app, checkpoint: checkpointWith(['a', 'b']), expected: 1, holder: fresh.holder })).toBe(2);
  });

  it('two orchestrators (two pools, two process ids) racing for one user: only one runs it', async () => {
    for (let k = 0; k < 3; k++) dify.addConversation(w.app, 'dan', { start: MIDNIGHT - DAY + 600 * (k + 1), turns: turns(`dan c${k}`, 1) });
    // The model is held until one run has finished, so the winner holds its lease while the other asks (had both
    // run, neither could finish and this test would time out).
    const model = hold();
    w.llm.onClassify = () => ({ after: model.released, then: JSON.stringify({ type: 'SEMANTIC' }) });
    const second = await backend.open(w.config);
    const a = w.orchestrator({ processId: 'proc-A' });
    const b = w.orchestrator({ processId: 'proc-B' }, second);
    await Promise.all([a.init(), b.init()]);
    try {
      const [ta, tb] = await Promise.all([a.start(w.request({ userIds: ['dan'] })), b.start(w.request({ userIds: ['dan'] }))]);
      void Promise.race([a.settled(ta.task_id), b.settled(tb.task_id)]).finally(() => model.release());
      await Promise.all([a.settled(ta.task_id), b.settled(tb.task_id)]);
      const reports = await Promise.all([a.status(ta.task_id), b.status(tb.task_id)]);
      const users = reports.map((r) => (r.final_report as { users: Array<{ status: string; reason: string }> }).users[0]!);
      expect(users.map((u) => u.status).sort()).toEqual(['SKIPPED', 'SUCCESS']);
      expect(users.find((u) => u.status === 'SKIPPED')).toMatchObject({ reason: 'locked' });
      expect(w.llm.classifications).toBe(3);
      expect(w.llm.extracted).toHaveLength(3);
      expect(await w.memories('dan')).toHaveLength(3);
    } finally {
      model.release();
    }
  });

  it('crash mid-task: the next start marks the task failed; the rerun continues from the saved checkpoint', async () => {
    for (let k = 0; k < 5; k++) dify.addConversation(w.app, 'cara', { start: MIDNIGHT - DAY + 600 * (k + 1), turns: turns(`cara c${k}`, 1) });
    // The third conversation's model call never comes back before the process "dies".
    w.llm.onClassify = (n) => (n === 3 ? { delayMs: 20_000, then: JSON.stringify({ type: 'SEMANTIC' }) } : undefined);
    const cable = severable(w.store.database.pool);
    const a = w.orchestrator({ processId: 'proc-A', leaseTtlMs: 600, heartbeatMs: 100, pool: cable.pool });
    const accepted = await a.start(w.request({ userIds: ['cara'] }));
    await until(() => w.llm.classifications >= 3);
    cable.cut();

    const b = w.orchestrator({ processId: 'proc-B', leaseTtlMs: 600, heartbeatMs: 100 });
    await b.init();
    // PGlite: only one process can open it, so the restart fails the task at once; PostgreSQL: once the heartbeat
    // is older than the stale limit (4 × 100 ms).
    await until(async () => (await b.status(accepted.task_id)).task_status === 'failed', 20_000);
    const failed = await b.status(accepted.task_id);
    expect(failed).toMatchObject({ task_status: 'failed', error: INTERRUPTED_ERROR });
    expect(failed.final_report).toMatchObject({ interrupted: true });
    // What was done before the crash is in the checkpoint: two conversations.
    expect(await b.checkpoint('cara', w.app)).toMatchObject({ conversations_count: 2 });

    // The dead process's lease expires by itself; the rerun picks up the three remaining conversations only.
    w.llm.onClassify = undefined;
    await new Promise((r) => setTimeout(r, 700));
    const rerun = await b.start(w.request({ userIds: ['cara'] }), { wait: true });
    expect(rerun).toMatchObject({ task_status: 'completed', processed_conversations: 3 });
    // Newest first: c4 and c3 before the crash, then c2 (whose call was cut off), c1 and c0; none twice.
    expect(w.llm.extracted).toEqual(['cara c4 fact 0', 'cara c3 fact 0', 'cara c2 fact 0', 'cara c1 fact 0', 'cara c0 fact 0']);
    // The late owner cannot revive its task record.
    expect(await b.tasks.update({ taskId: accepted.task_id, owner: 'proc-A', progress: 0.5, counters: emptyCounters(), results: {} })).toBe(false);
    expect(await b.status(accepted.task_id)).toMatchObject({ task_status: 'failed' });
  });

  it('cleaners for forget_memories: stale checkpoints (dry run counts, leased ones kept), expired leases, old tasks', async () => {
    const pool = w.store.database.pool;
    const x = extractionTables(w.store.tables);
    const store = new CheckpointStore(pool, w.store.tables);
    for (const [user, app] of [['ana', w.app], ['ana', `${w.app}-2`], ['ana', `${w.app}-3`], ['ben', w.app]] as const) {
      await store.save({ userId: user, appId: app, checkpoint: checkpointWith(['c']), expected: 0, holder: null });
    }
    await pool.query(`UPDATE ${x.checkpoints} SET updated_at = now() - interval '100 days'`);
    const leases = new LeaseStore(pool, w.store.tables);
    await leases.acquire('ana', `${w.app}-3`, 'running', 60_000);
    await leases.acquire('zed', w.app, 'dead', 1);
    const { cleanCheckpoints, housekeeping } = extractionCleaners(pool, w.store.tables);
    const now = new Date();
    const request = (over: Partial<CleanupRequest>): CleanupRequest => ({
      userId: 'ana', appId: undefined, now, checkpointsBefore: new Date(now.getTime() - 90 * DAY * 1000), dryRun: false,
      signal: new AbortController().signal, ...over,
    });
    expect(await cleanCheckpoints(request({ dryRun: true }))).toBe(2);
    expect(await cleanCheckpoints(request({ appId: w.app, dryRun: true }))).toBe(1);
    expect((await pool.query(`SELECT 1 FROM ${x.checkpoints}`)).rowCount).toBe(4);
    expect(await cleanCheckpoints(request({ checkpointsBefore: new Date(now.getTime() - 101 * DAY * 1000) }))).toBe(0);
    expect(await cleanCheckpoints(request({}))).toBe(2);
    const left = await pool.query<{ user_id: string; app_id: string }>(`SELECT user_id, app_id FROM ${x.checkpoints} ORDER BY user_id, app_id`);
    expect(left.rows).toEqual([{ user_id: 'ana', app_id: `${w.app}-3` }, { user_id: 'ben', app_id: w.app }]);

    // Tasks: one finished long ago, one finished recently, one running.
    const o = w.orchestrator();
    await o.start(w.request({ userIds: ['nobody'] }), { wait: true });
    await o.start(w.request({ userIds: ['nobody'] }), { wait: true });
    await pool.query(`UPDATE ${x.tasks} SET finished_at = now() - interval '30 days' WHERE task_id = (SELECT task_id FROM ${x.tasks} ORDER BY started_at LIMIT 1)`);
    await new Promise((r) => setTimeout(r, 20));
    const [leaseCleaner, taskCleaner] = housekeeping;
    expect(await leaseCleaner!(request({ dryRun: true }))).toBe(1);
    expect(await taskCleaner!(request({ dryRun: true }))).toBe(1);
    expect(await leaseCleaner!(request({}))).toBe(1);
    expect(await taskCleaner!(request({}))).toBe(1);
    expect((await pool.query(`SELECT 1 FROM ${x.tasks}`)).rowCount).toBe(1);
    expect((await pool.query(`SELECT 1 FROM ${x.leases}`)).rowCount).toBe(1);
  });
});
