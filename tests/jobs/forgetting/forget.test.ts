import { afterAll, describe, expect, it } from 'vitest';
import { logRecalls } from '../../../src/memory/access-log.js';
import { deleteIfStillForgotten, forgetMemories } from '../../../src/jobs/forgetting/forget.js';
import { accessLogTable } from '../../../src/store/access-log.js';
import { Forgetter, checkpointTtl } from '../../../src/jobs/forgetting/service.js';
import type { CleanupRequest } from '../../../src/jobs/forgetting/service.js';
import type { Store } from '../../../src/store/index.js';
import type { ForgettingService } from '../../../src/memory/api.js';
import { backends, freshStores, vec } from '../../store/backends.js';

const DAY = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
/** Age (ms) at which R crosses 0.05 for a memory never recalled, by base stability. */
const edge = (s0: number) => s0 * Math.log(20) * DAY;

describe.each(backends())('forgetting on $name', (backend) => {
  const open = freshStores(backend);

  type Scope = { userId: string; agentId?: string };
  const add = async (store: Store, scope: Scope, data: string, createdAt: Date, memorySubtype?: string) => {
    const [m] = await store.memories.insert(scope, [
      { data, vector: vec(data.length), createdAt, ...(memorySubtype ? { metadata: { memory_subtype: memorySubtype } } : {}) },
    ]);
    return m!.id;
  };

  /** Everything forgetting may touch, to compare before and after. */
  const snapshot = async (store: Store) => {
    const pool = store.database.pool;
    const t = store.tables;
    const [memories, history, log] = await Promise.all([
      pool.query(`SELECT id::text, payload FROM ${t.memories} ORDER BY id`),
      pool.query(`SELECT memory_id::text, event FROM ${t.history} ORDER BY memory_id, event`),
      pool.query(`SELECT * FROM ${accessLogTable(t)} ORDER BY memory_id`),
    ]);
    return { memories: memories.rows, history: history.rows, log: log.rows };
  };

  /** One scope with memories on both sides of every boundary; returns the ids expected to be forgotten. */
  const arrange = async (store: Store, scope: Scope) => {
    const forgotten: Record<string, string> = {};
    const kept: Record<string, string> = {};
    kept.justInside = await add(store, scope, 'inside the curve', ago(edge(30) - 1000));
    forgotten.justOutside = await add(store, scope, 'outside the curve', ago(edge(30) + 1000));
    kept.semantic = await add(store, scope, 'semantic lasts longer', ago(edge(30) + 1000), 'semantic');
    forgotten.episodic = await add(store, scope, 'episodic fades sooner', ago(edge(14) + 1000), 'episodic');
    // Old but recalled recently with good quality: retained.
    kept.recalled = await add(store, scope, 'recalled often', ago(400 * DAY));
    for (let i = 0; i < 4; i++) {
      await logRecalls(store.database.pool, store.tables, scope, [{ id: kept.recalled, score: 0.9 }], ago(5 * DAY));
    }
    // Naive created_at (no zone) is UTC: 10 days old, retained. Missing created_at: 3650 days, forgotten.
    kept.naive = await add(store, scope, 'naive timestamp', NOW);
    forgotten.missing = await add(store, scope, 'no timestamp', NOW);
    const pool = store.database.pool;
    await pool.query(`UPDATE ${store.tables.memories} SET payload = payload || jsonb_build_object('created_at', $2::text) WHERE id = $1`, [
      kept.naive, '2026-02-19T12:00:00',
    ]);
    await pool.query(`UPDATE ${store.tables.memories} SET payload = payload - 'created_at' WHERE id = $1`, [forgotten.missing]);
    return { forgotten, kept };
  };

  it('dry run lists exactly what the real run then deletes, and changes nothing itself', async () => {
    const store = await open();
    const scope = { userId: 'alice', agentId: 'app1' };
    const { forgotten, kept } = await arrange(store, scope);
    const before = await snapshot(store);

    const dry = await forgetMemories(store.database.pool, store.tables, { scope, dryRun: true, now: NOW, batchSize: 3 });
    expect(await snapshot(store)).toEqual(before);
    expect(dry.dry_run).toBe(true);
    expect(dry.deleted_count).toBe(3);
    expect(dry.retained_count).toBe(4);
    expect(dry.would_delete_truncated).toBe(false);
    expect(dry.would_delete!.map((w) => w.id).sort()).toEqual(Object.values(forgotten).sort());
    const byId = new Map(dry.would_delete!.map((w) => [w.id, w]));
    expect(byId.get(forgotten.justOutside!)).toMatchObject({
      memory: 'outside the curve',
      retention_info: { recall_count: 0, quality_ema: 0, recall_strength: 0, stability_days: 30, s0_used: 30, memory_subtype: null, ttl_expired: false, reason: 'low_retention' },
    });
    expect(byId.get(forgotten.justOutside!)!.retention_info.retention).toBeLessThan(0.05);
    expect(byId.get(forgotten.justOutside!)!.retention_info.age_days).toBeCloseTo(edge(30) / DAY, 4);
    expect(byId.get(forgotten.episodic!)!.retention_info).toMatchObject({ memory_subtype: 'episodic', s0_used: 14 });
    expect(byId.get(forgotten.missing!)!.retention_info).toMatchObject({ age_days: 3650, age_since_created_days: 3650 });

    const real = await forgetMemories(store.database.pool, store.tables, { scope, dryRun: false, now: NOW, batchSize: 3 });
    expect(real).toEqual({ deleted_count: 3, retained_count: 4, dry_run: false, orphans: 0 });
    const after = await snapshot(store);
    expect(after.memories.map((m) => m.id).sort()).toEqual(Object.values(kept).sort());
    for (const id of Object.values(forgotten)) {
      expect(after.history.filter((h) => h.memory_id === id).map((h) => h.event)).toEqual(['ADD', 'DELETE']);
    }
    expect(after.log.map((l) => l.memory_id)).toEqual([kept.recalled]);
    // Nothing left to forget: a second run is a no-op.
    expect(await forgetMemories(store.database.pool, store.tables, { scope, dryRun: false, now: NOW })).toEqual({
      deleted_count: 0, retained_count: 4, dry_run: false, orphans: 0,
    });
  });

  it('never touches other users or other apps; without app_id the whole user is in scope', async () => {
    const store = await open();
    const old = ago(1000 * DAY);
    const mine = await add(store, { userId: 'u', agentId: 'a1' }, 'mine in a1', old);
    const otherApp = await add(store, { userId: 'u', agentId: 'a2' }, 'mine in a2', old);
    const otherUser = await add(store, { userId: 'v', agentId: 'a1' }, 'theirs in a1', old);
    const noApp = await add(store, { userId: 'u' }, 'mine without app', old);
    const pool = store.database.pool;

    const appRun = await forgetMemories(pool, store.tables, { scope: { userId: 'u', agentId: 'a1' }, dryRun: false, now: NOW });
    expect(appRun).toMatchObject({ deleted_count: 1, retained_count: 0 });
    const left = async () => (await snapshot(store)).memories.map((m) => m.id).sort();
    expect(await left()).toEqual([otherApp, otherUser, noApp].sort());
    expect(await left()).not.toContain(mine);

    const userRun = await forgetMemories(pool, store.tables, { scope: { userId: 'u' }, dryRun: false, now: NOW });
    expect(userRun).toMatchObject({ deleted_count: 2, retained_count: 0 });
    expect(await left()).toEqual([otherUser]);
  });

  it('hard TTL forgets memories older than ttl days even when freshly recalled', async () => {
    const store = await open();
    const scope = { userId: 'ttl' };
    const over = await add(store, scope, 'a month and a second', ago(30 * DAY + 1000));
    const under = await add(store, scope, 'a second short of a month', ago(30 * DAY - 1000));
    await logRecalls(store.database.pool, store.tables, scope, [over, under].map((id) => ({ id, score: 1 })), NOW);
    const dry = await forgetMemories(store.database.pool, store.tables, { scope, dryRun: true, now: NOW, ttlDays: 30 });
    expect(dry.would_delete!.map((w) => [w.id, w.retention_info.ttl_expired, w.retention_info.reason])).toEqual([
      [over, true, 'ttl_expired'],
    ]);
    expect(dry.retained_count).toBe(1);
    const none = await forgetMemories(store.database.pool, store.tables, { scope, dryRun: true, now: NOW, ttlDays: null });
    expect(none.deleted_count).toBe(0);
  });

  it('caps the dry-run list but still counts everything', async () => {
    const store = await open();
    const scope = { userId: 'many' };
    for (let i = 0; i < 7; i++) await add(store, scope, `old ${i}`, ago(500 * DAY));
    const dry = await forgetMemories(store.database.pool, store.tables, { scope, dryRun: true, now: NOW, maxListed: 5, batchSize: 2 });
    expect(dry.deleted_count).toBe(7);
    expect(dry.would_delete).toHaveLength(5);
    expect(dry.would_delete_truncated).toBe(true);
  });

  it('stops between batches when aborted', async () => {
    const store = await open();
    const controller = new AbortController();
    controller.abort();
    await expect(
      forgetMemories(store.database.pool, store.tables, { scope: { userId: 'x' }, dryRun: true, now: NOW, signal: controller.signal }),
    ).rejects.toThrow();
  });
});

describe.each(backends())('deleting re-checks on $name', (backend) => {
  afterAll(async () => {
    await backend.close();
  });

  it('keeps a candidate that was recalled after the page was read', async () => {
    const store = await backend.open(await backend.freshConfig());
    try {
      const scope = { userId: 'race' };
      const [stale, recalled] = await store.memories.insert(scope, [
        { data: 'stays forgotten', vector: vec(1), createdAt: new Date(NOW.getTime() - 400 * DAY) },
        { data: 'recalled meanwhile', vector: vec(2), createdAt: new Date(NOW.getTime() - 400 * DAY) },
      ]);
      const pool = store.database.pool;
      await logRecalls(pool, store.tables, scope, [{ id: recalled!.id, score: 0.9 }], NOW);
      const outcome = await deleteIfStillForgotten(pool, store.tables, [stale!.id, recalled!.id], { scope, dryRun: false, now: NOW });
      expect(outcome).toEqual({ deleted: 1, kept: 1, relations: 0 });
      expect(await store.memories.get(scope, stale!.id)).toBeNull();
      expect(await store.memories.get(scope, recalled!.id)).not.toBeNull();
    } finally {
      await store.close();
    }
  });
});

describe.each(backends())('forget_memories service on $name', (backend) => {
  afterAll(async () => {
    await backend.close();
  });

  it('reports the tool fields, scopes app_id as agent, passes the checkpoint cut-off and dry run to cleaners', async () => {
    const store = await backend.open(await backend.freshConfig());
    try {
      const old = new Date(NOW.getTime() - 500 * DAY);
      const [inApp] = await store.memories.insert({ userId: 'svc', agentId: 'app' }, [{ data: 'old in app', vector: vec(1), createdAt: old }]);
      const [elsewhere] = await store.memories.insert({ userId: 'svc', agentId: 'other' }, [{ data: 'old elsewhere', vector: vec(2), createdAt: old }]);
      const requests: CleanupRequest[] = [];
      const housekeeping: boolean[] = [];
      const service = new Forgetter({
        pool: store.database.pool, tables: store.tables, memoryTtlDays: null, checkpointTtlDays: Number.NaN,
        clock: () => NOW,
        cleanCheckpoints: async (r) => { requests.push(r); return r.dryRun ? 2 : 3; },
        housekeeping: [async (r) => { housekeeping.push(r.dryRun); return 0; }],
      });
      // It is what tools/services.ts expects for forget_memories.
      const asTool: ForgettingService = service;
      expect(asTool).toBe(service);
      const signal = new AbortController().signal;
      const dry = await service.forget({ userId: 'svc', appId: 'app', dryRun: true }, signal);
      expect(dry).toMatchObject({ deleted_count: 1, retained_count: 0, checkpoints_cleaned: 2, dry_run: true, would_delete_truncated: false });
      expect(dry.would_delete?.map((w) => w.id)).toEqual([inApp!.id]);
      expect(requests[0]).toMatchObject({ userId: 'svc', appId: 'app', dryRun: true, now: NOW });
      expect(requests[0]!.checkpointsBefore).toEqual(new Date(NOW.getTime() - 90 * DAY));
      const real = await service.forget({ userId: 'svc', appId: 'app', dryRun: false }, signal);
      expect(real).toEqual({ deleted_count: 1, retained_count: 0, checkpoints_cleaned: 3, dry_run: false });
      expect(housekeeping).toEqual([true, false]);
      expect(await store.memories.get(null, elsewhere!.id)).not.toBeNull();
    } finally {
      await store.close();
    }
  });
});

describe('checkpointTtl', () => {
  it('uses 90 for anything invalid and at least 1 day', () => {
    expect([undefined, null, 0, -3, Number.NaN, Number.POSITIVE_INFINITY].map(checkpointTtl)).toEqual([90, 90, 90, 90, 90, 90]);
    expect(checkpointTtl(0.5)).toBe(1);
    expect(checkpointTtl(30)).toBe(30);
  });
});
