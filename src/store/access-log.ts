/**
 * Access-log and forgetting SQL, as pure functions returning `{text, values}` (same conventions as
 * store/queries.ts: quoted table names from {@link Tables}, everything else a `$n` parameter).
 *
 * The access log has one row per memory (`memory_id` is the key): a memory belongs to exactly one user/app, and its
 * retention depends on all its recalls, whichever search (with or without an app id) found it. `user_id` and
 * `app_id` are the memory's own scope, copied from the memory row when the log row is written (never taken from the
 * caller).
 *
 * There is deliberately NO foreign key to the memories table: Mem0's Python store resets a collection with a plain
 * `DROP TABLE` of the memories table, which a referencing table would block. Instead every delete path of ours drops
 * the log rows of what it deletes in the same transaction ({@link deleteAccessRows}, {@link deleteForgotten}), and
 * forgetting sweeps the rows whose memory is gone by other means ({@link sweepOrphans}: e.g. deleted by the Python
 * plugin).
 * @module
 */
import { Params, prepared } from './sql.js';
import type { SqlQuery, Tables } from './sql.js';
import { indexName } from './tables.js';
import { deleteWithHistoryCtes, scopeSql } from './queries.js';
import type { Scope } from './queries.js';

/** Recalls below this quality are not recorded. */
export const MIN_QUALITY = 0.5;
/** Weight of the newest recall in the quality EMA. */
export const EMA_ALPHA = 0.3;
/** The recall count (and so its share of the strength) stops growing here. */
export const MAX_RECALL_COUNT = 6;

/** A search hit as far as quality goes: the reranker's score wins over the normalised similarity. */
export interface ScoredResult {
  rerankScore?: number | null | undefined;
  rerank_score?: number | null | undefined;
  score?: number | null | undefined;
}

/** What a search hands its results to (the store's access log): returns at once, never throws. */
export interface RecallSink {
  record(scope: Scope, results: readonly (ScoredResult & { id: string })[]): void;
}

/** `"schema"."<collection>_access_log"` (shortened with a hash like the store's own names when too long). */
export function accessLogTable(t: Tables): string {
  return `${t.schema}.${indexName(t, 'access_log')}`;
}

/** DDL of the access log (run by the migration). */
export function createAccessLog(t: Tables): string[] {
  const log = accessLogTable(t);
  return [
    `CREATE TABLE ${log} (
      memory_id uuid PRIMARY KEY,
      user_id text NOT NULL,
      app_id text,
      recall_count integer NOT NULL CHECK (recall_count BETWEEN 1 AND ${MAX_RECALL_COUNT}),
      quality_ema double precision NOT NULL CHECK (quality_ema BETWEEN 0 AND 1),
      last_recalled_at timestamptz NOT NULL
    )`,
    // The orphan sweep reads one scope's log rows.
    `CREATE INDEX ${indexName(t, 'access_log_scope_idx')} ON ${log} (user_id, app_id)`,
    memoriesScopeIdIndex(t),
  ];
}

/** Forgetting walks one scope in id order (keyset pagination); without this it re-sorts the scope per batch. */
export function memoriesScopeIdIndex(t: Tables, options: { ifNotExists?: boolean } = {}): string {
  return `CREATE INDEX ${options.ifNotExists ? 'IF NOT EXISTS ' : ''}${indexName(t, 'scope_id_idx')} ON ${t.memories} (user_id, id)`;
}

/** The scope on the access log's own copy of it (`app_id` is the memory's agent id). */
function logScopeSql(scope: Scope, p: Params): string {
  const user = `l.user_id = ${p.add(scope.userId)}::text`;
  return scope.agentId ? `${user} AND l.app_id = ${p.add(scope.agentId)}::text` : user;
}

/** One counted recall: a memory id and the recall's quality (already ≥ 0.5, see qualityOf). */
export interface Recall {
  id: string;
  q: number;
}

/** One search's counted recalls, at the time it answered. */
export interface SearchRecalls {
  recalls: readonly Recall[];
  at: Date;
}

/**
 * The net effect on one memory's log row of several searches' recalls, in search order: a row written fresh gets
 * `ema`/`count`; an existing row becomes `quality_ema = a × previous + b`, `recall_count = min(n + count, 6)`.
 * Applying them one at a time gives the same figures (same order of operations for a single recall).
 */
export interface FoldedRecall {
  id: string;
  count: number;
  ema: number;
  a: number;
  b: number;
  at: Date;
}

/**
 * Folds searches (oldest first) into one entry per memory. Within one search an id counts once, with its best
 * quality; across searches every recall counts, in order.
 */
export function foldRecalls(searches: readonly SearchRecalls[]): FoldedRecall[] {
  const byId = new Map<string, FoldedRecall>();
  for (const search of searches) {
    const best = new Map<string, number>();
    for (const r of search.recalls) best.set(r.id, Math.max(best.get(r.id) ?? 0, Math.min(1, r.q)));
    for (const [id, q] of best) {
      if (q < MIN_QUALITY) continue;
      const f = byId.get(id);
      if (!f) {
        // One recall on an existing row: 0.7 × previous + 0.3 q (a = 0.7, b = 0.3 q).
        byId.set(id, { id, count: 1, ema: q, a: 1 - EMA_ALPHA, b: EMA_ALPHA * q, at: search.at });
        continue;
      }
      f.count += 1;
      f.ema = EMA_ALPHA * q + (1 - EMA_ALPHA) * f.ema;
      f.a *= 1 - EMA_ALPHA;
      f.b = EMA_ALPHA * q + (1 - EMA_ALPHA) * f.b;
      if (search.at > f.at) f.at = search.at;
    }
  }
  return [...byId.values()];
}

/**
 * Records the folded recalls of one scope's searches in ONE statement. Concurrent statements never lose an update:
 * the conflicting row is locked and the SET re-reads the committed values, so each batch applies on top of the last.
 * - only memories that exist in the searchers' scope are logged (join + scope), each locked FOR KEY SHARE until the
 *   upsert commits, so a delete of it waits for the recall and then drops its log row ({@link deleteAccessRows}):
 *   our deletes leave no orphan. SKIP LOCKED: a memory being deleted (or locked FOR UPDATE by forgetting's
 *   re-check) is skipped, never waited for, so a recall waits on nothing but log rows, which every writer takes
 *   in id order: no deadlock with writers that lock memories in any order. Plain updates (FOR NO KEY UPDATE) do
 *   not conflict, so a recall of a memory being edited still counts;
 * - rows are taken in id order, so two statements over overlapping memories lock in the same order (no deadlock);
 * - `last_recalled_at` never moves backwards (statements may commit out of clock order).
 */
export function recordFolded(t: Tables, scope: Scope, folded: readonly FoldedRecall[]): SqlQuery {
  const p = new Params();
  const log = accessLogTable(t);
  const ids = p.add(folded.map((f) => f.id));
  const counts = p.add(folded.map((f) => f.count));
  const emas = p.add(folded.map((f) => f.ema));
  const as = p.add(folded.map((f) => f.a));
  const bs = p.add(folded.map((f) => f.b));
  const ats = p.add(folded.map((f) => f.at.toISOString()));
  const s = scopeSql(scope, p);
  // The conflicting row's own entry (ids are unique here): a C-level array search, no per-row subquery.
  const at = `array_position(${ids}::uuid[], l.memory_id)`;
  return {
    text: `WITH r AS (
        SELECT * FROM unnest(${ids}::uuid[], ${counts}::int[], ${emas}::float8[], ${as}::float8[], ${bs}::float8[],
                             ${ats}::timestamptz[]) AS r(id, k, ema, a, b, at)
      )
      INSERT INTO ${log} AS l (memory_id, user_id, app_id, recall_count, quality_ema, last_recalled_at)
      SELECT m.id, m.user_id, m.agent_id, least(r.k, ${MAX_RECALL_COUNT}), least(1, greatest(0, r.ema)), r.at
        FROM r JOIN ${t.memories} m ON m.id = r.id
       WHERE ${s}
       ORDER BY m.id
       FOR KEY SHARE OF m SKIP LOCKED
      ON CONFLICT (memory_id) DO UPDATE SET
        quality_ema = least(1, greatest(0, (${as}::float8[])[${at}] * l.quality_ema + (${bs}::float8[])[${at}])),
        recall_count = least(l.recall_count + (${counts}::int[])[${at}], ${MAX_RECALL_COUNT}),
        last_recalled_at = greatest(l.last_recalled_at, excluded.last_recalled_at)`,
    values: p.values,
  };
}

/** One search's recalls as one statement (see {@link recordFolded}). */
export function recordRecalls(t: Tables, scope: Scope, recalls: readonly Recall[], now: Date): SqlQuery {
  return recordFolded(t, scope, foldRecalls([{ recalls, at: now }]));
}

/** What forgetting reads per memory: the memory's own fields plus its access-log row (nulls when never recalled). */
export interface RetentionRow {
  id: string;
  /** The memory text; null unless asked for. */
  memory: string | null;
  /** `payload.created_at` as stored (string, number, or null): parsed by retention.ts, not by SQL. */
  createdAt: unknown;
  memorySubtype: string | null;
  recallCount: number | null;
  qualityEma: number | null;
  lastRecalledAt: Date | null;
}

/**
 * A page of one scope's memories in id order with their access-log rows: `after` is the last id of the previous
 * page (null for the first). Pass `ids` instead to re-read exactly those memories (the re-check before deleting).
 */
export function selectRetentionRows(
  t: Tables,
  scope: Scope,
  page: { after: string | null; limit: number; withText: boolean } | { ids: readonly string[]; withText: boolean },
): SqlQuery {
  const p = new Params();
  const s = scopeSql(scope, p);
  const text = page.withText ? `m.payload->>'data'` : 'NULL::text';
  let where: string;
  let limit = '';
  if ('ids' in page) {
    where = `m.id = ANY(${p.add(page.ids)}::uuid[])`;
  } else {
    where = page.after === null ? 'true' : `m.id > ${p.add(page.after)}::uuid`;
    limit = ` LIMIT ${p.add(page.limit)}::int`;
  }
  return {
    text: `SELECT m.id::text AS id, ${text} AS memory, m.payload->'created_at' AS "createdAt",
        m.payload->>'memory_subtype' AS "memorySubtype", l.recall_count AS "recallCount",
        l.quality_ema AS "qualityEma", l.last_recalled_at AS "lastRecalledAt"
      FROM ${t.memories} m LEFT JOIN ${accessLogTable(t)} l ON l.memory_id = m.id
      WHERE ${s} AND ${where}
      ORDER BY m.id${limit}`,
    values: p.values,
  };
}

/**
 * Locks the given memories of the scope (id order) until the transaction ends; returns the ids that still exist.
 * Takes the lock only after every recall in flight on them committed (their FOR KEY SHARE), so a re-read after it
 * sees those recalls; recalls arriving while it is held skip these memories.
 */
export function lockMemories(t: Tables, scope: Scope, ids: readonly string[]): SqlQuery {
  const p = new Params();
  const where = `m.id = ANY(${p.add(ids)}::uuid[]) AND ${scopeSql(scope, p)}`;
  return {
    text: `SELECT m.id::text AS id FROM ${t.memories} m WHERE ${where} ORDER BY m.id FOR UPDATE OF m`,
    values: p.values,
  };
}

/**
 * Deletes the given memories of the scope with a DELETE history row each, in one statement (the same history row
 * the store writes for delete_memory), and their access-log rows. Run it after {@link lockMemories} in the same
 * transaction: no recall can be writing those log rows any more.
 */
export function deleteForgotten(t: Tables, scope: Scope, ids: readonly string[]): SqlQuery {
  const p = new Params();
  const where = `m.id = ANY(${p.add(ids)}::uuid[]) AND ${scopeSql(scope, p)}`;
  return {
    text: `WITH ${deleteWithHistoryCtes(t, where)}, unlogged AS (
        DELETE FROM ${accessLogTable(t)} l USING gone WHERE l.memory_id = gone.id
      )
      SELECT id::text AS id FROM gone`,
    values: p.values,
  };
}

/**
 * Drops the access-log rows of memories just deleted; the store runs it after its DELETE, in the same transaction,
 * once per change set. A separate statement, not a CTE of the DELETE: it needs a snapshot taken after the DELETE
 * waited for the recalls in flight (see {@link recordRecalls}), so it sees the rows they wrote. Only rows whose
 * memory is gone go, so it may be sent together with the DELETE before its answer is known (a memory the DELETE
 * did not take, being outside the scope, keeps its row).
 */
export function deleteAccessRows(t: Tables, ids: readonly string[]): SqlQuery {
  return prepared({
    text: `DELETE FROM ${accessLogTable(t)} l
      WHERE l.memory_id = ANY($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM ${t.memories} m WHERE m.id = l.memory_id)`,
    values: [ids],
  });
}

/**
 * Drops the scope's access-log rows whose memory no longer exists (deleted by a writer that does not know the log,
 * such as Mem0's Python store). Returns the swept ids. The scope is the log row's own copy of the memory's scope.
 */
export function sweepOrphans(t: Tables, scope: Scope): SqlQuery {
  const p = new Params();
  const where = logScopeSql(scope, p);
  return {
    text: `DELETE FROM ${accessLogTable(t)} l
      WHERE ${where} AND NOT EXISTS (SELECT 1 FROM ${t.memories} m WHERE m.id = l.memory_id)
      RETURNING l.memory_id::text AS id`,
    values: p.values,
  };
}

/** How many of the scope's access-log rows have no memory (what a real run's sweep would drop). */
export function countOrphans(t: Tables, scope: Scope): SqlQuery {
  const p = new Params();
  const where = logScopeSql(scope, p);
  return {
    text: `SELECT count(*)::int AS n FROM ${accessLogTable(t)} l
      WHERE ${where} AND NOT EXISTS (SELECT 1 FROM ${t.memories} m WHERE m.id = l.memory_id)`,
    values: p.values,
  };
}

/** The access-log row of one memory (tests and diagnostics). */
export function selectAccess(t: Tables, id: string): SqlQuery {
  return {
    text: `SELECT memory_id::text AS "memoryId", user_id AS "userId", app_id AS "appId", recall_count AS "recallCount",
        quality_ema AS "qualityEma", last_recalled_at AS "lastRecalledAt"
      FROM ${accessLogTable(t)} WHERE memory_id = $1::uuid`,
    values: [id],
  };
}

/** A counted recall with the scope of its memory (external stores: taken from the search hit). */
export interface OwnedRecall {
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

/** A memory's access-log row as the external forgetting walk reads it. */
export interface AccessRow {
  id: string;
  recallCount: number;
  qualityEma: number;
  lastRecalledAt: Date;
}

/** The scope's access-log rows (the log's own copy of the scope). */
export function selectScopeAccess(t: Tables, scope: Scope): SqlQuery {
  const p = new Params();
  const where = [`user_id = ${p.add(scope.userId)}::text`];
  if (scope.agentId) where.push(`app_id = ${p.add(scope.agentId)}::text`);
  return {
    text: `SELECT memory_id::text AS id, recall_count AS "recallCount", quality_ema AS "qualityEma", last_recalled_at AS "lastRecalledAt"
      FROM ${accessLogTable(t)} WHERE ${where.join(' AND ')}`,
    values: p.values,
  };
}
