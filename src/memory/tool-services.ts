/**
 * The engine's service behind the tools' `MemoryService` interface (src/tools/services.ts), synchronous mode:
 * every call runs now, bounded by the tool's timeout (and the session's abort signal). Past the deadline the call
 * fails with `EngineError('timeout')` (the tools answer TIMEOUT) and provider calls still running are abandoned;
 * a write that has not started by then does not start.
 *
 * What is not cancelled: a database statement already sent keeps running until it finishes. The store takes no
 * AbortSignal; on PostgreSQL its pool's `statement_timeout` (30 s) ends it, on PGlite (one embedded backend in
 * this process) it runs to completion and the calls queued behind it wait. Its result is dropped.
 * @module
 */
import type { CallOptions, MemoryService as ToolMemoryService } from '../tools/services.js';
import { EngineError } from './errors.js';
import type { MemoryService } from './service.js';

export function syncToolMemoryService(service: MemoryService): ToolMemoryService {
  return {
    add: (input, options) =>
      withDeadline(options, (signal) =>
        service.add({
          user: input.user, assistant: input.assistant, metadata: input.metadata,
          userId: input.scope.userId, agentId: input.scope.agentId, runId: input.scope.runId, signal,
        })),
    search: (input, options) =>
      withDeadline(options, (signal) =>
        service.search({ query: input.query, filters: input.filters, topK: input.topK, userId: input.scope.userId, agentId: input.scope.agentId, signal })),
    getAll: (input, options) =>
      withDeadline(options, () => service.getAll({ userId: input.scope.userId, agentId: input.scope.agentId, limit: input.limit, filters: input.filters })),
    get: (input, options) => withDeadline(options, () => service.get({ memoryId: input.memoryId })),
    update: (input, options) => withDeadline(options, (signal) => service.update({ memoryId: input.memoryId, text: input.text, signal })),
    delete: (input, options) => withDeadline(options, (signal) => service.delete({ memoryId: input.memoryId, signal })),
    deleteAll: (input, options) =>
      withDeadline(options, async (signal) => ({
        ...(await service.deleteAll({ userId: input.scope.userId, agentId: input.scope.agentId, signal })),
        accepted: false,
      })),
    history: (input, options) => withDeadline(options, () => service.history({ memoryId: input.memoryId })),
  };
}

/** Runs `work` with a signal that fires at the deadline or when the session aborts; rejects with a timeout then. */
export async function withDeadline<T>(options: CallOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const seconds = options.timeoutSeconds;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    const fail = (why: string): void => {
      controller.abort();
      reject(new EngineError('timeout', why));
    };
    timer = setTimeout(() => fail(`the operation did not finish within ${seconds} s`), seconds * 1000);
    onAbort = () => fail('the operation was cancelled');
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
  });
  const running = work(controller.signal);
  running.catch(() => {});
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal.removeEventListener('abort', onAbort);
  }
}
