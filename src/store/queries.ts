/**
 * All memory and history SQL, as pure functions returning `{text, values}`. Table names arrive already quoted
 * ({@link Tables}); everything else is a `$n` parameter. Filters come from the one compiler in filters.ts and are
 * ANDed after the scope, so they can only narrow it.
 * @module
 */
import { compileFilter } from './filters.js';
import { BM25_B, BM25_K1, KEYWORD_WEIGHT } from './ranking.js';
import { Params, prepared } from './sql.js';
import type { SqlQuery, Tables } from './sql.js';

/** Who a query is about: `userId` is required; `agentId` narrows to one agent (Dify app) when given. */
export interface Scope {
  userId: string;
  agentId?: string | null | undefined;
}

/** Columns every memory read returns (aliases are what {@link MemoryRow} expects). */
const MEMORY_COLUMNS = 'm.id::text AS id, m.payload, m.created_at AS "createdAt", m.updated_at AS "updatedAt"';

export interface MemoryRow {
  id: string;
  payload: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Separator of the token list passed to array_to_tsvector (a control character: never inside a word token). */
export const TOKEN_SEPARATOR = '\u001f';

/** The scope as a condition on a table's `user_id` / `agent_id` columns (memories, history, access log). */
export function scopeSql(scope: Scope, p: Params, alias = 'm'): string {
  const user = `${alias}.user_id = ${p.add(scope.userId)}::text`;
  return scope.agentId ? `${user} AND ${alias}.agent_id = ${p.add(scope.agentId)}::text` : user;
}

/** The tokens column value for a list of tokens (exact lexemes: no parser re-splits them). */
const KEYWORDS_FROM = (placeholder: string) => `array_to_tsvector(string_to_array(${placeholder}, chr(31)))`;

export interface InsertRow {
  id: string;
  vector: string;
  payload: string;
  createdAt: string;
  updatedAt: string;
  tokens: string;
}

export function insertMemories(t: Tables, rows: InsertRow[]): SqlQuery {
  const p = new Params();
  return { text: insertMemoriesParts(t, rows, p), values: p.values };
}

/** The rows as one `unnest(…)` of six parallel arrays: id, vector text, payload, created, updated, keyword tokens. */
function unnestRows(rows: InsertRow[], p: Params): string {
  const ids = p.add(rows.map((r) => r.id));
  const vectors = p.add(rows.map((r) => r.vector));
  const payloads = p.add(rows.map((r) => r.payload));
  const created = p.add(rows.map((r) => r.createdAt));
  const updated = p.add(rows.map((r) => r.updatedAt));
  const tokens = p.add(rows.map((r) => r.tokens));
  return `unnest(${ids}::uuid[], ${vectors}::text[], ${payloads}::jsonb[], ${created}::timestamptz[],
                    ${updated}::timestamptz[], ${tokens}::text[])`;
}

function insertMemoriesParts(t: Tables, rows: InsertRow[], p: Params): string {
  return `INSERT INTO ${t.memories} AS m (id, vector, payload, created_at, updated_at, keywords, keywords_hash)
      SELECT r.id, r.v::vector, r.p, r.c, r.u, ${KEYWORDS_FROM('r.k')}, r.p->>'hash'
        FROM ${unnestRows(rows, p)} AS r(id, v, p, c, u, k)
      RETURNING ${MEMORY_COLUMNS}`;
}

/**
 * Memories and their ADD history rows in ONE statement (data-modifying CTEs): one round trip, one implicit
 * transaction, no BEGIN/COMMIT needed. Returns the inserted memories.
 */
export function insertMemoriesWithHistory(t: Tables, rows: InsertRow[], history: HistoryRow[]): SqlQuery {
  const p = new Params();
  const ins = insertMemoriesParts(t, rows, p);
  const hist = insertHistoryParts(t, history, p);
  return {
    text: `WITH ins AS (${ins}), hist AS (${hist})
      SELECT * FROM ins`,
    values: p.values,
  };
}

/**
 * The add's CTEs `ins` and `ins_hist`: new memories and their ADD history rows, skipping every row whose exact text
 * (Mem0's `hash`) the scope already holds. Two guards: `NOT EXISTS` finds the text among the stored memories
 * (`skipIds`, memories the same statement deletes, do not count), and `ON CONFLICT DO NOTHING` on the unique
 * `added_hash` index (migration 11) stops an identical add that committed after the statement's snapshot was taken.
 * History rows are written only for the rows inserted. `after`: a CTE to finish first (the deletes of the same
 * change set, whose rows would otherwise still hold their `added_hash`).
 */
function addCtes(t: Tables, scope: Scope, rows: InsertRow[], history: HistoryRow[], skipIds: readonly string[], p: Params, after?: string): string {
  const source = unnestRows(rows, p);
  const skip = p.add(skipIds);
  const known = scopeSql(scope, p, 'o');
  const hist = insertHistoryParts(t, history, p).replace(
    /\)$/,
    ') AS h(memory_id, old_memory, new_memory, event, created_at, updated_at, is_deleted, actor_id, role, user_id, agent_id) WHERE h.memory_id IN (SELECT id FROM ins)',
  );
  return `ins AS (
        INSERT INTO ${t.memories} AS m (id, vector, payload, created_at, updated_at, keywords, keywords_hash, added_hash)
        SELECT r.id, r.v::vector, r.p, r.c, r.u, ${KEYWORDS_FROM('r.k')}, r.p->>'hash', r.p->>'hash'
          FROM ${source} WITH ORDINALITY AS r(id, v, p, c, u, k, n)
               ${after ? `CROSS JOIN (SELECT count(*) FROM ${after}) AS done_first` : ''}
         WHERE NOT EXISTS (SELECT 1 FROM ${t.memories} o
                            WHERE ${known} AND o.payload->>'hash' = r.p->>'hash' AND o.id <> ALL(${skip}::uuid[]))
         ORDER BY r.n
        ON CONFLICT (user_id, (coalesce(agent_id, '')), added_hash) WHERE added_hash IS NOT NULL DO NOTHING
        RETURNING m.id, m.payload, m.created_at, m.updated_at
      ), ins_hist AS (${hist})`;
}

/** Columns of a written memory as {@link MemoryRow} expects them, from a CTE that RETURNING'd the raw columns. */
const WRITTEN_COLUMNS = 'id::text AS id, payload, created_at AS "createdAt", updated_at AS "updatedAt"';

/**
 * The add in ONE statement: duplicate check, memories and ADD history rows ({@link addCtes}). The text depends only
 * on the tables and on whether the scope names an agent, so it is prepared once per connection. Returns the
 * inserted memories.
 */
export function addMemoriesWithHistory(t: Tables, scope: Scope, rows: InsertRow[], history: HistoryRow[]): SqlQuery {
  const p = new Params();
  return prepared({ text: `WITH ${addCtes(t, scope, rows, history, [], p)}\n      SELECT ${WRITTEN_COLUMNS} FROM ins`, values: p.values });
}

/** The text of a payload key when it is a JSON string, else NULL (what the JS side's `stringOrNull` does). */
const payloadText = (payload: string, key: string) => `CASE WHEN jsonb_typeof(${payload}->'${key}') = 'string' THEN ${payload}->>'${key}' END`;

/** A change of one memory as {@link updateCtes} writes it. */
export interface UpdateRow {
  id: string;
  /** New text, or null to keep it (a metadata-only change). */
  data: string | null;
  /** md5 of `data` (null with it). */
  hash: string | null;
  /** The new text's keyword tokens (null with it). */
  tokens: string | null;
  /** The new embedding as vector text, or null to keep it. */
  vector: string | null;
  /** Metadata to set (JSON object text) and keys to remove. */
  set: string;
  drop: string[];
}

/** When an update happens: ISO for the column, Python isoformat for the payload (payload.ts `pythonIso`). */
export interface UpdateTime {
  updatedAt: string;
  updatedIso: string;
}

/**
 * The update's CTEs `cur`, `next`, `upd` and `upd_hist`: `cur` reads and locks the rows as they are now, in id order
 * (FOR NO KEY UPDATE, as the UPDATE itself would: a concurrent edit is waited for and its result built upon; recalls
 * taking FOR KEY SHARE still count), the payload is merged in SQL exactly as Mem0 merges it (metadata set and
 * removed, new `data`, `hash`, `updated_at`, `created_at` kept or taken from the column), and each history row carries
 * the old text. `scope` null addresses the memories by id alone. An update clears `added_hash`: the add's race guard
 * is for texts as added. Memories not in the scope are left out.
 */
function updateCtes(t: Tables, scope: Scope | null, rows: UpdateRow[], at: UpdateTime, p: Params): string {
  const ids = p.add(rows.map((r) => r.id));
  const where = [`m.id = ANY(${ids}::uuid[])`];
  if (scope) where.push(scopeSql(scope, p));
  const changes = `unnest(${ids}::uuid[], ${p.add(rows.map((r) => r.data))}::text[], ${p.add(rows.map((r) => r.hash))}::text[],
                      ${p.add(rows.map((r) => r.tokens))}::text[], ${p.add(rows.map((r) => r.vector))}::text[],
                      ${p.add(rows.map((r) => r.set))}::jsonb[], ${p.add(rows.map((r) => JSON.stringify(r.drop)))}::jsonb[])
                 AS u(id, data, hash, tokens, v, set_meta, drop_keys)`;
  const stamp = `${p.add(at.updatedAt)}::timestamptz`;
  const iso = `${p.add(at.updatedIso)}::text`;
  const oldData = payloadText('cur.payload', 'data');
  return `cur AS (
        SELECT m.id, m.payload, m.created_at FROM ${t.memories} m WHERE ${where.join(' AND ')} ORDER BY m.id FOR NO KEY UPDATE
      ), next AS (
        SELECT cur.id, u.v, u.tokens,
               (coalesce(cur.payload, '{}'::jsonb) - ARRAY(SELECT jsonb_array_elements_text(u.drop_keys))) || u.set_meta
                 || jsonb_build_object('data', coalesce(u.data, ${oldData}, ''),
                                       'hash', coalesce(u.hash, md5(coalesce(${oldData}, ''))), 'updated_at', ${iso})
                 || CASE WHEN cur.payload->>'created_at' IS NULL
                         THEN jsonb_build_object('created_at', to_char(cur.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
                         ELSE '{}'::jsonb END AS payload
          FROM cur JOIN ${changes} ON u.id = cur.id
      ), upd AS (
        UPDATE ${t.memories} AS m SET vector = coalesce(next.v::vector, m.vector), payload = next.payload, updated_at = ${stamp},
               keywords = CASE WHEN next.tokens IS NULL THEN m.keywords ELSE ${KEYWORDS_FROM('next.tokens')} END,
               keywords_hash = CASE WHEN next.tokens IS NULL THEN m.keywords_hash ELSE next.payload->>'hash' END,
               added_hash = NULL
          FROM next WHERE m.id = next.id
        RETURNING m.id, m.payload, m.created_at, m.updated_at
      ), upd_hist AS (
        INSERT INTO ${t.history} (memory_id, old_memory, new_memory, event, created_at, updated_at, is_deleted, actor_id,
                                  role, user_id, agent_id)
        SELECT upd.id, ${oldData}, upd.payload->>'data', 'UPDATE', cur.created_at, upd.updated_at, false,
               ${payloadText('upd.payload', 'actor_id')}, ${payloadText('upd.payload', 'role')},
               ${payloadText('upd.payload', 'user_id')}, ${payloadText('upd.payload', 'agent_id')}
          FROM upd JOIN cur ON cur.id = upd.id
      )`;
}

/**
 * Updates memories and writes their UPDATE history rows in ONE statement ({@link updateCtes}); prepared once per
 * connection (the text depends on the tables and the scope's shape only). Returns the memories updated.
 */
export function updateMemoriesWithHistory(t: Tables, scope: Scope | null, rows: UpdateRow[], at: UpdateTime): SqlQuery {
  const p = new Params();
  return prepared({ text: `WITH ${updateCtes(t, scope, rows, at, p)}\n      SELECT ${WRITTEN_COLUMNS} FROM upd`, values: p.values });
}

/** A row of {@link applyChangeSet}'s answer: what happened to which memory. */
export interface AppliedRow extends MemoryRow {
  event: 'ADD' | 'UPDATE' | 'DELETE';
}

/**
 * A whole change set of one scope in ONE statement: deletes with their DELETE history rows, then (ordered after them,
 * so a deleted text may come back) the add's CTEs, and the updates; every row of the answer says which it was. The
 * access-log rows of the deleted memories are a separate statement (access-log.ts `deleteAccessRows`), run after
 * this one in the same transaction. Prepared once per connection.
 */
export function applyChangeSet(
  t: Tables, scope: Scope,
  set: { rows: InsertRow[]; history: HistoryRow[]; updates: UpdateRow[]; deletes: readonly string[]; at: UpdateTime },
): SqlQuery {
  const p = new Params();
  const deleting = `m.id = ANY(${p.add(set.deletes)}::uuid[]) AND ${scopeSql(scope, p)}`;
  return prepared({
    text: `WITH ${deleteWithHistoryCtes(t, deleting)},
      ${addCtes(t, scope, set.rows, set.history, set.deletes, p, 'gone')},
      ${updateCtes(t, scope, set.updates, set.at, p)}
      SELECT 'ADD' AS event, ${WRITTEN_COLUMNS} FROM ins
      UNION ALL SELECT 'UPDATE', ${WRITTEN_COLUMNS} FROM upd
      UNION ALL SELECT 'DELETE', id::text, payload, created_at, NULL FROM gone`,
    values: p.values,
  });
}

/** One history row of a memory: what changed and when. */
export interface HistoryRecord {
  memoryId: string;
  oldMemory: string | null;
  newMemory: string | null;
  event: 'ADD' | 'UPDATE' | 'DELETE';
  createdAt: string | null;
  updatedAt: string | null;
  isDeleted: boolean;
}

/** A history row as it is written (with who wrote it and the memory's scope). */
export interface HistoryRow extends HistoryRecord {
  actorId: string | null;
  role: string | null;
  userId: string | null;
  agentId: string | null;
}

export function insertHistory(t: Tables, rows: HistoryRow[]): SqlQuery {
  const p = new Params();
  return { text: insertHistoryParts(t, rows, p), values: p.values };
}

function insertHistoryParts(t: Tables, rows: HistoryRow[], p: Params): string {
  const col = <K extends keyof HistoryRow>(k: K) => p.add(rows.map((r) => r[k]));
  const [mid, oldM, newM, ev, ca, ua, del, actor, role, uid, aid] = [
    col('memoryId'), col('oldMemory'), col('newMemory'), col('event'), col('createdAt'), col('updatedAt'),
    col('isDeleted'), col('actorId'), col('role'), col('userId'), col('agentId'),
  ];
  return `INSERT INTO ${t.history}
        (memory_id, old_memory, new_memory, event, created_at, updated_at, is_deleted, actor_id, role, user_id, agent_id)
      SELECT * FROM unnest(${mid}::uuid[], ${oldM}::text[], ${newM}::text[], ${ev}::text[], ${ca}::timestamptz[],
                           ${ua}::timestamptz[], ${del}::boolean[], ${actor}::text[], ${role}::text[], ${uid}::text[],
                           ${aid}::text[])`;
}

/** The UPDATE and DELETE history rows of these memories (what a replayed external write must respect). */
export function selectChangeHistory(t: Tables, ids: readonly string[]): SqlQuery {
  return {
    text: `SELECT memory_id::text AS id, event, old_memory AS old FROM ${t.history}
      WHERE memory_id = ANY($1::uuid[]) AND event IN ('UPDATE', 'DELETE')`,
    values: [[...ids]],
  };
}

/** One memory by id; `scope` null reads by id alone (the caller decided that is allowed). */
export function selectMemory(t: Tables, id: string, scope: Scope | null): SqlQuery {
  const p = new Params();
  const where = [`m.id = ${p.add(id)}::uuid`];
  if (scope) where.push(scopeSql(scope, p));
  return { text: `SELECT ${MEMORY_COLUMNS} FROM ${t.memories} m WHERE ${where.join(' AND ')}`, values: p.values };
}

/**
 * The two CTEs `gone` (memories matching `where`, deleted) and `logged` (a DELETE history row each), for a statement
 * that starts `WITH ${...}` and may add CTEs of its own that read `gone`.
 */
export function deleteWithHistoryCtes(t: Tables, where: string): string {
  return `gone AS (
        DELETE FROM ${t.memories} m WHERE ${where}
        RETURNING m.id, m.payload, m.created_at, m.user_id, m.agent_id
      ), logged AS (
        INSERT INTO ${t.history} (memory_id, old_memory, new_memory, event, created_at, updated_at, is_deleted,
                                  actor_id, role, user_id, agent_id)
        SELECT id, payload->>'data', NULL, 'DELETE', created_at, clock_timestamp(), true,
               payload->>'actor_id', payload->>'role', user_id, agent_id FROM gone
      )`;
}

/** Deletes matching memories and records a DELETE history row for each, in one statement. */
function deleteWithHistory(t: Tables, where: string, p: Params): SqlQuery {
  return { text: `WITH ${deleteWithHistoryCtes(t, where)}\n      SELECT id::text AS id FROM gone`, values: p.values };
}

export function deleteMemory(t: Tables, id: string, scope: Scope | null): SqlQuery {
  const p = new Params();
  const where = [`m.id = ${p.add(id)}::uuid`];
  if (scope) where.push(scopeSql(scope, p));
  return prepared(deleteWithHistory(t, where.join(' AND '), p));
}

/** Deletes the scope's memories matching `filters` (the search filter language; none: all of them). */
export function deleteAllInScope(t: Tables, scope: Scope, filters?: unknown): SqlQuery {
  const p = new Params();
  const s = scopeSql(scope, p);
  return deleteWithHistory(t, `${s} AND ${compileFilter(filters, p, 'm.payload')}`, p);
}

export function listMemories(t: Tables, scope: Scope, options: { limit: number; offset?: number; filters?: unknown }): SqlQuery {
  const p = new Params();
  const s = scopeSql(scope, p);
  const f = compileFilter(options.filters, p, 'm.payload');
  return {
    text: `SELECT ${MEMORY_COLUMNS} FROM ${t.memories} m WHERE ${s} AND ${f}
      ORDER BY m.updated_at DESC, m.id LIMIT ${p.add(options.limit)}::int OFFSET ${p.add(options.offset ?? 0)}::int`,
    values: p.values,
  };
}

/**
 * One page of an export: the scope's memories matching `filters`, oldest first by (created_at, id), after the last
 * row of the previous page (keyset, so every page costs the same however deep the export is).
 */
export function exportMemoriesPage(
  t: Tables,
  scope: Scope,
  options: { limit: number; filters?: unknown; after?: { createdAt: string; id: string } | undefined; offset?: number },
): SqlQuery {
  const p = new Params();
  const where = [scopeSql(scope, p), compileFilter(options.filters, p, 'm.payload')];
  if (options.after) where.push(`(m.created_at, m.id) > (${p.add(options.after.createdAt)}::timestamptz, ${p.add(options.after.id)}::uuid)`);
  const offset = options.offset ? ` OFFSET ${p.add(options.offset)}::int` : '';
  return {
    text: `SELECT ${MEMORY_COLUMNS} FROM ${t.memories} m WHERE ${where.join(' AND ')}
      ORDER BY m.created_at, m.id LIMIT ${p.add(options.limit)}::int${offset}`,
    values: p.values,
  };
}

/**
 * History order: when it was recorded; rows recorded together (an import writes a memory's whole history in one
 * statement) by the time of the change they describe, so an imported history keeps its order; then the order they
 * were written in (`seq`, migration 13: PGlite's clock ticks in milliseconds, so quick successive writes tie).
 */
const HISTORY_ORDER = 'h.recorded_at, coalesce(h.updated_at, h.created_at), h.seq';

/** The history rows of several memories, oldest first per memory (for an export with history). */
export function selectHistoryOf(t: Tables, memoryIds: string[]): SqlQuery {
  const p = new Params();
  return {
    text: `SELECT h.memory_id::text AS "memoryId", h.old_memory AS "oldMemory", h.new_memory AS "newMemory", h.event,
        h.created_at AS "createdAt", h.updated_at AS "updatedAt", h.is_deleted AS "isDeleted", h.actor_id AS "actorId",
        h.role
      FROM ${t.history} h WHERE h.memory_id = ANY(${p.add(memoryIds)}::uuid[]) ORDER BY h.memory_id, ${HISTORY_ORDER}`,
    values: p.values,
  };
}

/**
 * Imported memories with their own ids: a row whose id already exists is left as it is (so a second import of the
 * same file changes nothing), and history rows are written only for the memories this statement inserted.
 * Returns the ids inserted.
 */
export function importMemories(t: Tables, rows: InsertRow[], history: HistoryRow[]): SqlQuery {
  const p = new Params();
  const ins = insertMemoriesParts(t, rows, p).replace(/RETURNING [^]*$/, 'ON CONFLICT (id) DO NOTHING RETURNING m.id');
  const hist = insertHistoryParts(t, history, p).replace(
    /\)$/,
    ') AS h(memory_id, old_memory, new_memory, event, created_at, updated_at, is_deleted, actor_id, role, user_id, agent_id) WHERE h.memory_id IN (SELECT id FROM ins)',
  );
  return { text: `WITH ins AS (${ins}), hist AS (${hist}) SELECT id::text AS id FROM ins`, values: p.values };
}

export function countMemories(t: Tables, scope: Scope, filters?: unknown, withVector = false): SqlQuery {
  const p = new Params();
  const s = scopeSql(scope, p);
  const f = compileFilter(filters, p, 'm.payload');
  return {
    text: `SELECT count(*)::int AS n FROM ${t.memories} m WHERE ${s} AND ${f}${withVector ? ' AND m.vector IS NOT NULL' : ''}`,
    values: p.values,
  };
}

export function findByHash(t: Tables, scope: Scope, hash: string): SqlQuery {
  const p = new Params();
  const s = scopeSql(scope, p);
  return {
    text: `SELECT ${MEMORY_COLUMNS} FROM ${t.memories} m WHERE ${s} AND m.payload->>'hash' = ${p.add(hash)}::text
      ORDER BY m.created_at LIMIT 1`,
    values: p.values,
  };
}

export function selectHistory(t: Tables, memoryId: string, scope: Scope | null): SqlQuery {
  const p = new Params();
  const where = [`h.memory_id = ${p.add(memoryId)}::uuid`];
  if (scope) where.push(scopeSql(scope, p, 'h'));
  return {
    text: `SELECT h.id::text AS id, h.memory_id::text AS "memoryId", h.old_memory AS "oldMemory",
        h.new_memory AS "newMemory", h.event, h.created_at AS "createdAt", h.updated_at AS "updatedAt",
        h.is_deleted AS "isDeleted", h.actor_id AS "actorId", h.role, h.recorded_at AS "recordedAt"
      FROM ${t.history} h WHERE ${where.join(' AND ')} ORDER BY ${HISTORY_ORDER}`,
    values: p.values,
  };
}

export interface SearchSqlOptions {
  /** The query's embedding in pgvector's binary form (sql.ts `vectorBinary`). */
  vector: Buffer;
  /** The query's terms as one tsquery text each (tokens.ts `lexemeQuery`); empty for vector-only search. */
  terms: string[];
  topK: number;
  /** How many candidates each side (vector, keyword) contributes before fusion. */
  candidates: number;
  filters?: unknown;
  /**
   * The statement for a scope of at most {@link SMALL_SCOPE_ROWS} rows: it reads the scope's rows through the scope
   * index only (an exact vector order, no HNSW branch, no GIN branch), so its plan does not depend on the scope's
   * size and it can be prepared once per connection. A bigger scope gets no hits from it, only its `scopeSize`
   * (counted first, up to the threshold + 1), and must be asked again with the general statement.
   */
  smallScope?: boolean;
}

/**
 * A scope at most this big ranks its keyword matches by reading the scope's own rows (scope index) instead of the
 * keyword GIN index, which would visit every matching row of every user. The scope is counted up to here (+1), and
 * that count is the N of the keyword side's IDF (a bigger scope's N is at least this and its match count).
 */
export const SMALL_SCOPE_ROWS = 500;
/** Keyword matches read at most per search (document frequencies are counted over them). */
export const KEYWORD_POOL = 2000;

/**
 * Hybrid search in ONE statement: nearest neighbours by cosine distance and keyword matches (same scope and filter),
 * each candidate scored as ranking.ts describes: `vectorScore` (1 − cosine distance, clamped to 0–1),
 * `keywordScore` (IDF-weighted share of the query's terms, with BM25's length factor) and the fused `score` the rows
 * are ordered by (ties: the closer vector, then the more recently updated). Every row also carries:
 * - `vectorHits`: how many rows the vector side produced;
 * - `scopeRows`: only when `vectorHits` is below the candidate count, how many rows with a vector match the scope
 *   and filter, counted up to the candidate count (null otherwise, and always null for a small scope's statement,
 *   whose vector side is exact);
 * - `scopeSize`: the scope's rows (no filter), counted up to {@link SMALL_SCOPE_ROWS} + 1.
 * Together the first two tell an index scan that stopped short from a scope that simply has few rows. When nothing
 * matches at all, one row comes back with a null `id` and only the statistics set.
 */
export function searchMemories(t: Tables, scope: Scope, o: SearchSqlOptions): SqlQuery {
  const p = new Params();
  const q = `${p.add(o.vector)}::vector`;
  const s = scopeSql(scope, p);
  const f = compileFilter(o.filters, p, 'm.payload');
  const n = `${p.add(o.candidates)}::int`;
  const keyword = o.terms.length > 0;
  const any = keyword ? `${p.add(o.terms.join(' | '))}::tsquery` : '';
  const terms = keyword ? `${p.add(o.terms)}::tsquery[]` : '';
  // The scope's size, counted only up to the threshold: the keyword side's plan and IDF need it, and the caller
  // learns from it which statement to send next time.
  const sz = `sz AS MATERIALIZED (
        SELECT count(*)::float8 AS rows
          FROM (SELECT 1 FROM ${t.memories} m WHERE ${s} LIMIT ${SMALL_SCOPE_ROWS + 1}) z
      ), `;
  // The general statement carries two plans for the keyword side and a one-time filter cuts the one that does not
  // apply: a small scope reads its rows through the scope index and tests them (ts_match_vq is @@ without the
  // index); a big one uses the GIN index. The small-scope statement reads its rows once, into `sc`.
  const small = `(SELECT rows FROM sz) <= ${SMALL_SCOPE_ROWS}`;
  const keywordMatches = o.smallScope
    ? `SELECT sc.id, sc.keywords, sc.updated_at FROM sc WHERE ts_match_vq(sc.keywords, ${any})`
    : `SELECT m.id, m.keywords, m.updated_at
            FROM ${t.memories} m WHERE ${small} AND ${s} AND ${f} AND ts_match_vq(m.keywords, ${any})
          UNION ALL
          SELECT m.id, m.keywords, m.updated_at
            FROM ${t.memories} m WHERE NOT ${small} AND ${s} AND ${f} AND m.keywords @@ ${any}`;
  const keywordCtes = keyword
    ? `km AS MATERIALIZED (
        SELECT k.id, k.keywords, k.updated_at FROM (
          ${keywordMatches}
        ) k LIMIT ${KEYWORD_POOL}
      ), idf AS MATERIALIZED (
        SELECT u.q, ln(1 + (greatest(nn.rows, d.df) - d.df + 0.5) / (d.df + 0.5)) AS w
          FROM unnest(${terms}) AS u(q)
          CROSS JOIN LATERAL (SELECT count(*)::float8 AS df FROM km WHERE km.keywords @@ u.q) d,
          (SELECT greatest((SELECT rows FROM sz), (SELECT count(*) FROM km)) AS rows) nn
      ), kall AS MATERIALIZED (
        SELECT km.id, km.updated_at,
               least(1.0, (SELECT sum(idf.w) FROM idf WHERE km.keywords @@ idf.q) / (SELECT sum(w) FROM idf)
                 * least(1.0, ${1 + BM25_K1} / (1 + ${BM25_K1} * (1 - ${BM25_B} + ${BM25_B} * length(km.keywords)
                   / (SELECT greatest(avg(length(keywords)), 1) FROM km)))))::float8 AS k
          FROM km
      ), ks AS (
        SELECT id FROM kall ORDER BY k DESC, updated_at DESC LIMIT ${n}
      ), `
    : `kall AS (SELECT NULL::uuid AS id, NULL::float8 AS k WHERE false), ks AS (SELECT id FROM kall), `;
  const vectorScore = (distance: string) => `COALESCE(greatest(0.0, least(1.0, 1 - ${distance})), 0)::float8`;
  const score = (v: string, k: string) => `${v} + ${KEYWORD_WEIGHT} * ${k} * (1 - ${v})`;
  const topK = `${p.add(o.topK)}::int`;
  const ranked = o.smallScope
    // Every row of the scope once, with its distance (ordering a CTE's rows leaves the HNSW index out of any plan,
    // generic ones too); the candidates are scored from it and only the top K fetch their payloads.
    ? `sc AS MATERIALIZED (
        SELECT m.id, m.keywords, m.updated_at, (m.vector <=> ${q})::float8 AS distance
          FROM ${t.memories} m WHERE ${small} AND ${s} AND ${f}
      ), ${keywordCtes}vec AS MATERIALIZED (
        SELECT id FROM sc WHERE distance IS NOT NULL ORDER BY distance LIMIT ${n}
      ),
      cand AS (SELECT id FROM vec UNION SELECT id FROM ks),
      top AS (
        SELECT sc.id, sc.distance, COALESCE(kall.k, 0)::float8 AS "keywordScore", v.v AS "vectorScore",
               ${score('v.v', 'COALESCE(kall.k, 0)')} AS score
          FROM cand JOIN sc ON sc.id = cand.id LEFT JOIN kall ON kall.id = sc.id,
          LATERAL (SELECT ${vectorScore('sc.distance')} AS v) v
         ORDER BY score DESC, sc.distance ASC NULLS LAST, sc.updated_at DESC, sc.id::text
         LIMIT ${topK}
      ), hits AS (
        SELECT ${MEMORY_COLUMNS}, top.distance, top."keywordScore", top."vectorScore", top.score
          FROM top JOIN ${t.memories} m ON m.id = top.id
      ),`
    : `${keywordCtes}vec AS MATERIALIZED (
        SELECT m.id FROM ${t.memories} m WHERE ${s} AND ${f} AND m.vector IS NOT NULL
          ORDER BY m.vector <=> ${q} LIMIT ${n}
      ),
      cand AS (SELECT id FROM vec UNION SELECT id FROM ks),
      parts AS (
        SELECT ${MEMORY_COLUMNS}, (m.vector <=> ${q})::float8 AS distance, COALESCE(kall.k, 0)::float8 AS "keywordScore"
          FROM cand JOIN ${t.memories} m ON m.id = cand.id
          LEFT JOIN kall ON kall.id = m.id
      ), scored AS (
        SELECT p.*, v.v AS "vectorScore", ${score('v.v', 'p."keywordScore"')} AS score
          FROM parts p, LATERAL (SELECT ${vectorScore('p.distance')} AS v) v
      ), hits AS (
        SELECT * FROM scored
         ORDER BY score DESC, distance ASC NULLS LAST, "updatedAt" DESC, id
         LIMIT ${topK}
      ),`;
  // The small-scope statement's vector side is exact, so it is never short and needs no `scopeRows`.
  const scopeRows = o.smallScope
    ? 'NULL'
    : `CASE WHEN v.n < ${n} THEN (
                 SELECT count(*) FROM (
                   SELECT 1 FROM ${t.memories} m WHERE ${s} AND ${f} AND m.vector IS NOT NULL LIMIT ${n}
                 ) c
               ) END`;
  return {
    text: `WITH ${sz}${ranked} stats AS (
        SELECT v.n::int AS "vectorHits", ${scopeRows}::int AS "scopeRows", (SELECT rows FROM sz)::int AS "scopeSize"
          FROM (SELECT count(*) AS n FROM vec) v
      )
      SELECT hits.*, stats.* FROM stats LEFT JOIN hits ON true
       ORDER BY hits.score DESC, hits.distance ASC NULLS LAST, hits."updatedAt" DESC, hits.id`,
    values: p.values,
  };
}

/** Rows whose derived columns are missing or stale (written or rewritten by Mem0's Python store). */
export function selectStaleDerived(t: Tables, limit: number): SqlQuery {
  return {
    text: `SELECT m.id::text AS id, m.payload->>'data' AS data, m.payload->>'created_at' AS "createdAt",
        m.payload->>'updated_at' AS "updatedAt"
      FROM ${t.memories} m
      WHERE m.keywords IS NULL OR m.keywords_hash IS DISTINCT FROM m.payload->>'hash'
      LIMIT $1::int`,
    values: [limit],
  };
}

export function updateDerived(
  t: Tables,
  rows: { id: string; tokens: string; createdAt: string | null; updatedAt: string | null }[],
): SqlQuery {
  const p = new Params();
  const ids = p.add(rows.map((r) => r.id));
  const tokens = p.add(rows.map((r) => r.tokens));
  const created = p.add(rows.map((r) => r.createdAt));
  const updated = p.add(rows.map((r) => r.updatedAt));
  return {
    text: `UPDATE ${t.memories} AS m SET keywords = ${KEYWORDS_FROM('r.k')}, keywords_hash = m.payload->>'hash',
        created_at = COALESCE(r.c, m.created_at), updated_at = COALESCE(r.u, r.c, m.updated_at)
      FROM unnest(${ids}::uuid[], ${tokens}::text[], ${created}::timestamptz[], ${updated}::timestamptz[]) AS r(id, k, c, u)
      WHERE m.id = r.id`,
    values: p.values,
  };
}
