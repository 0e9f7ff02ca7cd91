/**
 * export_memories and import_memories over a `mem0ai` vector store (Chroma, Qdrant, …): the memories are read from
 * and written to the store, their history from and to the state database, so the file is the same as the SQL
 * store's (memory/transfer.ts writes and reads it).
 *
 * - Export lists the scope's memories once (a store lists in its own order) and orders them as the SQL store
 *   exports them: oldest first, then by id. A store can list at most {@link MAX_FETCH} memories of a scope; a scope
 *   that large is refused rather than exported in part.
 * - Import skips ids the store already has (never overwrites), writes the new memories with Mem0's payload, then
 *   their history rows. As with every write here, the store and the state database do not share a transaction: a
 *   crash in between leaves memories without history rows, and importing the file again skips them.
 * @module
 */
import { importedHistory } from '../../store/memories.js';
import type { ImportRecord, MemoryRecord } from '../../store/memories.js';
import { withTransaction } from '../../store/pool.js';
import type { Scope } from '../../store/queries.js';
import type { Store } from '../../store/index.js';
import { EngineError } from '../../errors.js';
import { checkFilter } from './filters.js';
import { executePlan, MAX_FETCH, recordPlan, scopeRows, toRecord } from './repository.js';
import type { WritePlan } from './repository.js';
import type { ExternalStore } from './stores.js';

/** The scope's memories matching `filters`, oldest first, from `offset` on, `pageSize` at a time. */
export async function* externalExportPages(
  external: ExternalStore,
  scope: Scope,
  options: { filters?: unknown; offset: number; pageSize: number },
): AsyncGenerator<MemoryRecord[]> {
  const rows = await scopeRows(external, scope, checkFilter(options.filters));
  if (rows.length >= MAX_FETCH) {
    throw new EngineError(
      'validation',
      `this user has ${MAX_FETCH} or more memories in the ${external.provider} collection "${external.collectionName}", more than ` +
        `it can list at once; export them in parts (app_id, or filters)`,
    );
  }
  const records = rows
    .map((row): MemoryRecord => ({ ...toRecord(row.id, row.payload), payload: row.payload }))
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let start = options.offset; start < records.length; start += options.pageSize) {
    yield records.slice(start, start + options.pageSize);
  }
}

/** Writes the records whose ids the store does not have yet, with their history; returns the ids written. */
export async function externalImport(external: ExternalStore, state: Pick<Store, 'database' | 'tables'>, records: readonly ImportRecord[]): Promise<string[]> {
  const fresh: ImportRecord[] = [];
  for (const record of records) {
    if (!(await external.store.get(record.id))) fresh.push(record);
  }
  if (fresh.length === 0) return [];
  const plan: WritePlan = {
    inserts: fresh.map((record) => ({ id: record.id, vector: [...record.vector], payload: record.payload })),
    updates: [],
    deletes: [],
    history: fresh.flatMap(importedHistory),
  };
  await executePlan(external, plan);
  await withTransaction(state.database.pool, (client) => recordPlan(client, state.tables, plan));
  return fresh.map((record) => record.id);
}
