/**
 * One tool call bounded by its deadline, with real cancellation: every database statement runs on a DeadlinePool
 * (a server-side statement_timeout of the time left; at the deadline the caller gets TIMEOUT at once and the
 * statement is cancelled on the server), and the work gets an engine service over that pool. The reads (reads.ts)
 * and the writes' sync mode and acceptance (src/jobs/queue/writes.ts) run through it.
 * @module
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { storeOnClient } from '../store/index.js';
import type { EngineStore } from './store-repository.js';
import { deadline, DeadlinePool } from '../store/scoped-pools.js';
import type { CallOptions } from './api.js';
import type { Providers } from './providers.js';
import { MemoryService } from './service.js';
import { storeRepository } from './store-repository.js';
import type { GraphMemory } from './graph/graph-memory.js';

export interface BoundedDeps {
  store: EngineStore;
  providers: Providers;
  /** The graph memory, when a graph store is configured. */
  graph?: GraphMemory | null | undefined;
  logger?: Logger | undefined;
}

/** What runs inside the deadline: the engine service, the deadline's signal, and the bounded store and pool. */
export type BoundedWork<T> = (service: MemoryService, signal: AbortSignal, bound: { store: EngineStore; pool: pg.Pool }) => Promise<T>;

/** Runs `work` with a service whose every database call is bounded by the call's deadline. */
export async function bounded<T>(deps: BoundedDeps, options: CallOptions, work: BoundedWork<T>): Promise<T> {
  const d = deadline(options.timeoutSeconds * 1000, options.signal);
  try {
    const pool = new DeadlinePool(deps.store.database.pool, d.signal, d.at, deps.store.kind === 'postgres').asPool();
    const store: EngineStore = { ...deps.store, memories: storeOnClient(deps.store, pool) };
    const service = new MemoryService({ repository: storeRepository(store), providers: deps.providers, graph: deps.graph, logger: deps.logger });
    return await raceSignal(work(service, d.signal, { store, pool }), d.signal);
  } finally {
    d.done();
  }
}

/** `work`, or the deadline's error as soon as the signal fires (the work itself is cancelled by the same signal). */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
