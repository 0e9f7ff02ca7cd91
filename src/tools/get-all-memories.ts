/**
 * get_all_memories: lists one user's memories (optionally one agent's, optionally filtered), most recently updated
 * first, from `offset` on (an answer too big for one line says `"truncated": true` and the next offset).
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
    offset: count(0),
    filters: jsonObject(),
    timeout: timeout(),
  }),
  emptyResults: () => [],
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const { results: records, relations } = await services.memories.getAll(
      { scope: scopeOf(input), filters: input.filters, limit: input.limit, offset: input.offset },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    return {
      status: 'SUCCESS',
      results: records,
      message: { key: 'ok.get_all_memories', params: { count: records.length } },
      details: records.map((record, index) => `${input.offset + index + 1}. ${record.memory}`),
      offset: input.offset,
      ...(relations ? { relations } : {}),
    };
  },
});
