/**
 * get_job_status's side of the queue: a job row as a person reads it — a state (queued, running, waiting_retry,
 * completed, failed), how many attempts ran, when the next one is due, the last error, and the memory ids the job
 * wrote (from its completion output). Times are ISO 8601 UTC. The lookup is bounded by the call's deadline.
 * @module
 */
import { notFound } from '../../shared/errors.js';
import { bounded } from '../../memory/bounded.js';
import type { BoundedDeps } from '../../memory/bounded.js';
import type { JobStatus, MemoryApi } from '../../memory/api.js';
import type { JobQueue, JobRow, JobState } from './queue.js';
import { uuidParam } from '../../memory/params.js';

const STATES: Record<JobState, JobStatus['state']> = {
  created: 'queued',
  retry: 'waiting_retry',
  active: 'running',
  completed: 'completed',
  failed: 'failed',
};

export function jobStatusReader(deps: BoundedDeps & { queue: JobQueue }): MemoryApi['jobStatus'] {
  return async (input, options) => {
    const id = uuidParam(input.jobId, 'job_id');
    const row = await bounded(deps, options, (_service, _signal, { pool }) => deps.queue.get(id, pool));
    if (!row) throw notFound('job', id);
    return jobStatus(row);
  };
}

export function jobStatus(row: JobRow): JobStatus {
  const error = row.error && typeof row.error.message === 'string' ? { code: String(row.error.code ?? 'error'), message: row.error.message } : null;
  const output = (row.output && typeof row.output === 'object' ? row.output : {}) as Record<string, unknown>;
  return {
    job_id: row.id,
    kind: row.kind,
    state: STATES[row.state],
    // retry_count counts re-runs and grows when a retry is claimed: a waiting job has run retry_count + 1 times.
    attempts: row.state === 'created' ? 0 : row.retryCount + 1,
    max_attempts: row.retryLimit + 1,
    next_retry_at: row.state === 'retry' ? iso(row.startAfter) : null,
    // A completed job's last failed attempt is history, not its outcome.
    last_error: row.state === 'completed' ? null : error,
    memory_ids: { added: ids(output.inserted), updated: ids(output.updated), deleted: ids(output.deleted) },
    ...(typeof output.deleted_count === 'number' && { deleted_count: output.deleted_count }),
    created_at: iso(row.createdOn),
    started_at: row.startedOn ? iso(row.startedOn) : null,
    finished_at: row.completedOn ? iso(row.completedOn) : null,
  };
}

/** Completion outputs name ids as a list (add, external stores) or one id (update, delete); none as null. */
function ids(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

function iso(value: Date | string): string {
  return new Date(value).toISOString();
}
