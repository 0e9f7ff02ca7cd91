/**
 * The store (src/store) seen as the service's {@link MemoryRepository}. Thin: names line up already; "not found"
 * becomes null/false here, every other EngineError passes through for the tools' one error mapping.
 * @module
 */
import type { Store } from '../store/index.js';
import { EngineError } from '../shared/errors.js';
import type { MemoryRepository } from './repository.js';
import type { ExternalStore } from './external/stores.js';
import { vectorStoreRepository } from './external/repository.js';

/**
 * The engine's store: with a mem0ai vector store (qdrant, chroma, …) `external` holds the memories and the store only
 * the state tables. Chosen once when the engine opens; copies (`{ ...store, memories }`) carry it along.
 */
export type EngineStore = Store & { readonly external?: ExternalStore | undefined };

export function storeRepository(store: EngineStore): MemoryRepository {
  const external = store.external;
  if (external) return vectorStoreRepository(external, store);
  const memories = store.memories;
  return {
    carriesGraph: true,
    search: (scope, options) => memories.search(scope, { vector: options.vector, query: options.query, topK: options.topK, filters: options.filters }),
    list: (scope, options) => memories.list(scope, { limit: options.limit, offset: options.offset ?? 0, filters: options.filters }),
    get: (id) => memories.get(null, id),
    findByHash: (scope, hash) => memories.findByHash(scope, hash),
    history: async (id) =>
      (await memories.history(null, id)).map((h) => ({
        memoryId: h.memoryId, oldMemory: h.oldMemory, newMemory: h.newMemory, event: h.event,
        createdAt: h.createdAt, updatedAt: h.updatedAt, isDeleted: h.isDeleted,
      })),
    apply: (scope, changes) => memories.apply(scope, changes),
    update: (change) => nullIfMissing(memories.update(null, change.id, { data: change.data, vector: change.vector, metadata: change.metadata })),
    delete: async (id) => (await nullIfMissing(memories.delete(null, id).then(() => true))) ?? false,
    deleteAll: async (scope, filters, graph) => (graph ? (await memories.deleteAllWithGraph(scope, filters, graph)).deleted : memories.deleteAll(scope, filters)),
    count: (scope, filters) => memories.count(scope, filters),
    ping: () => store.ping(),
    recordRecalls: (scope, results) => store.accessLog?.record(scope, results),
  };
}

async function nullIfMissing<T>(work: Promise<T>): Promise<T | null> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof EngineError && error.code === 'not_found') return null;
    throw error;
  }
}
