/**
 * Forgetting over one scope: walks the scope's memories in id order, a page at a time (memory stays flat at any
 * scope size), evaluates each with the retention curve and deletes the forgotten ones with history rows. A dry run
 * only reads.
 *
 * Deleting re-checks under lock: the page is read without locks, then the candidates are locked (FOR UPDATE, which
 * waits for any recall being logged on them) and re-read, and only those still forgotten are deleted, in the same
 * transaction. A memory recalled while forgetting runs is therefore never deleted on stale figures. (A recall that
 * arrives while a candidate is locked skips it: the memory is deleted a moment later, or kept on a fresher recall.)
 *
 * Deleted memories take their access-log rows with them (same statement); a real run first sweeps the scope's log
 * rows whose memory is already gone (deleted by a writer that does not know the log).
 * @module
 */
import type pg from 'pg';
import type { Scope } from '../../store/queries.js';
import { withTransaction } from '../../store/pool.js';
import type { Queryable } from '../../store/pool.js';
import type { Tables } from '../../store/sql.js';
import { countOrphans, deleteForgotten, lockMemories, selectRetentionRows, sweepOrphans } from '../../store/access-log.js';
import type { RetentionRow } from '../../store/access-log.js';
import { retention } from '../../memory/retention.js';
import type { RetentionFigures } from '../../memory/retention.js';

export const DEFAULT_BATCH_SIZE = 1000;
/** A dry run lists at most this many memories (the counts still cover all of them). */
export const DEFAULT_MAX_LISTED = 1000;

export interface ForgetOptions {
  scope: Scope;
  dryRun: boolean;
  now: Date;
  /** Hard TTL in days (null/undefined: none). */
  ttlDays?: number | null | undefined;
  batchSize?: number | undefined;
  maxListed?: number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * With a graph store: removes the relations learnt only from the deleted memories, on `db` inside the transaction
   * that deletes them (the PostgreSQL graph), and returns how many relations went; `count` is how many would (a
   * dry run's preview, removing nothing).
   */
  graph?: {
    forget(db: Queryable, scope: Scope, memoryIds: string[]): Promise<number>;
    count(scope: Scope, memoryIds: string[]): Promise<number>;
  } | undefined;
}

export interface WouldDelete {
  id: string;
  memory: string;
  retention_info: RetentionFigures;
}

/** The memory part of forget_memories' result (checkpoint cleaning adds `checkpoints_cleaned`). */
export interface ForgetReport {
  /** Deleted (real run) or that would be deleted (dry run). */
  deleted_count: number;
  retained_count: number;
  dry_run: boolean;
  /** Dry runs only: the memories that would be deleted, with their figures, up to `maxListed`. */
  would_delete?: WouldDelete[];
  /** Dry runs only: true when more memories would be deleted than are listed. */
  would_delete_truncated?: boolean;
  /** Access-log rows of the scope whose memory was already gone: dropped (real run) or found (dry run). */
  orphans: number;
  /** With a graph store: relations removed with the memories (learnt from nothing else), or on a dry run that would be. */
  deleted_relations?: number;
}

/** Evaluates every memory of `options.scope` and deletes (or, on a dry run, lists) the forgotten ones. */
export async function forgetMemories(pool: pg.Pool, tables: Tables, options: ForgetOptions): Promise<ForgetReport> {
  const limit = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxListed = options.maxListed ?? DEFAULT_MAX_LISTED;
  const report: ForgetReport = { deleted_count: 0, retained_count: 0, dry_run: options.dryRun, orphans: 0 };
  // Log rows left by deletes that bypass us (Mem0's Python store): dropped first, so an aborted walk still did it.
  options.signal?.throwIfAborted();
  report.orphans = options.dryRun
    ? (await pool.query<{ n: number }>(countOrphans(tables, options.scope))).rows[0]?.n ?? 0
    : (await pool.query(sweepOrphans(tables, options.scope))).rowCount ?? 0;
  const listed: WouldDelete[] = [];
  // A dry run's forgotten ids, for the graph's count (relations learnt only from them, over the whole set).
  const wouldForget: string[] = [];
  let after: string | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const page: pg.QueryResult<RetentionRow> = await pool.query<RetentionRow>(
      selectRetentionRows(tables, options.scope, { after, limit, withText: options.dryRun }),
    );
    const rows: RetentionRow[] = page.rows;
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.id;
    const forgotten: string[] = [];
    for (const row of rows) {
      const figures = evaluate(row, options);
      if (!figures.forget) {
        report.retained_count += 1;
        continue;
      }
      forgotten.push(row.id);
      if (options.dryRun && listed.length < maxListed) {
        listed.push({ id: row.id, memory: row.memory ?? '', retention_info: figures });
      }
    }
    if (options.dryRun) {
      report.deleted_count += forgotten.length;
      if (options.graph) wouldForget.push(...forgotten);
    } else if (forgotten.length > 0) {
      const outcome = await deleteIfStillForgotten(pool, tables, forgotten, options);
      report.deleted_count += outcome.deleted;
      report.retained_count += outcome.kept;
      if (options.graph) report.deleted_relations = (report.deleted_relations ?? 0) + outcome.relations;
    }
    if (rows.length < limit) break;
  }
  if (options.dryRun) {
    report.would_delete = listed;
    report.would_delete_truncated = report.deleted_count > listed.length;
    if (options.graph) report.deleted_relations = await options.graph.count(options.scope, wouldForget);
  }
  return report;
}

/** The figures of one row read by {@link selectRetentionRows}. */
export function evaluate(row: RetentionRow, options: Pick<ForgetOptions, 'now' | 'ttlDays'>): RetentionFigures {
  const access = row.recallCount === null || row.qualityEma === null || row.lastRecalledAt === null
    ? undefined
    : { recallCount: row.recallCount, qualityEma: row.qualityEma, lastRecalledAt: row.lastRecalledAt };
  return retention({ createdAt: row.createdAt, memorySubtype: row.memorySubtype }, access, {
    now: options.now, ttlDays: options.ttlDays,
  });
}

/**
 * Locks `candidates` (memories of the scope judged forgotten on an unlocked read), re-reads them and deletes those
 * still forgotten, in one transaction. Returns how many were deleted and how many turned out to be retained.
 */
export async function deleteIfStillForgotten(
  pool: pg.Pool,
  tables: Tables,
  candidates: string[],
  options: ForgetOptions,
): Promise<{ deleted: number; kept: number; relations: number }> {
  return withTransaction(pool, async (client) => {
    const locked = await client.query<{ id: string }>(lockMemories(tables, options.scope, candidates));
    if (locked.rows.length === 0) return { deleted: 0, kept: 0, relations: 0 };
    const fresh = await reread(client, tables, options.scope, locked.rows.map((r) => r.id));
    const confirmed = fresh.filter((row) => evaluate(row, options).forget).map((row) => row.id);
    const kept = fresh.length - confirmed.length;
    if (confirmed.length === 0) return { deleted: 0, kept, relations: 0 };
    const gone = await client.query<{ id: string }>(deleteForgotten(tables, options.scope, confirmed));
    const relations = options.graph && gone.rows.length > 0 ? await options.graph.forget(client, options.scope, gone.rows.map((r) => r.id)) : 0;
    return { deleted: gone.rows.length, kept, relations };
  });
}

async function reread(db: Queryable, tables: Tables, scope: Scope, ids: string[]): Promise<RetentionRow[]> {
  const res = await db.query<RetentionRow>(selectRetentionRows(tables, scope, { ids, withText: false }));
  return res.rows;
}
