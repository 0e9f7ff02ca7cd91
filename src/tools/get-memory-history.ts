/**
 * get_memory_history: every change made to one memory, oldest first.
 * @module
 */
import { z } from 'zod';
import { defineTool, optionalId, timeout, uuid } from './schemas.js';

export const getMemoryHistory = defineTool({
  name: 'get_memory_history',
  schema: z.object({ memory_id: uuid(), run_id: optionalId(), timeout: timeout() }),
  emptyResults: () => [],
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const entries = await services.memories.history(
      { memoryId: input.memory_id, runId: input.run_id },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    return {
      status: 'SUCCESS',
      results: entries,
      message: { key: 'ok.get_memory_history', params: { count: entries.length, id: input.memory_id } },
      details: entries.map((entry) => `${entry.created_at ?? '?'} ${entry.event}: ${entry.new_memory ?? ''}`),
    };
  },
});
