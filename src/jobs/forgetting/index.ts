/**
 * Forgetting for one engine: the Forgetter behind forget_memories, with the credential set's TTLs and the cleaners
 * of other features plugged into its slots. The wiring (src/app/app.ts) hands in extraction's (checkpoints older than
 * `checkpoint_ttl_days`, expired leases, old task records): forgetting never imports extraction, which implements
 * this folder's `Cleaner`. Recording recalls needs nothing here: the engine gives its store an AccessLogger.
 * @module
 */
import type { Settings } from '../../memory/config/settings.js';
import type { EngineStore } from '../../memory/store-repository.js';
import { vectorStoreRepository } from '../../memory/external/repository.js';
import { forgetExternal } from './external.js';
import { Forgetter } from './service.js';
import type { ForgettingCleaners } from './service.js';
import type { GraphMemory } from '../../memory/graph/graph-memory.js';

export function openForgetting(
  engine: { store: Pick<EngineStore, 'database' | 'tables' | 'external'>; graph?: GraphMemory | null },
  settings: Pick<Settings, 'memoryTtlDays' | 'checkpointTtlDays'>,
  cleaners: ForgettingCleaners,
  options: { clock?: () => Date; batchSize?: number } = {},
): Forgetter {
  const pool = engine.store.database.pool;
  const tables = engine.store.tables;
  const graph = engine.graph;
  // Memories in a mem0ai vector store: listed and deleted through the repository; the access log stays in SQL.
  const external = engine.store.external;
  const repository = external && vectorStoreRepository(external, { ...engine.store, ping: () => Promise.reject(new Error('unused')), accessLog: undefined });
  return new Forgetter({
    forgetMemories: repository && ((options) => forgetExternal(repository, pool, tables, options)),
    graph: graph
      ? {
        forget: async (db, scope, ids) => (await graph.forgetWithin(db, scope, ids)).deleted_entities.length,
        count: (scope, ids) => graph.countRelations(scope, ids),
      }
      : undefined,
    pool,
    tables,
    memoryTtlDays: settings.memoryTtlDays,
    checkpointTtlDays: settings.checkpointTtlDays,
    cleanCheckpoints: cleaners.cleanCheckpoints,
    housekeeping: cleaners.housekeeping,
    clock: options.clock,
    batchSize: options.batchSize,
  });
}

export { AccessLogger } from '../../memory/access-log.js';
export type { RecallSink } from '../../store/access-log.js';
export { Forgetter, checkpointTtl, DEFAULT_CHECKPOINT_TTL_DAYS } from './service.js';
export type { ForgetResult, Cleaner, CleanupRequest, ForgettingCleaners } from './service.js';
