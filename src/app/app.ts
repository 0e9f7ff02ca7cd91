/**
 * The wiring: the plugin app of src/tools over the memory engine (src/memory), its queue and background jobs
 * (src/jobs). The only module that sees every floor; main.ts opens it. Per credential set: the memory engine, with
 * the durable write queue (src/jobs/queue): async mode queues writes and answers ACCEPT once the job is committed;
 * sync mode runs them now; reads (src/memory/reads.ts) never pass the queue; reads and sync writes are bounded by the call's timeout with real cancellation. A
 * keep-alive (src/jobs/keepalive) checks the pool and the provider endpoints without spending tokens.
 * Extraction runs through src/jobs/extraction; forget_memories through src/jobs/forgetting (with the extraction cleaners).
 * @module
 */
import { logger } from '../shared/log.js';
import { verifyCredentials } from '../memory/credential-check.js';
import type { PluginHandlers } from '../runtime/contract.js';
import type { Declarations } from '../runtime/declarations.js';
import { createPluginApp } from '../tools/index.js';
import type { PluginAppOptions } from '../tools/index.js';
import { extractionCleaners, openExtraction } from '../jobs/extraction/service.js';
import { KeepAlive, ProviderActivity } from '../jobs/keepalive/index.js';
import { openMemoryJobs } from '../jobs/queue/index.js';
import { openForgetting } from '../jobs/forgetting/index.js';
import { openEngine } from '../memory/engine.js';
import { createProviders, modelDeadlines } from '../memory/providers.js';
import { MemoryService } from '../memory/service.js';
import { storeRepository } from '../memory/store-repository.js';
import { memoryReads } from '../memory/reads.js';
import { importMaxBytes, linesFromUrl } from '../memory/import-source.js';
import { startGraphOutboxDrain } from '../jobs/graph-outbox/index.js';
import { exportToFile, importLines } from '../memory/transfer.js';
import type { EngineOptions } from '../memory/engine.js';
import { isWorkspaceModel } from '../memory/config/workspace-models.js';
import type { MemoryServices, ServicesFactory } from '../memory/api.js';

/** Opens the engine, its queue workers and keep-alive for a credential set; `close()` releases them, store last. */
export function engineServices(options: EngineOptions = {}): ServicesFactory {
  return async (settings): Promise<MemoryServices> => {
    const deadlines = modelDeadlines(process.env, (variable) => logger.warn({ variable }, 'ignoring a malformed model timeout setting'));
    const engine = await openEngine(settings, { logger, providerTimeoutMs: deadlines.syncMs, ...options });
    // Queued work (the write queue's workers, extraction) gets its own, longer model deadline.
    const queuedProviders = options.providerTimeoutMs !== undefined || deadlines.queuedMs === deadlines.syncMs
      ? engine.providers
      : await createProviders(settings, { timeoutMs: deadlines.queuedMs });
    // The graph's own LLM and embedding calls in queued work too (the same graph asking the queued models).
    const queuedGraph = queuedProviders === engine.providers ? engine.graph : engine.graph?.withModels(queuedProviders.llm, queuedProviders.embedder) ?? null;
    const extractionEngine = queuedProviders === engine.providers
      ? engine
      : { ...engine, providers: queuedProviders, graph: queuedGraph, service: new MemoryService({ repository: storeRepository(engine.store), providers: queuedProviders, graph: queuedGraph, logger }) };
    const extraction = openExtraction(extractionEngine, { asyncMode: settings.asyncMode, logger });
    // Provider calls are recorded so the keep-alive can skip endpoints that answered recently.
    const activity = new ProviderActivity();
    const providers = activity.wrap(engine.providers);
    const jobs = openMemoryJobs(
      { store: engine.store, providers, graph: engine.graph },
      {
        asyncMode: settings.asyncMode, maxConcurrent: settings.maxConcurrentMemoryOperations, workerProviders: activity.wrap(queuedProviders), logger,
        // Queued jobs would call the workspace's models outside any session: they wait for a set that can run them.
        runQueued: !isWorkspaceModel(settings.llm) && !isWorkspaceModel(settings.embedder),
      },
    );
    const keepAlive = new KeepAlive({
      database: engine.store.database, external: engine.store.external, llm: settings.llm, embedder: settings.embedder, activity,
      intervalSeconds: settings.heartbeatIntervalSeconds, logger,
    });
    keepAlive.start();
    // Graph changes waiting for a graph kept apart from the memories are written in the background too.
    const outbox = engine.graph?.outbox;
    const graphDrain = outbox ? startGraphOutboxDrain(outbox, { intervalMs: outbox.timing.retryMs, logger }) : null;
    return {
      // Reads run now in the engine, bounded by the call; writes go through the queue (or run now in sync mode).
      memories: { ...memoryReads({ store: engine.store, providers, graph: engine.graph, maxConcurrent: settings.maxConcurrentMemoryOperations, logger }), ...jobs.writes },
      extraction: extraction.service,
      forgetting: openForgetting(engine, settings, extractionCleaners(engine.store.database.pool, engine.store.tables)),
      transfer: {
        exportFile: (input, signal) => exportToFile(engine.store, { ...input, signal }),
        importUrl: (input, signal) =>
          importLines(engine.store, engine.providers.embedder, linesFromUrl(input.url, { maxBytes: importMaxBytes(), signal }), {
            defaultUserId: input.defaultUserId, signal,
          }),
      },
      // An evicted credential set lets its running extraction tasks finish (each within its time budget) first.
      drain: () => extraction.idle(),
      // Running extraction tasks are ended first (recorded as interrupted); queue workers get their grace period
      // (unfinished jobs stay queued for the next start); then the store is released.
      close: () => {
        keepAlive.stop();
        return Promise.allSettled([extraction.close(), jobs.close(), graphDrain?.stop()]).then(() => engine.close());
      },
    };
  };
}

/**
 * The plugin's handlers over the real engine: tool calls run on {@link engineServices}, credential validation on
 * the engine's round trip. `options` replaces parts (tests pass their own services, check or language).
 */
export function createApp(declarations: Declarations, options: Partial<PluginAppOptions> = {}): PluginHandlers {
  return createPluginApp(declarations, {
    services: engineServices(),
    checkCredentials: (settings, signal) => verifyCredentials(settings, { signal, logger }),
    ...options,
  });
}
