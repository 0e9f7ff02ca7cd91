/**
 * delete_all_memories: deletes the memories of one scope (a user, optionally narrowed to one agent), all of them or
 * only those matching `filters` (the search filter language). `dry_run` counts what would go and deletes nothing.
 * @module
 */
import { z } from 'zod';
import { defineTool, flag, id, jsonObject, optionalId, scopeOf, timeout } from './schemas.js';

export const deleteAllMemories = defineTool({
  name: 'delete_all_memories',
  schema: z.object({
    user_id: id(),
    agent_id: optionalId(),
    run_id: optionalId(),
    filters: jsonObject(),
    dry_run: flag(false),
    timeout: timeout(),
  }),
  emptyResults: () => ({}),
  lenient: ['timeout'],
  destructive: true,
  async run(input, { services, session }) {
    const result = await services.memories.deleteAll(
      { scope: scopeOf(input), filters: input.filters, dryRun: input.dry_run },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    const params = { user_id: input.user_id, count: result.would_delete_count ?? result.deleted_count ?? 0 };
    if (result.dry_run) return { status: 'SUCCESS', results: result, message: { key: 'ok.delete_all_memories.dry_run', params } };
    if (result.accepted) return { status: 'SUCCESS', results: result, message: { key: 'ok.delete_all_memories.accepted', params: { ...params, job_id: result.job_id ?? '' } } };
    return { status: 'SUCCESS', results: result, message: { key: 'ok.delete_all_memories', params } };
  },
});
