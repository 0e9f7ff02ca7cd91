/**
 * The durable write queue of async mode, for one engine (store + providers): the queue, its workers (started at
 * once: jobs left by an earlier process are picked up as soon as this credential set is used again), and the
 * tools' memory service over them. `close(graceMs)` stops claiming, lets running jobs finish within the grace
 * period and hands the rest back; it does not close the store.
 *
 * Operational knobs (environment, all optional): MEM0_JOB_LEASE_MS (60000), MEM0_JOB_RETRY_LIMIT (10),
 * MEM0_JOB_RETRY_DELAY_MS (2000), MEM0_JOB_RETRY_DELAY_MAX_MS (300000), MEM0_JOB_POLL_MS (1000),
 * MEM0_JOB_SUPERVISE_MS (15000), MEM0_JOB_RETENTION_HOURS (168), MEM0_JOB_GRACE_MS (7000).
 * @module
 */
import type { Logger } from 'pino';
import { logger as rootLogger } from '../../shared/log.js';
import { storeOnClient } from '../../store/index.js';
import { memoryJobHandler } from './handlers.js';
import type { JobEngine } from './handlers.js';
import { DEFAULT_QUEUE_OPTIONS, JobQueue } from './queue.js';
import type { QueueOptions } from './queue.js';
import { GatedPool, workerShare } from '../../store/scoped-pools.js';
import { memoryWrites } from './writes.js';
import type { MemoryWrites } from './writes.js';
import { jobStatusReader } from './status.js';
import type { MemoryApi } from '../../memory/api.js';
import type { Providers } from '../../memory/providers.js';
import { DEFAULT_WORKER_OPTIONS, Worker } from './worker.js';
import type { WorkerOptions } from './worker.js';

export interface MemoryJobs {
  readonly queue: JobQueue;
  readonly worker: Worker;
  /** The tools' writes (queued in async mode) and get_job_status's lookup; the reads are src/memory/reads.ts. */
  readonly writes: MemoryWrites & Pick<MemoryApi, 'jobStatus'>;
  close(graceMs?: number): Promise<void>;
}

export interface MemoryJobsOptions {
  asyncMode: boolean;
  maxConcurrent: number;
  queue?: Partial<QueueOptions>;
  worker?: Partial<Omit<WorkerOptions, 'concurrency'>>;
  graceMs?: number;
  /** The providers the workers use (queued work has a longer model deadline); default: the engine's. */
  workerProviders?: Providers;
  logger?: Logger;
  /**
   * false: no worker claims queued jobs (default true). For models reachable only inside a tool session (the
   * workspace's, through the daemon): a job left queued from an earlier async period waits for a credential set
   * whose worker can run it, rather than failing through its retries here.
   */
  runQueued?: boolean;
}

/** Below the runtime's 10 s limit for app.close(), leaving time to hand unfinished jobs back. */
export const DEFAULT_GRACE_MS = 7_000;

export function openMemoryJobs(engine: JobEngine, options: MemoryJobsOptions): MemoryJobs {
  const env = jobOptionsFromEnv();
  const log = (options.logger ?? rootLogger).child({ component: 'jobs', collection: engine.store.collection.collectionName });
  const pool = engine.store.database.pool;
  const queueOptions = { ...env.queue, ...options.queue };
  const queue = new JobQueue(pool, engine.store.tables, queueOptions);
  // The workers use part of the pool, so accepts and reads never wait behind background jobs for a connection.
  const max = (pool as { options?: { max?: number } }).options?.max ?? 1;
  const share = workerShare(max);
  const workerPool = share < max ? new GatedPool(pool, share).asPool() : pool;
  const providers = options.workerProviders ?? engine.providers;
  // A job's graph asks the workers' models (their longer deadline), like the job's own memory calls.
  const graph = providers === engine.providers ? engine.graph : engine.graph?.withModels(providers.llm, providers.embedder);
  const workerEngine: JobEngine = workerPool === pool
    ? { ...engine, providers, graph }
    : { ...engine, providers, graph, store: { ...engine.store, memories: storeOnClient(engine.store, workerPool) } };
  const workerQueue = workerPool === pool ? queue : new JobQueue(workerPool, engine.store.tables, queueOptions);
  const worker = new Worker(workerQueue, memoryJobHandler(workerEngine), { ...env.worker, ...options.worker, concurrency: options.maxConcurrent, logger: log });
  if (options.runQueued !== false) worker.start();
  const writes = {
    ...memoryWrites({
      store: engine.store, providers: engine.providers, graph: engine.graph, queue, asyncMode: options.asyncMode, maxConcurrent: options.maxConcurrent,
      onAccepted: () => worker.notify(), logger: log,
    }),
    jobStatus: jobStatusReader({ store: engine.store, providers: engine.providers, queue, logger: log }),
  };
  let closing: Promise<void> | undefined;
  return {
    queue,
    worker,
    writes,
    close: (graceMs) => (closing ??= worker.stop(graceMs ?? options.graceMs ?? env.graceMs)),
  };
}

/** Reads the MEM0_JOB_* variables; a malformed value is ignored with a warning (the default applies). */
export function jobOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  queue: Partial<QueueOptions>;
  worker: Partial<Omit<WorkerOptions, 'concurrency' | 'logger'>>;
  graceMs: number;
} {
  const int = (name: string, min: number): number | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const value = Number(raw);
    if (Number.isInteger(value) && value >= min) return value;
    rootLogger.warn({ variable: name, min }, 'ignoring a malformed job queue setting');
    return undefined;
  };
  const queue: Partial<QueueOptions> = {};
  const worker: Partial<Omit<WorkerOptions, 'concurrency' | 'logger'>> = {};
  const set = <T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void => {
    if (value !== undefined) target[key] = value;
  };
  set(queue, 'leaseMs', int('MEM0_JOB_LEASE_MS', 1000));
  set(queue, 'retryLimit', int('MEM0_JOB_RETRY_LIMIT', 0));
  set(queue, 'retryDelayMs', int('MEM0_JOB_RETRY_DELAY_MS', 0));
  set(queue, 'retryDelayMaxMs', int('MEM0_JOB_RETRY_DELAY_MAX_MS', 0));
  set(worker, 'pollIntervalMs', int('MEM0_JOB_POLL_MS', 10));
  set(worker, 'superviseIntervalMs', int('MEM0_JOB_SUPERVISE_MS', 100));
  const hours = int('MEM0_JOB_RETENTION_HOURS', 0);
  if (hours !== undefined) worker.retentionMs = hours * 3600_000;
  return { queue, worker, graceMs: int('MEM0_JOB_GRACE_MS', 0) ?? DEFAULT_GRACE_MS };
}

export { JobQueue, DEFAULT_QUEUE_OPTIONS, DEFAULT_WORKER_OPTIONS, Worker };
export type { QueueOptions, WorkerOptions };
export { scopeKey } from './queue.js';
export { LeaseLostError } from '../../store/jobs.js';
export type { ClaimedJob, JobRow, JobState, JobKind, JobError } from './queue.js';
export { classifyError } from './errors.js';
