/**
 * delete_all_memories: deletes every memory in one scope (a user, optionally narrowed to one agent).
 * @module
 */
import { z } from 'zod';
import { defineTool, id, optionalId, scopeOf, timeout } from './schemas.js';

export const deleteAllMemories = defineTool({
  name: 'delete_all_memories',
  schema: z.object({ user_id: id(), agent_id: optionalId(), run_id: optionalId(), timeout: timeout() }),
  emptyResults: () => ({}),
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const result = await services.memories.deleteAll({ scope: scopeOf(input) }, { timeoutSeconds: input.timeout, signal: session.signal });
    const key = result.accepted ? 'ok.delete_all_memories.accepted' : 'ok.delete_all_memories';
    return {
      status: 'SUCCESS',
      results: result,
      message: { key, params: { count: result.deleted_count ?? 0, user_id: input.user_id } },
    };
  },
});
