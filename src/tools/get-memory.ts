/**
 * get_memory: one memory by id, or NOT_FOUND.
 * @module
 */
import { z } from 'zod';
import { defineTool, optionalId, timeout, uuid } from './schemas.js';

export const getMemory = defineTool({
  name: 'get_memory',
  schema: z.object({ memory_id: uuid(), run_id: optionalId(), timeout: timeout() }),
  emptyResults: () => ({}),
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const record = await services.memories.get(
      { memoryId: input.memory_id, runId: input.run_id },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    return { status: 'SUCCESS', results: record, message: { key: 'ok.get_memory', params: { id: record.id } }, details: [record.memory] };
  },
});
