/**
 * check_extraction_status: progress and final report of an extraction task. The tool status says how the task ended:
 * SUCCESS (running, or completed with no failed user), PARTIAL_SUCCESS (completed, some users failed: the count is
 * in the message), ERROR (failed: every user failed, or the task itself; the cause is in `error`), or NOT_FOUND.
 * @module
 */
import { z } from 'zod';
import type { JsonObject } from '../memory/api.js';
import type { ToolOutcome } from './result.js';
import { defineTool, id } from './schemas.js';

export const checkExtractionStatus = defineTool({
  name: 'check_extraction_status',
  schema: z.object({ task_id: id() }),
  emptyResults: () => ({}),
  async run(input, { services, session }) {
    return taskOutcome(await services.extraction.status(input.task_id, session.signal), input.task_id);
  },
});

/** The answer for a task's status (also sync-mode extract_long_term_memory's, which ran the task to its end). */
export function taskOutcome(task: JsonObject, taskId = String(task.task_id ?? '')): ToolOutcome {
  const state = typeof task.task_status === 'string' ? task.task_status : 'unknown';
  if (state === 'failed') {
    const error = typeof task.error === 'string' && task.error !== '' ? task.error : 'no cause was recorded';
    return { status: 'ERROR', results: task, message: { key: 'ok.check_extraction_status.failed', params: { task_id: taskId, error } } };
  }
  const failed = typeof task.failed_users === 'number' ? task.failed_users : 0;
  if (state === 'completed' && failed > 0) {
    const users = typeof task.user_count === 'number' ? task.user_count : failed;
    return { status: 'PARTIAL_SUCCESS', results: task, message: { key: 'ok.check_extraction_status.partial', params: { task_id: taskId, failed, users } } };
  }
  return { status: 'SUCCESS', results: task, message: { key: 'ok.check_extraction_status', params: { task_id: taskId, state } } };
}
