/**
 * The writes the tools call (add, update, delete, delete_all; the reads are src/memory/reads.ts), over the store, the
 * providers and the durable queue:
 * - async mode writes (add / update / delete / delete_all): checked, then queued; the answer is `ACCEPT` with the job
 *   id once the job row is COMMITTED. Empty content answers `SKIP` and queues nothing. More than 2 × max_concurrent
 *   unfinished jobs: `OVERLOAD` at once, nothing queued (the count and the insert are one statement).
 * - sync mode writes run now, bounded by the call's timeout with real cancellation (src/memory/bounded.ts): past the
 *   deadline the caller gets TIMEOUT and the statement is cancelled on the server.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { EngineError, notFound, overloaded } from '../../shared/errors.js';
import type { Providers } from '../../memory/providers.js';
import { bounded } from '../../memory/bounded.js';
import { memoryId as checkedMemoryId, parseMetadata, requiredText } from '../../memory/params.js';
import { storeRepository } from '../../memory/store-repository.js';
import type { EngineStore } from '../../memory/store-repository.js';
import type { CallOptions, MemoryApi, MemoryEvent } from '../../memory/api.js';
import type { AddPayload, DeleteAllPayload, DeletePayload, UpdatePayload } from './handlers.js';
import { isConnectionError } from './errors.js';
import type { JobKind, JobQueue } from './queue.js';
import type { Scope } from '../../store/queries.js';
import type { GraphMemory } from '../../memory/graph/graph-memory.js';

export type MemoryWrites = Pick<MemoryApi, 'add' | 'update' | 'delete' | 'deleteAll'>;

export interface WriteDeps {
  store: EngineStore;
  providers: Providers;
  /** The graph memory, when a graph store is configured. */
  graph?: GraphMemory | null | undefined;
  queue: JobQueue;
  /** Async mode: writes are queued. Sync mode: they run now (bounded). */
  asyncMode: boolean;
  /** The overload guard refuses work beyond 2 × this. */
  maxConcurrent: number;
  /** Called after a job was accepted (wakes the local worker). */
  onAccepted?: () => void;
  logger?: Logger | undefined;
}

export function memoryWrites(deps: WriteDeps): MemoryWrites {
  const limit = 2 * deps.maxConcurrent;

  /** Queues a job; its id once committed. */
  async function accept(options: CallOptions, kind: JobKind, scope: Scope, payload: object, runId: string | undefined): Promise<string> {
    const id = randomUUID();
    const job = { id, kind, scope, payload: payload as Record<string, unknown>, runId };
    const result = await bounded(deps, options, async (_service, _signal, bound) => {
      try {
        return await deps.queue.enqueue(job, limit, bound.pool);
      } catch (error) {
        // A pooled connection the server dropped (restart, terminated backend) fails the first statement: try once
        // more on a fresh one. The job id makes that safe: if the first INSERT did commit, the second one hits the
        // primary key and the job is accepted exactly once.
        if (!isConnectionError(error)) throw error;
        try {
          return await deps.queue.enqueue(job, limit, bound.pool);
        } catch (again) {
          if ((again as { code?: string }).code === '23505') return { id, seq: '', pending: 0 };
          throw again;
        }
      }
    });
    if (result.id === null) throw overloaded(result.pending, limit);
    deps.logger?.debug({ jobId: id, kind, run_id: runId, pending: result.pending }, 'write accepted');
    deps.onAccepted?.();
    return id;
  }

  /** The memory's own scope (update/delete are ordered with the other writes of its owner); NOT_FOUND if none. */
  async function ownerOf(options: CallOptions, memoryId: string): Promise<{ scope: Scope; memory: string }> {
    return bounded(deps, options, async (_service, _signal, { store }) => {
      const record = await storeRepository(store).get(memoryId);
      if (!record) throw notFound('memory', memoryId);
      return { scope: { userId: record.userId ?? '', agentId: record.agentId }, memory: record.data };
    });
  }

  return {
    async add(input, options) {
      const user = input.user?.trim() ?? '';
      const assistant = input.assistant?.trim() ?? '';
      if (!deps.asyncMode) {
        return bounded(deps, options, async (service, signal) => {
          const { events, relations } = await service.addWithGraph({
            user: input.user, assistant: input.assistant, metadata: input.metadata, infer: input.infer,
            userId: input.scope.userId, agentId: input.scope.agentId, runId: input.scope.runId, signal,
          });
          // The service's events as they are (UPDATE carries previous_memory).
          const results = events.length === 0 && user === '' && assistant === '' ? [skip()] : events;
          return relations ? { results, relations } : { results };
        });
      }
      if (user === '' && assistant === '') return { results: [skip()] };
      const metadata = parseMetadata(input.metadata);
      const payload: AddPayload = {
        userId: requiredText(input.scope.userId, 'user_id'), agentId: input.scope.agentId ?? null, user: input.user, assistant: input.assistant ?? null, metadata,
        ...(input.infer === false ? { infer: false } : {}),
      };
      const jobId = await accept(options, 'add', input.scope, payload, input.scope.runId);
      // No memory id yet: what the job writes is known once it ran (get_job_status lists the ids).
      return { results: [{ id: null, memory: user || assistant, event: 'ACCEPT', job_id: jobId }] };
    },

    async update(input, options) {
      const memoryId = checkedMemoryId(input.memoryId);
      if (!deps.asyncMode) {
        return bounded(deps, options, async (service, signal) => {
          return service.update({ memoryId, text: input.text, signal });
        });
      }
      const text = input.text?.trim() ?? '';
      if (text === '') throw new EngineError('invalid_params', 'text is required');
      const owner = await ownerOf(options, memoryId);
      const payload: UpdatePayload = { memoryId, text };
      const jobId = await accept(options, 'update', owner.scope, payload, input.runId);
      return { id: memoryId, memory: text, event: 'ACCEPT', job_id: jobId };
    },

    async delete(input, options) {
      const memoryId = checkedMemoryId(input.memoryId);
      if (!deps.asyncMode) {
        return bounded(deps, options, async (service, signal) => {
          return service.delete({ memoryId, signal });
        });
      }
      const owner = await ownerOf(options, memoryId);
      const payload: DeletePayload = { memoryId };
      const jobId = await accept(options, 'delete', owner.scope, payload, input.runId);
      return { id: memoryId, memory: owner.memory, event: 'ACCEPT', job_id: jobId };
    },

    async deleteAll(input, options) {
      const scope = { userId: input.scope.userId, agentId: input.scope.agentId, filters: input.filters };
      // A dry run counts what would go and deletes nothing, in both modes.
      if (input.dryRun) {
        const would = await bounded(deps, options, (service) => service.previewDeleteAll(scope));
        return {
          deleted_count: 0, dry_run: true, would_delete_count: would.memories,
          ...(would.relations !== undefined ? { would_delete_relations: would.relations } : {}),
        };
      }
      if (!deps.asyncMode) return bounded(deps, options, (service, signal) => service.deleteAll({ ...scope, signal }));
      // Checked against the store before the job is queued, so a bad filter (or a mem0ai store scope too large to list
      // whole) fails now, not in the background.
      if (input.filters || deps.store.external) await bounded(deps, options, (service) => service.countMatching(scope));
      const payload: DeleteAllPayload = { userId: requiredText(input.scope.userId, 'user_id'), agentId: input.scope.agentId ?? null, filters: input.filters ?? null };
      const jobId = await accept(options, 'delete_all', input.scope, payload, input.scope.runId);
      return { deleted_count: null, accepted: true, job_id: jobId };
    },

  };
}

function skip(): MemoryEvent {
  return { id: null, memory: '', event: 'SKIP' };
}

