/**
 * The three tables of the extraction orchestration, one set per collection, next to the memories they feed:
 * - `<collection>_extraction_checkpoints`: one row per (user, app), the checkpoint as JSON plus a `version` that
 *   every save compares and bumps (compare-and-set); never stored as a memory.
 * - `<collection>_extraction_leases`: one row per (user, app) while a run holds it. `holder` is a fresh UUID per
 *   acquisition: it is the fencing token every later write of that run names.
 * - `<collection>_extraction_tasks`: one row per task from the moment the tool answers ACCEPTED (never the Dify key).
 * Names are derived like the store's own (`indexName`: shortened with a hash when too long) and quoted once here.
 * @module
 */
import type { Tables } from './sql.js';
import { indexName } from './tables.js';

export interface ExtractionTables {
  checkpoints: string;
  leases: string;
  tasks: string;
}

export function extractionTables(t: Tables): ExtractionTables {
  return {
    checkpoints: `${t.schema}.${indexName(t, 'extraction_checkpoints')}`,
    leases: `${t.schema}.${indexName(t, 'extraction_leases')}`,
    tasks: `${t.schema}.${indexName(t, 'extraction_tasks')}`,
  };
}

export const TASK_STATUSES = ['running', 'completed', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** DDL run by the store migration `extraction_tables`. */
export function createExtractionTables(t: Tables): string[] {
  const x = extractionTables(t);
  return [
    `CREATE TABLE ${x.checkpoints} (
      user_id text NOT NULL,
      app_id text NOT NULL,
      checkpoint jsonb NOT NULL,
      conversations_count integer NOT NULL CHECK (conversations_count >= 0),
      version bigint NOT NULL CHECK (version >= 1),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, app_id)
    )`,
    // The TTL cleaner scans by age.
    `CREATE INDEX ${indexName(t, 'extraction_checkpoints_age_idx')} ON ${x.checkpoints} (updated_at)`,
    `CREATE TABLE ${x.leases} (
      user_id text NOT NULL,
      app_id text NOT NULL,
      holder uuid NOT NULL UNIQUE,
      task_id text NOT NULL,
      acquired_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (user_id, app_id)
    )`,
    `CREATE TABLE ${x.tasks} (
      task_id text PRIMARY KEY,
      app_id text NOT NULL,
      run_id text,
      mode text NOT NULL CHECK (mode IN ('async', 'sync')),
      owner text NOT NULL,
      status text NOT NULL CHECK (status IN (${TASK_STATUSES.map((s) => `'${s}'`).join(', ')})),
      progress double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
      user_ids jsonb NOT NULL,
      user_count integer NOT NULL CHECK (user_count >= 0),
      params jsonb NOT NULL,
      window_start timestamptz NOT NULL,
      window_end timestamptz NOT NULL,
      deadline timestamptz NOT NULL,
      counters jsonb NOT NULL,
      results jsonb NOT NULL DEFAULT '{}'::jsonb,
      error text,
      final_report jsonb,
      started_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      heartbeat_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`,
    // Start-up and status reads look for running tasks whose owner stopped beating.
    `CREATE INDEX ${indexName(t, 'extraction_tasks_running_idx')} ON ${x.tasks} (heartbeat_at) WHERE status = 'running'`,
    // Pruning deletes finished tasks by age.
    `CREATE INDEX ${indexName(t, 'extraction_tasks_finished_idx')} ON ${x.tasks} (finished_at) WHERE status <> 'running'`,
  ];
}
