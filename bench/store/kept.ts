/**
 * The database `BENCH_KEEP=1 npm run bench:store` leaves behind, and which of its collections a probe reads
 * (explain.ts, plans.ts): BENCH_SIZE (default 100000) picks the collection, BENCH_USERS and BENCH_DIMS must be the
 * ones it was loaded with.
 * @module
 */
import { tablesFor } from '../../src/store/tables.js';
import type { Tables } from '../../src/store/sql.js';

export interface KeptDatabase {
  url: string;
  size: number;
  users: number;
  dims: number;
  /** Ours' tables of that size (`bench_ours_<label>`). */
  tables: Tables;
  /** `100k`, `10k`, … as in the table names. */
  label: string;
}

export function keptDatabase(env: NodeJS.ProcessEnv = process.env): KeptDatabase {
  const url = new URL(env.BENCH_DATABASE_URL || env.TEST_DATABASE_URL || '');
  url.pathname = '/mem0_store_bench';
  const size = Number(env.BENCH_SIZE ?? 100_000);
  const label = size >= 1000 ? `${size / 1000}k` : String(size);
  return {
    url: url.toString(), size, label,
    users: Number(env.BENCH_USERS ?? 1000),
    dims: Number(env.BENCH_DIMS ?? 384),
    tables: tablesFor({ schemaName: 'public', collectionName: `bench_ours_${label}` }),
  };
}
