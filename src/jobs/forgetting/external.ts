/**
 * Forgetting when the memories live in a `mem0ai` vector store (qdrant, chroma, …) and only the access log is in
 * SQL (the state database).
 *
 * - {@link ExternalAccessLog}: the access log's writer. The SQL store's writer copies a memory's scope from the
 *   memories table, which is empty here; this one takes it from the search hits (the repository hands over each
 *   hit's `agentId`). Writes run in the background, one statement per search, never failing a search.
 * - {@link forgetExternal}: lists the scope's memories through the repository, joins their access-log rows, applies
 *   the same retention curve, and deletes the forgotten ones through the repository (history rows and access-log
 *   rows go with them). Unlike the SQL walk there is no lock between the evaluation and the delete: a recall landing
 *   in that window does not save the memory. Access-log rows of the scope whose memory is gone are swept.
 * @module
 */
import type pg from 'pg';
import { logger } from '../../log.js';
import type { MemoryRecord, MemoryRepository, Scope } from '../../memory/repository.js';
import { Params } from '../../store/sql.js';
import type { SqlQuery, Tables } from '../../store/sql.js';
import { accessLogTable } from '../../store/access-log.js';
import type { ForgetOptions, ForgetReport, WouldDelete } from './forget.js';
import { DEFAULT_MAX_LISTED } from './forget.js';
import { EMA_ALPHA, MAX_RECALL_COUNT, qualityOf, retention } from './retention.js';
import type { ScoredResult } from './retention.js';

/** Memories one forgetting run evaluates at most (the store is listed, not paged). */
export const MAX_FORGET_SCAN = 10_000;

interface OwnedRecall {
  id: string;
  userId: string;
  appId: string | null;
  q: number;
}

/** One search's counted recalls as an upsert (first recall: q; later: EMA, count capped, time never backwards). */
export function recordOwnedRecalls(t: Tables, recalls: readonly OwnedRecall[], at: Date): SqlQuery {
  const p = new Params();
  const log = accessLogTable(t);
  return {
    text: `INSERT INTO ${log} AS l (memory_id, user_id, app_id, recall_count, quality_ema, last_recalled_at)
      SELECT r.id, r.user_id, r.app_id, 1, least(1, greatest(0, r.q)), ${p.add(at.toISOString())}::timestamptz
        FROM unnest(${p.add(recalls.map((r) => r.id))}::uuid[], ${p.add(recalls.map((r) => r.userId))}::text[],
                    ${p.add(recalls.map((r) => r.appId))}::text[], ${p.add(recalls.map((r) => r.q))}::float8[]) AS r(id, user_id, app_id, q)
       ORDER BY r.id
      ON CONFLICT (memory_id) DO UPDATE SET
        quality_ema = least(1, greatest(0, ${EMA_ALPHA} * excluded.quality_ema + ${1 - EMA_ALPHA} * l.quality_ema)),
        recall_count = least(l.recall_count + 1, ${MAX_RECALL_COUNT}),
        last_recalled_at = greatest(l.last_recalled_at, excluded.last_recalled_at)`,
    values: p.values,
  };
}

/** Background writer of the access log for an external vector store. */
export class ExternalAccessLog {
  private readonly writing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly tables: Tables,
    private readonly clock: () => Date = () => new Date(),
    private readonly maxWriting = 8,
  ) {}

  /** Notes a search's results; each may carry its memory's `agentId` (else the search's scope is used). */
  record(scope: Scope, results: readonly (ScoredResult & { id: string; agentId?: string | null })[]): void {
    if (this.closed) return;
    const recalls: OwnedRecall[] = [];
    const seen = new Set<string>();
    for (const r of results) {
      const q = qualityOf(r);
      if (q === null || seen.has(r.id)) continue;
      seen.add(r.id);
      recalls.push({ id: r.id, userId: scope.userId, appId: r.agentId !== undefined ? r.agentId : (scope.agentId ?? null), q });
    }
    if (recalls.length === 0) return;
    if (this.writing.size >= this.maxWriting) {
      logger.warn({ recalls: recalls.length }, 'access log behind: recalls dropped');
      return;
    }
    const write = this.pool.query(recordOwnedRecalls(this.tables, recalls, this.clock())).then(
      () => undefined,
      (error: unknown) => logger.warn({ err: (error as Error).message, recalls: recalls.length }, 'access log write failed'),
    );
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }

  async flush(): Promise<void> {
    while (this.writing.size > 0) await Promise.all([...this.writing]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}

interface AccessRow {
  id: string;
  recallCount: number;
  qualityEma: number;
  lastRecalledAt: Date;
}

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
  const access = await accessRows(pool, tables, scope);
  const present = new Set(memories.map((m) => m.id));
  // The sweep needs the whole scope: skipped when the list may have been cut.
  const orphans = memories.length < MAX_FORGET_SCAN ? [...access.keys()].filter((id) => !present.has(id)) : [];
  report.orphans = orphans.length;
  if (!options.dryRun && orphans.length > 0) {
    await pool.query({ text: `DELETE FROM ${accessLogTable(tables)} WHERE memory_id = ANY($1::uuid[])`, values: [orphans] });
  }
  const listed: WouldDelete[] = [];
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
      if (listed.length < maxListed) listed.push({ id: memory.id, memory: memory.data, retention_info: figures });
    } else if (await repository.delete(memory.id)) {
      report.deleted_count += 1;
    }
  }
  if (options.dryRun) {
    report.would_delete = listed;
    report.would_delete_truncated = report.deleted_count > listed.length;
  }
  return report;
}

/** The scope's access-log rows by memory id (the log's own copy of the scope). */
async function accessRows(pool: Pick<pg.Pool, 'query'>, tables: Tables, scope: Scope): Promise<Map<string, AccessRow>> {
  const p = new Params();
  const where = [`user_id = ${p.add(scope.userId)}::text`];
  if (scope.agentId) where.push(`app_id = ${p.add(scope.agentId)}::text`);
  const res = await pool.query<AccessRow>({
    text: `SELECT memory_id::text AS id, recall_count AS "recallCount", quality_ema AS "qualityEma", last_recalled_at AS "lastRecalledAt"
      FROM ${accessLogTable(tables)} WHERE ${where.join(' AND ')}`,
    values: p.values,
  });
  return new Map(res.rows.map((r) => [r.id, r]));
}
