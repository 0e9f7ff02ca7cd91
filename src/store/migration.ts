/**
 * What one numbered migration is (migrations.ts runs the list; migrations/ holds the ones of the job, extraction,
 * access-log and plan tables).
 * @module
 */
import type pg from 'pg';
import type { CollectionConfig } from './config.js';
import type { Tables } from './sql.js';

/** HNSW on `vector` supports at most 2000 dimensions (pgvector); above that searches are exact scans. */
export const HNSW_MAX_DIMS = 2000;

export interface MigrationContext {
  client: pg.PoolClient;
  tables: Tables;
  collection: CollectionConfig;
}

export interface Migration {
  version: number;
  name: string;
  up(ctx: MigrationContext): Promise<void>;
  /**
   * Puts back what this migration added to the memories table when that table was dropped and re-created outside the
   * plugin (Mem0's Python store resets a collection that way). Migrations that only touch other tables have none.
   */
  readopt?(ctx: MigrationContext): Promise<void>;
}
