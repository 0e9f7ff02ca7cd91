/**
 * Services that fail every call honestly with {@link NotBuiltError} (status ERROR): what the tool-layer tests run
 * against, so they exercise coercion, schemas and answers without an engine.
 * @module
 */
import type { MemoryServices } from '../memory/api.js';
import { NotBuiltError } from './errors.js';
import type { Feature } from './errors.js';

function notBuilt(feature: Feature): () => Promise<never> {
  return () => Promise.reject(new NotBuiltError(feature));
}

/** This version's services: every call fails honestly with NotBuiltError. */
export function notBuiltServices(): MemoryServices {
  const memory = notBuilt('memory');
  return {
    memories: { add: memory, search: memory, getAll: memory, get: memory, update: memory, delete: memory, deleteAll: memory, history: memory, jobStatus: memory },
    extraction: { start: notBuilt('extraction'), status: notBuilt('extraction'), checkpoint: notBuilt('checkpoint') },
    forgetting: { forget: notBuilt('forgetting') },
    close: () => Promise.resolve(),
  };
}
