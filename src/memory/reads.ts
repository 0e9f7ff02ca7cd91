/**
 * The reads the tools call (search, get_all, get, history): run now, never through the queue, each bounded by the
 * call's deadline with real cancellation (bounded.ts). Guarded like the queued writes: more than 2 × max_concurrent
 * reads in flight in this process → OVERLOAD at once.
 * @module
 */
import { overloaded } from '../shared/errors.js';
import type { CallOptions, MemoryApi } from './api.js';
import { bounded } from './bounded.js';
import type { BoundedDeps } from './bounded.js';
import type { MemoryService } from './service.js';

export type MemoryReads = Pick<MemoryApi, 'search' | 'getAll' | 'get' | 'history'>;

export interface ReadDeps extends BoundedDeps {
  /** The overload guard refuses reads beyond 2 × this. */
  maxConcurrent: number;
}

export function memoryReads(deps: ReadDeps): MemoryReads {
  const limit = 2 * deps.maxConcurrent;
  let inFlight = 0;

  async function read<T>(options: CallOptions, work: (service: MemoryService, signal: AbortSignal) => Promise<T>): Promise<T> {
    if (inFlight >= limit) throw overloaded(inFlight, limit);
    inFlight += 1;
    try {
      return await bounded(deps, options, work);
    } finally {
      inFlight -= 1;
    }
  }

  return {
    search: (input, options) =>
      read(options, (service, signal) =>
        service.search({ query: input.query, filters: input.filters, topK: input.topK, threshold: input.threshold, userId: input.scope.userId, agentId: input.scope.agentId, signal })),
    getAll: (input, options) =>
      read(options, (service) => service.getAllWithGraph({ userId: input.scope.userId, agentId: input.scope.agentId, limit: input.limit, offset: input.offset, filters: input.filters })),
    get: (input, options) => read(options, (service) => service.get({ memoryId: input.memoryId })),
    history: (input, options) => read(options, (service) => service.historyWithGraph({ memoryId: input.memoryId })),
  };
}
