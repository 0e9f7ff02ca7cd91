/**
 * The workers of one queue: a poll loop claims up to `concurrency` jobs at a time and runs each with an AbortSignal;
 * it keeps a few more claimed and ready (`prefetch`), so a finished job's slot starts the next one at once instead of
 * after a claim's round trip. Leases of running and ready jobs are renewed, and lease expiry + retention run on a
 * timer. Stopping is graceful: no new claims, ready jobs are handed back unstarted, running jobs get `graceMs` to
 * finish, then they are aborted and handed back for the next start.
 * A database outage is logged once when it starts and once when it ends; the loop backs off meanwhile and never
 * needs a restart.
 * @module
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { logger as rootLogger } from '../../shared/log.js';
import { backoffDelay } from '../../shared/backoff.js';
import { classifyError, isConnectionError } from './errors.js';
import { LeaseLostError } from '../../store/jobs.js';
import type { ClaimedJob, JobQueue } from './queue.js';

export interface JobContext {
  /** Fires on lease loss and on shutdown after the grace period. */
  signal: AbortSignal;
  /**
   * Applies the job's database effect and marks the job completed in ONE transaction. Call at most once; a job
   * that never calls it is completed on its own after the handler returns (it wrote nothing).
   */
  commit<T>(effect: (client: pg.PoolClient) => Promise<T>, output: (result: T) => unknown): Promise<T>;
}

/** Runs one job; the value returned is stored as the job's output when `commit` was not used. */
export type JobHandler = (job: ClaimedJob, context: JobContext) => Promise<unknown>;

export interface WorkerOptions {
  concurrency: number;
  /**
   * Jobs claimed ahead and held ready (leases renewed) while all `concurrency` slots are busy, so a slot that frees
   * starts its next job without waiting for a claim. Default: a tenth of `concurrency`, at least one. Handed back
   * unstarted at shutdown.
   */
  prefetch?: number | undefined;
  /** How often an idle worker looks for jobs other processes queued (in-process enqueues wake it at once). */
  pollIntervalMs: number;
  /** How often lease expiry and retention run. */
  superviseIntervalMs: number;
  /** Finished jobs are deleted after this long. */
  retentionMs: number;
  logger: Logger;
}

export const DEFAULT_WORKER_OPTIONS: Omit<WorkerOptions, 'concurrency' | 'logger'> = {
  pollIntervalMs: 1_000,
  superviseIntervalMs: 15_000,
  retentionMs: 7 * 24 * 3600_000,
};

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  done: Promise<void>;
}

export class Worker {
  private readonly options: WorkerOptions;
  private readonly running = new Map<string, Running>();
  /** Claimed, not started yet (oldest first). */
  private readonly ready: ClaimedJob[] = [];
  private readonly prefetch: number;
  private readonly log: Logger;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private renewTimer: NodeJS.Timeout | null = null;
  private superviseTimer: NodeJS.Timeout | null = null;
  private dbDown = false;
  private failures = 0;
  /** Jobs this worker finished (completed or ended as failed), for tests and benchmarks. */
  processed = 0;

  constructor(
    readonly queue: JobQueue,
    private readonly handler: JobHandler,
    options: Partial<WorkerOptions> & { concurrency: number },
  ) {
    this.options = { ...DEFAULT_WORKER_OPTIONS, logger: rootLogger, ...options };
    if (!Number.isInteger(this.options.concurrency) || this.options.concurrency < 1) throw new RangeError('concurrency must be an integer >= 1');
    this.log = this.options.logger;
    this.prefetch = this.options.prefetch ?? Math.max(1, Math.ceil(this.options.concurrency / 10));
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0) throw new RangeError('prefetch must be an integer >= 0');
  }

  get active(): number {
    return this.running.size;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.poll();
    const renewEvery = Math.max(250, Math.floor(this.queue.options.leaseMs / 3));
    this.renewTimer = setInterval(() => void this.renew(), renewEvery);
    this.renewTimer.unref();
    this.superviseTimer = setInterval(() => void this.supervise(), this.options.superviseIntervalMs);
    this.superviseTimer.unref();
    // A restarted process reclaims the jobs of its dead predecessor as soon as their leases have run out.
    void this.supervise();
  }

  /** Looks for work now (called after an in-process enqueue). */
  notify(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Stops claiming, waits up to `graceMs` for running jobs, then aborts the rest and hands them back (state
   * `retry`, due at once) so the next start runs them. Resolves when nothing of this worker runs any more.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return this.loop ?? undefined;
    this.stopping = true;
    this.notify();
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.superviseTimer) clearInterval(this.superviseTimer);
    await this.loop;
    await this.handBack(this.ready.splice(0));
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    const graceOver = await Promise.race([all().then(() => false), sleep(graceMs).then(() => true)]);
    if (graceOver && this.running.size > 0) {
      this.log.warn({ jobs: [...this.running.keys()] }, 'grace period over: handing running jobs back to the queue');
      for (const r of this.running.values()) r.controller.abort(new Error('worker stopping'));
      await all();
    }
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      const wanted = this.options.concurrency + this.prefetch - this.running.size - this.ready.length;
      let claimed = 0;
      if (wanted > 0) {
        try {
          const jobs = await this.queue.claim(wanted);
          this.databaseUp();
          claimed = jobs.length;
          this.ready.push(...jobs);
          this.startReady();
        } catch (error) {
          this.databaseDown(error);
          await this.idle(backoffDelay(this.failures++, 200, 5_000));
          continue;
        }
      }
      if (claimed > 0 && claimed === wanted) continue;
      await this.idle(this.options.pollIntervalMs);
    }
  }

  /** Starts ready jobs while slots are free (never once stopping: those are handed back). */
  private startReady(): void {
    while (!this.stopping && this.running.size < this.options.concurrency) {
      const job = this.ready.shift();
      if (!job) return;
      this.run(job);
    }
  }

  /** Puts claimed jobs that never started back to be claimed again at once. */
  private async handBack(jobs: ClaimedJob[]): Promise<void> {
    await Promise.all(jobs.map((job) =>
      settle(() => this.queue.release(job)).catch((e: unknown) =>
        this.log.warn({ jobId: job.id, err: (e as Error).message }, 'could not hand an unstarted job back; its lease will expire'))));
  }

  /** Waits for a wake-up (enqueue, job finished, stop) or `ms`, whichever comes first. */
  private idle(ms: number): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }

  private run(job: ClaimedJob): void {
    const controller = new AbortController();
    const entry: Running = { job, controller, done: Promise.resolve() };
    entry.done = this.execute(job, controller).finally(() => {
      this.running.delete(job.id);
      this.startReady();
      this.notify();
    });
    this.running.set(job.id, entry);
  }

  private async execute(job: ClaimedJob, controller: AbortController): Promise<void> {
    const log = this.log.child({ jobId: job.id, kind: job.kind, attempt: job.retryCount + 1, run_id: job.runId ?? undefined });
    let committed = false;
    const started = performance.now();
    try {
      const output = await this.handler(job, {
        signal: controller.signal,
        commit: async (effect, out) => {
          if (committed) throw new Error('a job may commit its effect only once');
          const result = await this.queue.commitWith(job, effect, out);
          committed = true;
          return result;
        },
      });
      if (!committed && !(await settle(() => this.queue.complete(job, output)))) throw new LeaseLostError(job.id);
      this.processed += 1;
      log.debug({ ms: Math.round(performance.now() - started) }, 'job completed');
    } catch (error) {
      if (committed) {
        // The effect and the completion are already durable; only something after them failed.
        this.processed += 1;
        return;
      }
      if (error instanceof LeaseLostError) {
        log.warn('job lease lost; another attempt owns it now, nothing written by this one');
        return;
      }
      if (this.stopping && controller.signal.aborted) {
        await settle(() => this.queue.release(job)).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not hand the job back; its lease will expire'));
        return;
      }
      const failure = classifyError(error);
      try {
        const next = await settle(() => this.queue.fail(job, failure));
        if (next?.state === 'failed') {
          this.processed += 1;
          log.error({ error: failure }, 'job failed permanently');
        } else if (next) {
          log.warn({ error: failure, retryAt: next.startAfter }, 'job failed; it will be retried');
        }
      } catch (e) {
        log.warn({ error: failure, err: (e as Error).message }, 'job failed and its failure could not be recorded; its lease will expire and it will be retried');
      }
    }
  }

  private async renew(): Promise<void> {
    const held = [...this.running.values()];
    const waiting = [...this.ready];
    if (held.length === 0 && waiting.length === 0) return;
    try {
      const still = await this.queue.renew([...held.map((r) => r.job), ...waiting]);
      for (const r of held) {
        if (!still.has(r.job.id) && this.running.has(r.job.id)) r.controller.abort(new LeaseLostError(r.job.id));
      }
      // A ready job whose lease was lost is someone else's now: it must not start here.
      for (const job of waiting) {
        const at = this.ready.indexOf(job);
        if (!still.has(job.id) && at >= 0) this.ready.splice(at, 1);
      }
    } catch (error) {
      this.databaseDown(error);
    }
  }

  private async supervise(): Promise<void> {
    try {
      const result = await this.queue.supervise(this.options.retentionMs);
      if (result && result.expired.length > 0) this.log.warn({ jobs: result.expired }, 'jobs whose worker stopped were put back (lease expired)');
      if (result && result.pruned > 0) this.log.debug({ pruned: result.pruned }, 'finished jobs pruned');
      if (result?.expired.length) this.notify();
    } catch (error) {
      this.databaseDown(error);
    }
  }

  private databaseDown(error: unknown): void {
    if (this.dbDown) return;
    this.dbDown = true;
    this.log.warn({ err: classifyError(error).message }, 'job queue: database unavailable; retrying in the background');
  }

  private databaseUp(): void {
    this.failures = 0;
    if (!this.dbDown) return;
    this.dbDown = false;
    this.log.info('job queue: database reachable again');
  }
}

/**
 * Records a job's end state, trying again briefly when the connection was dropped (a restarted server or a
 * terminated backend is usually back within a second): otherwise the job would wait for its lease to run out.
 */
async function settle<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= 4 || !isConnectionError(error)) throw error;
      await sleep(backoffDelay(attempt, 100, 2_000));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
