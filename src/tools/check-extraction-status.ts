/**
 * check_extraction_status: progress and final report of an extraction task, or NOT_FOUND.
 * @module
 */
import { z } from 'zod';
import { defineTool, id } from './schemas.js';

export const checkExtractionStatus = defineTool({
  name: 'check_extraction_status',
  schema: z.object({ task_id: id() }),
  emptyResults: () => ({}),
  async run(input, { services, session }) {
    const status = await services.extraction.status(input.task_id, session.signal);
    const state = typeof status.task_status === 'string' ? status.task_status : 'unknown';
    return { status: 'SUCCESS', results: status, message: { key: 'ok.check_extraction_status', params: { task_id: input.task_id, state } } };
  },
});
