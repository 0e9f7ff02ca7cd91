/**
 * The durable write queue of one collection: accept (insert, with the overload guard in the same statement), claim,
 * renew leases, apply an attempt's effect and its completion in one transaction, fail with retry/backoff, reap
 * expired leases, prune finished jobs, and inspect (one job, the failed ones, counts per state).
 * @module
 */
import type pg from 'pg';
import { withClient, withTransaction } from '../../store/pool.js';
import type { Tables } from '../../store/sql.js';
import { pipelined, sendTogether } from '../../store/pipeline.js';
import * as plans from '../../store/jobs.js';
import { LeaseLostError } from '../../store/jobs.js';
import type { ClaimedJobRow, JobKind, JobRow, JobState } from '../../store/jobs.js';
import type { Scope } from '../../store/queries.js';

export interface QueueOptions {
  /** Retries after the first attempt for transient failures (and lost leases). */
  retryLimit: number;
  /** Backoff base: the n-th retry waits ~min(max, base·2^n), jittered to [d/2, d]. */
  retryDelayMs: number;
  retryDelayMaxMs: number;
  /** How long a claim holds a job without renewal; a dead process's jobs come back after this. */
  leaseMs: number;
}

export const DEFAULT_QUEUE_OPTIONS: QueueOptions = {
  retryLimit: 10,
  retryDelayMs: 2_000,
  retryDelayMaxMs: 300_000,
  leaseMs: 60_000,
};

/** Who a job belongs to; jobs of one scope apply in the order they were accepted. */
/**
 * The ordering key of a scope: its user, whatever the agent. A user-wide job (delete_all without an app, an add
 * without an app whose reconciliation sees every app's memories) must not overtake or be overtaken by the same user's
 * jobs in one app, so all jobs of a user apply in acceptance order. (Keys written by earlier versions also named the
 * agent; such jobs still run, ordered among themselves.)
 */
export function scopeKey(scope: Scope): string {
  return JSON.stringify([scope.userId]);
}

export interface ClaimedJob extends ClaimedJobRow {
  /** The fence of this attempt: writes for it must still find `(id, retryCount, active)`. */
  readonly attempt: { id: string; retryCount: number };
}

export type { JobKind, JobRow, JobState };

export class JobQueue {
  readonly options: QueueOptions;

  constructor(
    readonly pool: pg.Pool,
    readonly tables: Tables,
    options: Partial<QueueOptions> = {},
  ) {
    this.options = { ...DEFAULT_QUEUE_OPTIONS, ...options };
    checkOptions(this.options);
  }

  /**
   * Accepts a job: returns its id once the row is COMMITTED, or null when more than `maxPending` jobs are
   * unfinished (nothing is queued then). `pending` is the count seen before this insert.
   */
  async enqueue(
    job: { id: string; kind: JobKind; scope: Scope; payload: Record<string, unknown>; runId?: string | null | undefined },
    maxPending: number,
    db: Pick<pg.Pool, 'query'> = this.pool,
  ): Promise<{ id: string; seq: string; pending: number } | { id: null; pending: number }> {
    const res = await db.query<{ seq: string; pending: number }>(
      plans.insertJob(this.tables, {
        id: job.id,
        scope: scopeKey(job.scope),
        kind: job.kind,
        payload: job.payload,
        runId: job.runId ?? null,
        retryLimit: this.options.retryLimit,
        retryDelayMs: this.options.retryDelayMs,
        retryDelayMaxMs: this.options.retryDelayMaxMs,
        leaseMs: this.options.leaseMs,
      }, maxPending),
    );
    const row = res.rows[0];
    if (row) return { id: job.id, seq: row.seq, pending: row.pending };
    return { id: null, pending: await this.pending(maxPending) };
  }

  /** Unfinished jobs, counted up to `cap + 1`. */
  async pending(cap = 1_000_000): Promise<number> {
    const res = await this.pool.query<{ n: number }>(plans.countPending(this.tables, cap));
    return res.rows[0]?.n ?? 0;
  }

  async claim(limit: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    const res = await this.pool.query<ClaimedJobRow>(plans.claimJobs(this.tables, limit));
    return res.rows
      .sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1))
      .map((row) => ({ ...row, attempt: { id: row.id, retryCount: row.retryCount } }));
  }

  /** Renews leases; returns the ids this process still holds. */
  async renew(held: readonly ClaimedJob[]): Promise<Set<string>> {
    if (held.length === 0) return new Set();
    const res = await this.pool.query<{ id: string }>(plans.renewLeases(this.tables, held.map((j) => j.attempt)));
    return new Set(res.rows.map((r) => r.id));
  }

  /**
   * Runs `effect` and marks the attempt completed in ONE transaction: either both commit or neither does. Throws
   * {@link LeaseLostError} (writing nothing) when the attempt no longer owns the job.
   */
  async commitWith<T>(job: ClaimedJob, effect: (client: pg.PoolClient) => Promise<T>, output: (result: T) => unknown): Promise<T> {
    const { id, retryCount } = job.attempt;
    return withClient(this.pool, async (client) => {
      // BEGIN and the attempt's row lock come first. Holding that lock, nobody else can change the row (the lease
      // reaper waits for us), so the completion below is certain to find it as it was checked there. On a
      // pipelining connection the effect's statements follow without waiting for the lock's answer (the server
      // still runs them after it): when the answer says the lease is gone, everything is rolled back below.
      //
      // The commit does not wait for its WAL flush (synchronous_commit off for this transaction only): a server crash
      // can lose only a suffix of such commits, effect and completion together, and the job, accepted by a flushed
      // commit, is then simply run again. Waiting for the flush here would make every accept queue behind it.
      const locking = sendTogether(client, ['BEGIN', 'SET LOCAL synchronous_commit = off', plans.lockAttempt(this.tables, id, retryCount)]);
      if (!pipelined(client) && (await locking)[2]!.rowCount === 0) throw new LeaseLostError(job.id);
      const [lock, effected] = await Promise.allSettled([locking, effect(client)]);
      if (lock.status === 'rejected') throw lock.reason;
      if (lock.value[2]!.rowCount === 0) throw new LeaseLostError(job.id);
      if (effected.status === 'rejected') throw effected.reason;
      const result = effected.value;
      // Last round trip: the completion mark and COMMIT. A COMMIT of a transaction that an error inside the effect
      // left aborted answers ROLLBACK instead of failing: that must not pass as done.
      const [, commit] = await sendTogether(client, [plans.completeJob(this.tables, id, retryCount, output(result)), 'COMMIT']);
      if (commit!.command !== 'COMMIT') throw new Error(`job ${job.id}: the completion transaction was rolled back`);
      return result;
    });
  }

  /** Marks the attempt completed (for jobs whose effect wrote nothing); false when it was no longer ours. */
  async complete(job: ClaimedJob, output: unknown): Promise<boolean> {
    const res = await this.pool.query(plans.completeJob(this.tables, job.attempt.id, job.attempt.retryCount, output));
    return (res.rowCount ?? 0) > 0;
  }

  /** Ends a failed attempt: `retry` (with backoff) when transient and retries remain, else `failed`. */
  async fail(job: ClaimedJob, error: JobError): Promise<{ state: JobState; startAfter: Date } | null> {
    const res = await this.pool.query<{ state: JobState; startAfter: Date }>(
      plans.failJob(this.tables, job.attempt.id, job.attempt.retryCount, error, error.retryable),
    );
    return res.rows[0] ?? null;
  }

  /** Puts a running attempt back to be claimed again at once (shutdown before it could finish). */
  async release(job: ClaimedJob): Promise<boolean> {
    const res = await this.pool.query(plans.releaseJob(this.tables, job.attempt.id, job.attempt.retryCount));
    return (res.rowCount ?? 0) > 0;
  }

  /**
   * Lease reaping and retention, by one process at a time (advisory lock; the others skip this round).
   * Returns what was done, or null when another process holds the lock.
   */
  async supervise(retentionMs: number, batch = 1000): Promise<{ expired: { id: string; state: JobState }[]; pruned: number } | null> {
    return withTransaction(this.pool, async (client) => {
      const lock = await client.query<{ locked: boolean }>(plans.supervisorLock(this.tables));
      if (!lock.rows[0]?.locked) return null;
      const expired = await client.query<{ id: string; state: JobState }>(plans.expireLeases(this.tables));
      const pruned = await client.query(plans.pruneFinished(this.tables, retentionMs, batch));
      return { expired: expired.rows, pruned: pruned.rowCount ?? 0 };
    });
  }

  /** One job; `db` lets a tool call read it on its deadline pool. */
  async get(id: string, db: Pick<pg.Pool, 'query'> = this.pool): Promise<JobRow | null> {
    const res = await db.query<JobRow>(plans.selectJob(this.tables, id));
    return res.rows[0] ?? null;
  }

  /** Jobs in one state, oldest first; `failed` ones keep their error. */
  async list(state: JobState, limit = 100): Promise<JobRow[]> {
    const res = await this.pool.query<JobRow>(plans.selectJobsByState(this.tables, state, limit));
    return res.rows;
  }

  async counts(): Promise<Record<JobState, number>> {
    const res = await this.pool.query<{ state: JobState; n: number }>(plans.countByState(this.tables));
    const counts = Object.fromEntries(plans.JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of res.rows) counts[row.state] = row.n;
    return counts;
  }
}

/** What a failed attempt records: never a stack, never a secret (messages come from our typed errors). */
export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
  status?: number | undefined;
}

function checkOptions(o: QueueOptions): void {
  const intAtLeast = (value: number, min: number, name: string): void => {
    if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}`);
  };
  intAtLeast(o.retryLimit, 0, 'retryLimit');
  intAtLeast(o.retryDelayMs, 0, 'retryDelayMs');
  intAtLeast(o.retryDelayMaxMs, 0, 'retryDelayMaxMs');
  intAtLeast(o.leaseMs, 1000, 'leaseMs');
}
