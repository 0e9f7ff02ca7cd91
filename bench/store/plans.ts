/**
 * What a search statement costs the database, plan by plan, on a database left by `BENCH_KEEP=1 npm run bench:store`
 * (run: `node bench/store/run.mjs plans`; prints only). For the same queries it times, on one connection and with
 * 8 connections at once:
 * - general: the statement for a scope of unknown size (both keyword plans, HNSW possible), sent unprepared, so
 *   it is parsed and planned on every call;
 * - small: the small-scope statement (scope index, exact order) sent unprepared;
 * - small, prepared: the same statement prepared once per connection, as the store sends it for a scope it knows
 *   to be small (after five runs PostgreSQL keeps one generic plan and stops planning it).
 * Settings: BENCH_SIZE (default 100000), BENCH_USERS, BENCH_DIMS, BENCH_PLAN_N (searches per block, 400),
 * BENCH_PLAN_ROUNDS (blocks per variant, alternating, 3), BENCH_PLAN_CACHE_MODE (e.g. `auto`: PostgreSQL's own
 * choice instead of the store's `force_generic_plan`).
 * @module
 */
import os from 'node:os';
import pg from 'pg';
import { applySessionSettings } from '../../src/store/pool.js';
import { searchMemories } from '../../src/store/queries.js';
import { prepared, vectorBinary } from '../../src/store/sql.js';
import type { SqlQuery } from '../../src/store/sql.js';
import { lexemeQuery, queryTerms } from '../../src/store/tokens.js';
import { Dataset } from './data.js';
import { keptDatabase } from './kept.js';

const env = process.env;
const { url, size, users, dims, tables } = keptDatabase(env);
const n = Number(env.BENCH_PLAN_N ?? 400);
const rounds = Number(env.BENCH_PLAN_ROUNDS ?? 3);

type Variant = 'general' | 'small' | 'small, prepared';
const VARIANTS: Variant[] = ['general', 'small', 'small, prepared'];

export async function main(): Promise<string> {
  const queries = new Dataset(dims, users).queries(n, 777);
  const statement = (variant: Variant, i: number): SqlQuery => {
    const query = queries[i % queries.length]!;
    const sql = searchMemories(tables, { userId: query.userId }, {
      vector: vectorBinary(query.vector), terms: queryTerms(query.text, 64).map(lexemeQuery), topK: 5, candidates: 20,
      smallScope: variant !== 'general',
    });
    return variant === 'small, prepared' ? prepared(sql) : sql;
  };
  // The store's session settings (plan_cache_mode = force_generic_plan among them); BENCH_PLAN_CACHE_MODE=auto
  // shows what PostgreSQL would choose by itself.
  const cacheMode = env.BENCH_PLAN_CACHE_MODE;
  const onConnect = async (client: pg.ClientBase) => {
    await applySessionSettings(client);
    if (cacheMode) await client.query("SELECT set_config('plan_cache_mode', $1, false)", [cacheMode]);
  };
  const pool = new pg.Pool({ connectionString: url, max: 8, onConnect } as pg.PoolConfig);
  const lines: string[] = [];
  try {
    // Same answers first: the small statement is exact, the general one may use the HNSW index; they must agree on
    // these small scopes (the bench's users hold size / users rows each).
    let same = 0;
    for (let i = 0; i < 50; i++) {
      const ids = async (v: Variant) => (await pool.query<{ id: string | null }>(statement(v, i))).rows.map((r) => r.id).join();
      if ((await ids('general')) === (await ids('small'))) same++;
    }
    lines.push(`same top 5 (general vs small): ${same}/50`);
    const plan = async (v: Variant) => {
      const sql = statement(v, 1);
      const res = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, SUMMARY) ${sql.text}`, sql.values);
      return res.rows.map((r) => r['QUERY PLAN']).filter((l) => /Planning Time|Execution Time/.test(l)).join(', ');
    };
    for (const v of ['general', 'small'] as const) lines.push(`${v}: ${await plan(v)}`);

    const times = new Map<string, { rates: number[]; ms: number[] }>();
    for (let r = 0; r < rounds; r++) {
      for (const callers of [1, 8]) {
        const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
        for (const v of order) {
          const key = `${v}|${callers}`;
          const block = times.get(key) ?? { rates: [], ms: [] };
          times.set(key, block);
          let next = 0;
          const started = performance.now();
          await Promise.all(Array.from({ length: callers }, async () => {
            for (let i = next++; i < n; i = next++) {
              const t0 = performance.now();
              await pool.query(statement(v, i));
              block.ms.push(performance.now() - t0);
            }
          }));
          block.rates.push(n / ((performance.now() - started) / 1000));
        }
      }
    }
    lines.push('', `| statement | callers | searches/s | p50 ms | p95 ms |`, '| --- | --- | --- | --- | --- |');
    for (const callers of [1, 8]) {
      for (const v of VARIANTS) {
        const { rates, ms } = times.get(`${v}|${callers}`)!;
        ms.sort((a, b) => a - b);
        const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(2);
        lines.push(`| ${v} | ${callers} | ${(rates.reduce((a, b) => a + b, 0) / rates.length).toFixed(0)} | ${q(0.5)} | ${q(0.95)} |`);
      }
    }
    lines.push('', `${new Date().toISOString()}, ${os.cpus().length} CPUs, Node ${process.version}, plan_cache_mode ${cacheMode || 'force_generic_plan'}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}, ${size} memories, ${users} users`);
  } finally {
    await pool.end();
  }
  return lines.join('\n');
}
