/**
 * get_job_status: what became of a write queued in async mode (add, update, delete, delete_all), by the `job_id`
 * its answer carried: state, attempts, next retry, last error, and the memory ids it wrote.
 * @module
 */
import { z } from 'zod';
import { defineTool, jobId, optionalId, timeout } from './schemas.js';

export const getJobStatus = defineTool({
  name: 'get_job_status',
  schema: z.object({ job_id: jobId(), run_id: optionalId(), timeout: timeout() }),
  emptyResults: () => ({}),
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const job = await services.memories.jobStatus({ jobId: input.job_id, runId: input.run_id }, { timeoutSeconds: input.timeout, signal: session.signal });
    const params = { job_id: job.job_id, kind: job.kind, state: job.state, attempts: job.attempts };
    // A failed job is a failed write: the workflow should be able to branch on it without reading results.
    if (job.state === 'failed') {
      return { status: 'ERROR', results: job, message: { key: 'ok.get_job_status.failed', params: { ...params, error: job.last_error?.message ?? '' } } };
    }
    return { status: 'SUCCESS', results: job, message: { key: 'ok.get_job_status', params } };
  },
});
