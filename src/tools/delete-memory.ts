/**
 * delete_memory: deletes one memory (sync: deleted or NOT_FOUND; async: accepted).
 * @module
 */
import { z } from 'zod';
import { defineTool, optionalId, timeout, uuid } from './schemas.js';

export const deleteMemory = defineTool({
  name: 'delete_memory',
  schema: z.object({ memory_id: uuid(), run_id: optionalId(), timeout: timeout() }),
  emptyResults: () => ({}),
  lenient: ['timeout'],
  destructive: true,
  async run(input, { services, session }) {
    const event = await services.memories.delete(
      { memoryId: input.memory_id, runId: input.run_id },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    const key = event.event === 'ACCEPT' ? 'ok.delete_memory.accepted' : 'ok.delete_memory';
    return { status: 'SUCCESS', results: event, message: { key, params: { id: input.memory_id, job_id: event.job_id ?? '' } } };
  },
});
