/**
 * update_memory: replaces a memory's text (sync: updated; async: accepted and applied in the background).
 * @module
 */
import { z } from 'zod';
import { defineTool, optionalId, text, timeout, uuid } from './schemas.js';

export const updateMemory = defineTool({
  name: 'update_memory',
  schema: z.object({ memory_id: uuid(), text: text(), run_id: optionalId(), timeout: timeout() }),
  emptyResults: () => ({}),
  lenient: ['timeout'],
  destructive: true,
  async run(input, { services, session }) {
    const event = await services.memories.update(
      { memoryId: input.memory_id, text: input.text, runId: input.run_id },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    const key = event.event === 'ACCEPT' ? 'ok.update_memory.accepted' : 'ok.update_memory';
    return { status: 'SUCCESS', results: event, message: { key, params: { id: input.memory_id, job_id: event.job_id ?? '' } } };
  },
});
