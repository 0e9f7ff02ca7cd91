/**
 * Write-ahead plans of queued jobs over an external vector store, in the state database: `<collection>_job_plans`,
 * one row per job (`job_id` is the queue's job id). The queue's exactly-once guarantee (effect and completion in one
 * transaction) cannot cover a write to another system, so a job over an external store:
 * 1. stores its plan (ids, vectors, payloads, history rows) with {@link savePlan}: `ON CONFLICT DO NOTHING`, then
 *    reads the row back, so a re-run of the job gets the plan of its first attempt, never a new one;
 * 2. applies it to the vector store (`executePlan`);
 * 3. commits history rows + job completion + {@link deletePlan} in the job's completion transaction.
 * A crash anywhere before 3 leaves the plan row; the re-run applies the stored plan again (`replayPlan`: completes
 * what is missing, never resurrects a memory deleted meanwhile nor overwrites a later change) and completes.
 *
 * The table is created by migration 8 of every collection (migrations/job-plans.ts; it stays empty unless the
 * memories live in an external store). The plan itself is the external repository's `WritePlan`, stored as JSON.
 * @module
 */
import { jobsTable, LeaseLostError } from './jobs.js';
import type { Queryable } from './pool.js';
import type { Tables } from './sql.js';
import { indexName } from './tables.js';

export function plansTable(t: Tables): string {
  return `${t.schema}.${indexName(t, 'job_plans')}`;
}


/**
 * Stores `plan` for the job unless one is stored already; returns the stored one and whether it was already there.
 * `attempt` fences the insert like every write of a job attempt: it is stored only while this attempt still holds
 * the job (`retry_count`, state `active`). An attempt that lost its lease (its job re-run, perhaps completed, by
 * another worker) gets {@link LeaseLostError} here, before it can write a plan of its own to the vector store.
 */
export async function savePlan<Plan>(
  db: Queryable, t: Tables, jobId: string, plan: Plan, attempt?: { retryCount: number },
): Promise<{ plan: Plan; replay: boolean }> {
  const inserted = attempt
    ? await db.query(
      `INSERT INTO ${plansTable(t)} (job_id, plan)
        SELECT $1::uuid, $2::jsonb WHERE EXISTS (SELECT 1 FROM ${jobsTable(t)} WHERE id = $1::uuid AND retry_count = $3 AND state = 'active')
        ON CONFLICT (job_id) DO NOTHING`,
      [jobId, JSON.stringify(plan), attempt.retryCount],
    )
    : await db.query(
      `INSERT INTO ${plansTable(t)} (job_id, plan) VALUES ($1::uuid, $2::jsonb) ON CONFLICT (job_id) DO NOTHING`,
      [jobId, JSON.stringify(plan)],
    );
  if (inserted.rowCount === 1) return { plan, replay: false };
  const stored = await loadPlan<Plan>(db, t, jobId);
  if (!stored) {
    if (attempt) throw new LeaseLostError(jobId);
    throw new Error(`the plan of job ${jobId} vanished while it was being stored`);
  }
  return { plan: stored, replay: true };
}

export async function loadPlan<Plan>(db: Queryable, t: Tables, jobId: string): Promise<Plan | null> {
  const res = await db.query<{ plan: Plan }>(`SELECT plan FROM ${plansTable(t)} WHERE job_id = $1::uuid`, [jobId]);
  return res.rows[0]?.plan ?? null;
}

export async function deletePlan(db: Queryable, t: Tables, jobId: string): Promise<void> {
  await db.query(`DELETE FROM ${plansTable(t)} WHERE job_id = $1::uuid`, [jobId]);
}
