/**
 * Extraction task records (SQL and the stored shapes): one row per extraction task from the moment the tool answers ACCEPTED, updated as users finish
 * (progress, counters, per-user results) and closed with a final report. Writes by the running task name its
 * `owner` (the process that accepted it) and require `status = 'running'`, so a task another process already declared
 * dead cannot be revived by its late owner. The Dify API key is never part of a row.
 *
 * A task whose process died stays `running` only until someone notices: the owner beats `heartbeat_at`; a running
 * task whose heartbeat is older than the stale limit is marked failed (at start-up, before new tasks, and when its
 * status is read). On embedded PGlite only one process can have the database open, so at start-up every running task
 * of another process id is dead at once.
 * @module
 */
import type pg from 'pg';
import type { SqlQuery, Tables } from './sql.js';
import { extractionTables } from './extraction-tables.js';
import type { TaskStatus } from './extraction-tables.js';
import { clamp01 } from './ranking.js';

/** How one user's run ended, as the task's report keeps it. */
export type UserStatus = 'SUCCESS' | 'PARTIAL_SUCCESS' | 'SKIPPED' | 'ERROR';

/** What one user's run counts; a task's counters are their sums over its users. */
export interface UserCounts {
  scanned_conversations: number;
  processed_conversations: number;
  failed_conversations: number;
  scanned_messages: number;
  processed_messages: number;
  written_memories: number;
}

export const USER_COUNT_KEYS = [
  'scanned_conversations', 'processed_conversations', 'failed_conversations', 'scanned_messages', 'processed_messages', 'written_memories',
] as const satisfies ReadonlyArray<keyof UserCounts>;

export function emptyUserCounts(): UserCounts {
  return { scanned_conversations: 0, processed_conversations: 0, failed_conversations: 0, scanned_messages: 0, processed_messages: 0, written_memories: 0 };
}

/** Why a task whose process stopped is failed (the key lived only in that process, so it cannot be resumed). */
export const INTERRUPTED_ERROR = 'interrupted: the plugin restarted; run the extraction again — checkpoints keep what was done';

export interface TaskCounters extends UserCounts {
  processed_users: number;
  skipped_users: number;
  failed_users: number;
  /** HTTP requests sent to the Dify Service API (retries included). */
  dify_calls: number;
}

export function emptyCounters(): TaskCounters {
  return { processed_users: 0, skipped_users: 0, failed_users: 0, ...emptyUserCounts(), dify_calls: 0 };
}

/** One user's outcome as the task keeps it. `reason` is the stop reason or why the user was skipped. */
export interface UserReport extends UserCounts {
  user_id: string;
  status: UserStatus;
  reason: string;
  error: string | null;
  kinds: Record<string, number>;
  finished_at: string;
}

/** The task parameters kept with the record (everything the tool received except the key). */
export interface TaskParams {
  days_back: number;
  conversations_limit: number;
  max_tokens_per_conversation: number;
  time_budget_minutes: number;
  dify_base_url: string;
  time_zone: string;
}

export interface NewTask {
  taskId: string;
  appId: string;
  runId: string | null;
  mode: 'async' | 'sync';
  owner: string;
  userIds: string[];
  params: TaskParams;
  windowStart: Date;
  windowEnd: Date;
  deadline: Date;
}

export interface TaskRow {
  taskId: string;
  appId: string;
  runId: string | null;
  mode: 'async' | 'sync';
  owner: string;
  status: TaskStatus;
  progress: number;
  userIds: string[];
  userCount: number;
  params: TaskParams;
  windowStart: Date;
  windowEnd: Date;
  deadline: Date;
  counters: TaskCounters;
  results: Record<string, UserReport>;
  error: string | null;
  finalReport: Record<string, unknown> | null;
  startedAt: Date;
  updatedAt: Date;
  heartbeatAt: Date;
  finishedAt: Date | null;
}

const COLUMNS = `task_id AS "taskId", app_id AS "appId", run_id AS "runId", mode, owner, status, progress,
  user_ids AS "userIds", user_count AS "userCount", params, window_start AS "windowStart", window_end AS "windowEnd",
  deadline, counters, results, error, final_report AS "finalReport", started_at AS "startedAt",
  updated_at AS "updatedAt", heartbeat_at AS "heartbeatAt", finished_at AS "finishedAt"`;

export function insertTaskSql(t: Tables, task: NewTask): SqlQuery {
  const x = extractionTables(t);
  return {
    text: `INSERT INTO ${x.tasks} (task_id, app_id, run_id, mode, owner, status, user_ids, user_count, params,
        window_start, window_end, deadline, counters)
      VALUES ($1, $2, $3, $4, $5, 'running', $6::jsonb, $7, $8::jsonb, $9, $10, $11, $12::jsonb)`,
    values: [
      task.taskId, task.appId, task.runId, task.mode, task.owner, JSON.stringify(task.userIds), task.userIds.length,
      JSON.stringify(task.params), task.windowStart, task.windowEnd, task.deadline, JSON.stringify(emptyCounters()),
    ],
  };
}

/** Progress of a running task, written by its owner only. */
export function updateTaskSql(
  t: Tables,
  input: { taskId: string; owner: string; progress: number; counters: TaskCounters; results: Record<string, UserReport> },
): SqlQuery {
  const x = extractionTables(t);
  return {
    text: `UPDATE ${x.tasks} SET progress = $3, counters = $4::jsonb, results = $5::jsonb, updated_at = now(), heartbeat_at = now()
      WHERE task_id = $1 AND owner = $2 AND status = 'running'
      RETURNING 1 AS ok`,
    values: [input.taskId, input.owner, clamp01(input.progress), JSON.stringify(input.counters), JSON.stringify(input.results)],
  };
}

export function finishTaskSql(
  t: Tables,
  input: {
    taskId: string; owner: string; status: Exclude<TaskStatus, 'running'>; progress: number; counters: TaskCounters;
    results: Record<string, UserReport>; error: string | null; finalReport: Record<string, unknown>;
  },
): SqlQuery {
  const x = extractionTables(t);
  return {
    text: `UPDATE ${x.tasks} SET status = $3, progress = $4, counters = $5::jsonb, results = $6::jsonb, error = $7,
        final_report = $8::jsonb, finished_at = now(), updated_at = now(), heartbeat_at = now()
      WHERE task_id = $1 AND owner = $2 AND status = 'running'
      RETURNING 1 AS ok`,
    values: [
      input.taskId, input.owner, input.status, clamp01(input.progress), JSON.stringify(input.counters),
      JSON.stringify(input.results), input.error, JSON.stringify(input.finalReport),
    ],
  };
}

export function heartbeatSql(t: Tables, owner: string, taskIds: readonly string[]): SqlQuery {
  const x = extractionTables(t);
  return {
    text: `UPDATE ${x.tasks} SET heartbeat_at = now() WHERE owner = $1 AND status = 'running' AND task_id = ANY($2::text[])`,
    values: [owner, [...taskIds]],
  };
}

/**
 * Marks running tasks of dead processes failed: those of other owners whose heartbeat is older than `staleMs`, or
 * (`allOthers`) every running task of another owner. `taskId` limits it to one task. The report keeps what was done.
 */
export function failOrphansSql(t: Tables, input: { owner: string; staleMs: number; allOthers: boolean; taskId?: string | undefined }): SqlQuery {
  const x = extractionTables(t);
  const values: unknown[] = [input.owner, input.staleMs, input.allOthers, INTERRUPTED_ERROR];
  let only = '';
  if (input.taskId !== undefined) {
    values.push(input.taskId);
    only = ' AND task_id = $5';
  }
  return {
    text: `UPDATE ${x.tasks} SET status = 'failed', error = $4, finished_at = now(), updated_at = now(),
        final_report = jsonb_build_object('task_status', 'failed', 'interrupted', true, 'error', $4::text,
          'counters', counters, 'users', results)
      WHERE status = 'running' AND owner <> $1${only}
        AND ($3::boolean OR heartbeat_at < now() - make_interval(secs => $2::double precision / 1000))
      RETURNING task_id AS "taskId"`,
    values,
  };
}

/** Finished tasks older than `before`; `dryRun` counts them. Running tasks are never pruned. */
export function pruneTasksSql(t: Tables, input: { before: Date; dryRun: boolean }): SqlQuery {
  const x = extractionTables(t);
  const where = `status <> 'running' AND finished_at < $1::timestamptz`;
  if (input.dryRun) return { text: `SELECT count(*)::int AS n FROM ${x.tasks} WHERE ${where}`, values: [input.before] };
  return { text: `WITH gone AS (DELETE FROM ${x.tasks} WHERE ${where} RETURNING 1) SELECT count(*)::int AS n FROM gone`, values: [input.before] };
}

export class TaskStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: Tables,
  ) {}

  async create(task: NewTask): Promise<void> {
    const q = insertTaskSql(this.tables, task);
    await this.pool.query(q.text, q.values);
  }

  async get(taskId: string): Promise<TaskRow | null> {
    const x = extractionTables(this.tables);
    const { rows } = await this.pool.query<TaskRow>(`SELECT ${COLUMNS} FROM ${x.tasks} WHERE task_id = $1`, [taskId]);
    return rows[0] ?? null;
  }

  /** False when the task is no longer this owner's running task (declared dead meanwhile). */
  async update(input: Parameters<typeof updateTaskSql>[1]): Promise<boolean> {
    const q = updateTaskSql(this.tables, input);
    return ((await this.pool.query(q.text, q.values)).rowCount ?? 0) > 0;
  }

  async finish(input: Parameters<typeof finishTaskSql>[1]): Promise<boolean> {
    const q = finishTaskSql(this.tables, input);
    return ((await this.pool.query(q.text, q.values)).rowCount ?? 0) > 0;
  }

  async heartbeat(owner: string, taskIds: readonly string[]): Promise<void> {
    if (taskIds.length === 0) return;
    const q = heartbeatSql(this.tables, owner, taskIds);
    await this.pool.query(q.text, q.values);
  }

  /** Ids of the tasks just marked failed. */
  async failOrphans(input: Parameters<typeof failOrphansSql>[1]): Promise<string[]> {
    const q = failOrphansSql(this.tables, input);
    const { rows } = await this.pool.query<{ taskId: string }>(q.text, q.values);
    return rows.map((r) => r.taskId);
  }

  async prune(input: { before: Date; dryRun: boolean }): Promise<number> {
    const q = pruneTasksSql(this.tables, input);
    const { rows } = await this.pool.query<{ n: number }>(q.text, q.values);
    return rows[0]?.n ?? 0;
  }
}
