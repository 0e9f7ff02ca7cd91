/**
 * What each job kind does: the memory service's add / update / delete / delete-all, with every WRITE routed through
 * the job's completion transaction (`context.commit`). Reads (fact lookups, candidates, the memory before an update)
 * use the ordinary pool; only the final write holds a connection, briefly.
 *
 * Exactly once: the service performs exactly one write per job (add: one `apply` of the whole reconciliation;
 * update/delete/delete-all: one statement group). That write runs in the transaction that also locks the attempt's
 * job row and marks it `completed`, so the effect is durable if and only if the job is recorded as done. A process
 * killed before that COMMIT leaves nothing behind and the job is re-run; killed after it, the job is not re-run.
 *
 * With an external (mem0ai) vector store the write cannot join that transaction. The job's one write is planned
 * first and the plan stored under the job id (write-ahead), then applied to the vector store idempotently, then its
 * history rows, the completion and the plan's removal commit together. A re-run finds the stored plan and applies
 * it again instead of running the service: the memories end as planned once, with one history row each.
 * @module
 */
import type pg from 'pg';
import { EngineError, isEngineError } from '../../shared/errors.js';
import type { Providers } from '../../memory/providers.js';
import type { AppliedChanges, MemoryRepository } from '../../memory/repository.js';
import { MemoryService } from '../../memory/service.js';
import { storeRepository } from '../../memory/store-repository.js';
import type { ExternalStore } from '../../memory/external/stores.js';
import { deletePlan, loadPlan, savePlan } from '../../store/job-plans.js';
import { executePlan, planningRepository, planResult, recordedChanges, recordPlan, replayPlan } from '../../memory/external/repository.js';
import type { WritePlan } from '../../memory/external/repository.js';
import type { EngineStore } from '../../memory/store-repository.js';
import { storeOnClient } from '../../store/index.js';
import type { ClaimedJob } from './queue.js';
import type { JobContext, JobHandler } from './worker.js';
import type { GraphMemory } from '../../memory/graph/graph-memory.js';

/** What the worker needs of an engine: its store and providers. */
export interface JobEngine {
  store: EngineStore;
  providers: Providers;
  /** The graph memory, when a graph store is configured: a job's graph changes commit with it on PostgreSQL. */
  graph?: GraphMemory | null | undefined;
}

/** Payload of an `add` job: the caller's input, checked at acceptance. */
export interface AddPayload {
  userId: string;
  agentId?: string | null;
  user: string;
  assistant?: string | null;
  metadata?: Record<string, unknown> | null;
  infer?: boolean;
}

export interface UpdatePayload {
  memoryId: string;
  text: string;
}

export interface DeletePayload {
  memoryId: string;
}

export interface DeleteAllPayload {
  userId: string;
  agentId?: string | null;
  /** Only the memories matching these (the search filter language); absent: all of the scope. */
  filters?: Record<string, unknown> | null;
}

/** The repository of one job: reads from the pool, writes inside the job's completion transaction. */
function jobRepository(store: EngineStore, context: JobContext): MemoryRepository {
  const reads = storeRepository(store);
  const onClient = (client: pg.PoolClient) => storeRepository({ ...store, memories: storeOnClient(store, client) });
  return {
    ...reads,
    apply: (scope, changes) =>
      context.commit((client) => onClient(client).apply(scope, changes), (r: AppliedChanges) => ({
        inserted: r.inserted.map((m) => m.id), updated: r.updated.map((m) => m.id), deleted: r.deleted,
        ...(r.graph ? { relations: { added: r.graph.added.length, deleted: r.graph.deleted.length } } : {}),
      })),
    // A memory gone by now fails the job (nothing written) rather than completing it as if updated.
    update: (change) =>
      context.commit(async (client) => {
        const updated = await onClient(client).update(change);
        if (!updated) throw new EngineError('not_found', `memory ${change.id} not found`);
        return updated;
      }, (r) => ({ updated: r.id })),
    delete: (id) => context.commit((client) => onClient(client).delete(id), (deleted) => ({ deleted: deleted ? id : null })),
    deleteAll: (scope, filters, graph) => context.commit((client) => onClient(client).deleteAll(scope, filters, graph), (n) => ({ deleted_count: n })),
  };
}

/**
 * The repository of one job over an external (mem0ai) vector store: each write is planned, the plan stored under
 * the job's id, applied to the vector store, and its history rows committed with the job's completion (see
 * src/memory/vector-store-plans.ts). Reads go to the vector store directly.
 */
function externalJobRepository(store: EngineStore, external: ExternalStore, job: ClaimedJob, context: JobContext): MemoryRepository {
  const reads = storeRepository(store);
  const planner = planningRepository(external);
  const pool = store.database.pool;
  const run = async (plan: WritePlan): Promise<AppliedChanges> => {
    // Fenced: an attempt that lost its lease stops here, before writing to the vector store.
    const stored = await savePlan(pool, store.tables, job.id, plan, job.attempt);
    return applyStoredPlan(store, external, job, context, stored.plan, stored.replay);
  };
  return {
    ...reads,
    apply: async (scope, changes) => run(await planner.planApply(scope, changes)),
    update: async (change) => {
      const plan = await planner.planUpdate(change);
      // A memory gone by now fails the job (nothing written) rather than completing it as if updated.
      if (!plan) throw new EngineError('not_found', `memory ${change.id} not found`);
      const done = await run(plan);
      const updated = done.updated[0];
      if (!updated) throw new EngineError('not_found', `memory ${change.id} not found`);
      return updated;
    },
    delete: async (id) => {
      const plan = await planner.planDelete(id);
      if (!plan) return false;
      return (await run(plan)).deleted.length > 0;
    },
    deleteAll: async (scope, filters) => (await run(await planner.planDeleteAll(scope, filters))).deleted.length,
  };
}

/** Applies a stored plan to the vector store, then commits its history rows, the job's completion and the plan's removal. */
async function applyStoredPlan(store: EngineStore, external: ExternalStore, job: ClaimedJob, context: JobContext, stored: WritePlan, replay: boolean): Promise<AppliedChanges> {
  let plan = stored;
  // A replay completes what the first attempt left undone, never undoing what others changed since (replayPlan).
  if (replay) plan = await replayPlan(external, stored, await recordedChanges(store.database.pool, store.tables, stored));
  else await executePlan(external, stored);
  return context.commit(async (client) => {
    const pendingGraph = await recordPlan(client, store.tables, plan);
    await deletePlan(client, store.tables, job.id);
    return planResult(plan, pendingGraph);
  }, (r) => ({ inserted: r.inserted.map((m) => m.id), updated: r.updated.map((m) => m.id), deleted: r.deleted, ...(replay ? { replayed: true } : {}) }));
}

export function memoryJobHandler(engine: JobEngine | (() => JobEngine)): JobHandler {
  const current = typeof engine === 'function' ? engine : () => engine;
  return async (job: ClaimedJob, context: JobContext) => {
    const { store, providers, graph } = current();
    const external = store.external;
    if (external) {
      // A re-run of a job whose plan was stored: apply THAT plan (never a new one) and complete.
      const stored = await loadPlan<WritePlan>(store.database.pool, store.tables, job.id);
      if (stored) {
        const done = await applyStoredPlan(store, external, job, context, stored, true);
        return { inserted: done.inserted.length, updated: done.updated.length, deleted: done.deleted.length };
      }
    }
    const repository = external ? externalJobRepository(store, external, job, context) : jobRepository(store, context);
    const service = new MemoryService({ repository, providers, graph });
    const signal = context.signal;
    switch (job.kind) {
      case 'add': {
        const p = job.payload as unknown as AddPayload;
        const { events, relations } = await service.addWithGraph({
          userId: p.userId, agentId: p.agentId, runId: job.runId, user: p.user, assistant: p.assistant,
          metadata: p.metadata, infer: p.infer, signal,
        });
        return relations ? { events: events.length, relations } : { events: events.length };
      }
      case 'update': {
        const p = job.payload as unknown as UpdatePayload;
        await service.update({ memoryId: p.memoryId, text: p.text, signal });
        return { updated: p.memoryId };
      }
      case 'delete': {
        const p = job.payload as unknown as DeletePayload;
        try {
          await service.delete({ memoryId: p.memoryId });
          return { deleted: p.memoryId };
        } catch (error) {
          // Gone already (an earlier delete-all of the scope, or someone else): the state asked for holds.
          if (isEngineError(error, 'not_found')) return { deleted: null, reason: 'not_found' };
          throw error;
        }
      }
      case 'delete_all': {
        const p = job.payload as unknown as DeleteAllPayload;
        return service.deleteAll({ userId: p.userId, agentId: p.agentId, filters: p.filters ?? undefined });
      }
      default:
        throw new EngineError('invalid_params', `unknown job kind ${String(job.kind)}`);
    }
  };
}
