/**
 * Forgetting for one engine: the ForgettingService behind forget_memories, with the credential set's TTLs and the
 * extraction feature's cleaners (checkpoints older than `checkpoint_ttl_days`, expired leases, old task records)
 * plugged into its slots. Recording recalls needs nothing here: the engine gives its store an AccessLogger.
 * @module
 */
import type { Settings } from '../../memory/config/settings.js';
import type { Store } from '../../store/index.js';
import { externalOf } from '../../memory/external/stores.js';
import { vectorStoreRepository } from '../../memory/external/repository.js';
import { extractionCleaners } from '../extraction/service.js';
import { forgetExternal } from './external.js';
import { ForgettingService } from './service.js';
import type { GraphMemory } from '../../memory/graph/graph-memory.js';

export function openForgetting(
  engine: { store: Pick<Store, 'database' | 'tables'>; graph?: GraphMemory | null },
  settings: Pick<Settings, 'memoryTtlDays' | 'checkpointTtlDays'>,
  options: { clock?: () => Date; batchSize?: number } = {},
): ForgettingService {
  const pool = engine.store.database.pool;
  const tables = engine.store.tables;
  const graph = engine.graph;
  const { cleanCheckpoints, housekeeping } = extractionCleaners(pool, tables);
  // Memories in a mem0ai vector store: listed and deleted through the repository; the access log stays in SQL.
  const external = externalOf(engine.store);
  const repository = external && vectorStoreRepository(external, { ...engine.store, ping: () => Promise.reject(new Error('unused')), accessLog: undefined });
  return new ForgettingService({
    forgetMemories: repository && ((options) => forgetExternal(repository, pool, tables, options)),
    graph: graph ? { forget: async (db, scope, ids) => (await graph.forgetWithin(db, scope, ids)).deleted_entities.length } : undefined,
    pool,
    tables,
    memoryTtlDays: settings.memoryTtlDays,
    checkpointTtlDays: settings.checkpointTtlDays,
    cleanCheckpoints,
    housekeeping,
    clock: options.clock,
    batchSize: options.batchSize,
  });
}

export { AccessLogger } from '../../memory/access-log.js';
export type { RecallSink } from '../../store/access-log.js';
export { ForgettingService, checkpointTtl, DEFAULT_CHECKPOINT_TTL_DAYS } from './service.js';
export type { ForgetResult, Cleaner, CleanupRequest } from './service.js';
