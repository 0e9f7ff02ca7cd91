/**
 * Extraction for one engine (store + providers + memory service), behind the tools' `ExtractionService`, and the
 * cleaners forget_memories plugs in.
 *
 * Async mode answers ACCEPTED at once and runs the task in this process; sync mode (`async_mode` off) runs the same
 * code in the foreground and answers with the finished task (for small runs and tests; bounded by the tool call).
 * @module
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Store } from '../../store/index.js';
import type { Tables } from '../../store/sql.js';
import { EngineError } from '../../shared/errors.js';
import type { ExtractionService } from '../../memory/api.js';
import type { CleanupRequest, Cleaner } from '../forgetting/service.js';
import { CheckpointStore } from '../../store/extraction-checkpoints.js';
import type { ExtractionLlm } from './classify.js';
import type { MemoryWriter } from './conversation.js';
import { DifyConfigError } from './dify-client.js';
import { LeaseStore } from '../../store/extraction-leases.js';
import { DEFAULT_ORCHESTRATOR, ExtractionOrchestrator } from './orchestrator.js';
import type { OrchestratorOptions } from './orchestrator.js';
import { TaskStore } from '../../store/extraction-tasks.js';

/** The parts of the memory engine extraction uses (src/memory/engine.ts's `Engine` fits). */
export interface ExtractionEngine {
  store: Pick<Store, 'database' | 'tables'>;
  providers: { llm: ExtractionLlm };
  service: MemoryWriter;
}

export interface Extraction {
  readonly service: ExtractionService;
  readonly orchestrator: ExtractionOrchestrator;
  /** Settles when no extraction task of this engine is running. */
  idle(): Promise<void>;
  close(graceMs?: number): Promise<void>;
}

export function openExtraction(
  engine: ExtractionEngine,
  options: { asyncMode: boolean; logger?: Logger | undefined; orchestrator?: Partial<OrchestratorOptions> },
): Extraction {
  const orchestrator = new ExtractionOrchestrator({
    pool: engine.store.database.pool,
    tables: engine.store.tables,
    databaseKind: engine.store.database.kind,
    memory: engine.service,
    llm: engine.providers.llm,
    logger: options.logger,
    ...options.orchestrator,
  });
  const service: ExtractionService = {
    async start(request, signal) {
      try {
        return await orchestrator.start(request, options.asyncMode ? {} : { wait: true, signal });
      } catch (error) {
        if (error instanceof DifyConfigError) throw new EngineError('invalid_params', error.message, { field: 'dify' });
        throw error;
      }
    },
    status: (taskId) => orchestrator.status(taskId),
    checkpoint: (input) => orchestrator.checkpoint(input.userId, input.appId),
  };
  return { service, orchestrator, idle: () => orchestrator.idle(), close: (graceMs) => orchestrator.close(graceMs) };
}

/**
 * forget_memories' slots (src/jobs/forgetting/service.ts; app.ts hands them to `openForgetting`): `cleanCheckpoints` removes the user's (and app's)
 * checkpoints last saved before the request's cut-off, except those a run holds a live lease on; `housekeeping`
 * removes expired leases and finished task records older than `taskRetentionMs` (7 days). Dry runs only count.
 */
export function extractionCleaners(
  pool: pg.Pool,
  tables: Tables,
  options: { taskRetentionMs?: number | undefined } = {},
): { cleanCheckpoints: Cleaner; housekeeping: Cleaner[] } {
  const checkpoints = new CheckpointStore(pool, tables);
  const leases = new LeaseStore(pool, tables);
  const tasks = new TaskStore(pool, tables);
  const retention = options.taskRetentionMs ?? DEFAULT_ORCHESTRATOR.taskRetentionMs;
  return {
    cleanCheckpoints: (r: CleanupRequest) =>
      checkpoints.clean({ userId: r.userId, appId: r.appId, before: r.checkpointsBefore, dryRun: r.dryRun }),
    housekeeping: [
      (r: CleanupRequest) => leases.cleanExpired({ dryRun: r.dryRun }),
      (r: CleanupRequest) => tasks.prune({ before: new Date(r.now.getTime() - retention), dryRun: r.dryRun }),
    ],
  };
}
