/**
 * The extraction orchestration for one store (one collection): accepts a task, records it, and runs its users
 * through one worker pool shared by every task of this orchestrator.
 *
 * - Pool: p-limit with `concurrency` (5) slots, a sliding window: each finished user frees its slot for the next at
 *   once, so a slow user never holds back the others.
 * - Time budget: checked before each user starts (a user that would start late is SKIPPED with reason
 *   `time_budget`) and between conversations (`extractUser`'s deadline). A conversation still running at
 *   `deadline + hardStopGraceMs` is aborted, so a task always ends.
 * - Lease: a user runs only while holding the (user, app) lease (leases.ts), renewed every `leaseTtlMs / 3`; losing
 *   it aborts the user. A held lease makes the user SKIPPED with reason `locked`.
 * - Checkpoint: loaded with its version, saved after every conversation and at the end with compare-and-set fenced
 *   by the lease (store/extraction-checkpoints.ts).
 * - Task record: created before the tool answers ACCEPTED, updated after every user (progress, counters, results),
 *   closed with a final report; the owner beats a heartbeat. Start-up fails the tasks of dead processes
 *   (tasks.ts: {@link INTERRUPTED_ERROR}). The Dify key lives only in this process's memory (the task's client).
 * - Overload: more than `maxPendingUsers` users waiting or running refuses the task before anything is stored.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { logger as rootLogger } from '../../shared/log.js';
import type { Tables } from '../../store/sql.js';
import { notFound, overloaded } from '../../shared/errors.js';
import { CheckpointConflictError, CheckpointStore } from '../../store/extraction-checkpoints.js';
import type { ExtractionLlm } from './classify.js';
import type { MemoryWriter } from './conversation.js';
import { DifyClient } from './dify-client.js';
import type { DifyClientOptions, DifyClientStats } from './dify-client.js';
import { LeaseStore } from '../../store/extraction-leases.js';
import type { Lease } from '../../store/extraction-leases.js';
import type { DifyReader } from './scan.js';
import { emptyCounters, emptyUserCounts, INTERRUPTED_ERROR, TaskStore, USER_COUNT_KEYS } from '../../store/extraction-tasks.js';
import type { TaskCounters, TaskParams, TaskRow, UserReport } from '../../store/extraction-tasks.js';
import { loadTokenizer, tokenCap } from './tokens.js';
import type { Tokenizer } from './tokens.js';
import { emptyUserCheckpoint, extractUser, userCounts } from './user.js';
import type { ExtractionRequest } from '../../memory/api.js';
import type { UserCheckpoint } from '../../store/extraction-checkpoints.js';
import { extractionWindow, resolveTimeZone } from './window.js';
import { checkpointView, finalReport, localIso, statusView } from './views.js';

/** This process, as task owner: tasks of any other id were accepted by another (possibly dead) process. */
export const PROCESS_ID = `${process.pid}-${randomBytes(4).toString('hex')}`;

/** What a task is asked to do: exactly the tools' request. */
export type TaskRequest = ExtractionRequest;

/** The Dify reader a task uses; the real client by default. */
export type DifyReaderWithStats = DifyReader & { stats(): DifyClientStats };

export interface OrchestratorOptions {
  pool: pg.Pool;
  tables: Tables;
  /** PGlite is opened by one process only: at start-up every running task of another process is dead at once. */
  databaseKind: 'pglite' | 'postgres';
  memory: MemoryWriter;
  llm: ExtractionLlm;
  tokenizer?: (() => Promise<Tokenizer>) | undefined;
  processId?: string | undefined;
  /** Users run at once (shared by all tasks). Default 5. */
  concurrency?: number | undefined;
  /** Users waiting or running beyond which a new task is refused (OVERLOAD). Default 1000. */
  maxPendingUsers?: number | undefined;
  /** Lease lifetime; renewed every third of it. Default 120 s. */
  leaseTtlMs?: number | undefined;
  /** Task heartbeat period. Default 30 s. */
  heartbeatMs?: number | undefined;
  /** A running task of another process whose heartbeat is older than this is dead. Default 4 × heartbeat. */
  staleMs?: number | undefined;
  /** How long after its deadline a conversation still running is aborted. Default 120 s. */
  hardStopGraceMs?: number | undefined;
  /** Finished task records older than this are pruned at start-up and by housekeeping. Default 7 days. */
  taskRetentionMs?: number | undefined;
  timeZone?: string | undefined;
  now?: (() => Date) | undefined;
  /** Builds the Dify reader of a task (tests: shorter retries). */
  difyClient?: ((options: Pick<DifyClientOptions, 'baseUrl' | 'apiKey' | 'logger'>) => DifyReaderWithStats) | undefined;
  logger?: Logger | undefined;
}

export const DEFAULT_ORCHESTRATOR = {
  concurrency: 5,
  maxPendingUsers: 1000,
  leaseTtlMs: 120_000,
  heartbeatMs: 30_000,
  hardStopGraceMs: 120_000,
  taskRetentionMs: 7 * 86_400_000,
};

/** What the tool answers when a task is accepted (and, in sync mode, also the final status). */
export type Accepted = Record<string, unknown> & { task_id: string };

interface RunningTask {
  taskId: string;
  request: TaskRequest;
  userIds: string[];
  dify: DifyReaderWithStats;
  startedAt: Date;
  deadline: Date;
  windowSec: { startSec: number; endSec: number };
  controller: AbortController;
  counters: TaskCounters;
  results: Record<string, UserReport>;
  /** Writes of the task row, one after another. */
  writes: Promise<unknown>;
  done: Promise<void>;
  /** Why the task was aborted from outside (close), if it was. */
  abortedBy: string | null;
}

export class ExtractionOrchestrator {
  readonly processId: string;
  readonly checkpoints: CheckpointStore;
  readonly leases: LeaseStore;
  readonly tasks: TaskStore;
  readonly #o: Required<Pick<OrchestratorOptions, 'concurrency' | 'maxPendingUsers' | 'leaseTtlMs' | 'heartbeatMs' | 'hardStopGraceMs' | 'taskRetentionMs'>> & { staleMs: number };
  readonly #opts: OrchestratorOptions;
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #running = new Map<string, RunningTask>();
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #timeZone: string;
  #ready: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  #pendingUsers = 0;

  constructor(options: OrchestratorOptions) {
    this.#opts = options;
    const d = DEFAULT_ORCHESTRATOR;
    const heartbeatMs = options.heartbeatMs ?? d.heartbeatMs;
    this.#o = {
      concurrency: options.concurrency ?? d.concurrency,
      maxPendingUsers: options.maxPendingUsers ?? d.maxPendingUsers,
      leaseTtlMs: options.leaseTtlMs ?? d.leaseTtlMs,
      heartbeatMs,
      staleMs: options.staleMs ?? heartbeatMs * 4,
      hardStopGraceMs: options.hardStopGraceMs ?? d.hardStopGraceMs,
      taskRetentionMs: options.taskRetentionMs ?? d.taskRetentionMs,
    };
    this.processId = options.processId ?? PROCESS_ID;
    this.checkpoints = new CheckpointStore(options.pool, options.tables);
    this.leases = new LeaseStore(options.pool, options.tables);
    this.tasks = new TaskStore(options.pool, options.tables);
    this.#limit = pLimit(this.#o.concurrency);
    this.#log = (options.logger ?? rootLogger).child({ component: 'extraction' });
    this.#now = options.now ?? (() => new Date());
    if (options.timeZone) {
      this.#timeZone = options.timeZone;
    } else {
      const zone = resolveTimeZone();
      if (zone.rejected) this.#log.warn({ value: zone.rejected, using: zone.timeZone }, 'unknown time zone in PLUGIN_TIMEZONE/TZ ignored');
      this.#timeZone = zone.timeZone;
    }
  }

  /**
   * Fails the tasks of dead processes, prunes old records, starts the heartbeat. Called by the first
   * {@link start}/{@link status}; safe to call again.
   */
  init(): Promise<void> {
    this.#ready ??= (async () => {
      const failed = await this.tasks.failOrphans({ owner: this.processId, staleMs: this.#o.staleMs, allOthers: this.#opts.databaseKind === 'pglite' });
      if (failed.length > 0) this.#log.warn({ tasks: failed }, 'extraction tasks of a stopped process marked failed');
      await this.tasks.prune({ before: new Date(this.#now().getTime() - this.#o.taskRetentionMs), dryRun: false });
      this.#heartbeat = setInterval(() => void this.#beat(), this.#o.heartbeatMs);
      this.#heartbeat.unref();
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Users waiting for or holding a pool slot. */
  get pendingUsers(): number {
    return this.#pendingUsers;
  }

  /**
   * Records the task and starts it. `wait` (sync mode) resolves once the task has finished, with its final status;
   * otherwise at once with the acceptance. `signal` (sync mode) cancels the task.
   */
  async start(request: TaskRequest, options: { wait?: boolean; signal?: AbortSignal | undefined } = {}): Promise<Accepted> {
    if (this.#closed) throw new Error('the extraction service is closed');
    const userIds = [...new Set(request.userIds)];
    const pending = this.#pendingUsers;
    if (pending + userIds.length > this.#o.maxPendingUsers) throw overloaded(pending, this.#o.maxPendingUsers);
    // Reserve the slots before the first await, so two requests racing cannot both pass the check.
    this.#pendingUsers += userIds.length;
    let reserved = userIds.length;
    try {
      await this.init();
      const dify = this.#difyClient(request);
      const now = this.#now();
      const window = extractionWindow(request.daysBack, { timeZone: this.#timeZone, now: this.#now });
      const deadline = new Date(now.getTime() + request.timeBudgetMinutes * 60_000);
      const taskId = `extract_${randomBytes(6).toString('hex')}`;
      const mode = options.wait ? 'sync' : 'async';
      const params: TaskParams = {
        days_back: request.daysBack,
        conversations_limit: request.conversationsLimit,
        max_tokens_per_conversation: request.maxTokensPerConversationK,
        time_budget_minutes: request.timeBudgetMinutes,
        dify_base_url: request.difyBaseUrl,
        time_zone: this.#timeZone,
      };
      await this.tasks.create({
        taskId, appId: request.appId, runId: request.runId ?? null, mode, owner: this.processId, userIds, params,
        windowStart: window.start, windowEnd: window.end, deadline,
      });
      const task: RunningTask = {
        taskId, request, userIds, dify, startedAt: now, deadline,
        windowSec: { startSec: window.startSec, endSec: window.endSec },
        controller: new AbortController(), counters: emptyCounters(), results: {}, writes: Promise.resolve(),
        done: Promise.resolve(), abortedBy: null,
      };
      this.#running.set(taskId, task);
      reserved = 0;
      task.done = this.#runTask(task);
      this.#log.info({ task_id: taskId, app_id: request.appId, run_id: request.runId, users: userIds.length, mode }, 'extraction task accepted');
      const accepted: Accepted = {
        task_id: taskId,
        run_id: request.runId ?? null,
        user_count: userIds.length,
        start_time: localIso(window.start, this.#timeZone),
        end_time: localIso(window.end, this.#timeZone),
        mode,
      };
      if (!options.wait) return accepted;
      const cancel = () => this.#abortTask(task, 'cancelled: the tool call was cancelled');
      options.signal?.addEventListener('abort', cancel, { once: true });
      try {
        await task.done;
      } finally {
        options.signal?.removeEventListener('abort', cancel);
      }
      return { ...(await this.status(taskId)), ...accepted };
    } finally {
      this.#pendingUsers -= reserved;
    }
  }

  /** check_extraction_status; EngineError not_found for an unknown (or pruned) task. */
  async status(taskId: string): Promise<Record<string, unknown>> {
    await this.init();
    let row = await this.tasks.get(taskId);
    if (!row) throw notFound('task', taskId);
    if (row.status === 'running' && this.#isOrphan(row)) {
      await this.tasks.failOrphans({ owner: this.processId, staleMs: this.#o.staleMs, allOthers: false, taskId });
      row = (await this.tasks.get(taskId)) ?? row;
    }
    return statusView(row, this.#now());
  }

  /** get_user_checkpoint; EngineError not_found when nothing is stored. */
  async checkpoint(userId: string, appId?: string | undefined): Promise<Record<string, unknown>> {
    const stored = await this.checkpoints.find(userId, appId);
    if (!stored) throw notFound('checkpoint', appId ? `${userId} (app ${appId})` : userId);
    return checkpointView(stored);
  }

  /** Waits for a task of this orchestrator to finish (tests, sync callers). */
  async settled(taskId: string): Promise<void> {
    await this.#running.get(taskId)?.done;
  }

  /** Settles once no task of this orchestrator is running (each is bounded by its time budget). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()].map((t) => t.done));
  }

  /**
   * Stops accepting, aborts the running tasks and waits up to `graceMs` for them to record their end (failed,
   * "interrupted"). Leases are released by each user as it stops.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const running = [...this.#running.values()];
    for (const task of running) this.#abortTask(task, 'interrupted: the plugin stopped or its credentials changed; run the extraction again — checkpoints keep what was done');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running.map((t) => t.done)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  #isOrphan(row: TaskRow): boolean {
    if (row.owner === this.processId) return false;
    return this.#now().getTime() - row.heartbeatAt.getTime() > this.#o.staleMs;
  }

  #abortTask(task: RunningTask, why: string): void {
    task.abortedBy ??= why;
    task.controller.abort(new Error(why));
  }

  #difyClient(request: TaskRequest): DifyReaderWithStats {
    const options = { baseUrl: request.difyBaseUrl, apiKey: request.difyApiKey, logger: this.#log };
    return this.#opts.difyClient ? this.#opts.difyClient(options) : new DifyClient(options);
  }

  async #beat(): Promise<void> {
    try {
      await this.tasks.heartbeat(this.processId, [...this.#running.keys()]);
      const failed = await this.tasks.failOrphans({ owner: this.processId, staleMs: this.#o.staleMs, allOthers: false });
      if (failed.length > 0) this.#log.warn({ tasks: failed }, 'extraction tasks of a stopped process marked failed');
    } catch (error) {
      this.#log.warn({ err: describe(error) }, 'extraction heartbeat failed');
    }
  }

  async #runTask(task: RunningTask): Promise<void> {
    const hardStop = setTimeout(
      () => this.#abortTask(task, 'stopped: the time budget and its grace period ran out'),
      Math.max(0, task.deadline.getTime() + this.#o.hardStopGraceMs - this.#now().getTime()),
    );
    hardStop.unref();
    let failure: string | null = null;
    let unreleased = task.userIds.length;
    try {
      const tokenizer = await (this.#opts.tokenizer ?? loadTokenizer)();
      await Promise.all(
        task.userIds.map((user) =>
          this.#limit(async () => {
            try {
              this.#record(task, await this.#runUser(task, user, tokenizer));
            } finally {
              if (unreleased > 0) {
                unreleased -= 1;
                this.#pendingUsers -= 1;
              }
            }
          }),
        ),
      );
    } catch (error) {
      failure = `the task failed: ${describe(error)}`;
      this.#log.error({ task_id: task.taskId, err: describe(error) }, 'extraction task failed');
    } finally {
      clearTimeout(hardStop);
      // Users that never reached the pool (the task failed before) give their reservation back.
      this.#pendingUsers -= unreleased;
      unreleased = 0;
    }
    const error = failure ?? task.abortedBy ?? everyUserFailed(task.userIds, task.results);
    const status = error === null ? 'completed' : 'failed';
    try {
      await task.writes;
      const finishedAt = this.#now();
      const finished = await this.tasks.finish({
        taskId: task.taskId, owner: this.processId, status, progress: status === 'completed' ? 1 : this.#progress(task),
        counters: this.#counters(task), results: task.results, error,
        finalReport: finalReport({
          status, userIds: task.userIds, counters: this.#counters(task), results: task.results, startedAt: task.startedAt, finishedAt,
          deadline: task.deadline, error,
        }),
      });
      if (!finished) this.#log.warn({ task_id: task.taskId }, 'extraction task was already closed by another process; its end was not recorded');
      this.#log.info({ task_id: task.taskId, status, ...this.#counters(task) }, 'extraction task finished');
    } catch (err) {
      this.#log.error({ task_id: task.taskId, err: describe(err) }, 'recording the end of an extraction task failed');
    } finally {
      this.#running.delete(task.taskId);
    }
  }

  async #runUser(task: RunningTask, user: string, tokenizer: Tokenizer): Promise<UserReport> {
    const { request } = task;
    const skipped = (reason: string, error: string): UserReport => report(user, 'SKIPPED', reason, error, this.#now());
    if (task.controller.signal.aborted) return skipped('aborted', String((task.controller.signal.reason as Error | undefined)?.message ?? 'aborted'));
    if (this.#now().getTime() >= task.deadline.getTime()) return skipped('time_budget', 'the time budget was used up before this user started');
    let lease: Lease | null;
    try {
      lease = await this.leases.acquire(user, request.appId, task.taskId, this.#o.leaseTtlMs);
    } catch (error) {
      return report(user, 'ERROR', 'lease', `could not take the user's lease: ${describe(error)}`, this.#now());
    }
    if (!lease) return skipped('locked', `another extraction run is processing user ${user} of app ${request.appId}`);
    const held = lease;
    const userAbort = new AbortController();
    const onTaskAbort = () => userAbort.abort(task.controller.signal.reason);
    task.controller.signal.addEventListener('abort', onTaskAbort, { once: true });
    const renew = setInterval(() => {
      this.leases.renew(held, this.#o.leaseTtlMs).then(
        (ok) => {
          if (!ok) userAbort.abort(new Error('lost the lease on this user'));
        },
        (error: unknown) => this.#log.warn({ task_id: task.taskId, err: describe(error) }, 'renewing an extraction lease failed'),
      );
    }, Math.max(50, Math.floor(this.#o.leaseTtlMs / 3)));
    renew.unref();
    try {
      const loaded = await this.checkpoints.load(user, request.appId);
      let version = loaded.version;
      // Only changes are written: a user with nothing new leaves no row and no version bump.
      let saved = JSON.stringify(loaded.checkpoint ?? emptyUserCheckpoint());
      const save = async (checkpoint: UserCheckpoint): Promise<void> => {
        const json = JSON.stringify(checkpoint);
        if (json === saved) return;
        version = await this.checkpoints.save({ userId: user, appId: request.appId, checkpoint, expected: version, holder: held.holder });
        saved = json;
      };
      const result = await extractUser(
        { dify: task.dify, llm: this.#opts.llm, memory: this.#opts.memory, tokenizer },
        {
          user,
          appId: request.appId,
          runId: request.runId,
          window: task.windowSec,
          conversationsLimit: request.conversationsLimit,
          maxTokens: tokenCap(request.maxTokensPerConversationK),
          checkpoint: loaded.checkpoint,
          deadline: task.deadline.getTime(),
          now: this.#now,
          signal: userAbort.signal,
          onProgress: save,
        },
      );
      await save(result.checkpoint);
      const { status, stop_reason, error, kinds } = result;
      return { user_id: user, status, reason: stop_reason, error, ...userCounts(result), kinds, finished_at: this.#now().toISOString() };
    } catch (error) {
      const reason = error instanceof CheckpointConflictError ? `checkpoint_${error.reason}` : 'error';
      return report(user, 'ERROR', reason, describe(error), this.#now());
    } finally {
      clearInterval(renew);
      task.controller.signal.removeEventListener('abort', onTaskAbort);
      await this.leases.release(held).catch((error: unknown) => this.#log.warn({ task_id: task.taskId, err: describe(error) }, 'releasing an extraction lease failed'));
    }
  }

  #record(task: RunningTask, user: UserReport): void {
    task.results[user.user_id] = user;
    const c = task.counters;
    if (user.status === 'SKIPPED') c.skipped_users += 1;
    else if (user.status === 'ERROR') c.failed_users += 1;
    else c.processed_users += 1;
    for (const key of USER_COUNT_KEYS) c[key] += user[key];
    this.#log.info({ task_id: task.taskId, user_id: user.user_id, status: user.status, reason: user.reason }, 'extraction user finished');
    task.writes = task.writes
      .then(() => this.tasks.update({ taskId: task.taskId, owner: this.processId, progress: this.#progress(task), counters: this.#counters(task), results: task.results }))
      .then((ok) => {
        if (!ok) this.#abortTask(task, INTERRUPTED_ERROR);
      })
      .catch((error: unknown) => this.#log.warn({ task_id: task.taskId, err: describe(error) }, 'saving extraction progress failed'));
  }

  #progress(task: RunningTask): number {
    return task.userIds.length === 0 ? 1 : Object.keys(task.results).length / task.userIds.length;
  }

  #counters(task: RunningTask): TaskCounters {
    return { ...task.counters, dify_calls: task.dify.stats().requests };
  }
}

/**
 * A task in which every user ended in ERROR (a revoked key, Dify down) has failed: its cause is the first user's
 * error, so the task's `error` says why at the top instead of a `completed` with `error: null`.
 */
function everyUserFailed(userIds: readonly string[], results: Record<string, UserReport>): string | null {
  const failed = userIds.map((user) => results[user]).filter((r): r is UserReport => r?.status === 'ERROR');
  if (userIds.length === 0 || failed.length < userIds.length) return null;
  return `every user failed (${failed.length} of ${userIds.length}); the first: ${failed[0]!.user_id}: ${failed[0]!.error}`;
}

function report(user: string, status: UserReport['status'], reason: string, error: string, now: Date): UserReport {
  return { user_id: user, status, reason, error, ...emptyUserCounts(), kinds: {}, finished_at: now.toISOString() };
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}
