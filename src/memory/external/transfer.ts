/**
 * export_memories and import_memories over a `mem0ai` vector store (Chroma, Qdrant, …): the memories are read from
 * and written to the store, their history from and to the state database, so the file is the same as the SQL
 * store's (memory/transfer.ts writes and reads it).
 *
 * - Export lists the scope's memories once (a store lists in its own order) and orders them as the SQL store
 *   exports them: oldest first, then by id. A store can list at most {@link MAX_FETCH} memories of a scope; a scope
 *   that large is refused rather than exported in part.
 * - Import skips ids the store already has (never overwrites), writes the new memories with Mem0's payload, then
 *   their history rows. A store refuses some values our format allows (Chroma: metadata that is not flat); when a
 *   batch is refused and the store still answers, the memories are written one at a time so the refused ones are
 *   reported by line and the others still go in. A store that no longer answers fails the import. As with every write here, the store and the state database do not share a transaction: a
 *   crash in between leaves memories without history rows, and importing the file again skips them.
 * @module
 */
import { importedHistory } from '../../store/memories.js';
import type { ImportRecord, MemoryRecord } from '../../store/memories.js';
import { withTransaction } from '../../store/pool.js';
import type { Scope } from '../../store/queries.js';
import type { Store } from '../../store/index.js';
import { checkFilter } from './filters.js';
import { executePlan, recordPlan, toRecord, wholeScope } from './repository.js';
import type { WritePlan } from './repository.js';
import type { ExternalStore } from './stores.js';

/** The scope's memories matching `filters`, oldest first, from `offset` on, `pageSize` at a time. */
export async function* externalExportPages(
  external: ExternalStore,
  scope: Scope,
  options: { filters?: unknown; offset: number; pageSize: number },
): AsyncGenerator<MemoryRecord[]> {
  const rows = await wholeScope(external, scope, checkFilter(options.filters), 'export_memories');
  const records = rows
    .map((row): MemoryRecord => ({ ...toRecord(row.id, row.payload), payload: row.payload }))
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let start = options.offset; start < records.length; start += options.pageSize) {
    yield records.slice(start, start + options.pageSize);
  }
}

export interface ExternalImportResult {
  /** Ids written. */
  inserted: string[];
  /** Ids the store refused, with its reason. */
  refused: Map<string, string>;
}

/** Writes the records whose ids the store does not have yet, with their history. */
export async function externalImport(
  external: ExternalStore,
  state: Pick<Store, 'database' | 'tables'>,
  records: readonly ImportRecord[],
): Promise<ExternalImportResult> {
  const write = async (batch: readonly ImportRecord[]): Promise<string[]> => {
    const fresh: ImportRecord[] = [];
    for (const record of batch) {
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
  };
  try {
    return { inserted: await write(records), refused: new Map() };
  } catch (error) {
    const answers = await external.store.list(undefined, 1).then(() => true, () => false);
    if (!answers) throw error;
  }
  const result: ExternalImportResult = { inserted: [], refused: new Map() };
  for (const record of records) {
    try {
      result.inserted.push(...(await write([record])));
    } catch (error) {
      result.refused.set(record.id, error instanceof Error ? error.message : String(error));
    }
  }
  return result;
}
