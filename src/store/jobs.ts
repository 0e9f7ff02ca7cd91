/**
 * All SQL of the durable write queue, as pure functions returning `{text, values}` (the store's conventions: table
 * names quoted by {@link Tables}, every value a `$n` parameter, snake_case renamed to camelCase in the SQL).
 *
 * One queue table per collection (`<collection>_jobs`), next to the memories it writes. States follow pg-boss:
 * `created < retry < active < completed < failed`. ENUM ORDER MATTERS: `state < 'active'` means "waiting",
 * `state < 'completed'` means "unfinished" (waiting or running), `state > 'active'` means "finished".
 *
 * Ordering: a job is claimable only when no unfinished job of the same scope (its user: see `scopeKey`) has a smaller
 * `seq`.
 * The partial index on (scope, seq) over unfinished rows makes that NOT EXISTS probe one index lookup.
 * Leases: a claimed job carries `expire_at`; the worker renews it while running; a job whose lease ran out (its
 * process died) is put back to `retry` (or `failed` when out of attempts) by {@link expireLeases}.
 * Fencing: a claim hands out `(id, retry_count)`; every later write of that attempt names both and `state =
 * 'active'`, so a worker that lost its lease can neither complete nor fail a job someone else now runs.
 * @module
 */
import type { SqlQuery, Tables } from './sql.js';
import { indexName } from './tables.js';

export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const JOB_KINDS = ['add', 'update', 'delete', 'delete_all'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** `"schema"."<collection>_jobs"` (shortened with a hash like the store's own names when too long). */
export function jobsTable(t: Tables): string {
  return `${t.schema}.${indexName(t, 'jobs')}`;
}

function stateType(t: Tables): string {
  return `${t.schema}.${indexName(t, 'job_state')}`;
}

/** DDL of the queue (run by the store migration `job_queue`). */
export function createQueue(t: Tables): string[] {
  const jobs = jobsTable(t);
  const state = stateType(t);
  return [
    // ENUM order is what the partial indexes and the claim rely on; never reorder, only append after 'failed'.
    `CREATE TYPE ${state} AS ENUM (${JOB_STATES.map((s) => `'${s}'`).join(', ')})`,
    `CREATE TABLE ${jobs} (
      id uuid PRIMARY KEY,
      seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      scope text NOT NULL,
      kind text NOT NULL CHECK (kind IN (${JOB_KINDS.map((k) => `'${k}'`).join(', ')})),
      payload jsonb NOT NULL,
      run_id text,
      state ${state} NOT NULL DEFAULT 'created',
      retry_count integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
      retry_limit integer NOT NULL CHECK (retry_limit >= 0),
      retry_delay_ms integer NOT NULL CHECK (retry_delay_ms >= 0),
      retry_delay_max_ms integer NOT NULL CHECK (retry_delay_max_ms >= 0),
      lease_ms integer NOT NULL CHECK (lease_ms > 0),
      start_after timestamptz NOT NULL DEFAULT now(),
      created_on timestamptz NOT NULL DEFAULT now(),
      started_on timestamptz,
      expire_at timestamptz,
      completed_on timestamptz,
      output jsonb,
      error jsonb
    )`,
    // Waiting jobs in acceptance order: what the claim scans.
    `CREATE INDEX ${indexName(t, 'jobs_waiting_idx')} ON ${jobs} (seq) WHERE state < 'active'`,
    // Unfinished jobs per scope: the ordering probe, and the pending count of the overload guard.
    `CREATE INDEX ${indexName(t, 'jobs_scope_idx')} ON ${jobs} (scope, seq) WHERE state < 'completed'`,
    // Running jobs by lease end: what the lease reaper scans.
    `CREATE INDEX ${indexName(t, 'jobs_lease_idx')} ON ${jobs} (expire_at) WHERE state = 'active'`,
    // Finished jobs by age: what retention deletes.
    `CREATE INDEX ${indexName(t, 'jobs_finished_idx')} ON ${jobs} (completed_on) WHERE state > 'active'`,
  ];
}

/** What is stored for one job at acceptance. */
export interface NewJob {
  id: string;
  scope: string;
  kind: JobKind;
  payload: Record<string, unknown>;
  runId: string | null;
  retryLimit: number;
  retryDelayMs: number;
  retryDelayMaxMs: number;
  leaseMs: number;
}

/**
 * Inserts the job unless more than `maxPending` jobs are unfinished, in ONE statement. Returns the row (`seq`,
 * `pending` before the insert) when queued, no row when refused. The count stops at `maxPending + 1`, so a long
 * backlog costs no more than the limit. Concurrent inserts can overshoot the limit by the number of racing
 * requests (each counts before the others commit); the guard is a brake, not an exact quota.
 */
export function insertJob(t: Tables, job: NewJob, maxPending: number): SqlQuery {
  const jobs = jobsTable(t);
  return {
    text: `WITH pending AS (
        SELECT count(*)::int AS n FROM (SELECT 1 FROM ${jobs} WHERE state < 'completed' LIMIT $10::int + 1) p
      )
      INSERT INTO ${jobs} (id, scope, kind, payload, run_id, retry_limit, retry_delay_ms, retry_delay_max_ms, lease_ms)
      SELECT $1::uuid, $2::text, $3::text, $4::jsonb, $5::text, $6::int, $7::int, $8::int, $9::int
      FROM pending WHERE pending.n <= $10::int
      RETURNING seq::text AS seq, (SELECT n FROM pending) AS pending`,
    values: [job.id, job.scope, job.kind, JSON.stringify(job.payload), job.runId, job.retryLimit, job.retryDelayMs, job.retryDelayMaxMs, job.leaseMs, maxPending],
  };
}

/** Unfinished jobs (waiting + running), counted up to `cap + 1`. */
export function countPending(t: Tables, cap: number): SqlQuery {
  return {
    text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${jobsTable(t)} WHERE state < 'completed' LIMIT $1::int + 1) p`,
    values: [cap],
  };
}

/** What every read of a job row carries. */
interface JobFields {
  id: string;
  seq: string;
  scope: string;
  kind: JobKind;
  payload: Record<string, unknown>;
  runId: string | null;
  retryCount: number;
  retryLimit: number;
  createdOn: Date;
}

export interface ClaimedJobRow extends JobFields {
  leaseMs: number;
}

const CLAIMED_COLUMNS = `j.id::text AS id, j.seq::text AS seq, j.scope, j.kind, j.payload, j.run_id AS "runId",
  j.retry_count AS "retryCount", j.retry_limit AS "retryLimit", j.lease_ms AS "leaseMs", j.created_on AS "createdOn"`;

/**
 * Claims up to `limit` jobs in ONE statement: the CTE picks waiting jobs that are due and first in their scope,
 * oldest first, locking them `FOR UPDATE SKIP LOCKED` (another process's pick is skipped, never waited for); the
 * UPDATE makes them active with a lease and counts a re-run in `retry_count`.
 *
 * Two jobs of one scope are never claimed together (the later one has an unfinished earlier one). A race where an
 * earlier job of the scope commits its INSERT after a later one was accepted cannot reorder anything the callers
 * could observe: both requests were in flight at once.
 */
export function claimJobs(t: Tables, limit: number): SqlQuery {
  const jobs = jobsTable(t);
  return {
    text: `WITH next AS (
        SELECT w.id FROM ${jobs} w
        WHERE w.state < 'active' AND w.start_after <= now()
          AND NOT EXISTS (
            SELECT 1 FROM ${jobs} e WHERE e.scope = w.scope AND e.seq < w.seq AND e.state < 'completed'
          )
        ORDER BY w.seq
        LIMIT $1
        FOR UPDATE OF w SKIP LOCKED
      )
      UPDATE ${jobs} j SET
        state = 'active',
        started_on = now(),
        expire_at = now() + make_interval(secs => j.lease_ms / 1000.0),
        retry_count = CASE WHEN j.state = 'retry' THEN j.retry_count + 1 ELSE j.retry_count END
      FROM next WHERE j.id = next.id
      RETURNING ${CLAIMED_COLUMNS}`,
    values: [limit],
  };
}

/** Renews the lease of running attempts; returns the ids still held (a lost one is no longer ours). */
export function renewLeases(t: Tables, held: readonly { id: string; retryCount: number }[]): SqlQuery {
  const jobs = jobsTable(t);
  return {
    text: `UPDATE ${jobs} j SET expire_at = now() + make_interval(secs => j.lease_ms / 1000.0)
      FROM unnest($1::uuid[], $2::int[]) AS h(id, retry_count)
      WHERE j.id = h.id AND j.retry_count = h.retry_count AND j.state = 'active'
      RETURNING j.id::text AS id`,
    values: [held.map((h) => h.id), held.map((h) => h.retryCount)],
  };
}

/**
 * Locks this attempt's row for the transaction that applies the job's effect. No row: the attempt lost its lease
 * (reaped, reclaimed, or already finished) and must not write.
 */
export function lockAttempt(t: Tables, id: string, retryCount: number): SqlQuery {
  return {
    text: `SELECT id::text AS id FROM ${jobsTable(t)} WHERE id = $1 AND retry_count = $2 AND state = 'active' FOR UPDATE`,
    values: [id, retryCount],
  };
}

/** Marks this attempt completed with its output; no row when the attempt was no longer the job's current one. */
export function completeJob(t: Tables, id: string, retryCount: number, output: unknown): SqlQuery {
  return {
    text: `UPDATE ${jobsTable(t)} SET state = 'completed', completed_on = now(), expire_at = NULL, output = $3, error = NULL
      WHERE id = $1 AND retry_count = $2 AND state = 'active'
      RETURNING id::text AS id`,
    values: [id, retryCount, JSON.stringify(output ?? null)],
  };
}

/**
 * Ends a failed attempt: back to `retry` after an exponential, jittered, capped delay while retries are left and the
 * failure is transient, else `failed` for good. The delay is computed here so every process backs off alike:
 * d = min(max, base·2^retry_count), waited uniformly in [d/2, d].
 */
export function failJob(t: Tables, id: string, retryCount: number, error: unknown, retryable: boolean): SqlQuery {
  return {
    text: `UPDATE ${jobsTable(t)} SET
        state = CASE WHEN $4::boolean AND retry_count < retry_limit THEN 'retry' ELSE 'failed' END::${stateTypeRef(t)},
        start_after = CASE WHEN $4::boolean AND retry_count < retry_limit
          THEN now() + make_interval(secs => ${jitteredDelaySql('retry_count')} / 1000.0) ELSE start_after END,
        completed_on = CASE WHEN $4::boolean AND retry_count < retry_limit THEN NULL ELSE now() END,
        expire_at = NULL,
        error = $3
      WHERE id = $1 AND retry_count = $2 AND state = 'active'
      RETURNING id::text AS id, state::text AS state, start_after AS "startAfter"`,
    values: [id, retryCount, JSON.stringify(error), retryable],
  };
}

/**
 * Hands a running attempt back (shutdown before it finished): waiting again at once, without spending a retry on
 * it; the next claim counts the re-run as usual.
 */
export function releaseJob(t: Tables, id: string, retryCount: number): SqlQuery {
  return {
    text: `UPDATE ${jobsTable(t)} SET state = 'retry', start_after = now(), expire_at = NULL,
        error = jsonb_build_object('code', 'released', 'message', 'handed back at shutdown', 'retryable', true)
      WHERE id = $1 AND retry_count = $2 AND state = 'active'
      RETURNING id::text AS id`,
    values: [id, retryCount],
  };
}

function stateTypeRef(t: Tables): string {
  return stateType(t);
}

function jitteredDelaySql(attemptColumn: string): string {
  const ceiling = `least(retry_delay_max_ms::float8, retry_delay_ms::float8 * power(2, least(${attemptColumn}, 30)))`;
  return `(${ceiling} / 2 + random() * ${ceiling} / 2)`;
}

/**
 * Puts jobs whose lease ran out (their process died or hung) back to `retry`, or to `failed` when no retries are
 * left, so a job that kills its worker every time cannot loop forever. Run under {@link supervisorLock}.
 */
export function expireLeases(t: Tables): SqlQuery {
  return {
    text: `UPDATE ${jobsTable(t)} SET
        state = CASE WHEN retry_count < retry_limit THEN 'retry' ELSE 'failed' END::${stateType(t)},
        start_after = now(),
        completed_on = CASE WHEN retry_count < retry_limit THEN NULL ELSE now() END,
        expire_at = NULL,
        error = jsonb_build_object('code', 'lease_expired', 'message', 'the worker running this job stopped renewing its lease', 'retryable', true)
      WHERE state = 'active' AND expire_at < now()
      RETURNING id::text AS id, state::text AS state`,
    values: [],
  };
}

/** Deletes finished jobs older than the retention (completed and failed alike), at most `batch` per call. */
export function pruneFinished(t: Tables, retentionMs: number, batch: number): SqlQuery {
  const jobs = jobsTable(t);
  return {
    text: `DELETE FROM ${jobs} WHERE id IN (
        SELECT id FROM ${jobs} WHERE state > 'active' AND completed_on < now() - make_interval(secs => $1 / 1000.0)
        LIMIT $2
      )`,
    values: [retentionMs, batch],
  };
}

/**
 * A transaction-level advisory lock per queue table, so one process at a time runs lease expiry and retention
 * (correctness does not need it: every UPDATE re-checks its own conditions; it only avoids duplicate work).
 */
export function supervisorLock(t: Tables): SqlQuery {
  return { text: `SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked`, values: [`mem0-ts-jobs:${jobsTable(t)}`] };
}

export interface JobRow extends JobFields {
  state: JobState;
  startAfter: Date;
  startedOn: Date | null;
  completedOn: Date | null;
  output: unknown;
  error: Record<string, unknown> | null;
}

const JOB_COLUMNS = `id::text AS id, seq::text AS seq, scope, kind, payload, run_id AS "runId", state::text AS state,
  retry_count AS "retryCount", retry_limit AS "retryLimit", start_after AS "startAfter", created_on AS "createdOn",
  started_on AS "startedOn", completed_on AS "completedOn", output, error`;

export function selectJob(t: Tables, id: string): SqlQuery {
  return { text: `SELECT ${JOB_COLUMNS} FROM ${jobsTable(t)} WHERE id = $1`, values: [id] };
}

/** Jobs in one state, oldest first (e.g. the `failed` ones, for inspection). */
export function selectJobsByState(t: Tables, state: JobState, limit: number): SqlQuery {
  return {
    text: `SELECT ${JOB_COLUMNS} FROM ${jobsTable(t)} WHERE state = $1::text::${stateType(t)} ORDER BY seq LIMIT $2`,
    values: [state, limit],
  };
}

/** How many jobs are in each state. */
export function countByState(t: Tables): SqlQuery {
  return { text: `SELECT state::text AS state, count(*)::int AS n FROM ${jobsTable(t)} GROUP BY state`, values: [] };
}

/** The attempt no longer owns its job (lease expired and reaped or reclaimed): it must not write. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(jobId: string) {
    super(`job ${jobId} is no longer held by this worker (its lease expired)`);
  }
}
