/**
 * 100 000 memories in one scope: forgetting walks them in pages, so the rows held at once never exceed the batch
 * size and the JS heap stays flat. Prints the time and memory figures it measured (stderr).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { forgetMemories } from '../../../src/jobs/forgetting/forget.js';
import { accessLogTable, selectRetentionRows } from '../../../src/store/access-log.js';
import type { Store } from '../../../src/store/index.js';
import { backends } from '../../store/backends.js';

const N = 100_000;
const BATCH = 1000;
const NOW = new Date('2026-03-01T12:00:00.000Z');
const MB = 1024 * 1024;

/** The pool, counting the rows of every result it hands back (to show no query returns more than a page). */
function observed(pool: pg.Pool): { pool: pg.Pool; maxRows: () => number } {
  let max = 0;
  const proxy = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver);
      return async (...args: unknown[]) => {
        const res = await (target.query as (...a: unknown[]) => Promise<pg.QueryResult>)(...args);
        max = Math.max(max, res.rows?.length ?? 0);
        return res;
      };
    },
  });
  return { pool: proxy, maxRows: () => max };
}

/** A garbage collector to call, so heap samples show live data rather than garbage not yet collected. */
const gc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * Runs `fn`, collecting garbage and sampling the heap every 50 ms (and RSS, which also counts PGlite's WASM memory);
 * returns the peaks above the starting values, so `heapMb` is the most live JS data `fn` held at once.
 */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; heapMb: number; rssMb: number }> {
  gc();
  const start = process.memoryUsage();
  let heap = start.heapUsed;
  let rss = start.rss;
  const sample = () => {
    gc();
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    rss = Math.max(rss, m.rss);
  };
  const timer = setInterval(sample, 50);
  const t0 = performance.now();
  try {
    const result = await fn();
    const ms = performance.now() - t0;
    sample();
    return { result, ms, heapMb: (heap - start.heapUsed) / MB, rssMb: (rss - start.rss) / MB };
  } finally {
    clearInterval(timer);
  }
}

describe.each(backends())('forgetting 100 000 memories on $name', (backend) => {
  let store: Store | null = null;
  afterAll(async () => {
    await store?.close();
    await backend.close();
  });

  it('evaluates and deletes in pages with a flat heap', { timeout: 600_000 }, async () => {
    store = await backend.open(await backend.freshConfig());
    const pool = store.database.pool;
    const t = store.tables;
    // Memory i is (i % 200) days old; every tenth was recalled well a day ago. With s0 = 30 a memory never recalled
    // is forgotten from 89.87 days: per 200 memories 110 are that old, 11 of them recalled, so 99 go.
    await pool.query(
      `INSERT INTO ${t.memories} (id, payload, created_at, updated_at)
       SELECT gen_random_uuid(), jsonb_build_object(
                'data', 'memory number ' || i || ' with a sentence of text to carry', 'user_id', 'big', 'n', i,
                'created_at', to_char(($2::timestamptz - (i % 200) * interval '1 day') AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
              $2::timestamptz, $2::timestamptz
         FROM generate_series(1, $1::int) AS i`,
      [N, NOW.toISOString()],
    );
    await pool.query(
      `INSERT INTO ${t.memories} (id, payload) SELECT gen_random_uuid(),
         jsonb_build_object('data', 'bystander', 'user_id', 'small', 'created_at', '2000-01-01T00:00:00+00:00')
         FROM generate_series(1, 1000)`,
    );
    await pool.query(
      `INSERT INTO ${accessLogTable(t)} (memory_id, user_id, recall_count, quality_ema, last_recalled_at)
       SELECT id, 'big', 6, 0.9, $1::timestamptz - interval '1 day' FROM ${t.memories}
        WHERE user_id = 'big' AND (payload->>'n')::int % 10 = 0`,
      [NOW.toISOString()],
    );
    await pool.query(`ANALYZE ${t.memories}`);
    const expectedForgotten = (N / 200) * 99;
    const scope = { userId: 'big' };

    const watch = observed(pool);
    const dry = await measured(() =>
      forgetMemories(watch.pool, t, { scope, dryRun: true, now: NOW, batchSize: BATCH }));
    expect(dry.result.deleted_count).toBe(expectedForgotten);
    expect(dry.result.retained_count).toBe(N - expectedForgotten);
    expect(dry.result.would_delete).toHaveLength(1000);
    expect(dry.result.would_delete_truncated).toBe(true);
    expect(watch.maxRows()).toBeLessThanOrEqual(BATCH);

    // For contrast: the same read as one query holding every row (what a non-paged evaluation would do).
    const whole = await measured(async () => (await pool.query(
      selectRetentionRows(t, scope, { after: null, limit: N, withText: true }),
    )).rows);
    expect(whole.result).toHaveLength(N);

    const real = await measured(() =>
      forgetMemories(watch.pool, t, { scope, dryRun: false, now: NOW, batchSize: BATCH }));
    expect(real.result).toEqual({ deleted_count: expectedForgotten, retained_count: N - expectedForgotten, dry_run: false, orphans: 0 });
    expect(watch.maxRows()).toBeLessThanOrEqual(BATCH);
    const left = await pool.query<{ user_id: string; n: number }>(
      `SELECT user_id, count(*)::int AS n FROM ${t.memories} GROUP BY user_id ORDER BY user_id`,
    );
    expect(left.rows).toEqual([{ user_id: 'big', n: N - expectedForgotten }, { user_id: 'small', n: 1000 }]);
    const deletes = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.history} WHERE event = 'DELETE'`);
    expect(deletes.rows[0]!.n).toBe(expectedForgotten);

    // A page of 1000 rows is a few hundred kilobytes of live data; all 100 000 rows are tens of megabytes.
    expect(whole.heapMb).toBeGreaterThan(20);
    expect(dry.heapMb).toBeLessThan(8);
    expect(real.heapMb).toBeLessThan(8);
    process.stderr.write(
      `[forgetting scale] ${backend.name}: dry run ${N} rows ${(dry.ms / 1000).toFixed(1)} s, peak heap +${dry.heapMb.toFixed(1)} MB, ` +
        `peak RSS +${dry.rssMb.toFixed(1)} MB; real run (deleted ${real.result.deleted_count}) ${(real.ms / 1000).toFixed(1)} s, ` +
        `peak heap +${real.heapMb.toFixed(1)} MB, peak RSS +${real.rssMb.toFixed(1)} MB; max rows per query ${watch.maxRows()}; ` +
        `contrast, all rows in one query: ${(whole.ms / 1000).toFixed(1)} s, peak heap +${whole.heapMb.toFixed(1)} MB\n`,
    );
  });
});
