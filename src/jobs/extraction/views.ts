/**
 * What check_extraction_status and get_user_checkpoint show, built from the stored rows. Times are ISO 8601; the
 * extraction window is shown in the plugin's time zone (with its offset), because that is how users chose it.
 * @module
 */
import type { StoredCheckpoint } from '../../store/extraction-checkpoints.js';
import type { TaskCounters, TaskRow, UserReport } from '../../store/extraction-tasks.js';

/** `instant` as local ISO 8601 with the zone's offset, e.g. `2026-10-19T00:00:00-04:00`. */
export function localIso(instant: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  for (const part of format.formatToParts(instant)) if (part.type !== 'literal') parts[part.type] = part.value;
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const offsetMin = Math.round((wall - Math.floor(instant.getTime() / 1000) * 1000) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const offset = offsetMin === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

export function countByStatus(results: Record<string, UserReport>): Record<string, number> {
  const out: Record<string, number> = { SUCCESS: 0, PARTIAL_SUCCESS: 0, SKIPPED: 0, ERROR: 0 };
  for (const r of Object.values(results)) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

/** The final report kept with a finished task: totals plus one entry per user, in the order they were given. */
export function finalReport(input: {
  status: 'completed' | 'failed';
  userIds: readonly string[];
  counters: TaskCounters;
  results: Record<string, UserReport>;
  startedAt: Date;
  finishedAt: Date;
  deadline: Date;
  error: string | null;
}): Record<string, unknown> {
  const notRun = input.userIds.filter((u) => !input.results[u]);
  return {
    task_status: input.status,
    duration_seconds: Math.round((input.finishedAt.getTime() - input.startedAt.getTime()) / 100) / 10,
    time_budget_exhausted: input.finishedAt.getTime() >= input.deadline.getTime(),
    users_by_status: countByStatus(input.results),
    ...input.counters,
    ...(notRun.length > 0 ? { users_not_run: notRun } : {}),
    error: input.error,
    users: input.userIds.filter((u) => input.results[u]).map((u) => input.results[u]),
  };
}

/** check_extraction_status's answer. */
export function statusView(row: TaskRow, now: Date): Record<string, unknown> {
  const end = row.finishedAt ?? now;
  const tz = row.params.time_zone;
  return {
    task_id: row.taskId,
    task_status: row.status,
    progress: Math.round(row.progress * 1000) / 1000,
    app_id: row.appId,
    run_id: row.runId,
    mode: row.mode,
    started_at: row.startedAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    finished_at: row.finishedAt?.toISOString() ?? null,
    start_time: localIso(row.windowStart, tz),
    end_time: localIso(row.windowEnd, tz),
    time_zone: tz,
    deadline: row.deadline.toISOString(),
    duration_seconds: Math.max(0, Math.round((end.getTime() - row.startedAt.getTime()) / 100) / 10),
    user_count: row.userCount,
    ...row.counters,
    error: row.error,
    final_report: row.finalReport,
  };
}

function isoSeconds(seconds: number | null): string | null {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null;
}

/** get_user_checkpoint's answer. */
export function checkpointView(stored: StoredCheckpoint): Record<string, unknown> {
  const { checkpoint } = stored;
  return {
    user_id: stored.userId,
    app_id: stored.appId,
    checkpoint: {
      // Stored in Unix seconds (Dify's unit, compared with its times); shown in ISO 8601 like every other time.
      conversations: Object.fromEntries(
        Object.entries(checkpoint.conversations).map(([id, c]) => [id, {
          last_processed_message_id: c.last_processed_message_id,
          processed_range_start: isoSeconds(c.processed_range_start),
          processed_range_end: isoSeconds(c.processed_range_end),
        }]),
      ),
      resume_conversation_cursor: checkpoint.resume_conversation_cursor,
      resume_run_at: checkpoint.resume_run_at,
      resume_start_time: checkpoint.resume_start_time,
      resume_end_time: checkpoint.resume_end_time,
    },
    conversations_count: stored.conversationsCount,
    version: stored.version,
    updated_at: stored.updatedAt?.toISOString() ?? null,
  };
}
