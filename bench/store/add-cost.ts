/**
 * Where an `infer=false` add's database time goes (`node bench/store/run.mjs add-cost`, prints only; issue 16): ours'
 * table filled to BENCH_SIZE rows (default 10 000) through the very statement an add sends, then that statement timed
 * sequentially on one connection, first with every index and then with one index dropped at a time (and rebuilt
 * after), in two rounds. `added_hash_idx` stays: the statement's duplicate check names it. Runs in a database of its
 * own, `mem0_addcost`, created and dropped here, on BENCH_DATABASE_URL or TEST_DATABASE_URL.
 * @module
 */
import os from 'node:os';
import pg from 'pg';
import { openStore, parseStoreConfig } from '../../src/store/index.js';
import { applySessionSettings } from '../../src/store/pool.js';
import { Dataset } from './data.js';
import { rawAddStatement } from './sides.js';

const serverUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!serverUrl) throw new Error('add-cost needs a PostgreSQL server: set BENCH_DATABASE_URL or TEST_DATABASE_URL (bash scripts/test-db.sh start)');
const SIZE = Number(process.env.BENCH_SIZE ?? 10_000);
const base = new URL(serverUrl);
const admin = new pg.Client({ connectionString: base.toString() });
await admin.connect();
await admin.query('DROP DATABASE IF EXISTS mem0_addcost');
await admin.query('CREATE DATABASE mem0_addcost');
const url = new URL(base); url.pathname = '/mem0_addcost';
const store = await openStore(parseStoreConfig({ provider: 'pgvector', config: { connection_string: url.toString(), collection_name: 'probe', embedding_model_dims: 384 } }));
const { tables } = store;
const ds = new Dataset(384, 1000);
let serial = 0;
const addSql = (i: number) => {
  const m = ds.memory(i);
  return rawAddStatement(tables, m, `${m.text} #${serial++}`);
};
const pool = new pg.Pool({ connectionString: url.toString(), max: 1, onConnect: applySessionSettings } as pg.PoolConfig);
// Filled through the same statement, one add at a time, as the table grows in use.
for (let i = 0; i < SIZE; i++) await pool.query(addSql(i));
await pool.query(`ANALYZE ${tables.memories}`);
const idx = (await pool.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1`, [tables.memories.split('.').pop()!.replace(/"/g, '')])).rows;
console.log(`${SIZE} rows; indexes: ${idx.map((r) => r.indexname).join(', ')}`);
let next = SIZE + 40_000;
async function time(n: number): Promise<number> {
  const qs = Array.from({ length: n }, () => addSql(next++));
  const t0 = performance.now();
  for (const q of qs) await pool.query(q);
  return (performance.now() - t0) / n;
}
await time(200);
const variants: Array<[string, string | null]> = [['all indexes', null], ...idx.filter((r) => !/pkey|added_hash/.test(r.indexname)).map((r) => [`without ${r.indexname}`, r.indexname] as [string, string])];
for (let round = 0; round < 2; round++) {
  for (const [name, drop] of variants) {
    const def = drop ? idx.find((r) => r.indexname === drop)!.indexdef : null;
    if (drop) await pool.query(`DROP INDEX ${drop}`);
    const ms = await time(400);
    console.log(`round ${round + 1}: ${name}: ${ms.toFixed(3)} ms per add (load ${os.loadavg()[0]!.toFixed(2)})`);
    if (def) await pool.query(def);
  }
}
await pool.end();
await store.close();
await admin.query('DROP DATABASE mem0_addcost');
await admin.end();
