/**
 * EXPLAIN ANALYZE of one benchmark search on each side, against a database left by `BENCH_KEEP=1 npm run
 * bench:store` (run: `node bench/store/run.mjs explain`). Ours: the store's own search SQL with the settings the
 * store applies; mem0ai: the two statements its PGVector store sends for `Memory.search` (vector, then keyword).
 * Settings: BENCH_SIZE (default 100000), BENCH_USERS, BENCH_DIMS, BENCH_FILTER=topic|half (none by default).
 * @module
 */
import pg from 'pg';
import { searchMemories } from '../../src/store/queries.js';
import { vectorBinary } from '../../src/store/sql.js';
import { lexemeQuery, queryTerms } from '../../src/store/tokens.js';
import { Dataset } from './data.js';
import { keptDatabase } from './kept.js';

const env = process.env;
const { url, users, dims, tables, label } = keptDatabase(env);
const filterKey = env.BENCH_FILTER;
const ds = new Dataset(dims, users);
const query = ds.queries(1, 4242)[0]!;
const vector = `[${query.vector.join(',')}]`;
const filters = filterKey ? { [filterKey]: query[filterKey as 'topic' | 'half'] } : undefined;

const client = new pg.Client({ connectionString: url });
await client.connect();
// Vector literals are elided from the plans: 384 numbers per line help nobody.
const out = (title: string, rows: { 'QUERY PLAN': string }[]) =>
  process.stdout.write(`\n=== ${title}\n${rows.map((r) => r['QUERY PLAN'].replace(/'\[[-0-9.,e]+\]'/g, "'[…]'")).join('\n')}\n`);
try {
  await client.query('BEGIN');
  await client.query("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', '40', true)");
  // The statement a small scope gets (the bench's users are small), then the general one a bigger scope gets.
  for (const smallScope of [true, false]) {
    const sql = searchMemories(tables, { userId: query.userId }, {
      vector: vectorBinary(query.vector), terms: queryTerms(query.text, 64).map(lexemeQuery), topK: 5, candidates: 20, filters, smallScope,
    });
    out(`ours, ${smallScope ? 'small-scope' : 'general'} statement (${tables.memories}), user ${query.userId}, filters ${JSON.stringify(filters ?? null)}`,
      (await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql.text}`, sql.values)).rows);
  }
  await client.query('COMMIT');

  const t = `"bench_mem0_${label}"`;
  const extra = filters ? Object.entries(filters) : [];
  const cond = [`payload->>'user_id' = $3`, ...extra.map(([k], i) => `payload->>'${k}' = $${4 + i}`)].join(' AND ');
  const values = [vector, 60, query.userId, ...extra.map(([, v]) => v)];
  out(`mem0ai semantic (${t})`, (await client.query(
    `EXPLAIN (ANALYZE, BUFFERS) SELECT id, vector <=> $1::vector AS distance, payload FROM ${t} WHERE ${cond} ORDER BY distance LIMIT $2`,
    values,
  )).rows);
  out(`mem0ai keyword (${t})`, (await client.query(
    `EXPLAIN (ANALYZE, BUFFERS) SELECT id, ts_rank_cd(to_tsvector('simple', payload->>'textLemmatized'), plainto_tsquery('simple', $1)) AS score, payload
       FROM ${t} WHERE to_tsvector('simple', payload->>'textLemmatized') @@ plainto_tsquery('simple', $1) AND ${cond} ORDER BY score DESC LIMIT $2`,
    [query.text.replace(/^what about /, ''), 60, query.userId, ...extra.map(([, v]) => v)],
  )).rows);
} finally {
  await client.end();
}
