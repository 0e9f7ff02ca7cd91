/**
 * get_all_memories: lists one user's memories (optionally one agent's, optionally filtered).
 * @module
 */
import { z } from 'zod';
import { count, defineTool, id, jsonObject, optionalId, scopeOf, timeout } from './schemas.js';

const DEFAULT_LIMIT = 100;

export const getAllMemories = defineTool({
  name: 'get_all_memories',
  schema: z.object({
    user_id: id(),
    agent_id: optionalId(),
    run_id: optionalId(),
    limit: count(DEFAULT_LIMIT),
    filters: jsonObject(),
    timeout: timeout(),
  }),
  emptyResults: () => [],
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const records = await services.memories.getAll(
      { scope: scopeOf(input), filters: input.filters, limit: input.limit },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    return {
      status: 'SUCCESS',
      results: records,
      message: { key: 'ok.get_all_memories', params: { count: records.length } },
      details: records.map((record, index) => `${index + 1}. ${record.memory}`),
    };
  },
});
