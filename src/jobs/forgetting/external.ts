/**
 * Forgetting when the memories live in a `mem0ai` vector store (qdrant, chroma, …) and only the access log is in
 * SQL (the state database); the log's writer for that case is memory/external/access-log.ts.
 *
 * {@link forgetExternal} lists the scope's memories through the repository, joins their access-log rows, applies
 * the same retention curve, and deletes the forgotten ones through the repository (history rows and access-log rows
 * go with them). Unlike the SQL walk there is no lock between the evaluation and the delete: a recall landing in
 * that window does not save the memory. Access-log rows of the scope whose memory is gone are swept.
 * @module
 */
import type pg from 'pg';
import type { MemoryRecord, MemoryRepository } from '../../memory/repository.js';
import { deleteAccessRows, selectScopeAccess } from '../../store/access-log.js';
import type { AccessRow } from '../../store/access-log.js';
import type { Tables } from '../../store/sql.js';
import type { ForgetOptions, ForgetReport, WouldDelete } from './forget.js';
import { DEFAULT_MAX_LISTED } from './forget.js';
import { retention } from '../../memory/retention.js';

/** Memories one forgetting run evaluates at most (the store is listed, not paged). */
export const MAX_FORGET_SCAN = 10_000;

/** Forgetting over one scope of an external store (see the module comment). */
export async function forgetExternal(
  repository: MemoryRepository,
  pool: Pick<pg.Pool, 'query'>,
  tables: Tables,
  options: ForgetOptions,
): Promise<ForgetReport> {
  const maxListed = options.maxListed ?? DEFAULT_MAX_LISTED;
  const scope = options.scope;
  const report: ForgetReport = { deleted_count: 0, retained_count: 0, dry_run: options.dryRun, orphans: 0 };
  options.signal?.throwIfAborted();
  const memories: MemoryRecord[] = await repository.list({ userId: scope.userId, agentId: scope.agentId }, { limit: MAX_FORGET_SCAN });
  const access = new Map((await pool.query<AccessRow>(selectScopeAccess(tables, scope))).rows.map((r) => [r.id, r]));
  const present = new Set(memories.map((m) => m.id));
  // The sweep needs the whole scope: skipped when the list may have been cut.
  const orphans = memories.length < MAX_FORGET_SCAN ? [...access.keys()].filter((id) => !present.has(id)) : [];
  report.orphans = orphans.length;
  if (!options.dryRun && orphans.length > 0) {
    await pool.query(deleteAccessRows(tables, orphans));
  }
  const listed: WouldDelete[] = [];
  const deleted: string[] = [];
  for (const memory of memories) {
    options.signal?.throwIfAborted();
    const row = access.get(memory.id);
    const figures = retention(
      { createdAt: memory.createdAt, memorySubtype: typeof memory.metadata.memory_subtype === 'string' ? memory.metadata.memory_subtype : null },
      row ? { recallCount: row.recallCount, qualityEma: row.qualityEma, lastRecalledAt: row.lastRecalledAt } : undefined,
      { now: options.now, ttlDays: options.ttlDays },
    );
    if (!figures.forget) {
      report.retained_count += 1;
      continue;
    }
    if (options.dryRun) {
      report.deleted_count += 1;
      deleted.push(memory.id); // would be: the graph's count below
      if (listed.length < maxListed) listed.push({ id: memory.id, memory: memory.data, retention_info: figures });
    } else if (await repository.delete(memory.id)) {
      report.deleted_count += 1;
      deleted.push(memory.id);
    }
  }
  if (options.graph) {
    report.deleted_relations = options.dryRun
      ? await options.graph.count(scope, deleted)
      : deleted.length > 0 ? await options.graph.forget(pool, scope, deleted) : 0;
  }
  if (options.dryRun) {
    report.would_delete = listed;
    report.would_delete_truncated = report.deleted_count > listed.length;
  }
  return report;
}
