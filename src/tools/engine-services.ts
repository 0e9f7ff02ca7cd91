/**
 * The services this version really provides: the memory engine (src/memory) for one credential set, in
 * synchronous mode. Extraction runs through src/jobs/extraction;
 * forget_memories through src/jobs/forgetting (with the extraction cleaners).
 * Async mode (the durable write queue) is not built yet either: writes run synchronously and the tools say so.
 * @module
 */
import { logger } from '../log.js';
import { openExtraction } from '../jobs/extraction/service.js';
import { openForgetting } from '../jobs/forgetting/index.js';
import { openEngine } from '../memory/engine.js';
import type { EngineOptions } from '../memory/engine.js';
import { syncToolMemoryService } from '../memory/tool-services.js';
import type { MemoryServices, ServicesFactory } from './services.js';

/** Opens the engine for a credential set; `close()` releases its store (pool or embedded database). */
export function engineServices(options: EngineOptions = {}): ServicesFactory {
  return async (settings): Promise<MemoryServices> => {
    const engine = await openEngine(settings, { logger, ...options });
    const extraction = openExtraction(engine, { asyncMode: settings.asyncMode, logger });
    return {
      memories: syncToolMemoryService(engine.service),
      extraction: extraction.service,
      forgetting: openForgetting(engine, settings),
      // Running extraction tasks are ended first (recorded as interrupted), then the store is released.
      close: () => extraction.close().finally(() => engine.close()),
    };
  };
}
