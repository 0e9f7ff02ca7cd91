/**
 * get_memory_history: every change made to one memory, oldest first; with a graph store also what the writes of that
 * memory changed in the graph (`relations`).
 * @module
 */
import { z } from 'zod';
import type { GraphHistoryItem } from '../memory/graph/graph-memory.js';
import type { HistoryItem } from '../memory/service.js';
import { defineTool, optionalId, timeout, uuid } from './schemas.js';

/**
 * One line per event for the text message: the event's own time (a history row's `created_at` is the memory's
 * creation time, Mem0's way; `updated_at` is when an UPDATE or DELETE happened) and the text it added, changed or
 * removed.
 */
function describeEvent(entry: HistoryItem): string {
  const at = entry.updated_at ?? entry.created_at ?? '?';
  if (entry.event === 'DELETE') return `${at} DELETE: ${entry.old_memory ?? ''}`;
  if (entry.event === 'UPDATE') return `${at} UPDATE: ${entry.old_memory ?? ''} → ${entry.new_memory ?? ''}`;
  return `${at} ${entry.event}: ${entry.new_memory ?? ''}`;
}

/** One line per relation a write of the memory added (+) or removed (−), with the write's time. */
function describeGraphChange(change: GraphHistoryItem): string[] {
  return [
    ...change.added_entities.map((r) => `${change.created_at} + ${r.source} —${r.relationship}→ ${r.target}`),
    ...change.deleted_entities.map((r) => `${change.created_at} − ${r.source} —${r.relationship}→ ${r.target}`),
  ];
}

export const getMemoryHistory = defineTool({
  name: 'get_memory_history',
  schema: z.object({ memory_id: uuid(), run_id: optionalId(), timeout: timeout() }),
  emptyResults: () => [],
  lenient: ['timeout'],
  async run(input, { services, session }) {
    const { results: entries, relations } = await services.memories.history(
      { memoryId: input.memory_id, runId: input.run_id },
      { timeoutSeconds: input.timeout, signal: session.signal },
    );
    return {
      status: 'SUCCESS',
      results: entries,
      message: { key: 'ok.get_memory_history', params: { count: entries.length, id: input.memory_id } },
      details: [...entries.map(describeEvent), ...(relations ?? []).flatMap(describeGraphChange)],
      ...(relations ? { relations } : {}),
    };
  },
});
